/* render.c - the JSON objects of docs/api.md, built from store structs. */
#include "render.h"

#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "customer.h"
#include "tenant.h"
#include "banned.h"

json_t *render_time(int64_t t)
{
	if (!t)
		return json_null();
	char buf[21];
	time_format(t, buf);
	return json_string(buf);
}

json_t *render_string_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *render_address(const struct address *ad)
{
	json_t *o = json_object();
	json_object_set_new(o, "line1", render_string_or_null(ad->line1));
	json_object_set_new(o, "line2", render_string_or_null(ad->line2));
	json_object_set_new(o, "city", render_string_or_null(ad->city));
	json_object_set_new(o, "state", render_string_or_null(ad->state));
	json_object_set_new(o, "postal_code", render_string_or_null(ad->postal_code));
	json_object_set_new(o, "country", render_string_or_null(ad->country));
	return o;
}

json_t *render_partner_of(const char *tenant_id)
{
	return json_stringn(tenant_id, tenant_partner_len(tenant_id));
}

json_t *render_livemode(const char *tenant_id)
{
	return json_boolean(tenant_livemode(tenant_id));
}

json_t *render_partner(const struct partner *p)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(p->id));
	json_object_set_new(o, "object", json_string("partner"));
	json_object_set_new(o, "name", json_string(p->name));
	json_object_set_new(o, "location", render_address(&p->location));
	json_object_set_new(o, "created_at", render_time(p->created_at));
	return o;
}

json_t *render_key(const struct api_key *k, const char *secret)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(k->id));
	json_object_set_new(o, "object", json_string("api_key"));
	json_object_set_new(o, "partner_id", render_partner_of(k->partner_id));
	json_object_set_new(o, "mode",
			    json_string(tenant_mode_name(tenant_livemode(k->partner_id))));
	json_object_set_new(o, "name", json_string(k->name));
	json_t *scopes = json_array();
	for (unsigned bit = 1; bit <= SCOPE_ALL; bit <<= 1)
		if (k->scopes & bit)
			json_array_append_new(scopes, json_string(auth_scope_name(bit)));
	json_object_set_new(o, "scopes", scopes);
	json_object_set_new(o, "prefix", json_string(k->prefix));
	if (secret)
		json_object_set_new(o, "secret", json_string(secret));
	json_object_set_new(o, "created_at", render_time(k->created_at));
	json_object_set_new(o, "last_used_at", render_time(k->last_used_at));
	json_object_set_new(o, "revoked_at", render_time(k->revoked_at));
	return o;
}

json_t *render_user(const struct user *u)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(u->id));
	json_object_set_new(o, "object", json_string("user"));
	json_object_set_new(o, "partner_id", json_string(u->partner_id));
	json_object_set_new(o, "email", json_string(u->email));
	json_object_set_new(o, "role", json_string(u->role));
	json_object_set_new(o, "password_set", json_boolean(u->password_hash != NULL));
	json_object_set_new(o, "created_at", render_time(u->created_at));
	return o;
}

json_t *render_mailbox(const struct customer *c)
{
	const struct mailbox *m = &c->mailbox;
	struct address ad = c->location;
	char line1[512];
	if (c->location.line2 && c->location.line2[0]) {
		/* line2 carries the PMB, so the location's own line2 joins line1. */
		snprintf(line1, sizeof(line1), "%s, %s", c->location.line1, c->location.line2);
		ad.line1 = line1;
	}
	char pmb[32];
	snprintf(pmb, sizeof(pmb), "PMB %s", m->number);
	ad.line2 = pmb;
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(m->id));
	json_object_set_new(o, "object", json_string("mailbox"));
	json_object_set_new(o, "livemode", render_livemode(c->partner_id));
	json_object_set_new(o, "customer_id", json_string(c->id));
	json_object_set_new(o, "number", json_string(m->number));
	json_object_set_new(o, "status", json_string(m->status));
	json_object_set_new(o, "address", render_address(&ad));
	json_object_set_new(o, "reserved_at", render_time(m->reserved_at));
	json_object_set_new(o, "activated_at", render_time(m->activated_at));
	json_object_set_new(o, "closed_at", render_time(m->closed_at));
	return o;
}

json_t *render_compliance(const struct customer *c)
{
	json_t *form = json_object();
	json_object_set_new(form, "status", json_string(c->form_status));
	json_object_set_new(form, "submitted_at", render_time(c->form_submitted_at));
	json_object_set_new(form, "approved_at", render_time(c->form_approved_at));
	json_object_set_new(form, "rejection_reason",
			    render_string_or_null(c->form_rejection_reason));
	json_t *id = json_object();
	json_object_set_new(id, "status", json_string(c->identity_status));
	json_object_set_new(id, "verified_at", render_time(c->identity_verified_at));
	json_object_set_new(id, "failure_reason",
			    render_string_or_null(c->identity_failure_reason));
	json_t *o = json_object();
	json_object_set_new(o, "object", json_string("compliance"));
	json_object_set_new(o, "livemode", render_livemode(c->partner_id));
	json_object_set_new(o, "customer_id", json_string(c->id));
	json_object_set_new(o, "form_1583", form);
	json_object_set_new(o, "identity", id);
	json_object_set_new(o, "mail_receipt_approved",
			    json_boolean(customer_mail_receipt_approved(c)));
	json_object_set_new(o, "updated_at", render_time(c->compliance_updated_at));
	return o;
}

json_t *render_json_text(const char *text)
{
	json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
	return v ? v : json_null();
}

/* The members of an object being written into a buffer, each in the way
 * json_object_set_new() would have kept it. */

/* These are inlined into the renderers, so that every name's length is a
 * constant and a member costs one check for room. */
#define INLINE static inline __attribute__((always_inline))

/* Starts a member: its comma (unless it is the object's first) and name;
 * leaves room for extra more bytes after it. */
INLINE void key(struct buf *b, const char *name, size_t extra)
{
	size_t n = strlen(name);
	buf_reserve(b, n + 4 + extra);
	char *p = b->data + b->len;
	if (p[-1] != '{')
		*p++ = ',';
	*p++ = '"';
	memcpy(p, name, n);
	p += n;
	*p++ = '"';
	*p++ = ':';
	b->len = (size_t)(p - b->data);
}

/* A member whose value is the JSON text value (a constant). */
INLINE void member_raw(struct buf *b, const char *name, const char *value)
{
	size_t n = strlen(value);
	key(b, name, n);
	memcpy(b->data + b->len, value, n);
	b->len += n;
}

/* json_string(s): NULL, or text that is not UTF-8, leaves the member out. */
INLINE void member_string(struct buf *b, const char *name, const char *s)
{
	if (!s)
		return;
	size_t at = b->len;
	key(b, name, 0);
	if (!buf_json_string(b, s, strlen(s)))
		b->len = at;
}

/* render_string_or_null(s). */
INLINE void member_string_or_null(struct buf *b, const char *name, const char *s)
{
	if (s)
		member_string(b, name, s);
	else
		member_raw(b, name, "null");
}

INLINE void member_bool(struct buf *b, const char *name, bool v)
{
	member_raw(b, name, v ? "true" : "false");
}

/* render_time(t). */
INLINE void member_time(struct buf *b, const char *name, int64_t t)
{
	if (!t) {
		member_raw(b, name, "null");
		return;
	}
	size_t at = b->len;
	key(b, name, 22);
	char *p = b->data + b->len;
	if (time_digits(t, p + 1)) { /* what time_format() writes, in place */
		p[0] = '"';
		p[20] = 'Z';
		p[21] = '"';
		b->len += 22;
		return;
	}
	b->len = at;
	char when[21];
	time_format(t, when);
	member_string(b, name, when);
}

/* render_json_text(text). */
INLINE void member_text(struct buf *b, const char *name, const char *text)
{
	key(b, name, 0);
	buf_json_text(b, text);
}

void render_customer_write(struct buf *b, const struct customer *c)
{
	buf_putc(b, '{');
	member_string(b, "id", c->id);
	member_raw(b, "object", "\"customer\"");
	member_bool(b, "livemode", tenant_livemode(c->partner_id));
	member_string_or_null(b, "external_customer_id", c->external_id);
	member_string(b, "email", c->email);
	member_string(b, "name", c->name);
	member_string_or_null(b, "phone", c->phone);
	member_bool(b, "prepay", c->prepay);
	member_string(b, "status", c->status);
	member_raw(b, "billing_status",
		   customer_billing_active(c) ? "\"active\"" : "\"inactive\"");
	member_bool(b, "mail_receipt_approved", customer_mail_receipt_approved(c));
	member_string(b, "mailbox_id", c->mailbox.id);
	member_text(b, "metadata", c->metadata);
	member_time(b, "created_at", c->created_at);
	member_time(b, "updated_at", c->updated_at);
	member_time(b, "deactivated_at", c->deactivated_at);
	buf_putc(b, '}');
}

void render_action_write(struct buf *b, const struct mail_action *act)
{
	buf_putc(b, '{');
	member_string(b, "id", act->id);
	member_raw(b, "object", "\"mail_action\"");
	member_bool(b, "livemode", tenant_livemode(act->partner_id));
	member_string(b, "mail_id", act->mail_id);
	member_string(b, "customer_id", act->customer_id);
	member_string(b, "type", act->type);
	member_string(b, "status", act->status);
	member_text(b, "forward_address", act->forward_address);
	member_string_or_null(b, "shipping_speed", act->shipping_speed);
	member_string_or_null(b, "notes", act->notes);
	member_text(b, "result", act->result);
	member_string_or_null(b, "failure_reason", act->failure_reason);
	member_time(b, "requested_at", act->requested_at);
	member_time(b, "completed_at", act->completed_at);
	buf_putc(b, '}');
}

void render_mail_write(struct buf *b, const struct mail *m, const struct mail_action *actions,
		       size_t n)
{
	buf_putc(b, '{');
	member_string(b, "id", m->id);
	member_raw(b, "object", "\"mail\"");
	member_bool(b, "livemode", tenant_livemode(m->partner_id));
	member_string(b, "customer_id", m->customer_id);
	member_string(b, "mailbox_id", m->mailbox_id);
	member_string(b, "type", m->type);
	member_string(b, "status", m->status);
	member_string(b, "source", m->source);
	member_text(b, "photos", m->photos);
	member_string(b, "performed_by", m->performed_by);
	member_string_or_null(b, "tracking_number", m->tracking_number);
	member_string_or_null(b, "carrier", m->carrier);
	member_string_or_null(b, "sender", m->sender);
	member_string_or_null(b, "notes", m->notes);
	member_text(b, "metadata", m->metadata);
	key(b, "actions", 1);
	buf_putc(b, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_putc(b, ',');
		render_action_write(b, &actions[i]);
	}
	buf_putc(b, ']');
	member_time(b, "received_at", m->received_at);
	member_time(b, "created_at", m->created_at);
	member_time(b, "updated_at", m->updated_at);
	buf_putc(b, '}');
}

void render_event_write(struct buf *b, const struct event *ev, const char *object, size_t len)
{
	buf_reserve(b, len + 256);
	buf_putc(b, '{');
	member_string(b, "id", ev->id);
	member_raw(b, "object", "\"event\"");
	member_string(b, "type", ev->type);
	member_raw(b, "api_version", "\"v1\"");
	member_bool(b, "livemode", tenant_livemode(ev->partner_id));
	member_time(b, "created_at", ev->created_at);
	key(b, "data", 0);
	buf_lit(b, "{\"object\":");
	buf_put(b, object, len);
	buf_lit(b, "}}");
}
