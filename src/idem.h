/* idem.h - Idempotency-Key checks and request fingerprints (docs/api.md). The
 * records themselves are kept by the store, in the request's transaction. */
#ifndef INNBOCKS_IDEM_H
#define INNBOCKS_IDEM_H

#include <jansson.h>

#include "resp.h"

#define IDEM_KEY_MAX 255
#define IDEM_RETENTION_SECONDS (24 * 3600)

/* Writes the lowercase hex fingerprint of a request: SHA-256 over method,
 * path and the body in canonical JSON (sorted keys, no whitespace), so the
 * same JSON sent with other spacing or key order is the same request. */
void idem_fingerprint(const char *method, const char *path, json_t *body, char out[65]);

/* Returns 0 when key is a usable Idempotency-Key (1-255 printable ASCII
 * characters), else -1 with e set to 400 invalid_idempotency_key. */
int idem_key_check(const char *key, struct err *e);

#endif
