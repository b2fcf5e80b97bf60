/* webhook_sign.c - HMAC-SHA256 webhook signatures with OpenSSL. */
#include "webhook_sign.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "banned.h"

void webhook_sign(const char *secret, int64_t timestamp, const char *body, size_t len,
		  char out[65])
{
	char ts[24];
	int tl = snprintf(ts, sizeof(ts), "%lld.", (long long)timestamp);
	size_t total = (size_t)tl + len;
	unsigned char *msg = malloc(total ? total : 1);
	if (!msg)
		die("out of memory");
	memcpy(msg, ts, (size_t)tl);
	memcpy(msg + tl, body, len);
	unsigned char md[32];
	unsigned int mdlen = 0;
	if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), msg, total, md, &mdlen))
		die("HMAC failed");
	free(msg);
	hex_encode(md, 32, out);
}

void webhook_sign_header(const char *secret, const char *previous, int64_t timestamp,
			 const char *body, size_t len, char out[140])
{
	char now_sig[65], old_sig[65];
	webhook_sign(secret, timestamp, body, len, now_sig);
	if (!previous) {
		snprintf(out, 140, "v1=%s", now_sig);
		return;
	}
	webhook_sign(previous, timestamp, body, len, old_sig);
	snprintf(out, 140, "v1=%s, v1=%s", now_sig, old_sig);
}
