/* test_idem.c - request fingerprints and Idempotency-Key checks (idem.h),
 * and dispatch_body_parse() (dispatch.h): what a request body may be. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "idem.h"
#include "unit.h"

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
