/* api_actions.c - mail actions requested by partners (docs/api.md): scan,
 * forward, shred, pickup. Operators fulfil them in admin_actions.c. */
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "field.h"
#include "handlers.h"
#include "render.h"
#include "reply.h"
#include "banned.h"

/* Returns 0 when an action of type may be requested on m now, else -1
 * with 422 (scan or shred of a package) or 409 invalid_state. */
static int action_allowed(struct ctx *c, const struct mail *m, const char *type,
			  const struct mail_action *acts, size_t n)
{
	if (strcmp(m->type, "package") == 0 &&
	    (strcmp(type, "scan") == 0 || strcmp(type, "shred") == 0))
		return error(
			&c->err, 422, "validation_failed", "type",
			"mail %s is a package, and packages cannot be %s; request a forward "
			"or a pickup",
			m->id, strcmp(type, "scan") == 0 ? "scanned" : "shredded");
	if (strcmp(m->status, "in_storage") != 0)
		return error(&c->err, 409, "invalid_state", NULL,
			     "mail %s is no longer in storage (%s)", m->id, m->status);
	struct customer cu;
	int rc = c->store->ops->customer_get(c->store, c->a, m->partner_id, m->customer_id, &cu,
					     &c->err);
	if (rc != 0)
		return rc < 0 ? -1
			      : error(&c->err, 500, "internal_error", NULL,
				      "mail %s has no customer", m->id);
	if (strcmp(cu.status, "deactivated") == 0)
		return error(&c->err, 409, "invalid_state", NULL, "customer %s is deactivated",
			     cu.id);
	for (size_t i = 0; i < n; i++)
		if (strcmp(acts[i].status, "requested") == 0)
			return error(&c->err, 409, "invalid_state", NULL,
				     "mail %s already has an open %s action (%s)", m->id,
				     acts[i].type, acts[i].id);
	return 0;
}

/* Reads the forward body: forward_address and shipping_speed. */
static int forward_fields(struct ctx *c, struct mail_action *act)
{
	static const char *const speeds[] = {"standard", "express", NULL};
	struct address ad = {0};
	const char *speed;
	if (field_address(c, "forward_address", true, &ad) < 0 ||
	    field_choice(c, "shipping_speed", false, speeds, &speed) < 0)
		return -1;
	act->shipping_speed = speed ? speed : "standard";
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(ad.name));
	json_object_set_new(o, "line1", json_string(ad.line1));
	json_object_set_new(o, "line2", render_string_or_null(ad.line2));
	json_object_set_new(o, "city", json_string(ad.city));
	json_object_set_new(o, "state", render_string_or_null(ad.state));
	json_object_set_new(o, "postal_code", json_string(ad.postal_code));
	json_object_set_new(o, "country", json_string(ad.country));
	char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!text)
		die("out of memory");
	act->forward_address = arena_strdup(c->a, text);
	free(text);
	return 0;
}

/* Requests an action of type on the mail named by the path. */
static int action_request(struct ctx *c, const char *type)
{
	static const char *const plain[] = {"notes", NULL};
	static const char *const forward[] = {"notes", "forward_address", "shipping_speed",
					      NULL};
	bool is_forward = strcmp(type, "forward") == 0;
	struct mail_action act = {
		.id = id_new(c->a, "act_"),
		.type = type,
		.status = "requested",
		.requested_at = c->now,
	};
	if (field_allow(c, is_forward ? forward : plain) < 0 ||
	    (is_forward && forward_fields(c, &act) < 0) ||
	    field_string(c, "notes", false, true, 1, 1000, FIELD_MULTILINE, &act.notes) < 0)
		return -1;
	struct mail m;
	struct mail_action *acts;
	size_t n;
	if (api_mail_load(c, c->params[0], &m) != 0 ||
	    c->store->ops->action_list_for_mail(c->store, c->a, m.id, &acts, &n, &c->err) < 0 ||
	    action_allowed(c, &m, type, acts, n) < 0)
		return -1;
	act.partner_id = m.partner_id;
	act.mail_id = m.id;
	act.customer_id = m.customer_id;
	m.updated_at = c->now;
	if (c->store->ops->action_insert(c->store, &act, &c->err) < 0 ||
	    c->store->ops->mail_update(c->store, &m, &c->err) < 0)
		return -1;
	struct buf b = {0};
	render_action_write(&b, &act);
	return event_emit_reply_buf(c, act.partner_id, "mail_action.requested", 201, &b);
}

int api_action_scan(struct ctx *c)
{
	return action_request(c, "scan");
}

int api_action_forward(struct ctx *c)
{
	return action_request(c, "forward");
}

int api_action_shred(struct ctx *c)
{
	return action_request(c, "shred");
}

int api_action_pickup(struct ctx *c)
{
	return action_request(c, "pickup");
}
