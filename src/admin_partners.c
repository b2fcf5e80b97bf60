/* admin_partners.c - the operator API's partners (docs/operators.md). */
#include "field.h"
#include "handlers.h"
#include "query.h"
#include "render.h"
#include "reply.h"
#include "tenant.h"
#include "banned.h"

int admin_partner_create(struct ctx *c)
{
	static const char *const fields[] = {"name", "location", NULL};
	struct partner p = {
		.id = id_new(c->a, "ptn_"),
		.created_at = c->now,
	};
	const char *name;
	if (field_allow(c, fields) < 0 ||
	    field_string(c, "name", true, false, 1, 200, FIELD_LINE, &name) < 0 ||
	    field_address(c, "location", false, &p.location) < 0)
		return -1;
	p.name = name;
	if (c->store->ops->partner_insert(c->store, &p, &c->err) < 0)
		return -1;
	return reply_take(c, 201, render_partner(&p));
}

/* A list item: the partner. */
static json_t *partner_item(struct ctx *c, const void *item)
{
	(void)c;
	return render_partner(item);
}

int admin_partner_list(struct ctx *c)
{
	struct page pg;
	if (query_page(c, NULL, &pg) < 0)
		return -1;
	struct partner *items;
	size_t n;
	bool more;
	if (c->store->ops->partner_list(c->store, c->a, &pg, &items, &n, &more, &c->err) < 0)
		return -1;
	return reply_list(c, items, n, sizeof(*items), partner_item, more);
}

int admin_partner_find(struct ctx *c, const char *id, const char *param, struct partner *p)
{
	int rc = c->store->ops->partner_get(c->store, c->a, id, p, &c->err);
	/* A partner's test tenant is a row of its own, but no partner. */
	if (rc == STORE_NOT_FOUND || (rc == 0 && !tenant_livemode(p->id)))
		return reply_not_found(c, "partner", id, param);
	return rc;
}

int admin_partner_load(struct ctx *c, struct partner *p)
{
	/* The dashboard's routes have no partner in the path: the session's. */
	return admin_partner_find(c, c->session ? c->session->user.partner_id : c->params[0],
				  NULL, p);
}

int admin_partner_get(struct ctx *c)
{
	struct partner p;
	if (query_allow(c, NULL) < 0 || admin_partner_load(c, &p) != 0)
		return -1;
	return reply_take(c, 200, render_partner(&p));
}
