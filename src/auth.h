/* auth.h - partner API keys, their scopes, and the operator token. */
#ifndef INNBOCKS_AUTH_H
#define INNBOCKS_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "store/store.h"

enum scope {
	SCOPE_CUSTOMERS_READ = 1 << 0,
	SCOPE_CUSTOMERS_WRITE = 1 << 1,
	SCOPE_MAIL_READ = 1 << 2,
	SCOPE_MAIL_WRITE = 1 << 3,
	SCOPE_MAIL_ACTIONS_WRITE = 1 << 4,
	SCOPE_WEBHOOKS_READ = 1 << 5,
	SCOPE_BILLING_READ = 1 << 6,
};
#define SCOPE_ALL 0x7Fu
#define SCOPE_COUNT 7

#define KEY_PREFIX_LIVE "ib_live_"
#define KEY_PREFIX_TEST "ib_test_"
#define KEY_PREFIX_LEN 8
#define KEY_SECRET_CHARS 32
#define ADMIN_TOKEN_PREFIX "ib_admin_"

/* Returns the scope's name ("customers:read"), or NULL for an unknown bit. */
const char *auth_scope_name(unsigned scope);
/* Writes every scope's name, comma-separated ("customers:read, ..."), into
 * out (truncated to size bytes; 160 hold them all). */
void auth_scope_list(char *out, size_t size);
/* Returns the bit for a scope name, or 0 when the name is unknown. */
unsigned auth_scope_parse(const char *name);

/* Returns the key in an "Authorization: Bearer <key>" header value, or NULL
 * when the header is missing or not a Bearer credential. The result points
 * into header. */
const char *auth_bearer(const char *header);
/* Returns true when key has the shape of a partner key (ib_live_ or
 * ib_test_, then 32 base62 characters). */
bool auth_key_well_formed(const char *key);

/* Creates a new key secret ("ib_live_..." or, for test mode, "ib_test_..."),
 * its hash and display prefix, all in the arena. */
void auth_key_generate(struct arena *a, bool livemode, const char **secret, const char **hash,
		       const char **prefix);

/* Looks up the partner key in the header value. Returns 0 with *key filled,
 * or -1 with e set to 401 unauthenticated (or a storage error). */
int auth_partner(struct store *s, struct arena *a, const char *header, struct api_key *key,
		 struct err *e);

/* Checks an operator token: the configured one (may be NULL) or one created
 * with the command line. Returns 0 or -1 with e set to 401. */
int auth_operator(struct store *s, const char *configured, const char *header, struct err *e);

#endif
