/* idem.h - Idempotency-Key checks and request fingerprints (docs/api.md). The
 * records themselves are kept by the store, in the request's transaction. */
#ifndef INNBOCKS_IDEM_H
#define INNBOCKS_IDEM_H

#include <jansson.h>

#include "resp.h"
#include "util.h"

#define IDEM_KEY_MAX 255
#define IDEM_RETENTION_SECONDS (24 * 3600)

/* Writes the lowercase hex fingerprint of a request: SHA-256 over method,
 * path and the body in canonical JSON (sorted keys, no whitespace), so the
 * same JSON sent with other spacing or key order is the same request. */
void idem_fingerprint(const char *method, const char *path, json_t *body, char out[65]);

/* What the store keeps of an Idempotency-Key and of its answer. A copy of
 * the database (a backup, a dump) must not give away the secrets some
 * answers carry (a new API key, which the database keeps only as a hash; a
 * setup link; a webhook endpoint's signing secret), yet a replay must
 * return them. So the database never holds a key in the clear, only its
 * digest, and an answer that holds a secret (ctx.answer_secret) is sealed
 * (AES-256-GCM) under a key derived from the scope and the raw
 * Idempotency-Key, which only the client holds. Other answers are kept as
 * they are: what they show is in the database's tables anyway. */

/* Writes the digest the store keeps of key, in lowercase hex: SHA-256 of
 * IDEM_KEY_DIGEST_LABEL followed by the key. The PostgreSQL migration that
 * turned stored keys into digests computes the same in SQL. */
#define IDEM_KEY_DIGEST_LABEL "innbocks-idempotency-key-v1:"
void idem_key_digest(const char *key, char out[65]);
/* Returns the answer body (len bytes) sealed for (scope, key), owned by the
 * arena, and its length in *out_len. */
char *idem_seal(struct arena *a, const char *scope, const char *key, const char *body,
		size_t len, size_t *out_len);
/* Opens a stored answer (len bytes) sealed for (scope, key) into *body and
 * *body_len (owned by the arena, NUL-terminated); a stored answer that is
 * not sealed comes back as it is. Returns 0, or
 * -1 with e set (500) when the bytes do not open with this key: they were
 * changed in the database. */
int idem_open(struct arena *a, const char *scope, const char *key, const char *stored,
	      size_t len, const char **body, size_t *body_len, struct err *e);

/* Fills e with 409 idempotency_key_in_use (a request with the same key is
 * still running) and returns -1. */
int idem_in_use(struct err *e);

/* Returns 0 when key is a usable Idempotency-Key (1-255 printable ASCII
 * characters), else -1 with e set to 400 invalid_idempotency_key. */
int idem_key_check(const char *key, struct err *e);

#endif
