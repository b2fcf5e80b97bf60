/* admin_events.c - GET /admin/v1/events: the outbox as operators see it,
 * every event as it will be (or was) delivered. */
#include "handlers.h"
#include "query.h"
#include "reply.h"
#include "banned.h"

int admin_event_list(struct ctx *c)
{
	static const char *const filters[] = {"partner_id", "type", NULL};
	struct page pg;
	if (query_page(c, filters, &pg) < 0)
		return -1;
	struct event *items;
	size_t n;
	bool more;
	if (c->store->event_list(c->store, c->a, query_get(c, "partner_id"),
				 query_get(c, "type"), &pg, &items, &n, &more, &c->err) < 0)
		return -1;
	json_t *data = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *ev = json_loads(items[i].payload, 0, NULL);
		if (!ev) {
			json_decref(data);
			return error(&c->err, 500, "internal_error", NULL,
				     "stored event %s is not valid JSON", items[i].id);
		}
		json_array_append_new(data, ev);
	}
	return reply_list_take(c, data, more);
}
