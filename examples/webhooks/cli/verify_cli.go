// Command verify_cli runs Verify (../verify_webhook.go) on test cases: it reads a JSON array of
// {body_b64, timestamp, signature, secret, tolerance?, now?} on stdin and prints a JSON array of
// the results (true / false, or "error: ..." when Verify panicked). Used by
// tests/api/webhook_verifiers.test.mjs, which builds it once into build/.
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"time"

	webhooks "innbocks.example/webhooks"
)

type testCase struct {
	BodyB64   string   `json:"body_b64"`
	Timestamp *string  `json:"timestamp"`
	Signature *string  `json:"signature"`
	Secret    string   `json:"secret"`
	Tolerance *float64 `json:"tolerance"`
	Now       *float64 `json:"now"`
}

func run(c testCase) (result interface{}) {
	defer func() {
		if r := recover(); r != nil {
			result = fmt.Sprintf("error: %v", r)
		}
	}()
	body, err := base64.StdEncoding.DecodeString(c.BodyB64)
	if err != nil {
		return fmt.Sprintf("error: body_b64: %v", err)
	}
	ts, sig := "", "" // what http.Header.Get returns for a missing header
	if c.Timestamp != nil {
		ts = *c.Timestamp
	}
	if c.Signature != nil {
		sig = *c.Signature
	}
	tolerance := webhooks.DefaultTolerance
	if c.Tolerance != nil {
		tolerance = time.Duration(*c.Tolerance * float64(time.Second))
	}
	now := time.Now()
	if c.Now != nil {
		sec, frac := math.Modf(*c.Now)
		now = time.Unix(int64(sec), int64(frac*1e9))
	}
	return webhooks.Verify(body, ts, sig, c.Secret, tolerance, now)
}

func main() {
	var cases []testCase
	if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
		fmt.Fprintln(os.Stderr, "verify_cli:", err)
		os.Exit(2)
	}
	results := make([]interface{}, len(cases))
	for i, c := range cases {
		results[i] = run(c)
	}
	if err := json.NewEncoder(os.Stdout).Encode(results); err != nil {
		fmt.Fprintln(os.Stderr, "verify_cli:", err)
		os.Exit(1)
	}
}
