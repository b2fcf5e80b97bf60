/* admin_tenant.c - the tenant an operator's write changes, found before the
 * write so that the write is ordered with the partner's own (writer.c takes
 * a write's tenant before running it, as it takes a partner's).
 *
 * A list's order is the order rows were inserted in. On PostgreSQL with
 * several instances, a partner's writes are ordered by their tenant's lock,
 * so an event is listed after every event committed before it; an
 * operator's write on that partner's customer took no such lock, and its
 * event, inserted first, could commit after a later event of the partner's
 * on the other instance: a partner catching up with ending_before=<the
 * newest seen> passed over it for good. The objects' tenants never change,
 * so a read before the write tells it. */
#include <jansson.h>

#include "handlers.h"
#include "banned.h"

/* Reads the tenant of object id into *tenant: 0, STORE_NOT_FOUND or -1. */
typedef int tenant_read_fn(struct store *s, struct arena *a, const char *id,
			   const char **tenant, struct err *e);

static int customer_tenant(struct store *s, struct arena *a, const char *id,
			   const char **tenant, struct err *e)
{
	struct customer cu;
	int rc = s->ops->customer_get_any_partner(s, a, id, &cu, e);
	*tenant = rc == 0 ? cu.partner_id : NULL;
	return rc;
}

static int action_tenant(struct store *s, struct arena *a, const char *id, const char **tenant,
			 struct err *e)
{
	struct mail_action act;
	int rc = s->ops->action_get_any_partner(s, a, id, &act, e);
	*tenant = rc == 0 ? act.partner_id : NULL;
	return rc;
}

/* Keeps the tenant of object id as c->operator_tenant. Never refuses: an
 * id that names nothing, or a read that fails, leaves it NULL for the
 * write part to answer. */
static int keep_tenant(struct ctx *c, tenant_read_fn *read, const char *id)
{
	struct store *s = c->store;
	struct err ignored;
	if (!id || s->ops->tx_begin(s, false, &ignored) < 0)
		return 0;
	read(s, c->a, id, &c->operator_tenant, &ignored);
	s->ops->tx_rollback(s);
	return 0;
}

int admin_tenant_customer(struct ctx *c)
{
	return keep_tenant(c, customer_tenant, c->params[0]);
}

int admin_tenant_mail(struct ctx *c)
{
	return keep_tenant(c, customer_tenant,
			   json_string_value(json_object_get(c->body, "customer_id")));
}

int admin_tenant_action(struct ctx *c)
{
	return keep_tenant(c, action_tenant, c->params[0]);
}
