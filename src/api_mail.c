/* api_mail.c - inbound mail (docs/api.md#mail): recording it, with the
 * eligibility checks in their documented order, reading and deleting it.
 * Staff-recorded mail (admin_mail.c) goes through api_mail_record() too. */
#include <stdlib.h>
#include <string.h>

#include "customer.h"
#include "event.h"
#include "field.h"
#include "handlers.h"
#include "query.h"
#include "render.h"
#include "reply.h"
#include "validate.h"
#include "banned.h"

static const char *const mail_types[] = {"letter", "large_envelope", "package", "periodical",
					 NULL};
static const char *const mail_statuses[] = {"in_storage", "forwarded", "shredded", "picked_up",
					    NULL};
const char *const api_mail_carriers[] = {"usps", "ups", "fedex", "dhl", "other", NULL};

#define PHOTOS_MAX 10

int api_mail_load(struct ctx *c, const char *id, struct mail *m)
{
	int rc = c->store->ops->mail_get(c->store, c->a, c->partner_id, id, m, &c->err);
	if (rc == STORE_NOT_FOUND)
		return reply_not_found(c, "mail", id, NULL);
	return rc;
}

int api_mail_write(struct ctx *c, struct buf *b, const struct mail *m)
{
	struct mail_action *acts;
	size_t n;
	if (c->store->ops->action_list_for_mail(c->store, c->a, m->id, &acts, &n, &c->err) < 0)
		return -1;
	render_mail_write(b, m, acts, n);
	return 0;
}

/* Reads photos: 1-10 absolute http(s) URLs; returns them as JSON text. */
static int photos_field(struct ctx *c, const char **out)
{
	json_t *photos = json_object_get(c->body, "photos");
	if (!photos)
		return error(&c->err, 422, "validation_failed", "photos", "photos is required");
	if (!json_is_array(photos) || json_array_size(photos) < 1 ||
	    json_array_size(photos) > PHOTOS_MAX)
		return error(&c->err, 422, "validation_failed", "photos",
			     "photos must be an array of 1 to %d URLs", PHOTOS_MAX);
	size_t i;
	json_t *v;
	json_array_foreach(photos, i, v)
		if (!json_is_string(v) || !valid_http_url(json_string_value(v)))
			return error(&c->err, 422, "validation_failed", "photos",
				     "photos[%zu] must be an absolute http or https URL of at "
				     "most 2048 characters",
				     i);
	char *text = json_dumps(photos, JSON_COMPACT);
	if (!text)
		die("out of memory");
	*out = arena_strdup(c->a, text);
	free(text);
	return 0;
}

/* Returns 0 when the customer may receive mail, else -1 with 422
 * customer_not_eligible naming the first failed check. */
static int mail_eligible(struct ctx *c, const struct customer *cu)
{
	if (strcmp(cu->status, "deactivated") == 0) {
		error(&c->err, 422, "customer_not_eligible", "customer_id",
		      "customer %s is deactivated", cu->id);
		return resp_error_reason(&c->err, "deactivated");
	}
	if (!customer_billing_active(cu)) {
		error(&c->err, 422, "customer_not_eligible", "customer_id",
		      "customer %s has no active billing: set its prepay to true "
		      "(PATCH /api/v1/customers/%s), or Innbocks turns on its own billing",
		      cu->id, cu->id);
		return resp_error_reason(&c->err, "billing_inactive");
	}
	if (!customer_mail_receipt_approved(cu)) {
		error(&c->err, 422, "customer_not_eligible", "customer_id",
		      "customer %s is not approved for mail receipt: Innbocks must approve "
		      "its Form 1583 and verify its identity (GET "
		      "/api/v1/customers/%s/compliance shows both)",
		      cu->id, cu->id);
		return resp_error_reason(&c->err, "not_approved");
	}
	return 0;
}

int api_mail_record(struct ctx *c, const char *source)
{
	static const char *const fields[] = {
		"customer_id",     "type",     "photos", "performed_by",
		"tracking_number", "carrier",  "sender", "notes",
		"received_at",     "metadata", NULL};
	const char *customer_id, *received_at;
	struct mail m = {
		.id = id_new(c->a, "mail_"),
		.status = "in_storage",
		.source = source,
		.metadata = "{}",
		.received_at = c->now,
		.created_at = c->now,
		.updated_at = c->now,
	};
	if (field_allow(c, fields) < 0 ||
	    field_string(c, "customer_id", true, false, 1, 64, FIELD_LINE, &customer_id) < 0 ||
	    field_choice(c, "type", true, mail_types, &m.type) < 0 ||
	    photos_field(c, &m.photos) < 0 ||
	    field_string(c, "performed_by", true, false, 1, 128, FIELD_LINE, &m.performed_by) <
		    0 ||
	    field_string(c, "tracking_number", false, true, 1, 64, FIELD_LINE,
			 &m.tracking_number) < 0 ||
	    field_choice(c, "carrier", false, api_mail_carriers, &m.carrier) < 0 ||
	    field_string(c, "sender", false, true, 1, 200, FIELD_LINE, &m.sender) < 0 ||
	    field_string(c, "notes", false, true, 1, 1000, FIELD_MULTILINE, &m.notes) < 0 ||
	    field_string(c, "received_at", false, true, 1, 64, FIELD_LINE, &received_at) < 0)
		return -1;
	/* Time 0 is no time (stored as such, rendered null). */
	if (received_at &&
	    (rfc3339_parse(received_at, &m.received_at) < 0 || m.received_at < 1))
		return error(&c->err, 422, "validation_failed", "received_at",
			     "received_at must be an RFC 3339 time after 1970-01-01T00:00:00Z, "
			     "such as 2026-11-27T11:10:28Z");
	if (m.received_at > c->now)
		return error(&c->err, 422, "validation_failed", "received_at",
			     "received_at may not lie in the future");
	if (field_metadata(c, NULL, &m.metadata) < 0)
		return -1;

	/* Staff record mail for any partner's customer; a partner for its own. */
	struct customer cu;
	int rc = dispatch_operator(c)
			 ? c->store->ops->customer_get_any_partner(c->store, c->a, customer_id,
								   &cu, &c->err)
			 : c->store->ops->customer_get(c->store, c->a, c->partner_id,
						       customer_id, &cu, &c->err);
	if (rc == STORE_NOT_FOUND)
		return reply_not_found(c, "customer", customer_id, "customer_id");
	if (rc < 0 || mail_eligible(c, &cu) < 0)
		return -1;
	m.partner_id = cu.partner_id;
	m.customer_id = cu.id;
	m.mailbox_id = cu.mailbox.id;
	if (c->store->ops->mail_insert(c->store, &m, &c->err) < 0)
		return -1;
	const char *type = strcmp(m.type, "package") == 0 ? "package.arrived" : "mail.arrived";
	struct buf b = {0};
	render_mail_write(&b, &m, NULL, 0);
	return event_emit_reply_buf(c, m.partner_id, type, 201, &b);
}

int api_mail_create(struct ctx *c)
{
	return api_mail_record(c, "partner");
}

int api_mail_get(struct ctx *c)
{
	struct mail m;
	if (query_allow(c, NULL) < 0 || api_mail_load(c, c->params[0], &m) != 0)
		return -1;
	struct buf b = {0};
	if (api_mail_write(c, &b, &m) < 0) {
		buf_free(&b);
		return -1;
	}
	return reply_buf_take(c, 200, &b);
}

/* A list item: the mail with its actions. */
static int mail_item(struct ctx *c, struct buf *b, const void *item)
{
	return api_mail_write(c, b, item);
}

int api_mail_list(struct ctx *c)
{
	static const char *const filters[] = {"type", "status", NULL};
	struct page pg;
	struct mail_filter f;
	struct customer cu;
	if (query_page(c, filters, &pg) < 0 ||
	    query_choice(c, "type", mail_types, &f.type) < 0 ||
	    query_choice(c, "status", mail_statuses, &f.status) < 0 ||
	    api_customer_load(c, c->params[0], &cu) != 0)
		return -1;
	struct mail *items;
	size_t n;
	bool more;
	if (c->store->ops->mail_list(c->store, c->a, cu.id, &f, &pg, &items, &n, &more,
				     &c->err) < 0)
		return -1;
	return reply_list_write(c, items, n, sizeof(*items), mail_item, more);
}

int api_mail_delete(struct ctx *c)
{
	static const char *const none[] = {NULL};
	struct mail m;
	if (field_allow(c, none) < 0 || api_mail_load(c, c->params[0], &m) != 0)
		return -1;
	if (strcmp(m.source, "partner") != 0)
		return error(&c->err, 409, "invalid_state", NULL,
			     "mail %s was recorded by Innbocks and cannot be deleted", m.id);
	if (strcmp(m.status, "in_storage") != 0)
		return error(&c->err, 409, "invalid_state", NULL,
			     "mail %s is no longer in storage (%s)", m.id, m.status);
	struct mail_action *acts;
	size_t n;
	if (c->store->ops->action_list_for_mail(c->store, c->a, m.id, &acts, &n, &c->err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (strcmp(acts[i].status, "requested") == 0 ||
		    strcmp(acts[i].status, "completed") == 0)
			return error(&c->err, 409, "invalid_state", NULL,
				     "mail %s has a %s %s action and cannot be deleted", m.id,
				     acts[i].status, acts[i].type);
	/* The event carries the mail as it was before the deletion. */
	struct mail deleted = m;
	deleted.deleted_at = c->now;
	deleted.updated_at = c->now;
	struct buf b = {0};
	render_mail_write(&b, &m, acts, n);
	int rc = c->store->ops->mail_update(c->store, &deleted, &c->err) < 0
			 ? -1
			 : event_emit_buf(c, m.partner_id, "mail.deleted", &b);
	buf_free(&b);
	if (rc < 0)
		return -1;
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(m.id));
	json_object_set_new(o, "object", json_string("mail"));
	json_object_set_new(o, "deleted", json_true());
	return reply_take(c, 200, o);
}
