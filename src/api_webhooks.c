/* api_webhooks.c - the webhook event catalogue and the delivery log as
 * partners see them (docs/webhooks.md). */
#include <string.h>

#include "handlers.h"
#include "query.h"
#include "render.h"
#include "reply.h"
#include "banned.h"

struct event_type {
	const char *type, *description;
};

/* THE catalogue of event types: every event emitted is of one of these. */
static const struct event_type event_types[] = {
	{"customer.created", "A customer was created (invited) and a mailbox reserved."},
	{"customer.updated", "A customer's CRM-managed fields or billing changed."},
	{"customer.activated", "A customer accepted the invitation."},
	{"customer.deactivated", "A customer's service was deactivated."},
	{"compliance.updated", "Form 1583 or identity verification status changed."},
	{"mailbox.activated", "A mailbox became active on the first mail-receipt approval."},
	{"mailbox.closed", "A mailbox was closed when its customer was deactivated."},
	{"mail.arrived", "A letter, large envelope or periodical was recorded."},
	{"package.arrived", "A package was recorded."},
	{"mail.deleted", "A partner-created mail record was deleted."},
	{"mail_action.requested", "A scan, forward, shred or pickup was requested."},
	{"mail_action.completed", "Innbocks completed a mail action."},
	{"mail_action.failed", "Innbocks could not complete a mail action."},
};

bool api_webhook_event_type_known(const char *type)
{
	for (size_t i = 0; i < sizeof(event_types) / sizeof(event_types[0]); i++)
		if (strcmp(type, event_types[i].type) == 0)
			return true;
	return false;
}

bool api_webhook_event_family_known(const char *family)
{
	size_t len = strlen(family);
	if (len < 2 || family[len - 1] != '.')
		return false;
	for (size_t i = 0; i < sizeof(event_types) / sizeof(event_types[0]); i++)
		if (strncmp(event_types[i].type, family, len) == 0)
			return true;
	return false;
}

/* A list item: an event type of the catalogue. */
static json_t *event_type_item(struct ctx *c, const void *item)
{
	(void)c;
	const struct event_type *t = item;
	json_t *o = json_object();
	json_object_set_new(o, "object", json_string("webhook_event_type"));
	json_object_set_new(o, "type", json_string(t->type));
	json_object_set_new(o, "description", json_string(t->description));
	return o;
}

int api_webhook_event_list(struct ctx *c)
{
	struct page pg;
	if (query_page(c, NULL, &pg) < 0)
		return -1;
	/* A page of the catalogue, in catalogue order; an item's cursor is its
	 * type. starting_after pages towards the end, ending_before towards the
	 * start; has_more looks in the direction of travel. */
	size_t total = sizeof(event_types) / sizeof(event_types[0]);
	size_t from = 0, to = total;
	const char *cursor = pg.starting_after ? pg.starting_after : pg.ending_before;
	if (cursor) {
		size_t at = 0;
		while (at < total && strcmp(event_types[at].type, cursor) != 0)
			at++;
		if (at == total)
			return store_cursor_unknown(&pg, &c->err);
		if (pg.starting_after)
			from = at + 1;
		else
			to = at;
	}
	bool more = to - from > (size_t)pg.limit;
	if (more && pg.ending_before)
		from = to - (size_t)pg.limit;
	else if (more)
		to = from + (size_t)pg.limit;
	return reply_list(c, event_types + from, to - from, sizeof(event_types[0]),
			  event_type_item, more);
}

json_t *api_webhook_delivery_json(const struct webhook_delivery *d, bool bodies)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(d->id));
	json_object_set_new(o, "object", json_string("webhook_delivery"));
	json_object_set_new(o, "livemode", render_livemode(d->partner_id));
	json_object_set_new(o, "event_id", json_string(d->event_id));
	json_object_set_new(o, "event_type", json_string(d->event_type));
	json_object_set_new(o, "endpoint_id", json_string(d->endpoint_id));
	json_object_set_new(o, "url", json_string(d->url));
	json_object_set_new(o, "attempt", json_integer(d->attempt));
	json_object_set_new(o, "status", json_string(d->status));
	json_object_set_new(o, "response_status",
			    d->response_status ? json_integer(d->response_status)
					       : json_null());
	json_object_set_new(o, "error", render_string_or_null(d->error));
	json_object_set_new(o, "duration_ms", json_integer(d->duration_ms));
	json_object_set_new(o, "attempted_at", render_time(d->attempted_at));
	json_object_set_new(o, "next_attempt_at", render_time(d->next_attempt_at));
	if (bodies) {
		json_object_set_new(o, "request_body", render_string_or_null(d->request_body));
		json_object_set_new(o, "response_body",
				    render_string_or_null(d->response_body));
	}
	return o;
}

/* A list item: one delivery attempt, as the Partner API shows it. */
static json_t *delivery_item(struct ctx *c, const void *item)
{
	(void)c;
	return api_webhook_delivery_json(item, false);
}

int api_webhook_delivery_list(struct ctx *c)
{
	static const char *const filters[] = {"event_id", "event_type", "status", NULL};
	static const char *const statuses[] = {"succeeded", "failed", NULL};
	struct page pg;
	struct delivery_filter f = {0};
	if (query_page(c, filters, &pg) < 0 ||
	    query_choice(c, "status", statuses, &f.status) < 0)
		return -1;
	f.event_id = query_get(c, "event_id");
	f.event_type = query_get(c, "event_type");
	if (f.event_type && !api_webhook_event_type_known(f.event_type))
		return error(
			&c->err, 400, "invalid_request", "event_type",
			"%s is not a webhook event type (GET /api/v1/webhook-events lists them)",
			resp_quote(f.event_type));
	struct webhook_delivery *items;
	size_t n;
	bool more;
	if (c->store->ops->delivery_list(c->store, c->a, c->partner_id, &f, &pg, &items, &n,
					 &more, &c->err) < 0)
		return -1;
	return reply_list(c, items, n, sizeof(*items), delivery_item, more);
}
