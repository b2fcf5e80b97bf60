/* dash_audit.c - the dashboard's audit log (docs/decisions.md, "Dashboard"): who did what in the
 * dashboard and when (keys, endpoints, users, sign-ins, failed sign-ins),
 * newest first. The rows never hold a secret (dispatch_audit()). */
#include "handlers.h"
#include "query.h"
#include "render.h"
#include "reply.h"
#include "banned.h"

/* A list item: one row of the log. */
static json_t *audit_item(struct ctx *c, const void *item)
{
	(void)c;
	const struct audit_entry *ae = item;
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(ae->id));
	json_object_set_new(o, "object", json_string("audit_entry"));
	json_object_set_new(o, "actor", json_string(ae->actor));
	json_object_set_new(o, "user_id", render_string_or_null(ae->user_id));
	json_object_set_new(o, "action", json_string(ae->action));
	json_object_set_new(o, "target", render_string_or_null(ae->target));
	json_object_set_new(o, "mode", render_string_or_null(ae->mode));
	json_object_set_new(o, "client_addr", render_string_or_null(ae->client_addr));
	json_object_set_new(o, "created_at", render_time(ae->created_at));
	return o;
}

int dash_audit_list(struct ctx *c)
{
	struct page pg;
	if (query_page(c, NULL, &pg) < 0)
		return -1;
	struct audit_entry *items;
	size_t n;
	bool more;
	if (c->store->ops->audit_list(c->store, c->a, c->session->user.partner_id, &pg, &items,
				      &n, &more, &c->err) < 0)
		return -1;
	return reply_list(c, items, n, sizeof(*items), audit_item, more);
}
