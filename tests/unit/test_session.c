/* test_session.c - the dashboard's pure pieces (src/session.h): roles and
 * their order, the session cookie read from a Cookie header and written for
 * Set-Cookie, tokens, and Argon2id passwords through libsodium. */
#include <stdio.h>
#include <string.h>

#include "session.h"
#include "unit.h"

TEST(session_roles_parse_print_and_order)
{
	CHECK_INT(session_role_parse("owner"), ROLE_OWNER);
	CHECK_INT(session_role_parse("viewer"), ROLE_VIEWER);
	CHECK_INT(session_role_parse("admin"), 0);
	CHECK_INT(session_role_parse(NULL), 0);
	CHECK_STR(session_role_name(ROLE_DEVELOPER), "developer");
	CHECK(ROLE_VIEWER < ROLE_DEVELOPER && ROLE_DEVELOPER < ROLE_OWNER);
}

TEST(session_cookie_is_found_among_others_and_must_be_64_hex_digits)
{
	struct arena *a = arena_new();
	const char *token, *hash;
	session_token_new(a, &token, &hash);
	CHECK_INT((int)strlen(token), 64);
	CHECK(strcmp(token, hash) != 0);
	char header[256];
	snprintf(header, sizeof(header), "theme=dark; " SESSION_COOKIE "=%s; lang=en", token);
	CHECK_STR(session_cookie_get(a, header), token);
	CHECK(session_cookie_get(a, NULL) == NULL);
	CHECK(session_cookie_get(a, SESSION_COOKIE "=abc") == NULL);
	CHECK(session_cookie_get(a, "x" SESSION_COOKIE "="
				    "0123456789abcdef0123456789abcdef"
				    "0123456789abcdef0123456789abcdef") == NULL);
	const char *set = session_cookie_set(a, token);
	CHECK(strstr(set, "; Path=/; HttpOnly; Secure; SameSite=Lax") != NULL);
	CHECK(strstr(session_cookie_set(a, NULL), "Max-Age=0") != NULL);
	arena_free(a);
}

TEST(session_passwords_are_argon2id_and_verify_only_themselves)
{
	struct arena *a = arena_new();
	const char *h = session_password_hash(a, "correct horse battery");
	CHECK(h != NULL && strncmp(h, "$argon2id$", 10) == 0);
	CHECK(session_password_verify(h, "correct horse battery"));
	CHECK(!session_password_verify(h, "correct horse batterY"));
	CHECK(!session_password_verify(NULL, "correct horse battery"));
	CHECK(strcmp(session_password_hash(a, "correct horse battery"), h) != 0); /* salted */
	arena_free(a);
}
