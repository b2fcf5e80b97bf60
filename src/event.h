/* event.h - the outbox: every event is rendered once and stored with the
 * change that caused it, in the same transaction; the store fans it out
 * into delivery jobs (webhook_worker.c sends them). */
#ifndef INNBOCKS_EVENT_H
#define INNBOCKS_EVENT_H

#include <jansson.h>

#include "buf.h"
#include "dispatch.h"

/* How long partners can read events back (docs/api.md#events): older ones answer
 * 404, leave the lists and are purged once no delivery needs them. */
#define EVENT_RETENTION_SECONDS (30 * 86400)

/* Writes an event of type for partner_id to the outbox, in the current
 * transaction, with object as data.object; takes object. Returns 0 or -1. */
int event_emit_take(struct ctx *c, const char *partner_id, const char *type, json_t *object);
/* Writes the event type (none when type is NULL) about object, as
 * event_emit_take() does, then replies status with object. Takes object.
 * Returns 0 or -1. */
int event_emit_reply_take(struct ctx *c, const char *partner_id, const char *type, int status,
			  json_t *object);
/* The same two for an object already rendered into obj (render.h): the
 * event carries its bytes. event_emit_buf() borrows obj; the reply takes
 * it, so the answer (and the idempotent record of it) is the same bytes. */
int event_emit_buf(struct ctx *c, const char *partner_id, const char *type,
		   const struct buf *obj);
int event_emit_reply_buf(struct ctx *c, const char *partner_id, const char *type, int status,
			 struct buf *obj);

#endif
