/* admin_users.c - dashboard users as the operator makes them (docs/decisions.md, "Dashboard"):
 * a partner's first user, answered with a one-time setup link. The same
 * handler serves owners inviting their team from the dashboard. */
#include "dispatch.h"
#include "field.h"
#include "handlers.h"
#include "render.h"
#include "reply.h"
#include "session.h"
#include "validate.h"
#include "banned.h"

int admin_user_create(struct ctx *c)
{
	static const char *const fields[] = {"email", "role", NULL};
	static const char *const roles[] = {"owner", "developer", "viewer", NULL};
	struct partner p;
	const char *email, *role;
	if (field_allow(c, fields) < 0 ||
	    field_string(c, "email", true, false, 3, 254, false, &email) < 0 ||
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
	const char *token, *hash;
	session_token_new(c->a, &token, &hash);
	int64_t expires = c->now + SESSION_SETUP_VALID_S;
	if (c->store->ops->user_insert(c->store, &u, &c->err) < 0 ||
	    c->store->ops->user_setup_insert(c->store, hash, u.id, c->now, expires, &c->err) <
		    0 ||
	    dispatch_audit(c, p.id, NULL, "user.created", u.id) < 0)
		return -1;
	json_t *o = render_user(&u);
	/* The token travels in the fragment: browsers never send it to a server
	 * (no access log, no Referer), and the page posts it once. */
	json_object_set_new(
		o, "setup_url",
		json_string(arena_printf(c->a, "%s/dashboard/setup.html#token=%s",
					 c->app->base_url ? c->app->base_url : "", token)));
	json_object_set_new(o, "setup_expires_at", render_time(expires));
	return reply_take(c, 201, o);
}
