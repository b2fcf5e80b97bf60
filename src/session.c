/* session.c - dashboard roles, tokens, the session cookie and passwords.
 * Passwords are hashed only by libsodium (crypto_pwhash_str: Argon2id with
 * a random salt, in its self-describing string format); tokens are 32
 * bytes from OpenSSL's CSPRNG, stored as their SHA-256. */
#include "session.h"

#include <ctype.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <sodium.h>
#include <string.h>

#include "banned.h"

/* Argon2id cost: 19 MiB, 2 passes (OWASP's minimum for Argon2id); about
 * 30 ms on one core. */
#define PW_OPSLIMIT 2
#define PW_MEMLIMIT (19u * 1024 * 1024)

static const char *const role_names[] = {NULL, "viewer", "developer", "owner"};

int session_role_parse(const char *name)
{
	for (int i = ROLE_VIEWER; i <= ROLE_OWNER; i++)
		if (name && strcmp(name, role_names[i]) == 0)
			return i;
	return 0;
}

const char *session_role_name(int role)
{
	return role >= ROLE_VIEWER && role <= ROLE_OWNER ? role_names[role] : NULL;
}

void session_token_new(struct arena *a, const char **token, const char **hash)
{
	unsigned char raw[32];
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		die("the random number generator failed");
	char *hex = arena_alloc(a, 65);
	hex_encode(raw, sizeof(raw), hex);
	char *h = arena_alloc(a, 65);
	sha256_hex(hex, 64, h);
	*token = hex;
	*hash = h;
}

const char *session_cookie_get(struct arena *a, const char *cookie_header)
{
	static const char name[] = SESSION_COOKIE "=";
	size_t nl = sizeof(name) - 1;
	for (const char *p = cookie_header; p && *p;) {
		while (*p == ' ' || *p == ';')
			p++;
		size_t len = strcspn(p, ";");
		if (len == nl + 64 && strncmp(p, name, nl) == 0) {
			const char *v = p + nl;
			bool hex = true;
			for (size_t i = 0; i < 64; i++)
				hex = hex && isxdigit((unsigned char)v[i]);
			if (hex)
				return arena_strndup(a, v, 64);
		}
		p += len;
	}
	return NULL;
}

const char *session_cookie_set(struct arena *a, const char *token)
{
	/* No Max-Age: the browser forgets it when it closes; the server ends
	 * it after SESSION_IDLE_S idle or SESSION_MAX_S in all anyway. */
	if (!token)
		return SESSION_COOKIE "=; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=0";
	return arena_printf(a, SESSION_COOKIE "=%s; Path=/; HttpOnly; Secure; SameSite=Lax",
			    token);
}

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static char dummy_hash[crypto_pwhash_STRBYTES];

/* Initialises libsodium and the hash unknown users are compared with. */
static void sodium_setup(void)
{
	if (sodium_init() < 0)
		die("libsodium cannot be initialised");
	unsigned char raw[16];
	char pw[33];
	randombytes_buf(raw, sizeof(raw));
	hex_encode(raw, sizeof(raw), pw);
	if (crypto_pwhash_str(dummy_hash, pw, strlen(pw), PW_OPSLIMIT, PW_MEMLIMIT) != 0)
		die("out of memory");
}

const char *session_password_hash(struct arena *a, const char *password)
{
	pthread_once(&sodium_once, sodium_setup);
	char *out = arena_alloc(a, crypto_pwhash_STRBYTES);
	if (crypto_pwhash_str(out, password, strlen(password), PW_OPSLIMIT, PW_MEMLIMIT) != 0)
		return NULL;
	return out;
}

bool session_password_verify(const char *hash, const char *password)
{
	pthread_once(&sodium_once, sodium_setup);
	bool known = hash != NULL;
	int rc = crypto_pwhash_str_verify(known ? hash : dummy_hash, password,
					  strlen(password));
	return known && rc == 0;
}
