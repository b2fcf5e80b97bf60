/* admin_customers.c - the operator API's side of customers: reading any
 * partner's customer, invitation acceptance, own billing, compliance
 * decisions (docs/operators.md#customers). The test helpers reuse the
 * handlers for the key's test tenant. */
#include <string.h>

#include "customer.h"
#include "event.h"
#include "field.h"
#include "handlers.h"
#include "query.h"
#include "render.h"
#include "reply.h"
#include "banned.h"

/* Loads the customer of path parameter 0: any partner's on the operator API,
 * only the key's test tenant's on the test helpers. Answers 404 not_found
 * when there is none. Returns 0 or -1. */
static int customer_load(struct ctx *c, struct customer *cu)
{
	if (!dispatch_operator(c))
		return api_customer_load(c, c->params[0], cu);
	int rc = c->store->ops->customer_get_any_partner(c->store, c->a, c->params[0], cu,
							 &c->err);
	if (rc == STORE_NOT_FOUND)
		return reply_not_found(c, "customer", c->params[0], NULL);
	return rc;
}

int admin_customer_get(struct ctx *c)
{
	struct customer cu;
	if (query_allow(c, NULL) < 0 || customer_load(c, &cu) != 0)
		return -1;
	return api_customer_reply(c, 200, &cu);
}

int admin_customer_accept_invite(struct ctx *c)
{
	static const char *const none[] = {NULL};
	struct customer cu;
	if (field_allow(c, none) < 0 || customer_load(c, &cu) != 0)
		return -1;
	if (strcmp(cu.status, "deactivated") == 0)
		return error(&c->err, 409, "invalid_state", NULL, "customer %s is deactivated",
			     cu.id);
	if (strcmp(cu.status, "active") == 0)
		return api_customer_reply(c, 200, &cu);
	cu.status = "active";
	return api_customer_save_emit(c, &cu, "customer.activated");
}

int admin_customer_billing(struct ctx *c)
{
	static const char *const fields[] = {"active", NULL};
	struct customer cu;
	bool present, active;
	if (field_allow(c, fields) < 0 || field_bool(c, "active", &present, &active) < 0)
		return -1;
	if (!present)
		return error(&c->err, 422, "validation_failed", "active", "active is required");
	if (customer_load(c, &cu) != 0)
		return -1;
	if (cu.own_billing_active == active)
		return api_customer_reply(c, 200, &cu);
	cu.own_billing_active = active;
	return api_customer_save_emit(c, &cu, "customer.updated");
}

/* Moves Form 1583 to status, keeping its timestamps and reason coherent. */
static void form_set(struct customer *cu, const char *status, const char *reason, int64_t now)
{
	cu->form_status = status;
	if (!cu->form_submitted_at || strcmp(status, "submitted") == 0)
		cu->form_submitted_at = now;
	cu->form_approved_at = strcmp(status, "approved") == 0 ? now : 0;
	cu->form_rejection_reason = strcmp(status, "rejected") == 0 ? reason : NULL;
}

/* Moves identity verification to status, likewise. */
static void identity_set(struct customer *cu, const char *status, const char *reason,
			 int64_t now)
{
	cu->identity_status = status;
	cu->identity_verified_at = strcmp(status, "verified") == 0 ? now : 0;
	cu->identity_failure_reason = strcmp(status, "failed") == 0 ? reason : NULL;
}

/* A decided state does not go back to undecided: an approved form is not
 * "submitted" again, a verified identity not "pending" again (rejected and
 * failed do, as the contract's arrows say). A decision may be revised
 * (approved <-> rejected, verified <-> failed) and any state may be skipped
 * ahead (staff record a paper form in one step); docs/operators.md. */
static bool compliance_move_allowed(const char *from, const char *to)
{
	return !((strcmp(from, "approved") == 0 && strcmp(to, "submitted") == 0) ||
		 (strcmp(from, "verified") == 0 && strcmp(to, "pending") == 0));
}

/* Returns true when a reason is given (not NULL) and is not the one
 * stored (old, NULL when none). */
static bool reason_new(const char *reason, const char *old)
{
	return reason && (!old || strcmp(reason, old) != 0);
}

int admin_customer_compliance(struct ctx *c)
{
	static const char *const fields[] = {"form_1583", "identity", "reason", NULL};
	static const char *const form_states[] = {"submitted", "approved", "rejected", NULL};
	static const char *const identity_states[] = {"pending", "verified", "failed", NULL};
	const char *form, *identity, *reason;
	struct customer cu;
	if (field_allow(c, fields) < 0 ||
	    field_choice(c, "form_1583", false, form_states, &form) < 0 ||
	    field_choice(c, "identity", false, identity_states, &identity) < 0 ||
	    field_string(c, "reason", false, true, 1, 500, FIELD_MULTILINE, &reason) < 0)
		return -1;
	/* The reason is a rejection's or a failure's: given with neither, it
	 * would be dropped without a word. */
	bool form_reason = form && strcmp(form, "rejected") == 0;
	bool identity_reason = identity && strcmp(identity, "failed") == 0;
	if (reason && !form_reason && !identity_reason)
		return error(&c->err, 422, "validation_failed", "reason",
			     "reason goes with form_1583 rejected or identity failed");
	if (customer_load(c, &cu) != 0)
		return -1;
	if (form && !compliance_move_allowed(cu.form_status, form))
		return error(&c->err, 409, "invalid_state", "form_1583",
			     "an approved Form 1583 cannot go back to submitted; "
			     "set it to rejected to revise the decision");
	if (identity && !compliance_move_allowed(cu.identity_status, identity))
		return error(&c->err, 409, "invalid_state", "identity",
			     "a verified identity cannot go back to pending; "
			     "set it to failed to revise the decision");
	bool approved_before = customer_mail_receipt_approved(&cu);
	bool changed = false;
	/* A decision stated again changes nothing, but a new reason for it
	 * replaces the old one. */
	if (form && (strcmp(form, cu.form_status) != 0 ||
		     (form_reason && reason_new(reason, cu.form_rejection_reason)))) {
		form_set(&cu, form, reason, c->now);
		changed = true;
	}
	if (identity && (strcmp(identity, cu.identity_status) != 0 ||
			 (identity_reason && reason_new(reason, cu.identity_failure_reason)))) {
		identity_set(&cu, identity, reason, c->now);
		changed = true;
	}
	if (!changed)
		return reply_take(c, 200, render_compliance(&cu));
	cu.compliance_updated_at = c->now;
	bool approved = customer_mail_receipt_approved(&cu);
	if (approved != approved_before)
		cu.updated_at = c->now; /* mail_receipt_approved is part of the customer */
	/* The first approval opens a reserved mailbox; later ones change nothing. */
	bool activating = approved && strcmp(cu.mailbox.status, "reserved") == 0 &&
			  strcmp(cu.status, "deactivated") != 0;
	if (activating) {
		cu.mailbox.status = "active";
		cu.mailbox.activated_at = c->now;
	}
	if (c->store->ops->customer_update(c->store, &cu, &c->err) < 0 ||
	    (activating && api_customer_location_load(c, &cu) < 0) ||
	    event_emit_reply_take(c, cu.partner_id, "compliance.updated", 200,
				  render_compliance(&cu)) < 0)
		return -1;
	if (!activating)
		return 0;
	return event_emit_take(c, cu.partner_id, "mailbox.activated", render_mailbox(&cu));
}
