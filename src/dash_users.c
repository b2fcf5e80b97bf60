/* dash_users.c - the team page's users (owners only; docs/decisions.md):
 * change a role, remove. Listing and inviting are admin_user_list() and
 * admin_user_create(), the operator's handlers, for the session's partner. An owner cannot change or remove
 * themself, so a team always keeps the owner who acts. */
#include <string.h>

#include "field.h"
#include "handlers.h"
#include "render.h"
#include "reply.h"
#include "banned.h"

/* Loads the path's user of the session's partner, other than the caller
 * (409). Returns 0 or -1. */
static int teammate_load(struct ctx *c, struct user *u)
{
	int rc = c->store->ops->user_get(c->store, c->a, c->session->user.partner_id,
					 c->params[0], u, &c->err);
	if (rc == STORE_NOT_FOUND)
		return reply_not_found(c, "user", c->params[0], NULL);
	if (rc < 0)
		return -1;
	if (strcmp(u->id, c->session->user.id) == 0)
		return error(&c->err, 409, "invalid_state", NULL,
			     "you cannot change or remove yourself; ask another owner");
	return 0;
}

/* An owner removed or demoted may have made setup or reset links for
 * teammates (owners make them; a link does not say who made it): every
 * link of the partner not used yet ends, and owners make new ones. */
static int owner_links_void(struct ctx *c)
{
	return c->store->ops->user_setup_void_partner(c->store, c->session->user.partner_id,
						      &c->err);
}

int dash_user_update(struct ctx *c)
{
	static const char *const fields[] = {"role", NULL};
	static const char *const roles[] = {"owner", "developer", "viewer", NULL};
	const char *role;
	struct user u;
	if (field_allow(c, fields) < 0 || field_choice(c, "role", true, roles, &role) < 0 ||
	    teammate_load(c, &u) < 0)
		return -1;
	if (c->store->ops->user_role_set(c->store, u.id, role, &c->err) < 0 ||
	    (strcmp(u.role, "owner") == 0 && strcmp(role, "owner") != 0 &&
	     owner_links_void(c) < 0))
		return -1;
	u.role = role;
	return reply_take(c, 200, render_user(&u));
}

int dash_user_delete(struct ctx *c)
{
	struct user u;
	if (teammate_load(c, &u) < 0 ||
	    c->store->ops->user_delete(c->store, u.id, &c->err) < 0 ||
	    (strcmp(u.role, "owner") == 0 && owner_links_void(c) < 0))
		return -1;
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(u.id));
	json_object_set_new(o, "object", json_string("user"));
	json_object_set_new(o, "deleted", json_true());
	return reply_take(c, 200, o);
}
