// Package webhooks checks the signature of an Innbocks webhook delivery (Go 1.19+, standard
// library only). See docs/webhooks.md, "Verifying a delivery".
//
//	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
//	ok := webhooks.Verify(body, r.Header.Get("Innbocks-Timestamp"),
//		r.Header.Get("Innbocks-Signature"), secret, webhooks.DefaultTolerance, time.Now())
//
// body must be the bytes as received, before any JSON decoding.
package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// DefaultTolerance is how far Innbocks-Timestamp may lie from now, in either direction.
const DefaultTolerance = 5 * time.Minute

// Verify returns true when one of the v1= signatures of signatureHeader is the HMAC-SHA256 of
// timestamp + "." + body under secret, and the timestamp lies within tolerance of now (in
// either direction). Malformed input makes it return false.
func Verify(body []byte, timestamp, signatureHeader, secret string, tolerance time.Duration, now time.Time) bool {
	if secret == "" || len(timestamp) == 0 || len(timestamp) > 15 {
		return false
	}
	for i := 0; i < len(timestamp); i++ {
		if timestamp[i] < '0' || timestamp[i] > '9' {
			return false
		}
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return false
	}
	age := now.Sub(time.Unix(ts, 0))
	if age > tolerance || age < -tolerance {
		return false
	}

	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp + "."))
	mac.Write(body)
	expected := []byte(hex.EncodeToString(mac.Sum(nil)))
	// During a secret rotation the header carries one v1= part per secret: accept any of them.
	valid := false
	for _, part := range strings.Split(signatureHeader, ",") {
		item := strings.TrimSpace(part)
		if !strings.HasPrefix(item, "v1=") {
			continue
		}
		// hmac.Equal is constant time and returns false for other lengths.
		if hmac.Equal([]byte(item[3:]), expected) {
			valid = true
		}
	}
	return valid
}
