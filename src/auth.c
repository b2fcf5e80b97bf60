/* auth.c - partner API keys, their scopes, and the operator token.
 * Keys are 190 bits of randomness, so one SHA-256 is a sufficient hash:
 * there is nothing to brute-force that a slow KDF would protect. */
#include "auth.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "banned.h"

static const char *const scope_names[SCOPE_COUNT] = {
	"customers:read",     "customers:write", "mail:read",    "mail:write",
	"mail_actions:write", "webhooks:read",   "billing:read",
};

const char *auth_scope_name(unsigned scope)
{
	for (int i = 0; i < SCOPE_COUNT; i++)
		if (scope == 1u << i)
			return scope_names[i];
	return NULL;
}

void auth_scope_list(char *out, size_t size)
{
	size_t used = 0;
	out[0] = '\0';
	for (int i = 0; i < SCOPE_COUNT && used < size; i++) {
		int n = snprintf(out + used, size - used, "%s%s", i ? ", " : "",
				 scope_names[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

unsigned auth_scope_parse(const char *name)
{
	for (int i = 0; i < SCOPE_COUNT; i++)
		if (strcmp(name, scope_names[i]) == 0)
			return 1u << i;
	return 0;
}

const char *auth_bearer(const char *header)
{
	if (!header || strncasecmp(header, "Bearer ", 7) != 0)
		return NULL;
	const char *v = header + 7;
	while (*v == ' ')
		v++;
	return *v ? v : NULL;
}

bool auth_key_well_formed(const char *key)
{
	if ((strncmp(key, KEY_PREFIX_LIVE, KEY_PREFIX_LEN) != 0 &&
	     strncmp(key, KEY_PREFIX_TEST, KEY_PREFIX_LEN) != 0) ||
	    strlen(key) != KEY_PREFIX_LEN + KEY_SECRET_CHARS)
		return false;
	for (const char *p = key + KEY_PREFIX_LEN; *p; p++)
		if (!isalnum((unsigned char)*p))
			return false;
	return true;
}

void auth_key_generate(struct arena *a, bool livemode, const char **secret, const char **hash,
		       const char **prefix)
{
	size_t pl = KEY_PREFIX_LEN;
	char *key = arena_alloc(a, pl + KEY_SECRET_CHARS + 1);
	memcpy(key, livemode ? KEY_PREFIX_LIVE : KEY_PREFIX_TEST, pl);
	random_base62(key + pl, KEY_SECRET_CHARS);
	char *hex = arena_alloc(a, 65);
	sha256_hex(key, strlen(key), hex);
	*secret = key;
	*hash = hex;
	*prefix = arena_strndup(a, key, pl + 4);
}

int auth_partner(struct store *s, struct arena *a, const char *header, struct api_key *key,
		 struct err *e)
{
	const char *token = auth_bearer(header);
	if (!token)
		return error(e, 401, "unauthenticated", NULL,
			     "send your API key as Authorization: Bearer ib_live_...");
	if (strncmp(token, ADMIN_TOKEN_PREFIX, strlen(ADMIN_TOKEN_PREFIX)) == 0)
		return error(
			e, 401, "unauthenticated", NULL,
			"that is an operator token, which /admin/v1 takes; the Partner API "
			"takes an API key (ib_live_ or ib_test_ and 32 letters and digits)");
	if (!auth_key_well_formed(token))
		return error(e, 401, "unauthenticated", NULL,
			     "the API key is malformed: a key is ib_live_ or ib_test_ followed "
			     "by 32 letters and digits");
	char hash[65];
	sha256_hex(token, strlen(token), hash);
	int rc = s->ops->key_find_by_hash(s, a, hash, key, e);
	if (rc < 0)
		return -1;
	if (rc == STORE_NOT_FOUND)
		return error(e, 401, "unauthenticated", NULL, "the API key is not valid");
	/* A rolled key has its end in the future: it works until then. */
	if (key->revoked_at && key->revoked_at <= now_seconds())
		return error(e, 401, "unauthenticated", NULL, "the API key has been revoked");
	return 0;
}

int auth_operator(struct store *s, const char *configured, const char *header, struct err *e)
{
	const char *token = auth_bearer(header);
	if (!token)
		return error(e, 401, "unauthenticated", NULL,
			     "send the operator token as Authorization: Bearer ib_admin_...");
	if (configured && secret_equal(token, configured))
		return 0;
	char hash[65];
	sha256_hex(token, strlen(token), hash);
	int rc = s->ops->operator_token_find(s, hash, e);
	if (rc < 0)
		return -1;
	if (rc == STORE_NOT_FOUND)
		return error(e, 401, "unauthenticated", NULL,
			     "the operator token is not valid");
	return 0;
}
