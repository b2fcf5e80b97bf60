/* admin_users.c - dashboard users as the operator makes them (docs/decisions.md, "Dashboard"):
 * a partner's first user, answered with a one-time setup link, the
 * partner's users (to find the one who needs a fresh link), and a fresh
 * link when that one was lost or expired. The same handlers serve owners
 * listing and inviting their team, and sending a teammate a password reset
 * link, from the dashboard. */
#include <string.h>

#include "dispatch.h"
#include "field.h"
#include "handlers.h"
#include "query.h"
#include "render.h"
#include "reply.h"
#include "session.h"
#include "validate.h"
#include "banned.h"

/* Makes a one-time setup link for u (ending the ones not used yet) and
 * adds it to o as setup_url and setup_expires_at. Returns 0 or -1. */
static int setup_link_issue(struct ctx *c, const struct user *u, json_t *o)
{
	const char *token, *hash;
	session_token_new(c->a, &token, &hash);
	int64_t expires = c->now + SESSION_SETUP_VALID_S;
	if (c->store->ops->user_setup_insert(c->store, hash, u->id, c->now, expires, &c->err) <
	    0)
		return -1;
	/* The token travels in the fragment: browsers never send it to a server
	 * (no access log, no Referer), and the page posts it once. */
	json_object_set_new(
		o, "setup_url",
		json_string(arena_printf(c->a, "%s/dashboard/setup.html#token=%s",
					 c->app->base_url ? c->app->base_url : "", token)));
	json_object_set_new(o, "setup_expires_at", render_time(expires));
	c->answer_secret = true;
	return 0;
}

int admin_user_create(struct ctx *c)
{
	static const char *const fields[] = {"email", "role", NULL};
	static const char *const roles[] = {"owner", "developer", "viewer", NULL};
	struct partner p;
	const char *email, *role;
	if (field_allow(c, fields) < 0 ||
	    field_string(c, "email", true, false, 3, 254, FIELD_LINE, &email) < 0 ||
	    field_choice(c, "role", true, roles, &role) < 0)
		return -1;
	if (!valid_email(email))
		return error(&c->err, 422, "validation_failed", "email",
			     "email is not a valid address");
	if (admin_partner_load(c, &p) != 0)
		return -1;
	struct user u;
	int rc = c->store->ops->user_find_by_email(c->store, c->a, email, &u, &c->err);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return error(&c->err, 409, "user_exists", "email",
			     "a dashboard user with this email exists already");
	u = (struct user){
		.id = id_new(c->a, "usr_"),
		.partner_id = p.id,
		.email = email,
		.role = role,
		.created_at = c->now,
	};
	/* An owner's invitation is audited by the dispatcher, as the route. */
	if (c->store->ops->user_insert(c->store, &u, &c->err) < 0 ||
	    (!c->session && dispatch_audit(c, p.id, NULL, "user.created", u.id) < 0))
		return -1;
	json_t *o = render_user(&u);
	if (setup_link_issue(c, &u, o) < 0) {
		json_decref(o);
		return -1;
	}
	return reply_take(c, 201, o);
}

/* A list item: the user, whose password hash render_user() never shows. */
static json_t *user_item(struct ctx *c, const void *item)
{
	(void)c;
	return render_user(item);
}

int admin_user_list(struct ctx *c)
{
	struct page pg;
	struct partner p;
	if (query_page(c, NULL, &pg) < 0 || admin_partner_load(c, &p) != 0)
		return -1;
	struct user *items;
	size_t n;
	bool more;
	if (c->store->ops->user_list(c->store, c->a, p.id, &pg, &items, &n, &more, &c->err) < 0)
		return -1;
	return reply_list(c, items, n, sizeof(*items), user_item, more);
}

int admin_user_setup_link(struct ctx *c)
{
	static const char *const none[] = {NULL};
	struct user u;
	if (field_allow(c, none) < 0)
		return -1;
	/* The dashboard's partner, or the operator's any. */
	int rc = c->session
			 ? c->store->ops->user_get(c->store, c->a, c->session->user.partner_id,
						   c->params[0], &u, &c->err)
			 : c->store->ops->user_get_any_partner(c->store, c->a, c->params[0], &u,
							       &c->err);
	if (rc == STORE_NOT_FOUND)
		return reply_not_found(c, "user", c->params[0], NULL);
	if (rc < 0)
		return -1;
	if (c->session && strcmp(u.id, c->session->user.id) == 0)
		return error(&c->err, 409, "invalid_state", NULL,
			     "you cannot send yourself a link; change your password instead");
	/* The operator helps a user in only to a first password; resetting
	 * one is for the partner's owners, who know their team. */
	if (!c->session && u.password_hash)
		return error(
			&c->err, 409, "invalid_state", NULL,
			"this user has set a password already; an owner of the partner can "
			"send them a password reset link from the dashboard's team page");
	json_t *o = render_user(&u);
	/* The dashboard's own audit row names the route already. */
	if (setup_link_issue(c, &u, o) < 0 ||
	    (!c->session &&
	     dispatch_audit(c, u.partner_id, NULL, "user.setup_link", u.id) < 0)) {
		json_decref(o);
		return -1;
	}
	return reply_take(c, 200, o);
}
