/* admin_events.c - GET /admin/v1/events: the outbox as operators see it,
 * every event as it will be (or was) delivered. */
#include "handlers.h"
#include "query.h"
#include "reply.h"
#include "banned.h"

int admin_event_list(struct ctx *c)
{
	static const char *const filters[] = {"partner_id", "type", "livemode", NULL};
	struct page pg;
	int mode;
	if (query_page(c, filters, &pg) < 0 || query_livemode(c, &mode) < 0)
		return -1;
	const char *partner_id = query_get(c, "partner_id");
	const char *type = query_get(c, "type");
	if (type && !api_webhook_event_type_known(type))
		return error(&c->err, 400, "invalid_request", "type",
			     "type must be one event type, such as customer.created "
			     "(GET /api/v1/webhook-events lists them)");
	/* A partner's own id (livemode=false picks its test events). */
	struct partner p;
	if (partner_id && admin_partner_find(c, partner_id, "partner_id", &p) != 0)
		return -1;
	struct event *items;
	size_t n;
	bool more;
	int rc = partner_id ? c->store->ops->event_list(c->store, c->a, partner_id, type, mode,
							&pg, &items, &n, &more, &c->err)
			    : c->store->ops->event_list_any_partner(c->store, c->a, type, mode,
								    &pg, &items, &n, &more,
								    &c->err);
	if (rc < 0)
		return -1;
	return reply_list(c, items, n, sizeof(*items), api_event_item, more);
}
