/* test_webhook_sign.c - webhook signatures (docs/webhooks.md, src/webhook_sign.h)
 * against vectors computed independently with openssl(1):
 * hex = HMAC-SHA256(key = secret, message = timestamp "." raw body). */
#include <string.h>

#include "unit.h"
#include "webhook_sign.h"

/* printf '%s' '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test */
#define SIG_TEST "38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
/* printf '%s' '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_old */
#define SIG_OLD "b9d801502bb535e960ee9aeee7a294b082bda5089d79c7db610b85116ce6faa6"
/* printf '%s' '1700000000.' | openssl dgst -sha256 -hmac whsec_test */
#define SIG_EMPTY "5967f3c560522fa40cf2876ebc3c3a08551dd6959aaade3b413460591895bdcc"
/* printf '%s' '1700000001.{"a":1}' | openssl dgst -sha256 -hmac whsec_test */
#define SIG_NEXT_SECOND "26284b7c7d415dfc00bef6e3cf4549b9b5bec8ba9f639ab537fbfec18d0d398b"

static const char body[] = "{\"a\":1}";

TEST(webhook_sign_matches_the_openssl_vector)
{
	char out[65];
	memset(out, '#', sizeof(out));
	webhook_sign("whsec_test", 1700000000, body, strlen(body), out);
	CHECK_STR(out, SIG_TEST);
}

TEST(webhook_sign_depends_on_secret_timestamp_and_body)
{
	char out[65];
	webhook_sign("whsec_old", 1700000000, body, strlen(body), out);
	CHECK_STR(out, SIG_OLD);
	webhook_sign("whsec_test", 1700000001, body, strlen(body), out);
	CHECK_STR(out, SIG_NEXT_SECOND);
	webhook_sign("whsec_test", 1700000000, "", 0, out);
	CHECK_STR(out, SIG_EMPTY);
}

TEST(webhook_sign_signs_exactly_len_bytes_of_the_body)
{
	/* Bytes after len are not part of the body. */
	static const char longer[] = "{\"a\":1}{\"b\":2}";
	char out[65];
	webhook_sign("whsec_test", 1700000000, longer, strlen(body), out);
	CHECK_STR(out, SIG_TEST);
}

TEST(webhook_sign_is_64_lowercase_hex_characters)
{
	char out[65];
	webhook_sign("whsec_anything", 1234567890, body, strlen(body), out);
	CHECK_INT(strlen(out), 64);
	CHECK_INT(strspn(out, "0123456789abcdef"), 64);
}

TEST(webhook_signature_header_is_one_v1_without_a_previous_secret)
{
	char out[140];
	memset(out, '#', sizeof(out));
	webhook_sign_header("whsec_test", NULL, 1700000000, body, strlen(body), out);
	CHECK_STR(out, "v1=" SIG_TEST);
}

TEST(webhook_signature_header_during_rotation_is_new_then_old)
{
	char out[140];
	memset(out, '#', sizeof(out));
	webhook_sign_header("whsec_test", "whsec_old", 1700000000, body, strlen(body), out);
	CHECK_STR(out, "v1=" SIG_TEST ", v1=" SIG_OLD);
	/* The header fits its buffer with room for the NUL. */
	CHECK_INT(strlen(out), 3 + 64 + 2 + 3 + 64);
}
