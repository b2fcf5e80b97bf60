/* dash_sessions.c - the dashboard's sign-in, password setup (from the
 * one-time link), sign-out and the session itself (docs/decisions.md, "Dashboard").
 *
 * Password hashing is slow on purpose, so it runs in the routes' before
 * hooks, on the hasher threads (hasher.h), outside any transaction; the
 * handlers then do the quick writes in the writer's transaction. */
#include <string.h>

#include "dispatch.h"
#include "field.h"
#include "handlers.h"
#include "ratelimit.h"
#include "render.h"
#include "reply.h"
#include "session.h"
#include "tenant.h"
#include "banned.h"

#define SIGNIN_FAILED "the email or password is not correct"

/* on_refused of a sign-in: the audit row (c->refusal_action) names the user
 * the email belongs to, else "unknown user" without a partner. */
static int signin_refused(struct ctx *c)
{
	const char *email = json_string_value(json_object_get(c->body, "email"));
	struct user u;
	int rc = c->store->ops->user_find_by_email(c->store, c->a, email, &u, &c->err);
	if (rc < 0)
		return -1;
	return dispatch_audit(c, rc == 0 ? u.partner_id : NULL, rc == 0 ? &u : NULL,
			      c->refusal_action, NULL);
}

/* on_refused of a password re-entered by the signed-in user: the audit row
 * (c->refusal_action) about the path's object, if any. */
static int reentry_refused(struct ctx *c)
{
	return dispatch_audit(c, c->session->user.partner_id, NULL, c->refusal_action,
			      c->params[0]);
}

void dash_session_audit_refusal(struct ctx *c, const char *action)
{
	c->refusal_action = action;
	c->on_refused = c->session ? reentry_refused : signin_refused;
}

/* Spends a token of the bucket of key in rl; returns -1 with 429 when it
 * has none. The refusal is audited as action (unless NULL) at most once a
 * minute per bucket: a flood of attempts costs a row, not a write each. */
static int signin_limit(struct ctx *c, struct ratelimit *rl, const char *key,
			const char *action)
{
	if (!rl || !ratelimit_enabled(rl))
		return 0;
	struct ratelimit_result rr;
	ratelimit_spend(rl, key, monotonic_seconds(), &rr);
	if (rr.allowed)
		return 0;
	if (action && ratelimit_touch_due(rl, key, c->now))
		dash_session_audit_refusal(c, action);
	resp_header_add_int(c->resp, "Retry-After", rr.retry_after);
	return error(&c->err, 429, "rate_limited", NULL,
		     "too many sign-in attempts; retry after %ld s", rr.retry_after);
}

/* The account's bucket: its email, in lower case as emails are matched. */
static const char *account_bucket(struct ctx *c, const char *email)
{
	char *acct = arena_strdup(c->a, email);
	for (char *p = acct; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return acct;
}

int dash_session_limit(struct ctx *c, const char *email, const char *action)
{
	const char *addr = c->req->client_addr ? c->req->client_addr : "local";
	if (signin_limit(c, c->app->signin_by_addr, addr, action) < 0)
		return -1;
	if (!email)
		return 0;
	return signin_limit(c, c->app->signin_by_account, account_bucket(c, email), action);
}

bool dash_session_password_right(struct ctx *c, const char *email, const char *hash,
				 const char *password)
{
	if (!session_password_verify(hash, password))
		return false;
	/* Only wrong passwords use up an account's attempts: a user who
	 * signs in often is never refused for it. */
	struct ratelimit *rl = c->app->signin_by_account;
	if (rl && ratelimit_enabled(rl))
		ratelimit_refund(rl, account_bucket(c, email), monotonic_seconds());
	return true;
}

int dash_session_signin_check(struct ctx *c)
{
	static const char *const fields[] = {"email", "password", NULL};
	const char *email, *password;
	if (field_allow(c, fields) < 0 ||
	    field_string(c, "email", true, false, 1, 254, FIELD_LINE, &email) < 0 ||
	    field_string(c, "password", true, false, 1, SESSION_PASSWORD_MAX, FIELD_SECRET,
			 &password) < 0 ||
	    dash_session_limit(c, email, "signin.rate_limited") < 0)
		return -1;
	struct user u = {0};
	int rc = c->store->ops->user_find_by_email(c->store, c->a, email, &u, &c->err);
	if (rc < 0)
		return -1;
	/* An unknown email costs the same hash as a wrong password. */
	if (dash_session_password_right(c, email, rc == 0 ? u.password_hash : NULL, password))
		c->signin_user = u.id;
	return 0;
}

/* Starts a session for u: the cookie, the audit row (action; none for a
 * signed-in caller, whose change the dispatcher audits), and the answer
 * (the user and the session's CSRF token). Returns 0 or -1. */
static int session_start(struct ctx *c, const struct user *u, const char *action)
{
	const char *token, *csrf, *unused;
	struct user_session ss = {.created_at = c->now, .last_seen_at = c->now, .user = *u};
	session_token_new(c->a, &token, &ss.hash);
	session_token_new(c->a, &csrf, &unused);
	ss.csrf_token = csrf;
	/* A signed-in caller's change is audited by the dispatcher already. */
	if (c->store->ops->session_insert(c->store, &ss, &c->err) < 0 ||
	    (!c->session && dispatch_audit(c, u->partner_id, u, action, u->id) < 0))
		return -1;
	resp_header_add(c->resp, "Set-Cookie", session_cookie_set(c->a, token));
	/* The CSRF token is a secret: an answer kept for an Idempotency-Key
	 * (a password change) is stored sealed. */
	c->answer_secret = true;
	json_t *o = json_object();
	json_object_set_new(o, "user", render_user(u));
	json_object_set_new(o, "csrf_token", json_string(csrf));
	return reply_take(c, 200, o);
}

int dash_session_signin(struct ctx *c)
{
	struct user u;
	int rc = c->signin_user ? c->store->ops->user_get_any_partner(
					  c->store, c->a, c->signin_user, &u, &c->err)
				: STORE_NOT_FOUND;
	if (rc < 0)
		return -1;
	if (rc == STORE_NOT_FOUND) {
		dash_session_audit_refusal(c, "signin.failed");
		return error(&c->err, 401, "unauthenticated", NULL, SIGNIN_FAILED);
	}
	return session_start(c, &u, "signin.succeeded");
}

int dash_session_setup_hash(struct ctx *c)
{
	static const char *const fields[] = {"token", "password", NULL};
	const char *token, *password;
	if (field_allow(c, fields) < 0 ||
	    field_string(c, "token", true, false, 1, 128, FIELD_LINE, &token) < 0 ||
	    field_string(c, "password", true, false, 0, SESSION_PASSWORD_MAX, FIELD_SECRET,
			 &password) < 0)
		return -1;
	if (utf8_length(password) < SESSION_PASSWORD_MIN)
		return error(&c->err, 422, "validation_failed", "password",
			     "the password needs at least %d characters", SESSION_PASSWORD_MIN);
	if (dash_session_limit(c, NULL, NULL) < 0)
		return -1;
	c->password_hash = session_password_hash(c->a, password);
	if (!c->password_hash)
		return error(&c->err, 500, "internal_error", NULL,
			     "the password cannot be hashed");
	return 0;
}

/* Finds the user of the setup link token (using the link when use): 0, or
 * -1 with 400 naming the token when it is invalid, used or expired. */
static int setup_link_user(struct ctx *c, const char *token, bool use, const char **user_id)
{
	char hash[65];
	sha256_hex(token, strlen(token), hash);
	int rc = (use ? c->store->ops->user_setup_use : c->store->ops->user_setup_find)(
		c->store, c->a, hash, c->now, user_id, &c->err);
	if (rc == STORE_NOT_FOUND)
		return error(&c->err, 400, "invalid_request", "token",
			     "this setup link is invalid, used or expired; ask for a new one");
	return rc;
}

int dash_session_setup(struct ctx *c)
{
	const char *token = json_string_value(json_object_get(c->body, "token"));
	const char *user_id;
	struct user u;
	if (setup_link_user(c, token, true, &user_id) < 0 ||
	    c->store->ops->user_password_set(c->store, user_id, c->password_hash, c->now,
					     &c->err) < 0 ||
	    c->store->ops->user_get_any_partner(c->store, c->a, user_id, &u, &c->err) != 0)
		return -1;
	return session_start(c, &u, "password.set");
}

/* What the setup page says before a password is chosen: for whom the link
 * is, and whether it replaces a password. The link is not used. */
int dash_session_setup_check(struct ctx *c)
{
	static const char *const fields[] = {"token", NULL};
	const char *token;
	if (field_allow(c, fields) < 0 ||
	    field_string(c, "token", true, false, 1, 128, FIELD_LINE, &token) < 0)
		return -1;
	const char *user_id;
	struct user u;
	if (setup_link_user(c, token, false, &user_id) < 0 ||
	    c->store->ops->user_get_any_partner(c->store, c->a, user_id, &u, &c->err) != 0)
		return -1;
	json_t *o = json_object();
	json_object_set_new(o, "object", json_string("setup_link"));
	json_object_set_new(o, "email", json_string(u.email));
	json_object_set_new(o, "password_set", json_boolean(u.password_hash != NULL));
	return reply_take(c, 200, o);
}

int dash_session_signout(struct ctx *c)
{
	if (c->store->ops->session_delete(c->store, c->session->hash, &c->err) < 0)
		return -1;
	resp_header_add(c->resp, "Set-Cookie", session_cookie_set(c->a, NULL));
	json_t *o = json_object();
	json_object_set_new(o, "signed_out", json_true());
	return reply_take(c, 200, o);
}

int dash_session_get(struct ctx *c)
{
	struct partner p;
	if (admin_partner_load(c, &p) != 0)
		return -1;
	json_t *o = json_object();
	json_object_set_new(o, "user", render_user(&c->session->user));
	json_object_set_new(o, "csrf_token", json_string(c->session->csrf_token));
	json_object_set_new(o, "partner", render_partner(&p));
	json_object_set_new(o, "mode",
			    json_string(tenant_mode_name(tenant_livemode(c->partner_id))));
	/* The page warns before either limit ends the session. */
	json_object_set_new(o, "idle_timeout_seconds", json_integer(SESSION_IDLE_S));
	json_object_set_new(o, "expires_at",
			    render_time(c->session->created_at + SESSION_MAX_S));
	return reply_take(c, 200, o);
}

int dash_session_password_check(struct ctx *c)
{
	static const char *const fields[] = {"current_password", "new_password", NULL};
	const char *current, *fresh;
	if (field_allow(c, fields) < 0 ||
	    field_string(c, "current_password", true, false, 1, SESSION_PASSWORD_MAX,
			 FIELD_SECRET, &current) < 0 ||
	    field_string(c, "new_password", true, false, 0, SESSION_PASSWORD_MAX, FIELD_SECRET,
			 &fresh) < 0)
		return -1;
	if (utf8_length(fresh) < SESSION_PASSWORD_MIN)
		return error(&c->err, 422, "validation_failed", "new_password",
			     "the password needs at least %d characters", SESSION_PASSWORD_MIN);
	if (dash_session_limit(c, c->session->user.email, "password.change_rate_limited") < 0)
		return -1;
	if (!dash_session_password_right(c, c->session->user.email,
					 c->session->user.password_hash, current)) {
		dash_session_audit_refusal(c, "password.change_failed");
		return error(&c->err, 422, "validation_failed", "current_password",
			     "the current password is not correct");
	}
	c->password_hash = session_password_hash(c->a, fresh);
	if (!c->password_hash)
		return error(&c->err, 500, "internal_error", NULL,
			     "the password cannot be hashed");
	return 0;
}

int dash_session_password(struct ctx *c)
{
	/* Every session of the user ends, this one too; a new one keeps the
	 * caller signed in. */
	struct user u = c->session->user;
	if (c->store->ops->user_password_set(c->store, u.id, c->password_hash, c->now,
					     &c->err) < 0)
		return -1;
	u.password_hash = c->password_hash;
	return session_start(c, &u, NULL);
}
