/* api_customers.c - the Partner API's customers, their compliance and
 * mailboxes (docs/api.md: Customers, Mailboxes, Compliance). */
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "field.h"
#include "handlers.h"
#include "query.h"
#include "render.h"
#include "reply.h"
#include "validate.h"
#include "banned.h"

static const char *const customer_statuses[] = {"invited", "active", "deactivated", NULL};

int api_customer_load(struct ctx *c, const char *id, struct customer *cu)
{
	int rc = c->store->ops->customer_get(c->store, c->a, c->partner_id, id, cu, &c->err);
	if (rc == STORE_NOT_FOUND)
		return reply_not_found(c, "customer", id, NULL);
	return rc;
}

int api_customer_location_load(struct ctx *c, struct customer *cu)
{
	struct partner p;
	int rc = c->store->ops->partner_get(c->store, c->a, cu->partner_id, &p, &c->err);
	if (rc == STORE_NOT_FOUND)
		return error(&c->err, 500, "internal_error", NULL, "customer %s has no partner",
			     cu->id);
	if (rc == 0)
		cu->location = p.location;
	return rc;
}

int api_customer_reply(struct ctx *c, int status, const struct customer *cu)
{
	struct buf b = {0};
	render_customer_write(&b, cu);
	return reply_buf_take(c, status, &b);
}

/* Emits type about the customer and replies status with it (one
 * rendering for both). Returns 0 or -1. */
static int customer_emit_reply(struct ctx *c, const struct customer *cu, const char *type,
			       int status)
{
	struct buf b = {0};
	render_customer_write(&b, cu);
	return event_emit_reply_buf(c, cu->partner_id, type, status, &b);
}

int api_customer_save_emit(struct ctx *c, struct customer *cu, const char *type)
{
	cu->updated_at = c->now;
	if (c->store->ops->customer_update(c->store, cu, &c->err) < 0)
		return -1;
	return customer_emit_reply(c, cu, type, 200);
}

/* Reads the CRM-managed fields present in the body into cu (create and
 * PATCH share the rules; create requires email and name). */
static int customer_fields(struct ctx *c, struct customer *cu, bool creating)
{
	const char *s;
	/* A PATCH sending back the email or name it read keeps it as it is. */
	if (creating || !field_same(c, "email", cu->email)) {
		if (field_string(c, "email", creating, false, 1, 254, FIELD_LINE, &s) < 0)
			return -1;
		if (s && !valid_email(s))
			return error(&c->err, 422, "validation_failed", "email",
				     "email is not a valid address");
		if (s)
			cu->email = arena_strdup(c->a, s);
	}
	if (creating || !field_same(c, "name", cu->name)) {
		if (field_string(c, "name", creating, false, 1, 200, FIELD_LINE, &s) < 0)
			return -1;
		if (s)
			cu->name = arena_strdup(c->a, s);
	}
	if (field_string(c, "external_customer_id", false, true, 1, 128, FIELD_LINE, &s) < 0)
		return -1;
	if (s && !valid_external_id(s))
		return error(&c->err, 422, "validation_failed", "external_customer_id",
			     "external_customer_id must be 1 to 128 characters of "
			     "A-Z a-z 0-9 _ . : -");
	if (field_present(c, "external_customer_id"))
		cu->external_id = arena_strdup(c->a, s);
	if (field_string(c, "phone", false, true, 1, 16, FIELD_LINE, &s) < 0)
		return -1;
	if (s && !valid_e164(s))
		return error(&c->err, 422, "validation_failed", "phone",
			     "phone must be in E.164 form, such as +15555555555");
	if (field_present(c, "phone"))
		cu->phone = arena_strdup(c->a, s);
	bool present, prepay;
	if (field_bool(c, "prepay", &present, &prepay) < 0)
		return -1;
	if (present)
		cu->prepay = prepay;
	if (field_metadata(c, cu->metadata, &cu->metadata) < 0)
		return -1;
	if (cu->external_id && field_present(c, "external_customer_id")) {
		int rc = c->store->ops->customer_external_id_find(
			c->store, cu->partner_id, cu->external_id, cu->id, &c->err);
		if (rc < 0)
			return -1;
		if (rc == 0)
			return error(
				&c->err, 409, "external_id_conflict", "external_customer_id",
				"another customer already has external_customer_id %s; find it "
				"with GET /api/v1/customers?external_customer_id=%s",
				resp_quote(cu->external_id), resp_quote(cu->external_id));
	}
	return 0;
}

static const char *const crm_fields[] = {
	"external_customer_id", "email", "name", "phone", "prepay", "metadata", NULL};

int api_customer_create(struct ctx *c)
{
	if (field_allow(c, crm_fields) < 0)
		return -1;
	struct customer cu = {
		.id = id_new(c->a, "cus_"),
		.partner_id = c->partner_id,
		.status = "invited",
		.form_status = "not_started",
		.identity_status = "not_started",
		.compliance_updated_at = c->now,
		.metadata = "{}",
		.created_at = c->now,
		.updated_at = c->now,
		.mailbox =
			{
				.id = id_new(c->a, "mbx_"),
				.status = "reserved",
				.reserved_at = c->now,
			},
	};
	if (customer_fields(c, &cu, true) < 0)
		return -1;
	if (c->store->ops->customer_insert(c->store, c->a, &cu, &c->err) < 0)
		return -1;
	return customer_emit_reply(c, &cu, "customer.created", 201);
}

/* A list item: the customer. */
static int customer_item(struct ctx *c, struct buf *b, const void *item)
{
	(void)c;
	render_customer_write(b, item);
	return 0;
}

int api_customer_list(struct ctx *c)
{
	static const char *const filters[] = {"status", "external_customer_id", "email", NULL};
	struct page pg;
	struct customer_filter f = {0};
	if (query_page(c, filters, &pg) < 0 ||
	    query_choice(c, "status", customer_statuses, &f.status) < 0)
		return -1;
	f.external_id = query_get(c, "external_customer_id");
	f.email = query_get(c, "email");
	struct customer *items;
	size_t n;
	bool more;
	if (c->store->ops->customer_list(c->store, c->a, c->partner_id, &f, &pg, &items, &n,
					 &more, &c->err) < 0)
		return -1;
	return reply_list_write(c, items, n, sizeof(*items), customer_item, more);
}

int api_customer_get(struct ctx *c)
{
	struct customer cu;
	if (query_allow(c, NULL) < 0 || api_customer_load(c, c->params[0], &cu) != 0)
		return -1;
	return api_customer_reply(c, 200, &cu);
}

int api_customer_update(struct ctx *c)
{
	struct customer cu;
	if (field_allow(c, crm_fields) < 0 || api_customer_load(c, c->params[0], &cu) != 0)
		return -1;
	if (strcmp(cu.status, "deactivated") == 0)
		return error(&c->err, 409, "invalid_state", NULL,
			     "customer %s is deactivated and can no longer be changed", cu.id);
	/* Changed is what a client would see change: the object's bytes. */
	struct buf before = {0}, after = {0};
	render_customer_write(&before, &cu);
	int rc = customer_fields(c, &cu, false);
	if (rc == 0)
		render_customer_write(&after, &cu);
	bool changed = rc == 0 && (before.len != after.len ||
				   memcmp(before.data, after.data, before.len) != 0);
	buf_free(&before);
	if (rc < 0)
		return -1;
	if (!changed)
		return reply_buf_take(c, 200, &after);
	buf_free(&after);
	return api_customer_save_emit(c, &cu, "customer.updated");
}

int api_customer_deactivate(struct ctx *c)
{
	static const char *const fields[] = {"reason", NULL};
	struct customer cu;
	const char *reason;
	if (field_allow(c, fields) < 0 ||
	    field_string(c, "reason", false, true, 1, 500, FIELD_MULTILINE, &reason) < 0 ||
	    api_customer_load(c, c->params[0], &cu) != 0)
		return -1;
	if (strcmp(cu.status, "deactivated") == 0)
		return api_customer_reply(c, 200, &cu);
	cu.status = "deactivated";
	cu.deactivated_at = c->now;
	cu.deactivation_reason = arena_strdup(c->a, reason);
	bool closing = strcmp(cu.mailbox.status, "closed") != 0;
	if (closing) {
		cu.mailbox.status = "closed";
		cu.mailbox.closed_at = c->now;
	}
	if ((closing && api_customer_location_load(c, &cu) < 0) ||
	    api_customer_save_emit(c, &cu, "customer.deactivated") < 0)
		return -1;
	if (!closing)
		return 0;
	return event_emit_take(c, cu.partner_id, "mailbox.closed", render_mailbox(&cu));
}

int api_customer_compliance(struct ctx *c)
{
	struct customer cu;
	if (query_allow(c, NULL) < 0 || api_customer_load(c, c->params[0], &cu) != 0)
		return -1;
	return reply_take(c, 200, render_compliance(&cu));
}

int api_customer_mailbox(struct ctx *c)
{
	struct customer cu;
	if (query_allow(c, NULL) < 0 || api_customer_load(c, c->params[0], &cu) != 0 ||
	    api_customer_location_load(c, &cu) < 0)
		return -1;
	return reply_take(c, 200, render_mailbox(&cu));
}
