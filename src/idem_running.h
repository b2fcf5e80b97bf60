/* idem_running.h - the Idempotency-Keys of the requests this process is
 * running now, so that a duplicate sent meanwhile is answered
 * 409 idempotency_key_in_use at once (docs/api.md) instead of waiting its
 * turn behind the first and getting its replay. The stored records decide
 * everything else (store.h: idem_get), in the request's transaction; this
 * only sees requests of this process (on PostgreSQL, one of another
 * instance is found by the store's own lock). */
#ifndef INNBOCKS_IDEM_RUNNING_H
#define INNBOCKS_IDEM_RUNNING_H

#include <stdbool.h>

struct idem_running;

/* Returns an empty set, freed with idem_running_free(). */
struct idem_running *idem_running_new(void);
/* Frees the set. Accepts NULL. */
void idem_running_free(struct idem_running *r);
/* Adds (scope, key) and returns true, or returns false when a running
 * request holds it already. Thread-safe; the strings are copied. */
bool idem_running_claim(struct idem_running *r, const char *scope, const char *key);
/* Removes (scope, key), which the caller claimed. Thread-safe. */
void idem_running_release(struct idem_running *r, const char *scope, const char *key);

#endif
