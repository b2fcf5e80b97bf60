/* render.h - the JSON objects of docs/api.md, built from store structs. The one
 * place each object's shape is defined: responses, lists and event payloads
 * all come from here, so an event carries the object exactly as GET does. */
#ifndef INNBOCKS_RENDER_H
#define INNBOCKS_RENDER_H

#include <jansson.h>

#include "buf.h"
#include "store/store.h"

/* Each returns a new reference the caller owns (jansson trees: the objects
 * off the hot path). */
json_t *render_time(int64_t t); /* RFC 3339 string, or null for 0 */
json_t *render_string_or_null(const char *s);
json_t *render_address(const struct address *ad);
json_t *render_partner(const struct partner *p);
/* The id of the partner that owns a tenant (tenant.h), as a JSON string. */
json_t *render_partner_of(const char *tenant_id);
/* The "livemode" of an object of the tenant: true or false. */
json_t *render_livemode(const char *tenant_id);
/* secret is included only when not NULL (the creation response). */
json_t *render_key(const struct api_key *k, const char *secret);
/* A dashboard user (never its password hash). */
json_t *render_user(const struct user *u);
/* The mailbox; c->location must be loaded (api_customer_location_load). */
json_t *render_mailbox(const struct customer *c);
json_t *render_compliance(const struct customer *c);
/* The hot objects, written straight into b (appended): no jansson tree on
 * the way to a response, an event payload or a stored idempotent answer.
 * The bytes are what json_dumps(JSON_COMPACT) wrote of their jansson trees
 * before (tests/unit/test_render.c keeps those trees as the reference). */
void render_customer_write(struct buf *b, const struct customer *c);
/* The mail object with its n actions (oldest first). */
void render_mail_write(struct buf *b, const struct mail *m, const struct mail_action *actions,
		       size_t n);
void render_action_write(struct buf *b, const struct mail_action *act);
/* The event ev (its payload unused) about the object already rendered as
 * the len bytes at object: what webhooks deliver and events read back. */
void render_event_write(struct buf *b, const struct event *ev, const char *object, size_t len);

/* Parses stored JSON text (NULL gives null; unparsable text, which only a
 * broken invariant produces, gives null too). */
json_t *render_json_text(const char *text);

#endif
