/* event.c - events into the outbox, in the handler's transaction. The
 * object is rendered once (render.h); the event's payload wraps its bytes. */
#include "event.h"

#include <stdatomic.h>

#include "render.h"
#include "reply.h"
#include "util.h"
#include "banned.h"

/* An event's time: when the write that stores it runs, and never before
 * an event this process stored earlier. Lists are newest first in the
 * order events were written, and receivers compare created_at to tell
 * which of two events about an object is newer; the request's arrival
 * (c->now) is not in that order once the writer groups a batch by tenant
 * (an operator's call that arrived first is written after the partners'
 * requests that came after it). */
static int64_t event_time(void)
{
	static atomic_int_least64_t last;
	int64_t now = now_seconds();
	int64_t seen = atomic_load(&last);
	while (seen < now && !atomic_compare_exchange_weak(&last, &seen, now))
		;
	return now > seen ? now : seen;
}

int event_emit_buf(struct ctx *c, const char *partner_id, const char *type,
		   const struct buf *obj)
{
	struct event ev = {
		.id = id_new(c->a, "evt_"),
		.partner_id = partner_id,
		.type = type,
		.created_at = event_time(),
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
