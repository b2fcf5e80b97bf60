/* api_events.c - GET /api/v1/events and /api/v1/events/{id} (docs/api.md#events):
 * the key's tenant's events, read back exactly as webhooks carry them, for
 * EVENT_RETENTION_SECONDS. */
#include <string.h>

#include "event.h"
#include "handlers.h"
#include "query.h"
#include "reply.h"
#include "validate.h"
#include "banned.h"

json_t *api_event_item(struct ctx *c, const void *item)
{
	const struct event *ev = item;
	json_t *o = json_loads(ev->payload, 0, NULL);
	if (!o)
		error(&c->err, 500, "internal_error", NULL, "stored event %s is not valid JSON",
		      ev->id);
	return o;
}

/* Reads the time filter name into *out (unchanged when absent); returns -1
 * with 400 invalid_request when it is not an RFC 3339 date-time. */
static int time_filter(struct ctx *c, const char *name, int64_t *out)
{
	const char *v = query_get(c, name);
	if (v && rfc3339_parse(v, out) < 0)
		return error(&c->err, 400, "invalid_request", name,
			     "%s must be an RFC 3339 date-time such as 2026-11-27T11:10:28Z",
			     name);
	return 0;
}

/* Reads ?type=: one type of the catalogue, or a family ("customer.*") that
 * has types in it. */
static int type_filter(struct ctx *c, struct event_filter *f)
{
	const char *type = query_get(c, "type");
	if (!type)
		return 0;
	size_t len = strlen(type);
	if (len > 2 && strcmp(type + len - 2, ".*") == 0) {
		char *family = arena_strndup(c->a, type, len - 1);
		if (api_webhook_event_family_known(family)) {
			f->family = family;
			return 0;
		}
	} else if (api_webhook_event_type_known(type)) {
		f->type = type;
		return 0;
	}
	return error(&c->err, 400, "invalid_request", "type",
		     "type must be an event type or a family of them such as customer.* "
		     "(GET /api/v1/webhook-events lists the types)");
}

int api_event_list(struct ctx *c)
{
	static const char *const filters[] = {"type", "created_gte", "created_lt", NULL};
	struct page pg;
	struct event_filter f = {
		.created_gte = INT64_MIN,
		.created_lt = INT64_MAX,
		.not_before = c->now - EVENT_RETENTION_SECONDS,
	};
	if (query_page(c, filters, &pg) < 0 || type_filter(c, &f) < 0 ||
	    time_filter(c, "created_gte", &f.created_gte) < 0 ||
	    time_filter(c, "created_lt", &f.created_lt) < 0)
		return -1;
	struct event *items;
	size_t n;
	bool more;
	if (c->store->ops->event_list_tenant(c->store, c->a, c->partner_id, &f, &pg, &items, &n,
					     &more, &c->err) < 0)
		return -1;
	return reply_list(c, items, n, sizeof(*items), api_event_item, more);
}

int api_event_get(struct ctx *c)
{
	const char *id = c->params[0];
	struct event ev;
	if (query_allow(c, NULL) < 0)
		return -1;
	int rc = c->store->ops->event_get(c->store, c->a, c->partner_id, id,
					  c->now - EVENT_RETENTION_SECONDS, &ev, &c->err);
	if (rc < 0)
		return -1;
	if (rc == STORE_NOT_FOUND)
		return reply_not_found(c, "event", id, NULL);
	/* The stored payload, byte for byte: what every delivery of it carried. */
	c->status = 200;
	c->raw = ev.payload;
	c->raw_len = strlen(ev.payload);
	return 0;
}
