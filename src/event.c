/* event.c - events into the outbox, in the handler's transaction. */
#include "event.h"

#include <stdlib.h>

#include "render.h"
#include "reply.h"
#include "util.h"
#include "banned.h"

/* Writes the event type about object (borrowed). Returns 0 or -1. */
static int emit(struct ctx *c, const char *partner_id, const char *type, json_t *object)
{
	struct event ev = {
		.id = id_new(c->a, "evt_"),
		.partner_id = partner_id,
		.type = type,
		.created_at = c->now,
	};
	json_t *data = json_object();
	json_object_set(data, "object", object);
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(ev.id));
	json_object_set_new(o, "object", json_string("event"));
	json_object_set_new(o, "type", json_string(type));
	json_object_set_new(o, "api_version", json_string("v1"));
	json_object_set_new(o, "livemode", render_livemode(partner_id));
	json_object_set_new(o, "created_at", render_time(c->now));
	json_object_set_new(o, "data", data);
	char *payload = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!payload)
		die("out of memory");
	ev.payload = payload;
	int rc = c->store->ops->event_insert(c->store, &ev, &c->err);
	free(payload);
	c->events_emitted = true; /* dispatch_committed() wakes the worker */
	return rc;
}

int event_emit_take(struct ctx *c, const char *partner_id, const char *type, json_t *object)
{
	int rc = emit(c, partner_id, type, object);
	json_decref(object);
	return rc;
}

int event_emit_reply_take(struct ctx *c, const char *partner_id, const char *type, int status,
			  json_t *object)
{
	if (type && emit(c, partner_id, type, object) < 0) {
		json_decref(object);
		return -1;
	}
	return reply_take(c, status, object);
}
