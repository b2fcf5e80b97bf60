/* session.h - the dashboard's users and sessions (docs/decisions.md,
 * "Dashboard"): roles, session and setup tokens, the session cookie, and
 * password hashing with libsodium's Argon2id. Everything here is pure or CPU work; storage is
 * store.h's, the request path dispatch.c's. */
#ifndef INNBOCKS_SESSION_H
#define INNBOCKS_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Roles, ordered: each may do everything the ones below it may. 0 (on a
 * route: no session needed) sorts below them all. */
enum session_role {
	ROLE_VIEWER = 1,    /* reads */
	ROLE_DEVELOPER = 2, /* keys, webhooks, logs, test helpers */
	ROLE_OWNER = 3,     /* everything, users included */
};

#define SESSION_COOKIE "__Host-innbocks_session"
#define SESSION_IDLE_S (30 * 60)
#define SESSION_MAX_S (12 * 60 * 60)
#define SESSION_TOUCH_S 60 /* last_seen_at is written at most this often */
#define SESSION_SETUP_VALID_S (72 * 60 * 60)
#define SESSION_PASSWORD_MIN 12
#define SESSION_PASSWORD_MAX 1024

/* Returns the role's rank for its name, or 0 for an unknown name. */
int session_role_parse(const char *name);
/* Returns "owner", "developer" or "viewer" (NULL for anything else). */
const char *session_role_name(int role);

/* Creates a token of 32 random bytes as 64 hex digits and its SHA-256
 * (hex), both in the arena. */
void session_token_new(struct arena *a, const char **token, const char **hash);
/* Returns the value of the session cookie in a Cookie header (arena), or
 * NULL when the header lacks it or it is not 64 hex digits. */
const char *session_cookie_get(struct arena *a, const char *cookie_header);
/* Returns the Set-Cookie value that stores token (arena); token NULL
 * returns the one that clears the cookie. */
const char *session_cookie_set(struct arena *a, const char *token);

/* Hashes password with Argon2id (slow: tens of milliseconds; run it off
 * the HTTP threads). Returns the encoded hash in the arena, or NULL when
 * memory runs out. */
const char *session_password_hash(struct arena *a, const char *password);
/* Returns true when password matches hash (an encoded Argon2id string).
 * hash NULL (an unknown user, or one without a password yet) compares
 * with a fixed hash instead, so the answer takes the same time, and
 * returns false. Slow, like session_password_hash(). */
bool session_password_verify(const char *hash, const char *password);

#endif
