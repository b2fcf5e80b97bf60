/* test_validate.c - the pure input checks of validate.h: e-mail, E.164,
 * external ids, countries, lists of choices, metadata patches, billing periods and the
 * active-day arithmetic of usage billing; and how error messages echo what a
 * client sent (utf8_make_valid(), resp_quote()). Expected times come from timegm(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "resp.h"
#include "unit.h"
#include "util.h"
#include "validate.h"

/* Returns the Unix time of a UTC calendar moment. */
static int64_t utc(int year, int month, int day, int hour, int min, int sec)
{
	struct tm tm = {
		.tm_year = year - 1900,
		.tm_mon = month - 1,
		.tm_mday = day,
		.tm_hour = hour,
		.tm_min = min,
		.tm_sec = sec,
	};
	return (int64_t)timegm(&tm);
}

/* Returns a malloc'ed string of n copies of the UTF-8 character ch. */
static char *repeat(const char *ch, size_t n)
{
	size_t l = strlen(ch);
	char *s = malloc(l * n + 1);
	if (!s)
		abort();
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * l, ch, l);
	s[l * n] = '\0';
	return s;
}

/* --- e-mail ------------------------------------------------------------ */

TEST(valid_email_accepts_ordinary_addresses)
{
	CHECK(valid_email("jane@example.com"));
	CHECK(valid_email("a.b+c@sub.example.co.uk"));
}

TEST(valid_email_refuses_an_address_without_exactly_one_at)
{
	CHECK(!valid_email("jane.example.com"));
	CHECK(!valid_email("jane@doe@example.com"));
}

TEST(valid_email_refuses_an_empty_local_part_or_domain)
{
	CHECK(!valid_email("@example.com"));
	CHECK(!valid_email("jane@"));
	CHECK(!valid_email(""));
}

TEST(valid_email_refuses_a_domain_without_a_dot)
{
	CHECK(!valid_email("jane@localhost"));
}

TEST(valid_email_refuses_a_trailing_dot_or_empty_label)
{
	CHECK(!valid_email("jane@example.com."));
	CHECK(!valid_email("jane@example..com"));
	CHECK(!valid_email("jane@.example.com"));
}

TEST(valid_email_refuses_spaces_and_control_characters)
{
	CHECK(!valid_email("jane doe@example.com"));
	CHECK(!valid_email("jane@exa mple.com"));
	CHECK(!valid_email(" jane@example.com"));
	CHECK(!valid_email("jane@example.com "));
	CHECK(!valid_email("ja\x01ne@example.com"));
	CHECK(!valid_email("ja\x7fne@example.com"));
	CHECK(!valid_email("jane\n@example.com"));
}

TEST(valid_email_counts_characters_not_bytes)
{
	char addr[300];
	/* 64 é in the local part (128 bytes): at the limit; 65: past it. */
	size_t n = 0;
	for (int i = 0; i < 64; i++)
		n += (size_t)snprintf(addr + n, sizeof(addr) - n, "\xc3\xa9");
	snprintf(addr + n, sizeof(addr) - n, "@example.com");
	CHECK(valid_email(addr));
	snprintf(addr + n, sizeof(addr) - n, "\xc3\xa9@example.com");
	CHECK(!valid_email(addr));
	/* 32 é, '@' and 221 more characters: 254 in all, 286 bytes (63 a, b
	 * and c, 25 d, com). */
	n = 0;
	for (int i = 0; i < 32; i++)
		n += (size_t)snprintf(addr + n, sizeof(addr) - n, "\xc3\xa9");
	n += (size_t)snprintf(addr + n, sizeof(addr) - n, "@");
	for (int label = 0; label < 3; label++) {
		memset(addr + n, 'a' + label, 63);
		n += 63;
		addr[n++] = '.';
	}
	memset(addr + n, 'd', 25);
	snprintf(addr + n + 25, sizeof(addr) - n - 25, ".com");
	CHECK(strlen(addr) == 286);
	CHECK(valid_email(addr));
	snprintf(addr + n + 25, sizeof(addr) - n - 25, "d.com"); /* 255 */
	CHECK(!valid_email(addr));
}

TEST(valid_email_takes_an_international_domain_in_either_form)
{
	CHECK(valid_email("user@xn--e1afmkfd.xn--p1ai")); /* пример.рф */
	CHECK(valid_email("user@\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80."
			  "\xd1\x80\xd1\x84")); /* the same in Unicode */
	CHECK(valid_email("j\xc3\xb6s\xc3\xa9@b\xc3\xbc"
			  "cher.de"));                /* jösé@bücher.de */
	CHECK(!valid_email("user@example.xn--zz"));   /* an A-label that does not decode */
	CHECK(!valid_email("user@example.c0m"));      /* a top-level domain of letters */
	CHECK(!valid_email("user@xn--a.com"));        /* an A-label that decodes to U+0080 */
	CHECK(!valid_email("a@xn--ls8h.la"));         /* a symbol, as in Unicode: */
	CHECK(!valid_email("a@\xf0\x9f\x92\xa9.la")); /* either form alike */
	CHECK(!valid_email("x@ex\xe2\x80\x8b"
			   "ample.com")); /* a zero-width space, which IDNA drops */
	CHECK(!valid_email("\xe2\x80\xae@example.com")); /* a bidi override alone */
}

TEST(valid_http_url_takes_what_a_client_can_fetch)
{
	CHECK(valid_http_url("https://example.com/a.jpg"));
	CHECK(valid_http_url("http://user:pw@example.com:8080/a?b=c#d"));
	CHECK(valid_http_url("https://[2001:db8::1]/a"));
	CHECK(valid_http_url("https://b\xc3\xbc"
			     "cher.de/\xc3\xa9t\xc3\xa9.jpg"));
	CHECK(!valid_http_url("https://example.com:abc/a"));   /* a port of letters */
	CHECK(!valid_http_url("https://example.com:99999/a")); /* past 65535 */
	CHECK(!valid_http_url("https://example.com:0/a"));     /* connects nowhere */
	CHECK(!valid_http_url("https://[zz/a"));               /* no IPv6 literal */
	CHECK(!valid_http_url("https://example.com/a\xc2\x85"
			      "b")); /* a C1 control */
	CHECK(!valid_http_url("https://example.com/a b"));
	CHECK(!valid_http_url("https://example.com/a\xc2\xa0"
			      "b")); /* a no-break space */
	CHECK(!valid_http_url("https://exa\xe2\x80\x8b"
			      "mple.com/")); /* an invisible one */
	CHECK(!valid_http_url("ftp://example.com/a"));
	CHECK(!valid_http_url("https:///a"));
	CHECK(!valid_http_url("https://:80/a"));
}

TEST(valid_http_url_counts_characters_not_bytes)
{
	char url[5000] = "https://example.com/";
	size_t n = strlen(url);
	/* 2028 é after the 20 characters: 2048 characters, 4076 bytes. */
	for (int i = 0; i < 2028; i++)
		n += (size_t)snprintf(url + n, sizeof(url) - n, "\xc3\xa9");
	CHECK(valid_http_url(url));
	snprintf(url + n, sizeof(url) - n, "x");
	CHECK(!valid_http_url(url));
}

TEST(valid_visible_finds_a_character_past_white_space_and_invisible_ones)
{
	CHECK(valid_visible("a"));
	CHECK(valid_visible("  Jane  "));
	CHECK(valid_visible("\xe2\x80\x8b"
			    "a")); /* a zero-width space, then a */
	CHECK(!valid_visible(""));
	CHECK(!valid_visible("   \t\n"));
	CHECK(!valid_visible("\xc2\xa0\xe3\x80\x80"));     /* NBSP, the ideographic space */
	CHECK(!valid_visible("\xe2\x80\x8b\xef\xbb\xbf")); /* zero-width space, BOM */
}

TEST(valid_text_refuses_c0_del_and_c1_controls_and_keeps_the_letters_beside_them)
{
	CHECK(valid_text("Jos\xc3\xa9 \xc2\xa0\xc2\xbf\xe2\x80\xa8",
			 false)); /* é, NBSP, ¿, U+2028 */
	CHECK(!valid_text("a\x01b", false));
	CHECK(!valid_text("a\x7f"
			  "b",
			  false));
	CHECK(!valid_text("a\xc2\x80"
			  "b",
			  false)); /* U+0080 */
	CHECK(!valid_text("a\xc2\x85"
			  "b",
			  false)); /* U+0085, next line */
	CHECK(!valid_text("a\xc2\x9f"
			  "b",
			  false)); /* U+009F */
	CHECK(!valid_text("a\xc2\x85"
			  "b",
			  true));
	CHECK(!valid_text("a\tb", false));
	CHECK(valid_text("a\tb\r\nc", true));
}

TEST(valid_header_name_takes_exactly_the_token_characters_of_rfc_9110)
{
	static const char tchar[] = "!#$%&'*+-.^_`|~0123456789"
				    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
	for (int ch = 1; ch < 256; ch++) {
		char one = (char)ch;
		if (!CHECK(valid_header_name(&one, 1) == (strchr(tchar, ch) != NULL)))
			fprintf(stderr, "  byte 0x%02x\n", ch);
	}
	CHECK(valid_header_name("Content-Length", 14));
	CHECK(!valid_header_name("Content-Length ", 15));
	CHECK(!valid_header_name("Content-Length\t", 15));
	CHECK(!valid_header_name("X Note", 6));
	CHECK(!valid_header_name("", 0));
	CHECK(!valid_header_name("a\0b", 3));
}

TEST(valid_email_refuses_a_label_starting_with_a_hyphen)
{
	CHECK(!valid_email("jane@-example.com"));
	CHECK(!valid_email("jane@sub.-example.com"));
}

/* Writes a plausible address of exactly len characters (len >= 72). */
static void email_of_length(char *out, size_t len)
{
	memset(out, 'j', 64); /* the longest local part */
	out[64] = '@';
	size_t o = 65, labels = len - 65 - 3; /* room left before "com" */
	while (labels > 0) {
		size_t take = labels > 64 ? 64 : labels;
		if (labels - take == 1) /* never leave a 1-byte rest: it would be "." */
			take--;
		memset(out + o, 'd', take - 1); /* a label and its dot */
		out[o + take - 1] = '.';
		o += take;
		labels -= take;
	}
	memcpy(out + o, "com", 4);
}

TEST(valid_email_accepts_254_characters_and_refuses_255)
{
	char email[300];
	email_of_length(email, 254);
	CHECK_INT(strlen(email), 254);
	CHECK(valid_email(email));
	email_of_length(email, 255);
	CHECK_INT(strlen(email), 255);
	CHECK(!valid_email(email));
}

TEST(valid_email_refuses_a_single_letter_top_level_domain)
{
	CHECK(!valid_email("jane@example.c"));
}

TEST(valid_email_refuses_a_numeric_top_level_domain)
{
	CHECK(!valid_email("jane@example.123"));
	CHECK(!valid_email("jane@10.0.0.1"));
}

/* --- phone numbers, external ids, countries ----------------------------- */

TEST(valid_e164_accepts_a_plus_and_up_to_15_digits)
{
	CHECK(valid_e164("+15555555555"));
	CHECK(valid_e164("+123456789012345"));
	CHECK(valid_e164("+12"));
}

TEST(valid_e164_refuses_a_number_without_plus)
{
	CHECK(!valid_e164("15555555555"));
}

TEST(valid_e164_refuses_a_leading_zero)
{
	CHECK(!valid_e164("+05555555555"));
}

TEST(valid_e164_refuses_letters_and_separators)
{
	CHECK(!valid_e164("+1555CALLNOW"));
	CHECK(!valid_e164("+1 555 555 5555"));
	CHECK(!valid_e164("+1-555-555-5555"));
}

TEST(valid_e164_refuses_more_than_15_digits)
{
	CHECK(!valid_e164("+1234567890123456"));
}

TEST(valid_e164_refuses_a_lone_country_digit)
{
	CHECK(!valid_e164("+1"));
	CHECK(!valid_e164("+"));
	CHECK(!valid_e164(""));
}

TEST(valid_external_id_accepts_letters_digits_and_the_four_marks)
{
	CHECK(valid_external_id("crm_42"));
	CHECK(valid_external_id("A-z.0:9_"));
}

TEST(valid_external_id_refuses_other_characters)
{
	CHECK(!valid_external_id("crm 42"));
	CHECK(!valid_external_id("crm/42"));
	CHECK(!valid_external_id("crm#42"));
	CHECK(!valid_external_id("cr\xc3\xa9"));
}

TEST(valid_external_id_accepts_128_characters_and_refuses_129)
{
	char *id = repeat("x", 128);
	CHECK(valid_external_id(id));
	free(id);
	id = repeat("x", 129);
	CHECK(!valid_external_id(id));
	free(id);
}

TEST(valid_external_id_refuses_an_empty_id)
{
	CHECK(!valid_external_id(""));
}

TEST(valid_country_accepts_assigned_codes)
{
	CHECK(valid_country("US"));
	CHECK(valid_country("DE"));
	CHECK(valid_country("GB"));
	CHECK(valid_country("ZW"));
}

TEST(valid_country_refuses_anything_else)
{
	CHECK(!valid_country("us"));
	CHECK(!valid_country("Us"));
	CHECK(!valid_country("USA"));
	CHECK(!valid_country("U"));
	CHECK(!valid_country("U1"));
	CHECK(!valid_country(""));
	/* User-assigned and reserved: the shape of a code, no country. */
	CHECK(!valid_country("XX"));
	CHECK(!valid_country("ZZ"));
	CHECK(!valid_country("AA"));
	CHECK(!valid_country("QZ"));
	CHECK(!valid_country("UK"));
	CHECK(!valid_country("EU"));
}

/* Every pair of letters against Debian's iso-codes (scripts/deps.sh
 * installs it): valid exactly when the standard assigns it. */
TEST(valid_country_agrees_with_iso_codes_on_every_pair_of_letters)
{
	json_error_t jerr;
	json_t *doc = json_load_file("/usr/share/iso-codes/json/iso_3166-1.json", 0, &jerr);
	json_t *list = json_object_get(doc, "3166-1");
	if (!CHECK(json_is_array(list))) {
		printf("    iso-codes: %s\n", jerr.text);
		json_decref(doc);
		return;
	}
	bool assigned[26][26] = {{false}};
	size_t i;
	json_t *c;
	json_array_foreach(list, i, c) {
		const char *code = json_string_value(json_object_get(c, "alpha_2"));
		if (CHECK(code && strlen(code) == 2 && code[0] >= 'A' && code[0] <= 'Z' &&
			  code[1] >= 'A' && code[1] <= 'Z'))
			assigned[code[0] - 'A'][code[1] - 'A'] = true;
	}
	CHECK_INT(json_array_size(list), 249);
	for (int a = 0; a < 26; a++)
		for (int b = 0; b < 26; b++) {
			char code[3] = {(char)('A' + a), (char)('A' + b), '\0'};
			if (valid_country(code) != assigned[a][b])
				CHECK_STR(code, assigned[a][b] ? "assigned" : "not assigned");
		}
	json_decref(doc);
}

TEST(valid_one_of_finds_a_string_only_when_the_list_holds_it)
{
	static const char *const statuses[] = {"invited", "active", NULL};
	CHECK(valid_one_of("invited", statuses));
	CHECK(valid_one_of("active", statuses));
	CHECK(!valid_one_of("Active", statuses));
	CHECK(!valid_one_of("activ", statuses));
	CHECK(!valid_one_of("", statuses));
	CHECK(!valid_one_of("active", NULL));
}

/* --- metadata ----------------------------------------------------------- */

/* Returns the parsed JSON text (the caller decrefs); aborts on bad JSON. */
static json_t *parse_json(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, 0, &jerr);
	if (!v) {
		fprintf(stderr, "bad JSON in a test: %s: %s\n", text, jerr.text);
		abort();
	}
	return v;
}

/* Returns an object of n keys "k0".."k<n-1>" with the value "v". */
static json_t *object_of_keys(int n, const char *key_prefix)
{
	json_t *o = json_object();
	for (int i = 0; i < n; i++) {
		char k[32];
		snprintf(k, sizeof(k), "%s%d", key_prefix, i);
		json_object_set_new(o, k, json_string("v"));
	}
	return o;
}

/* Returns true when metadata_apply() refused patch with 422
 * validation_failed on param "metadata" and left current as it was. */
static bool refused(json_t *current, json_t *patch)
{
	json_t *before = json_deep_copy(current);
	struct err e = {0};
	int rc = metadata_apply(current, patch, &e);
	bool ok = CHECK_INT(rc, -1) && CHECK_INT(e.status, 422) &&
		  CHECK_STR(e.code, "validation_failed") && CHECK_STR(e.param, "metadata") &&
		  CHECK(json_equal(current, before));
	json_decref(before);
	return ok;
}

/* Returns true when metadata_apply() accepted patch. */
static bool accepted(json_t *current, json_t *patch)
{
	struct err e = {0};
	int rc = metadata_apply(current, patch, &e);
	if (rc != 0)
		printf("    refused: %s\n", e.message);
	return CHECK_INT(rc, 0);
}

TEST(metadata_apply_sets_string_values)
{
	json_t *cur = parse_json("{\"plan\": \"gold\"}");
	json_t *patch = parse_json("{\"crm\": \"42\", \"plan\": \"silver\"}");
	accepted(cur, patch);
	json_t *want = parse_json("{\"crm\": \"42\", \"plan\": \"silver\"}");
	CHECK(json_equal(cur, want));
	json_decref(cur);
	json_decref(patch);
	json_decref(want);
}

TEST(metadata_apply_removes_a_key_set_to_empty_string)
{
	json_t *cur = parse_json("{\"plan\": \"gold\", \"crm\": \"42\"}");
	json_t *patch = parse_json("{\"plan\": \"\"}");
	accepted(cur, patch);
	json_t *want = parse_json("{\"crm\": \"42\"}");
	CHECK(json_equal(cur, want));
	json_decref(cur);
	json_decref(patch);
	json_decref(want);
}

TEST(metadata_apply_removes_a_key_set_to_null)
{
	json_t *cur = parse_json("{\"plan\": \"gold\", \"crm\": \"42\"}");
	json_t *patch = parse_json("{\"plan\": null}");
	accepted(cur, patch);
	json_t *want = parse_json("{\"crm\": \"42\"}");
	CHECK(json_equal(cur, want));
	json_decref(cur);
	json_decref(patch);
	json_decref(want);
}

TEST(metadata_apply_ignores_removing_a_key_that_is_not_there)
{
	json_t *cur = parse_json("{\"crm\": \"42\"}");
	json_t *patch = parse_json("{\"plan\": null, \"tier\": \"\"}");
	accepted(cur, patch);
	CHECK_INT(json_object_size(cur), 1);
	json_decref(cur);
	json_decref(patch);
}

TEST(metadata_apply_accepts_50_keys)
{
	json_t *cur = json_object(), *patch = object_of_keys(50, "k");
	accepted(cur, patch);
	CHECK_INT(json_object_size(cur), 50);
	json_decref(cur);
	json_decref(patch);
}

TEST(metadata_apply_refuses_a_51st_key_and_keeps_current)
{
	json_t *cur = object_of_keys(50, "k"), *patch = parse_json("{\"one_more\": \"v\"}");
	refused(cur, patch);
	CHECK(json_object_get(cur, "one_more") == NULL);
	json_decref(cur);
	json_decref(patch);
}

TEST(metadata_apply_counts_the_limit_on_the_result)
{
	/* At 50 keys, removing one makes room for another in the same patch. */
	json_t *cur = object_of_keys(50, "k"),
	       *patch = parse_json("{\"k0\": null, \"new\": \"v\"}");
	accepted(cur, patch);
	CHECK_INT(json_object_size(cur), 50);
	CHECK(json_object_get(cur, "new") != NULL);
	json_decref(cur);
	json_decref(patch);
}

TEST(metadata_apply_changes_a_value_at_50_keys)
{
	json_t *cur = object_of_keys(50, "k"), *patch = parse_json("{\"k7\": \"changed\"}");
	accepted(cur, patch);
	CHECK_INT(json_object_size(cur), 50);
	CHECK_STR(json_string_value(json_object_get(cur, "k7")), "changed");
	json_decref(cur);
	json_decref(patch);
}

/* Returns a one-key patch {key: value}. */
static json_t *patch_of(const char *key, const char *value)
{
	json_t *o = json_object();
	json_object_set_new(o, key, json_string(value));
	return o;
}

TEST(metadata_apply_accepts_a_key_of_40_characters_and_refuses_41)
{
	char *k40 = repeat("k", 40), *k41 = repeat("k", 41);
	json_t *cur = json_object(), *ok = patch_of(k40, "v"), *bad = patch_of(k41, "v");
	accepted(cur, ok);
	refused(cur, bad);
	json_decref(cur);
	json_decref(ok);
	json_decref(bad);
	free(k40);
	free(k41);
}

TEST(metadata_apply_accepts_a_value_of_500_characters_and_refuses_501)
{
	char *v500 = repeat("v", 500), *v501 = repeat("v", 501);
	json_t *cur = json_object(), *ok = patch_of("a", v500), *bad = patch_of("b", v501);
	accepted(cur, ok);
	refused(cur, bad);
	json_decref(cur);
	json_decref(ok);
	json_decref(bad);
	free(v500);
	free(v501);
}

TEST(metadata_apply_counts_multibyte_utf8_as_one_character)
{
	/* "é" is 2 bytes and "€" 3: 40 and 500 characters are within the limits
	 * although their bytes are not; one more character is not. */
	char *k40 = repeat("\xc3\xa9", 40), *k41 = repeat("\xc3\xa9", 41);
	char *v500 = repeat("\xe2\x82\xac", 500), *v501 = repeat("\xe2\x82\xac", 501);
	json_t *cur = json_object();
	json_t *ok_key = patch_of(k40, "v"), *ok_value = patch_of("a", v500);
	json_t *bad_key = patch_of(k41, "v"), *bad_value = patch_of("b", v501);
	accepted(cur, ok_key);
	accepted(cur, ok_value);
	refused(cur, bad_key);
	refused(cur, bad_value);
	json_decref(cur);
	json_decref(ok_key);
	json_decref(ok_value);
	json_decref(bad_key);
	json_decref(bad_value);
	free(k40);
	free(k41);
	free(v500);
	free(v501);
}

TEST(metadata_apply_refuses_a_value_that_is_not_a_string)
{
	const char *patches[] = {"{\"n\": 5}", "{\"b\": true}", "{\"o\": {}}",
				 "{\"a\": [\"x\"]}", "{\"ok\": \"v\", \"n\": 5}"};
	for (size_t i = 0; i < sizeof(patches) / sizeof(patches[0]); i++) {
		json_t *cur = parse_json("{\"crm\": \"42\"}"), *patch = parse_json(patches[i]);
		if (!refused(cur, patch))
			printf("    patch %s\n", patches[i]);
		json_decref(cur);
		json_decref(patch);
	}
}

TEST(metadata_apply_refuses_a_patch_that_is_not_an_object)
{
	const char *patches[] = {"[]", "\"plan\"", "5", "null"};
	for (size_t i = 0; i < sizeof(patches) / sizeof(patches[0]); i++) {
		json_t *cur = parse_json("{\"crm\": \"42\"}");
		json_t *patch = json_loads(patches[i], JSON_DECODE_ANY, NULL);
		if (!refused(cur, patch))
			printf("    patch %s\n", patches[i]);
		json_decref(cur);
		json_decref(patch);
	}
}

/* --- times ---------------------------------------------------------------- */

/* A second 60 is a leap second: the last of a UTC day ending June or
 * December (RFC 3339, 5.7), stored as the second before it. Any other
 * minute has no second 60. */
TEST(rfc3339_parse_takes_a_second_60_only_as_a_leap_second)
{
	int64_t t = 0;
	CHECK_INT(rfc3339_parse("2016-12-31T23:59:60Z", &t), 0);
	CHECK_INT(t, utc(2016, 12, 31, 23, 59, 59));
	CHECK_INT(rfc3339_parse("2015-06-30T23:59:60Z", &t), 0);
	CHECK_INT(t, utc(2015, 6, 30, 23, 59, 59));
	CHECK_INT(rfc3339_parse("2016-12-31T18:59:60-05:00", &t), 0);
	CHECK_INT(t, utc(2016, 12, 31, 23, 59, 59));
	const char *not_leap[] = {
		"2026-11-30T10:00:60Z", "2016-12-31T22:59:60Z",      "2016-12-30T23:59:60Z",
		"2016-03-31T23:59:60Z", "2016-12-31T23:59:60+01:00",
	};
	for (size_t i = 0; i < sizeof(not_leap) / sizeof(not_leap[0]); i++)
		if (!CHECK_INT(rfc3339_parse(not_leap[i], &t), -1))
			printf("    %s\n", not_leap[i]);
}

/* --- billing periods ----------------------------------------------------- */

TEST(period_parse_gives_the_month_as_unix_seconds)
{
	int64_t start = 0, end = 0;
	CHECK_INT(period_parse("2026-11", &start, &end), 0);
	CHECK_INT(start, utc(2026, 11, 1, 0, 0, 0));
	CHECK_INT(end, utc(2026, 12, 1, 0, 0, 0));
}

TEST(period_parse_rolls_december_into_the_next_year)
{
	int64_t start = 0, end = 0;
	CHECK_INT(period_parse("2026-12", &start, &end), 0);
	CHECK_INT(start, utc(2026, 12, 1, 0, 0, 0));
	CHECK_INT(end, utc(2027, 1, 1, 0, 0, 0));
}

TEST(period_parse_knows_leap_februaries)
{
	int64_t start = 0, end = 0;
	CHECK_INT(period_parse("2028-02", &start, &end), 0);
	CHECK_INT(end - start, 29 * 86400);
	CHECK_INT(period_parse("2027-02", &start, &end), 0);
	CHECK_INT(end - start, 28 * 86400);
}

TEST(period_parse_refuses_malformed_periods)
{
	/* 9999-12 would end in the year 10000: no RFC 3339 time. */
	const char *bad[] = {"2026-13",  "2026-00",  "26-11",    "2026/11",  "2026-1",
			     "2026-11x", "2026-11 ", " 2026-11", "2026-011", "",
			     "abcd-ef",  "1969-12",  "9999-12"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t start = 0, end = 0;
		if (!CHECK_INT(period_parse(bad[i], &start, &end), -1))
			printf("    period \"%s\"\n", bad[i]);
	}
}

/* --- active days --------------------------------------------------------- */

/* November 2026 (30 days), and a moment well after it. */
#define NOV_START utc(2026, 11, 1, 0, 0, 0)
#define NOV_END utc(2026, 12, 1, 0, 0, 0)
#define LATER utc(2027, 1, 15, 12, 0, 0)

TEST(usage_counts_every_day_of_a_month_active_throughout)
{
	CHECK_INT(usage_active_days(utc(2026, 10, 5, 9, 0, 0), 0, NOV_START, NOV_END, LATER),
		  30);
}

TEST(usage_counts_the_day_of_activation_at_ten_in_the_morning)
{
	/* Active from Nov 20, 10:00: the 20th through the 30th. */
	int64_t activated = utc(2026, 11, 20, 10, 0, 0);
	CHECK_INT(usage_active_days(activated, 0, NOV_START, NOV_END, LATER), 11);
	CHECK(usage_active_at(activated, 0, utc(2026, 11, 20, 10, 0, 0)));
	CHECK(!usage_active_at(activated, 0, utc(2026, 11, 20, 9, 59, 59)));
}

TEST(usage_does_not_count_the_day_a_mailbox_closed_at_midnight)
{
	/* Closed at the first instant of Nov 10: active Nov 1-9 only. */
	int64_t activated = utc(2026, 10, 1, 0, 0, 0), closed = utc(2026, 11, 10, 0, 0, 0);
	CHECK_INT(usage_active_days(activated, closed, NOV_START, NOV_END, LATER), 9);
	CHECK(usage_active_at(activated, closed, closed - 1));
	CHECK(!usage_active_at(activated, closed, closed));
}

TEST(usage_counts_the_day_a_mailbox_closed_after_midnight)
{
	int64_t activated = utc(2026, 10, 1, 0, 0, 0), closed = utc(2026, 11, 10, 0, 0, 1);
	CHECK_INT(usage_active_days(activated, closed, NOV_START, NOV_END, LATER), 10);
}

TEST(usage_counts_a_mailbox_opened_and_closed_on_one_day_once)
{
	int64_t activated = utc(2026, 11, 3, 8, 0, 0), closed = utc(2026, 11, 3, 17, 0, 0);
	CHECK_INT(usage_active_days(activated, closed, NOV_START, NOV_END, LATER), 1);
}

TEST(usage_counts_a_mailbox_closed_in_its_activation_second_for_that_day)
{
	int64_t at = utc(2026, 11, 3, 8, 0, 0);
	CHECK_INT(usage_active_days(at, at, NOV_START, NOV_END, LATER), 1);
	/* At midnight, the first second of a period: that day, in that period. */
	CHECK_INT(usage_active_days(NOV_START, NOV_START, NOV_START, NOV_END, LATER), 1);
	CHECK_INT(usage_active_days(NOV_END - 1, NOV_END - 1, NOV_START, NOV_END, LATER), 1);
	CHECK_INT(usage_active_days(NOV_END, NOV_END, NOV_START, NOV_END, LATER), 0);
	/* Billable, but never active at an instant: it was closed at once. */
	CHECK(!usage_active_at(at, at, at));
}

TEST(usage_counts_a_period_not_over_up_to_today_only)
{
	/* It is Nov 15, noon: the 1st through the 15th. */
	int64_t now = utc(2026, 11, 15, 12, 0, 0);
	CHECK_INT(usage_active_days(utc(2026, 10, 1, 0, 0, 0), 0, NOV_START, NOV_END, now), 15);
	/* Activated this morning: today counts. */
	CHECK_INT(usage_active_days(utc(2026, 11, 15, 9, 0, 0), 0, NOV_START, NOV_END, now), 1);
}

TEST(usage_counts_nothing_for_a_period_that_has_not_begun)
{
	int64_t now = utc(2026, 10, 20, 12, 0, 0);
	CHECK_INT(usage_active_days(utc(2026, 10, 1, 0, 0, 0), 0, NOV_START, NOV_END, now), 0);
}

TEST(usage_counts_nothing_for_a_mailbox_activated_after_the_period)
{
	int64_t activated = utc(2026, 12, 2, 10, 0, 0);
	CHECK_INT(usage_active_days(activated, 0, NOV_START, NOV_END, LATER), 0);
	CHECK_INT(usage_active_days(NOV_END, 0, NOV_START, NOV_END, LATER), 0);
	CHECK(!usage_active_at(activated, 0, NOV_END - 1));
}

TEST(usage_counts_nothing_for_a_mailbox_closed_before_the_period)
{
	int64_t activated = utc(2026, 9, 1, 0, 0, 0);
	CHECK_INT(usage_active_days(activated, utc(2026, 10, 20, 0, 0, 0), NOV_START, NOV_END,
				    LATER),
		  0);
	/* Closed at the very first instant of the period: no moment in it. */
	CHECK_INT(usage_active_days(activated, NOV_START, NOV_START, NOV_END, LATER), 0);
	CHECK(!usage_active_at(activated, NOV_START, NOV_START));
}

TEST(usage_counts_nothing_for_a_mailbox_never_activated)
{
	CHECK_INT(usage_active_days(0, 0, NOV_START, NOV_END, LATER), 0);
	CHECK(!usage_active_at(0, 0, utc(2026, 11, 15, 12, 0, 0)));
}

TEST(usage_active_at_is_true_while_open)
{
	int64_t activated = utc(2026, 11, 3, 8, 0, 0);
	CHECK(usage_active_at(activated, 0, activated));
	CHECK(usage_active_at(activated, 0, LATER));
	CHECK(!usage_active_at(activated, 0, activated - 1));
}

/* --- echoed text (util.h utf8_make_valid) --------------------------------- */

TEST(utf8_make_valid_keeps_valid_text_and_replaces_stray_bytes)
{
	char ok[] = "caf\xc3\xa9 \xe2\x82\xac";
	utf8_make_valid(ok);
	CHECK_STR(ok, "caf\xc3\xa9 \xe2\x82\xac");
	char stray[] = "/nope/\xff/x\xc0\xafy";
	utf8_make_valid(stray);
	CHECK_STR(stray, "/nope/?/x??y");
}

TEST(utf8_make_valid_drops_a_character_cut_at_the_end)
{
	char cut[] = "price \xe2\x82";
	utf8_make_valid(cut);
	CHECK_STR(cut, "price ");
	char empty[] = "";
	utf8_make_valid(empty);
	CHECK_STR(empty, "");
}

/* --- quoted client text in error messages (resp.h resp_quote) ------------- */

TEST(resp_quote_keeps_64_bytes_whole_and_cuts_longer_text_with_an_ellipsis)
{
	char s[200];
	memset(s, 'x', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	s[64] = '\0';
	CHECK(resp_quote(s) == s);
	s[64] = 'x';
	const char *q = resp_quote(s);
	CHECK_INT((int)strlen(q), 60 + 3);
	CHECK(strncmp(q, s, 60) == 0);
	CHECK_STR(q + 60, "\xe2\x80\xa6");
	CHECK_STR(resp_quote(NULL), "");
}

TEST(resp_quote_never_cuts_a_character_in_half)
{
	/* 59 ASCII bytes, then a euro sign (3 bytes) over the 60th byte. */
	char s[100];
	memset(s, 'a', 59);
	memcpy(s + 59, "\xe2\x82\xac", 3);
	memset(s + 62, 'b', 20);
	s[82] = '\0';
	char expected[64];
	memset(expected, 'a', 59);
	memcpy(expected + 59, "\xe2\x80\xa6", 4);
	CHECK_STR(resp_quote(s), expected);
}

TEST(resp_quote_keeps_four_results_apart_for_one_message)
{
	char a[80], b[80];
	memset(a, 'a', 79);
	memset(b, 'b', 79);
	a[79] = b[79] = '\0';
	struct err e;
	error(&e, 400, "invalid_request", NULL, "%s / %s", resp_quote(a), resp_quote(b));
	char expected[160];
	snprintf(expected, sizeof(expected), "%.60s\xe2\x80\xa6 / %.60s\xe2\x80\xa6", a, b);
	CHECK_STR(e.message, expected);
}

TEST(resp_choices_says_a_list_as_a_sentence_and_cuts_one_too_long)
{
	static const char *const one[] = {"usps", NULL};
	static const char *const two[] = {"true", "false", NULL};
	static const char *const carriers[] = {"usps", "ups", "fedex", "dhl", "other", NULL};
	CHECK_STR(resp_choices(one), "usps");
	CHECK_STR(resp_choices(two), "true or false");
	CHECK_STR(resp_choices(carriers), "usps, ups, fedex, dhl or other");
	/* 40 words of 9 letters: more than the 240 bytes; it ends in "...". */
	static char words[40][16];
	const char *many[41];
	for (unsigned i = 0; i < 40; i++) {
		snprintf(words[i], sizeof(words[i]), "choice%03u", i);
		many[i] = words[i];
	}
	many[40] = NULL;
	const char *text = resp_choices(many);
	CHECK(strlen(text) == 239);
	CHECK(strncmp(text, "choice000, choice001, ", 22) == 0);
	CHECK_STR(text + strlen(text) - 3, "...");
}
