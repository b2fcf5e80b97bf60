/* admin_endpoints.c - webhook endpoints on the operator API (docs/operators.md):
 * create (the whsec_ secret shown once), list, read, update, rotate. */
#include <stdlib.h>
#include <string.h>

#include "field.h"
#include "handlers.h"
#include "netguard.h"
#include "query.h"
#include "render.h"
#include "reply.h"
#include "tenant.h"
#include "banned.h"

#define SECRET_PREFIX "whsec_"
#define ROTATION_OVERLAP_S (24 * 3600)

static char *secret_new(struct arena *a)
{
	char *s = arena_alloc(a, sizeof(SECRET_PREFIX) + 32);
	memcpy(s, SECRET_PREFIX, sizeof(SECRET_PREFIX) - 1);
	random_base62(s + sizeof(SECRET_PREFIX) - 1, 32);
	return s;
}

static json_t *render_endpoint(const struct webhook_endpoint *w, bool with_secret)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(w->id));
	json_object_set_new(o, "object", json_string("webhook_endpoint"));
	json_object_set_new(o, "livemode", render_livemode(w->partner_id));
	json_object_set_new(o, "partner_id", render_partner_of(w->partner_id));
	json_object_set_new(o, "mode",
			    json_string(tenant_mode_name(tenant_livemode(w->partner_id))));
	json_object_set_new(o, "url", json_string(w->url));
	json_object_set_new(o, "enabled_events", render_json_text(w->enabled_events));
	json_object_set_new(o, "status", json_string(w->status));
	if (with_secret)
		json_object_set_new(o, "secret", json_string(w->secret));
	json_object_set_new(o, "created_at", render_time(w->created_at));
	json_object_set_new(o, "updated_at", render_time(w->updated_at));
	return o;
}

/* Reads and checks url (the SSRF guard) into w->url when present; an
 * update sending back the stored URL keeps it (every delivery checks the
 * address it connects to anyway). */
static int url_field(struct ctx *c, bool required, struct webhook_endpoint *w)
{
	const char *url;
	char why[128];
	if (!required && field_same(c, "url", w->url))
		return 0;
	if (field_string(c, "url", required, false, 1, 2048, FIELD_LINE, &url) < 0)
		return -1;
	if (!url)
		return 0;
	if (netguard_check_url(url, c->app->webhook_allow_loopback, why, sizeof(why)) < 0)
		return error(&c->err, 422, "validation_failed", "url", "%s", why);
	w->url = url;
	return 0;
}

/* Reads enabled_events (a non-empty array of known types, or ["*"]) into
 * w->enabled_events when present. */
static int events_field(struct ctx *c, struct webhook_endpoint *w)
{
	json_t *v = json_object_get(c->body, "enabled_events");
	if (!v)
		return 0;
	if (!json_is_array(v) || json_array_size(v) == 0)
		return error(&c->err, 422, "validation_failed", "enabled_events",
			     "enabled_events must be a non-empty array of event types");
	size_t i;
	json_t *t;
	json_array_foreach(v, i, t) {
		const char *type = json_is_string(t) ? json_string_value(t) : "";
		if (strcmp(type, "*") == 0 && json_array_size(v) > 1)
			return error(&c->err, 422, "validation_failed", "enabled_events",
				     "enabled_events[%zu] is \"*\", which already means every "
				     "type: send [\"*\"] alone or a list of types",
				     i);
		if (strcmp(type, "*") != 0 && !api_webhook_event_type_known(type))
			return error(&c->err, 422, "validation_failed", "enabled_events",
				     "enabled_events[%zu] is not a webhook event type "
				     "(GET /api/v1/webhook-events lists them)",
				     i);
		for (size_t j = 0; j < i; j++)
			if (json_equal(json_array_get(v, j), t))
				return error(&c->err, 422, "validation_failed",
					     "enabled_events",
					     "enabled_events[%zu] repeats enabled_events[%zu]",
					     i, j);
	}
	char *text = json_dumps(v, JSON_COMPACT);
	if (!text)
		die("out of memory");
	w->enabled_events = arena_strdup(c->a, text);
	free(text);
	return 0;
}

int admin_endpoint_create(struct ctx *c)
{
	static const char *const fields[] = {"url", "enabled_events", "mode", NULL};
	struct partner p;
	bool livemode;
	struct webhook_endpoint w = {
		.id = id_new(c->a, "we_"),
		.enabled_events = "[\"*\"]",
		.status = "enabled",
		.secret = secret_new(c->a),
		.created_at = c->now,
		.updated_at = c->now,
	};
	if (field_allow(c, fields) < 0 || url_field(c, true, &w) < 0 ||
	    events_field(c, &w) < 0 || field_mode(c, &livemode) < 0 ||
	    admin_partner_load(c, &p) != 0)
		return -1;
	w.partner_id = tenant_of(c->a, p.id, livemode);
	if (c->store->ops->endpoint_insert(c->store, &w, &c->err) < 0)
		return -1;
	c->answer_secret = true;
	return reply_take(c, 201, render_endpoint(&w, true));
}

/* A list item: the endpoint, without its secret. */
static json_t *endpoint_item(struct ctx *c, const void *item)
{
	(void)c;
	return render_endpoint(item, false);
}

int admin_endpoint_list(struct ctx *c)
{
	struct page pg;
	struct partner p;
	if (query_page(c, NULL, &pg) < 0 || admin_partner_load(c, &p) != 0)
		return -1;
	struct webhook_endpoint *items;
	size_t n;
	bool more;
	/* The operator sees both modes; the dashboard the page's (c->partner_id). */
	bool both = !c->session;
	if (c->store->ops->endpoint_list(c->store, c->a, both ? p.id : c->partner_id, both, &pg,
					 &items, &n, &more, &c->err) < 0)
		return -1;
	return reply_list(c, items, n, sizeof(*items), endpoint_item, more);
}

int admin_endpoint_load(struct ctx *c, struct webhook_endpoint *w)
{
	/* The dashboard's partner in the page's mode (c->partner_id), or the
	 * operator's any. */
	int rc = c->session ? c->store->ops->endpoint_get(c->store, c->a, c->partner_id,
							  c->params[0], w, &c->err)
			    : c->store->ops->endpoint_get_any_partner(c->store, c->a,
								      c->params[0], w, &c->err);
	if (rc == STORE_NOT_FOUND)
		return reply_not_found(c, "webhook_endpoint", c->params[0], NULL);
	return rc;
}

int admin_endpoint_get(struct ctx *c)
{
	struct webhook_endpoint w;
	if (query_allow(c, NULL) < 0 || admin_endpoint_load(c, &w) != 0)
		return -1;
	return reply_take(c, 200, render_endpoint(&w, false));
}

int admin_endpoint_update(struct ctx *c)
{
	static const char *const fields[] = {"url", "enabled_events", "enabled", NULL};
	struct webhook_endpoint w;
	bool present, enabled;
	if (field_allow(c, fields) < 0 || admin_endpoint_load(c, &w) != 0)
		return -1;
	const struct webhook_endpoint before = w;
	if (url_field(c, false, &w) < 0 || events_field(c, &w) < 0 ||
	    field_bool(c, "enabled", &present, &enabled) < 0)
		return -1;
	if (present)
		w.status = enabled ? "enabled" : "disabled";
	/* As a customer's: a change to nothing keeps updated_at. */
	if (strcmp(w.url, before.url) != 0 || strcmp(w.status, before.status) != 0 ||
	    strcmp(w.enabled_events, before.enabled_events) != 0) {
		w.updated_at = c->now;
		if (c->store->ops->endpoint_update(c->store, &w, &c->err) < 0)
			return -1;
	}
	return reply_take(c, 200, render_endpoint(&w, false));
}

int admin_endpoint_rotate(struct ctx *c)
{
	static const char *const none[] = {NULL};
	struct webhook_endpoint w;
	if (field_allow(c, none) < 0 || admin_endpoint_load(c, &w) != 0)
		return -1;
	/* The old secret keeps signing, second in the header, for the overlap. */
	w.previous_secret = w.secret;
	w.previous_secret_expires_at = c->now + ROTATION_OVERLAP_S;
	w.secret = secret_new(c->a);
	w.updated_at = c->now;
	if (c->store->ops->endpoint_update(c->store, &w, &c->err) < 0)
		return -1;
	c->answer_secret = true;
	return reply_take(c, 200, render_endpoint(&w, true));
}
