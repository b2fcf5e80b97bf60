/* dash_endpoints.c - what the dashboard does with webhook endpoints beyond
 * the operator API's handlers it shares: showing the signing secret again,
 * after the user re-enters their password (docs/decisions.md, "Dashboard"),
 * and each endpoint's delivery log with its resends (docs/webhooks.md). */
#include <string.h>

#include "event.h"
#include "field.h"
#include "handlers.h"
#include "query.h"
#include "reply.h"
#include "session.h"
#include "validate.h"
#include "banned.h"

int dash_endpoint_reveal_check(struct ctx *c)
{
	static const char *const fields[] = {"password", NULL};
	const char *password;
	if (field_allow(c, fields) < 0 ||
	    field_string(c, "password", true, false, 1, SESSION_PASSWORD_MAX, FIELD_SECRET,
			 &password) < 0 ||
	    dash_session_limit(c, c->session->user.email, "secret.reveal_rate_limited") < 0)
		return -1;
	if (!dash_session_password_right(c, c->session->user.email,
					 c->session->user.password_hash, password)) {
		dash_session_audit_refusal(c, "secret.reveal_failed");
		return error(&c->err, 422, "validation_failed", "password",
			     "the password is not correct");
	}
	return 0;
}

int dash_endpoint_reveal(struct ctx *c)
{
	struct webhook_endpoint w;
	if (admin_endpoint_load(c, &w) != 0)
		return -1;
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(w.id));
	json_object_set_new(o, "object", json_string("webhook_endpoint_secret"));
	json_object_set_new(o, "secret", json_string(w.secret));
	c->answer_secret = true;
	return reply_take(c, 200, o);
}

/* A list item: one attempt, without the bodies (the detail view has them). */
static json_t *delivery_item(struct ctx *c, const void *item)
{
	(void)c;
	return api_webhook_delivery_json(item, false);
}

int dash_endpoint_delivery_list(struct ctx *c)
{
	static const char *const filters[] = {"status", NULL};
	static const char *const statuses[] = {"succeeded", "failed", NULL};
	struct page pg;
	struct webhook_endpoint w;
	struct delivery_filter f = {0};
	if (query_page(c, filters, &pg) < 0 ||
	    query_choice(c, "status", statuses, &f.status) < 0 ||
	    admin_endpoint_load(c, &w) != 0)
		return -1;
	f.endpoint_id = w.id;
	struct webhook_delivery *items;
	size_t n;
	bool more;
	if (c->store->ops->delivery_list(c->store, c->a, w.partner_id, &f, &pg, &items, &n,
					 &more, &c->err) < 0)
		return -1;
	return reply_list(c, items, n, sizeof(*items), delivery_item, more);
}

int dash_endpoint_delivery_get(struct ctx *c)
{
	struct webhook_endpoint w;
	if (query_allow(c, NULL) < 0 || admin_endpoint_load(c, &w) != 0)
		return -1;
	struct webhook_delivery d;
	int rc = c->store->ops->delivery_get(c->store, c->a, w.partner_id, w.id, c->params[1],
					     &d, &c->err);
	if (rc < 0)
		return -1;
	if (rc == STORE_NOT_FOUND)
		return reply_not_found(c, "webhook_delivery", c->params[1], NULL);
	return reply_take(c, 200, api_webhook_delivery_json(&d, true));
}

/* The answer of a resend: what was queued, to be attempted at once. */
static int resend_reply(struct ctx *c, const struct webhook_endpoint *w, const char *event_id,
			int resent)
{
	json_t *o = json_object();
	json_object_set_new(o, "object", json_string("webhook_resend"));
	json_object_set_new(o, "endpoint_id", json_string(w->id));
	if (event_id)
		json_object_set_new(o, "event_id", json_string(event_id));
	json_object_set_new(o, "resent", json_integer(resent));
	json_object_set_new(o, "endpoint_status", json_string(w->status));
	return reply_take(c, 202, o);
}

int dash_endpoint_resend(struct ctx *c)
{
	static const char *const fields[] = {"event_id", NULL};
	const char *event_id;
	struct webhook_endpoint w;
	if (field_allow(c, fields) < 0 ||
	    field_string(c, "event_id", true, false, 1, 64, FIELD_LINE, &event_id) < 0 ||
	    admin_endpoint_load(c, &w) != 0)
		return -1;
	/* Only an event of the endpoint's own tenant, still kept. */
	struct event ev;
	int rc = c->store->ops->event_get(c->store, c->a, w.partner_id, event_id,
					  c->now - EVENT_RETENTION_SECONDS, &ev, &c->err);
	if (rc < 0)
		return -1;
	if (rc == STORE_NOT_FOUND)
		return reply_not_found(c, "event", event_id, "event_id");
	if (c->store->ops->webhook_resend(c->store, ev.id, w.id, c->now, &c->err) < 0)
		return -1;
	return resend_reply(c, &w, ev.id, 1);
}

int dash_endpoint_resend_failed(struct ctx *c)
{
	static const char *const fields[] = {"since", NULL};
	const char *since_text;
	int64_t since;
	struct webhook_endpoint w;
	if (field_allow(c, fields) < 0 ||
	    field_string(c, "since", true, false, 1, 64, FIELD_LINE, &since_text) < 0)
		return -1;
	if (rfc3339_parse(since_text, &since) < 0)
		return error(&c->err, 422, "validation_failed", "since",
			     "since must be an RFC 3339 date-time");
	if (admin_endpoint_load(c, &w) != 0)
		return -1;
	int resent;
	if (c->store->ops->webhook_resend_failed(c->store, w.id, since, c->now, &resent,
						 &c->err) < 0)
		return -1;
	return resend_reply(c, &w, NULL, resent);
}
