/* admin_actions.c - the operator API's work queue of mail actions, one
 * action read by its id, and their completion, failure or cancellation
 * (docs/operators.md). */
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

/* A list item: the mail action. */
static int action_item(struct ctx *c, struct buf *b, const void *item)
{
	(void)c;
	render_action_write(b, item);
	return 0;
}

int admin_action_list(struct ctx *c)
{
	static const char *const filters[] = {"status", "livemode", NULL};
	static const char *const statuses[] = {"requested", "completed", "failed", "canceled",
					       NULL};
	struct page pg;
	const char *status;
	int mode;
	if (query_page(c, filters, &pg) < 0 ||
	    query_choice(c, "status", statuses, &status) < 0 || query_livemode(c, &mode) < 0)
		return -1;
	struct mail_action *items;
	size_t n;
	bool more;
	if (c->store->ops->action_list_any_partner(c->store, c->a, status, mode, &pg, &items,
						   &n, &more, &c->err) < 0)
		return -1;
	return reply_list_write(c, items, n, sizeof(*items), action_item, more);
}

int admin_action_get(struct ctx *c)
{
	struct mail_action act;
	if (query_allow(c, NULL) < 0)
		return -1;
	int rc = c->store->ops->action_get_any_partner(c->store, c->a, c->params[0], &act,
						       &c->err);
	if (rc == STORE_NOT_FOUND)
		return reply_not_found(c, "mail_action", c->params[0], NULL);
	if (rc < 0)
		return -1;
	struct buf b = {0};
	render_action_write(&b, &act);
	return reply_buf_take(c, 200, &b);
}

/* Loads the open action named by the path (any partner's on the operator
 * API, the key's test tenant's on the test helpers); a closed one is 409. */
static int action_load_open(struct ctx *c, struct mail_action *act)
{
	const char *id = c->params[0];
	int rc = dispatch_operator(c) ? c->store->ops->action_get_any_partner(c->store, c->a,
									      id, act, &c->err)
				      : c->store->ops->action_get(c->store, c->a, c->partner_id,
								  id, act, &c->err);
	if (rc == STORE_NOT_FOUND)
		return reply_not_found(c, "mail_action", c->params[0], NULL);
	if (rc < 0)
		return -1;
	if (strcmp(act->status, "requested") != 0)
		return error(&c->err, 409, "invalid_state", NULL,
			     "mail action %s is already %s", act->id, act->status);
	return 0;
}

/* Closes act with status (and mail status, when not NULL), emitting type
 * when not NULL; replies with the action. */
static int action_close(struct ctx *c, struct mail_action *act, const char *status,
			const char *mail_status, const char *event_type)
{
	act->status = status;
	act->completed_at = c->now;
	struct mail m;
	int rc = c->store->ops->mail_get(c->store, c->a, act->partner_id, act->mail_id, &m,
					 &c->err);
	if (rc != 0)
		return rc < 0 ? -1
			      : error(&c->err, 500, "internal_error", NULL,
				      "mail %s of action %s is missing", act->mail_id, act->id);
	if (mail_status)
		m.status = mail_status;
	m.updated_at = c->now;
	if (c->store->ops->action_update(c->store, act, &c->err) < 0 ||
	    c->store->ops->mail_update(c->store, &m, &c->err) < 0)
		return -1;
	struct buf b = {0};
	render_action_write(&b, act);
	return event_emit_reply_buf(c, act->partner_id, event_type, 200, &b);
}

/* Stores result (taken) as the action's result text. */
static void action_result_take(struct ctx *c, struct mail_action *act, json_t *result)
{
	char *text = json_dumps(result, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(result);
	if (!text)
		die("out of memory");
	act->result = arena_strdup(c->a, text);
	free(text);
}

int admin_action_complete(struct ctx *c)
{
	static const char *const scan_fields[] = {"document_url", NULL};
	static const char *const forward_fields[] = {"carrier", "tracking_number", NULL};
	static const char *const none[] = {NULL};
	struct mail_action act;
	if (action_load_open(c, &act) != 0)
		return -1;
	const char *mail_status = NULL;
	if (strcmp(act.type, "scan") == 0) {
		const char *url;
		if (field_allow(c, scan_fields) < 0 ||
		    field_string(c, "document_url", true, false, 1, 2048, FIELD_LINE, &url) < 0)
			return -1;
		if (!valid_http_url(url))
			return error(&c->err, 422, "validation_failed", "document_url",
				     "document_url must be an absolute http or https URL");
		action_result_take(c, &act, json_pack("{s:s}", "document_url", url));
	} else if (strcmp(act.type, "forward") == 0) {
		const char *carrier, *tracking;
		if (field_allow(c, forward_fields) < 0 ||
		    field_choice(c, "carrier", true, api_mail_carriers, &carrier) < 0 ||
		    field_string(c, "tracking_number", true, false, 1, 64, FIELD_LINE,
				 &tracking) < 0)
			return -1;
		action_result_take(c, &act,
				   json_pack("{s:s, s:s}", "carrier", carrier,
					     "tracking_number", tracking));
		mail_status = "forwarded";
	} else {
		if (field_allow(c, none) < 0)
			return -1;
		mail_status = strcmp(act.type, "shred") == 0 ? "shredded" : "picked_up";
	}
	return action_close(c, &act, "completed", mail_status, "mail_action.completed");
}

int admin_action_fail(struct ctx *c)
{
	static const char *const fields[] = {"reason", NULL};
	struct mail_action act;
	const char *reason;
	if (field_allow(c, fields) < 0 ||
	    field_string(c, "reason", true, false, 1, 500, FIELD_MULTILINE, &reason) < 0 ||
	    action_load_open(c, &act) != 0)
		return -1;
	act.failure_reason = reason;
	return action_close(c, &act, "failed", NULL, "mail_action.failed");
}

int admin_action_cancel(struct ctx *c)
{
	static const char *const none[] = {NULL};
	struct mail_action act;
	if (field_allow(c, none) < 0 || action_load_open(c, &act) != 0)
		return -1;
	return action_close(c, &act, "canceled", NULL, NULL);
}
