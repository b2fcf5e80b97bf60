/* admin_keys.c - the operator API's partner API keys (docs/operators.md): created
 * with the secret shown once, listed, revoked. */
#include "auth.h"
#include "field.h"
#include "handlers.h"
#include "query.h"
#include "render.h"
#include "reply.h"
#include "tenant.h"
#include "banned.h"

int admin_key_create(struct ctx *c)
{
	static const char *const fields[] = {"name", "scopes", "mode", NULL};
	struct partner p;
	const char *name;
	bool livemode;
	if (field_allow(c, fields) < 0 ||
	    field_string(c, "name", false, true, 1, 100, FIELD_LINE, &name) < 0 ||
	    field_mode(c, &livemode) < 0)
		return -1;
	json_t *scopes = json_object_get(c->body, "scopes");
	if (!json_is_array(scopes) || json_array_size(scopes) == 0)
		return error(&c->err, 422, "validation_failed", "scopes",
			     "scopes must be a non-empty array of scope names");
	unsigned bits = 0;
	size_t i;
	json_t *v;
	json_array_foreach(scopes, i, v) {
		unsigned bit = json_is_string(v) ? auth_scope_parse(json_string_value(v)) : 0;
		if (!bit) {
			char names[160];
			auth_scope_list(names, sizeof(names));
			return error(&c->err, 422, "validation_failed", "scopes",
				     "scopes[%zu] is not a known scope; the scopes are %s", i,
				     names);
		}
		bits |= bit;
	}
	if (admin_partner_load(c, &p) != 0)
		return -1;
	return admin_key_issue(c, tenant_of(c->a, p.id, livemode), name ? name : "API key",
			       bits, NULL);
}

int admin_key_issue(struct ctx *c, const char *tenant, const char *name, unsigned scopes,
		    json_t *extra)
{
	struct api_key k = {
		.id = id_new(c->a, "key_"),
		.partner_id = tenant,
		.name = name,
		.scopes = scopes,
		.created_at = c->now,
	};
	const char *secret;
	auth_key_generate(c->a, tenant_livemode(tenant), &secret, &k.hash, &k.prefix);
	if (c->store->ops->key_insert(c->store, &k, &c->err) < 0) {
		json_decref(extra);
		return -1;
	}
	json_t *o = render_key(&k, secret);
	c->answer_secret = true;
	if (extra)
		json_object_update(o, extra);
	json_decref(extra);
	return reply_take(c, 201, o);
}

/* A list item: the key, without its secret (only its creation shows it). */
static json_t *key_item(struct ctx *c, const void *item)
{
	(void)c;
	return render_key(item, NULL);
}

int admin_key_list(struct ctx *c)
{
	struct page pg;
	struct partner p;
	if (query_page(c, NULL, &pg) < 0 || admin_partner_load(c, &p) != 0)
		return -1;
	struct api_key *items;
	size_t n;
	bool more;
	/* The operator sees both modes; the dashboard the page's (c->partner_id). */
	bool both = !c->session;
	if (c->store->ops->key_list(c->store, c->a, both ? p.id : c->partner_id, both, &pg,
				    &items, &n, &more, &c->err) < 0)
		return -1;
	return reply_list(c, items, n, sizeof(*items), key_item, more);
}

int admin_key_load(struct ctx *c, struct api_key *k)
{
	/* The dashboard's partner in the page's mode (c->partner_id), or the
	 * operator's any. */
	int rc = c->session ? c->store->ops->key_get(c->store, c->a, c->partner_id,
						     c->params[0], k, &c->err)
			    : c->store->ops->key_get_any_partner(c->store, c->a, c->params[0],
								 k, &c->err);
	if (rc == STORE_NOT_FOUND)
		return reply_not_found(c, "api_key", c->params[0], NULL);
	return rc;
}

int admin_key_revoke(struct ctx *c)
{
	static const char *const none[] = {NULL};
	struct api_key k;
	if (field_allow(c, none) < 0 || admin_key_load(c, &k) != 0)
		return -1;
	/* A rolled key that still runs (it stops later) stops now. */
	if (!k.revoked_at || k.revoked_at > c->now) {
		if (c->store->ops->key_revoke(c->store, k.id, c->now, &c->err) < 0)
			return -1;
		k.revoked_at = c->now;
	}
	return reply_take(c, 200, render_key(&k, NULL));
}
