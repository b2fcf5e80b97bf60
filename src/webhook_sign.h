/* webhook_sign.h - webhook signatures (docs/webhooks.md): lowercase hex of
 * HMAC-SHA256(key = secret, message = timestamp + "." + raw body). */
#ifndef INNBOCKS_WEBHOOK_SIGN_H
#define INNBOCKS_WEBHOOK_SIGN_H

#include <stddef.h>
#include <stdint.h>

/* Writes the hex signature of body at timestamp into out. */
void webhook_sign(const char *secret, int64_t timestamp, const char *body, size_t len,
		  char out[65]);

/* Writes the Innbocks-Signature header value: "v1=<hex>", or during a
 * rotation "v1=<new>, v1=<old>" (previous may be NULL). out needs 140 bytes. */
void webhook_sign_header(const char *secret, const char *previous, int64_t timestamp,
			 const char *body, size_t len, char out[140]);

#endif
