/* event.c - events into the outbox, in the handler's transaction. The
 * object is rendered once (render.h); the event's payload wraps its bytes. */
#include "event.h"

#include "render.h"
#include "reply.h"
#include "util.h"
#include "banned.h"

int event_emit_buf(struct ctx *c, const char *partner_id, const char *type,
		   const struct buf *obj)
{
	struct event ev = {
		.id = id_new(c->a, "evt_"),
		.partner_id = partner_id,
		.type = type,
		.created_at = c->now,
	};
	struct buf payload = {0};
	render_event_write(&payload, &ev, obj->data, obj->len);
	ev.payload = buf_str(&payload);
	int rc = c->store->ops->event_insert(c->store, &ev, &c->err);
	buf_free(&payload);
	if (rc < 0)
		return -1;
	/* dispatch_committed() wakes the delivery worker for the jobs queued:
	 * woken for none, it would claim (a write transaction) for nothing. */
	if (rc != STORE_NONE_QUEUED)
		c->events_emitted = true;
	return 0;
}

int event_emit_reply_buf(struct ctx *c, const char *partner_id, const char *type, int status,
			 struct buf *obj)
{
	if (type && event_emit_buf(c, partner_id, type, obj) < 0) {
		buf_free(obj);
		return -1;
	}
	return reply_buf_take(c, status, obj);
}

/* Writes the event type about object (borrowed). Returns 0 or -1. */
static int emit(struct ctx *c, const char *partner_id, const char *type, json_t *object)
{
	struct buf b = {0};
	buf_json_value(&b, object);
	int rc = event_emit_buf(c, partner_id, type, &b);
	buf_free(&b);
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
