/* test_idem.c - request fingerprints and Idempotency-Key checks (idem.h),
 * the keys of running requests (idem_running.h), and dispatch_body_parse()
 * (dispatch.h): what a request body may be. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "idem.h"
#include "idem_running.h"
#include "unit.h"
#include "util.h"

/* Returns the parsed JSON text (the caller decrefs); aborts on bad JSON. */
static json_t *parse_json(const char *text)
{
	json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
	if (!v)
		abort();
	return v;
}

/* Writes the fingerprint of method, path and the JSON text body. */
static void fingerprint(const char *method, const char *path, const char *body, char out[65])
{
	json_t *v = parse_json(body);
	idem_fingerprint(method, path, v, out);
	json_decref(v);
}

TEST(idem_fingerprint_is_64_lowercase_hex_digits)
{
	char fp[65];
	fingerprint("POST", "/api/v1/customers", "{\"email\": \"jane@example.com\"}", fp);
	CHECK_INT(strlen(fp), 64);
	CHECK(strspn(fp, "0123456789abcdef") == 64);
}

TEST(idem_fingerprint_ignores_key_order_and_whitespace)
{
	char a[65], b[65];
	fingerprint("POST", "/api/v1/customers",
		    "{\"email\":\"jane@example.com\",\"metadata\":{\"a\":\"1\",\"b\":[1,2]}}",
		    a);
	fingerprint("POST", "/api/v1/customers",
		    "{ \"metadata\" : { \"b\" : [ 1 , 2 ] ,\n \"a\" : \"1\" } ,\n"
		    "  \"email\" : \"jane@example.com\" }",
		    b);
	CHECK_STR(a, b);
}

TEST(idem_fingerprint_ignores_how_a_string_is_escaped)
{
	char a[65], b[65];
	fingerprint("POST", "/api/v1/customers", "{\"name\": \"Ren\\u00e9e\"}", a);
	fingerprint("POST", "/api/v1/customers",
		    "{\"name\": \"Ren\xc3\xa9"
		    "e\"}",
		    b);
	CHECK_STR(a, b);
}

TEST(idem_fingerprint_differs_for_another_method)
{
	char a[65], b[65];
	fingerprint("POST", "/api/v1/customers/cus_1", "{}", a);
	fingerprint("PATCH", "/api/v1/customers/cus_1", "{}", b);
	CHECK(strcmp(a, b) != 0);
}

TEST(idem_fingerprint_differs_for_another_path)
{
	char a[65], b[65];
	fingerprint("POST", "/api/v1/customers/cus_1/deactivate", "{}", a);
	fingerprint("POST", "/api/v1/customers/cus_2/deactivate", "{}", b);
	CHECK(strcmp(a, b) != 0);
}

TEST(idem_fingerprint_differs_for_another_value)
{
	char a[65], b[65], c[65], d[65];
	fingerprint("POST", "/api/v1/customers", "{\"name\": \"Jane\"}", a);
	fingerprint("POST", "/api/v1/customers", "{\"name\": \"Jake\"}", b);
	fingerprint("POST", "/api/v1/customers", "{\"prepay\": 1}", c);
	fingerprint("POST", "/api/v1/customers", "{\"prepay\": \"1\"}", d);
	CHECK(strcmp(a, b) != 0);
	CHECK(strcmp(c, d) != 0);
}

TEST(idem_fingerprint_does_not_confuse_method_path_and_body_boundaries)
{
	char a[65], b[65];
	fingerprint("POST", "/a", "{}", a);
	fingerprint("POST/", "a", "{}", b);
	CHECK(strcmp(a, b) != 0);
}

/* The reference: how fingerprints were made before (and so how those kept
 * with stored idempotency records were): SHA-256 over method, path and
 * jansson's sorted compact dump of the body. */
static void reference_fingerprint(const char *method, const char *path, json_t *body,
				  char out[65])
{
	char *canonical = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	size_t ml = strlen(method), pl = strlen(path), bl = strlen(canonical);
	char *text = malloc(ml + pl + bl + 3);
	snprintf(text, ml + pl + bl + 3, "%s\n%s\n%s", method, path, canonical);
	sha256_hex(text, ml + pl + bl + 2, out);
	free(text);
	free(canonical);
}

/* Checks that body's fingerprint is the reference's. */
static bool same_as_reference(json_t *body)
{
	char a[65], b[65];
	idem_fingerprint("POST", "/api/v1/customers", body, a);
	reference_fingerprint("POST", "/api/v1/customers", body, b);
	if (strcmp(a, b) == 0)
		return true;
	char *text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
	printf("    fingerprint differs for %s\n", text);
	free(text);
	return false;
}

TEST(idem_fingerprint_is_the_sorted_jansson_dump_s_for_edge_cases)
{
	static const char *const bodies[] = {
		"{}",
		"{\"a\":{},\"b\":[],\"c\":[{}],\"d\":[[]]}",
		"{\"b\":1,\"a\":2,\"ab\":3,\"aa\":4,\"B\":5,\"\":6,\"a b\":7}",
		"{\"\\u00e9\":1,\"e\":2,\"\\u20ac\":3,\"\\ud83d\\ude00\":4,\"z\":5,\"~\":6}",
		"{\"s\":\"\\\"\\\\/\\b\\f\\n\\r\\t\\u0001\\u001f\\u007f\\u2028\\u00e9\"}",
		"{\"k\\n\\\"\":\"v\",\"k\":\"\\ud83d\\ude00\"}",
		"{\"i\":[0,-1,1,9223372036854775807,-9223372036854775808,42]}",
		"{\"r\":[0.5,-0.0,1.0,1e300,5e-324,0.1,123456789.125,-2.5e-7,1E+2]}",
		"{\"t\":true,\"f\":false,\"n\":null}",
		"{\"m\":{\"z\":{\"y\":[1,{\"b\":2,\"a\":1}],\"x\":\"1\"},\"a\":null}}",
		"{\"k01\":1,\"k02\":2,\"k03\":3,\"k04\":4,\"k05\":5,\"k06\":6,\"k07\":7,\"k08\":8,"
		"\"k09\":9,\"k10\":10,\"k11\":11,\"k12\":12,\"k13\":13,\"k14\":14,\"k15\":15,"
		"\"k16\":16,\"k17\":17,\"k00\":0,\"K\":-1}",
	};
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		json_t *v = parse_json(bodies[i]);
		CHECK(same_as_reference(v));
		json_decref(v);
	}
}

/* A small deterministic generator (xorshift64*), so a failure repeats. */
static uint64_t rng_state = 0x2545F4914F6CDD1Du;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Du;
}

/* Returns a random valid UTF-8 string (caller frees): text, escapes,
 * control characters, non-ASCII, and prefixes of one another. */
static char *random_text(void)
{
	static const char *const pieces[] = {"a",
					     "b",
					     "A",
					     "0",
					     " ",
					     "\"",
					     "\\",
					     "/",
					     "\n",
					     "\t",
					     "\x01",
					     "\x1f",
					     "\x7f",
					     "\xc3\xa9",
					     "\xe2\x82\xac",
					     "\xf0\x9f\x98\x80",
					     "\xe2\x80\xa8",
					     "{",
					     ":",
					     ","};
	size_t n = rng() % 8;
	char *s = malloc(n * 4 + 1);
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		const char *p = pieces[rng() % (sizeof(pieces) / sizeof(pieces[0]))];
		memcpy(s + len, p, strlen(p));
		len += strlen(p);
	}
	s[len] = '\0';
	return s;
}

/* Returns a random JSON value nested up to depth levels (caller decrefs). */
static json_t *random_value(int depth)
{
	switch (rng() % (depth > 0 ? 9 : 7)) {
	case 0:
		return json_null();
	case 1:
		return json_boolean(rng() % 2);
	case 2:
		return json_integer((json_int_t)rng() >> (rng() % 64));
	case 3:
		return json_integer(-(json_int_t)(rng() % 100000));
	case 4:
		return json_real((double)(int64_t)rng() / (double)(1 + rng() % 1000000));
	case 5:
	case 6: {
		char *t = random_text();
		json_t *v = json_string(t);
		free(t);
		return v;
	}
	case 7: {
		json_t *a = json_array();
		for (size_t n = rng() % 5; n > 0; n--)
			json_array_append_new(a, random_value(depth - 1));
		return a;
	}
	default: {
		json_t *o = json_object();
		for (size_t n = rng() % 24; n > 0; n--) {
			char *k = random_text();
			json_object_set_new(o, k, random_value(depth - 1));
			free(k);
		}
		return o;
	}
	}
}

TEST(idem_fingerprint_is_the_sorted_jansson_dump_s_for_generated_bodies)
{
	for (int i = 0; i < 3000; i++) {
		json_t *body = json_object();
		for (size_t n = rng() % 20; n > 0; n--) {
			char *k = random_text();
			json_object_set_new(body, k, random_value(4));
			free(k);
		}
		bool same = same_as_reference(body);
		json_decref(body);
		if (!CHECK(same))
			break;
	}
}

/* --- Idempotency-Key ----------------------------------------------------- */

/* Returns true when idem_key_check() accepts key. */
static bool key_ok(const char *key)
{
	struct err e = {0};
	return idem_key_check(key, &e) == 0;
}

/* Returns true when idem_key_check() refuses key with 400
 * invalid_idempotency_key. */
static bool key_refused(const char *key)
{
	struct err e = {0};
	return idem_key_check(key, &e) == -1 && e.status == 400 && e.code &&
	       strcmp(e.code, "invalid_idempotency_key") == 0;
}

TEST(idem_key_check_accepts_1_to_255_characters)
{
	char key[257];
	CHECK(key_ok("k"));
	memset(key, 'k', 255);
	key[255] = '\0';
	CHECK(key_ok(key));
}

TEST(idem_key_check_refuses_an_empty_key_and_256_characters)
{
	char key[257];
	CHECK(key_refused(""));
	memset(key, 'k', 256);
	key[256] = '\0';
	CHECK(key_refused(key));
}

TEST(idem_key_check_accepts_printable_ascii)
{
	CHECK(key_ok("4f1c0b3e-8a7d-4c61-9e0f-2b8d5a6c7e91"));
	CHECK(key_ok("order 42: retry #1 (~!)"));
}

TEST(idem_key_check_refuses_control_characters)
{
	CHECK(key_refused("key\n"));
	CHECK(key_refused("key\tone"));
	CHECK(key_refused("\x01key"));
	CHECK(key_refused("key\x7f"));
}

TEST(idem_key_check_refuses_non_ascii)
{
	CHECK(key_refused("cl\xc3\xa9"));
	CHECK(key_refused("\xff"));
}

/* --- request bodies ------------------------------------------------------ */

/* Returns true when dispatch_body_parse() refuses text with 400
 * invalid_json and leaves *out NULL. */
static bool body_refused(const char *text)
{
	struct err e = {0};
	json_t *out = (json_t *)1;
	int rc = dispatch_body_parse(text, strlen(text), &out, &e);
	bool ok = rc == -1 && out == NULL && e.status == 400 && e.code &&
		  strcmp(e.code, "invalid_json") == 0;
	if (rc == 0)
		json_decref(out);
	return ok;
}

/* Returns a malloc'ed object nested depth levels deep: {"a":{"a":...{}}}. */
static char *nested_objects(int depth)
{
	char *s = malloc((size_t)depth * 6 + 1);
	size_t o = 0;
	for (int i = 0; i < depth; i++) {
		if (i == depth - 1) {
			s[o++] = '{';
		} else {
			memcpy(s + o, "{\"a\":", 5);
			o += 5;
		}
	}
	memset(s + o, '}', (size_t)depth);
	s[o + (size_t)depth] = '\0';
	return s;
}

/* Returns a malloc'ed object holding depth - 1 nested arrays: {"a":[[...]]}. */
static char *nested_arrays(int depth)
{
	size_t n = (size_t)depth - 1;
	char *s = malloc(2 * n + 8);
	size_t o = 0;
	memcpy(s, "{\"a\":", 5);
	o = 5;
	memset(s + o, '[', n);
	o += n;
	memset(s + o, ']', n);
	o += n;
	s[o++] = '}';
	s[o] = '\0';
	return s;
}

TEST(body_parse_turns_an_empty_body_into_an_empty_object)
{
	struct err e = {0};
	json_t *out = NULL;
	CHECK_INT(dispatch_body_parse(NULL, 0, &out, &e), 0);
	CHECK(json_is_object(out) && json_object_size(out) == 0);
	json_decref(out);
}

TEST(body_parse_returns_a_valid_object)
{
	const char *text = "{\"email\": \"jane@example.com\", \"metadata\": {\"crm\": \"42\"}}";
	struct err e = {0};
	json_t *out = NULL;
	CHECK_INT(dispatch_body_parse(text, strlen(text), &out, &e), 0);
	CHECK_STR(json_string_value(json_object_get(out, "email")), "jane@example.com");
	CHECK_STR(json_string_value(json_object_get(json_object_get(out, "metadata"), "crm")),
		  "42");
	json_decref(out);
}

TEST(body_parse_reads_only_len_bytes)
{
	const char *text = "{\"a\": \"1\"}garbage";
	struct err e = {0};
	json_t *out = NULL;
	CHECK_INT(dispatch_body_parse(text, 10, &out, &e), 0);
	CHECK_STR(json_string_value(json_object_get(out, "a")), "1");
	json_decref(out);
}

TEST(body_parse_refuses_a_duplicate_key)
{
	CHECK(body_refused("{\"name\": \"Jane\", \"name\": \"Jake\"}"));
	CHECK(body_refused("{\"m\": {\"k\": \"1\", \"k\": \"2\"}}"));
}

TEST(body_parse_refuses_anything_but_an_object)
{
	CHECK(body_refused("[]"));
	CHECK(body_refused("[{\"a\": 1}]"));
	CHECK(body_refused("\"text\""));
	CHECK(body_refused("42"));
	CHECK(body_refused("null"));
}

TEST(body_parse_refuses_invalid_json)
{
	CHECK(body_refused("{"));
	CHECK(body_refused("{\"a\": 1,}"));
	CHECK(body_refused("{} {}"));
	CHECK(body_refused(" "));
}

TEST(body_parse_accepts_32_levels_of_nesting_and_refuses_33)
{
	char *ok = nested_objects(32), *deep = nested_objects(33);
	struct err e = {0};
	json_t *out = NULL;
	CHECK_INT(dispatch_body_parse(ok, strlen(ok), &out, &e), 0);
	json_decref(out);
	CHECK(body_refused(deep));
	free(ok);
	free(deep);
}

TEST(body_parse_counts_arrays_as_nesting_levels)
{
	char *ok = nested_arrays(32), *deep = nested_arrays(33);
	struct err e = {0};
	json_t *out = NULL;
	CHECK_INT(dispatch_body_parse(ok, strlen(ok), &out, &e), 0);
	json_decref(out);
	CHECK(body_refused(deep));
	free(ok);
	free(deep);
}

TEST(body_parse_refuses_a_nul_character_in_a_string)
{
	CHECK(body_refused("{\"name\": \"Ja\\u0000ne\"}"));
	CHECK(body_refused("{\"na\\u0000me\": \"Jane\"}"));
}

/* --- what the store keeps of a key and its answer ------------------------ */

TEST(idem_key_digest_is_the_sha256_of_the_label_and_the_key)
{
	char digest[65];
	/* printf 'innbocks-idempotency-key-v1:abc' | sha256sum; the PostgreSQL
	 * migration (sql/postgres/0006) computes the same in SQL. */
	idem_key_digest("abc", digest);
	CHECK_STR(digest, "16ca37a6b469ff2a1d80f09ba811c6e441e121a24c79005e9aaf3e5526dd11b0");
}

TEST(idem_seal_hides_the_answer_and_idem_open_gives_it_back)
{
	struct arena *a = arena_new();
	const char *body = "{\"secret\":\"ib_live_abc\"}";
	size_t n = 0, m = 0;
	char *sealed = idem_seal(a, "ptn_1", "key-1", body, strlen(body), &n);
	CHECK(n > strlen(body));
	CHECK(memmem(sealed, n, "ib_live_abc", 11) == NULL);
	/* A random nonce: the same answer sealed twice differs. */
	char *again = idem_seal(a, "ptn_1", "key-1", body, strlen(body), &m);
	CHECK(n == m && memcmp(sealed, again, n) != 0);
	const char *out = NULL;
	size_t len = 0;
	struct err e = {0};
	if (CHECK_INT(idem_open(a, "ptn_1", "key-1", sealed, n, &out, &len, &e), 0)) {
		CHECK_INT(len, strlen(body));
		CHECK_STR(out, body);
	}
	/* An empty answer (a 204) too. */
	char *empty = idem_seal(a, "ptn_1", "key-1", "", 0, &m);
	if (CHECK_INT(idem_open(a, "ptn_1", "key-1", empty, m, &out, &len, &e), 0))
		CHECK_INT(len, 0);
	arena_free(a);
}

TEST(idem_open_refuses_another_key_another_scope_and_changed_bytes)
{
	struct arena *a = arena_new();
	const char *body = "{\"id\":\"cus_1\"}";
	size_t n = 0, len = 0;
	char *sealed = idem_seal(a, "ptn_1", "key-1", body, strlen(body), &n);
	const char *out = NULL;
	struct err e = {0};
	CHECK_INT(idem_open(a, "ptn_1", "key-2", sealed, n, &out, &len, &e), -1);
	CHECK_INT(e.status, 500);
	CHECK_INT(idem_open(a, "ptn_2", "key-1", sealed, n, &out, &len, &e), -1);
	for (size_t i = 3; i < n; i += 7) { /* past the magic: nonce, tag, text */
		sealed[i] ^= 1;
		CHECK_INT(idem_open(a, "ptn_1", "key-1", sealed, n, &out, &len, &e), -1);
		sealed[i] ^= 1;
	}
	CHECK_INT(idem_open(a, "ptn_1", "key-1", sealed, 20, &out, &len, &e), -1);
	CHECK_INT(idem_open(a, "ptn_1", "key-1", sealed, n, &out, &len, &e), 0);
	arena_free(a);
}

TEST(idem_open_gives_an_answer_stored_in_the_clear_as_it_is)
{
	struct arena *a = arena_new();
	const char *plain = "{\"id\":\"cus_1\"}";
	const char *out = NULL;
	size_t len = 0;
	struct err e = {0};
	CHECK_INT(idem_open(a, "ptn_1", "key-1", plain, strlen(plain), &out, &len, &e), 0);
	CHECK(out == plain);
	CHECK_INT(len, strlen(plain));
	CHECK_INT(idem_open(a, "ptn_1", "key-1", "", 0, &out, &len, &e), 0);
	CHECK_INT(len, 0);
	arena_free(a);
}

TEST(a_running_key_is_claimed_once_per_scope_until_it_is_released)
{
	struct idem_running *r = idem_running_new();
	CHECK(idem_running_claim(r, "ptn_a", "k1"));
	CHECK(!idem_running_claim(r, "ptn_a", "k1")); /* a duplicate while it runs */
	CHECK(idem_running_claim(r, "ptn_b", "k1"));  /* another partner's */
	CHECK(idem_running_claim(r, "ptn_a", "k2"));
	/* The scope and the key are not run together: "a\nb" + "c" is not "a" + "b\nc". */
	CHECK(idem_running_claim(r, "ptn_a\nk", "1"));
	idem_running_release(r, "ptn_a", "k1");
	CHECK(idem_running_claim(r, "ptn_a", "k1")); /* afterwards, the next may run */
	CHECK(!idem_running_claim(r, "ptn_b", "k1"));
	/* Many at once, all of them held apart, and none left after release. */
	char key[32];
	int claimed = 0, refused = 0, again = 0;
	for (int i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "key-%d", i);
		claimed += idem_running_claim(r, "ptn_c", key);
	}
	for (int i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "key-%d", i);
		refused += !idem_running_claim(r, "ptn_c", key);
		idem_running_release(r, "ptn_c", key);
	}
	for (int i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "key-%d", i);
		again += idem_running_claim(r, "ptn_c", key);
	}
	CHECK_INT(claimed, 2000);
	CHECK_INT(refused, 2000);
	CHECK_INT(again, 2000);
	idem_running_free(r); /* frees what is still claimed */
}
