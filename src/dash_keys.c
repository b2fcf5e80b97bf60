/* dash_keys.c - what the dashboard does with API keys beyond the operator
 * API's create, list and revoke (which it shares): rolling a key. */
#include <string.h>

#include "field.h"
#include "handlers.h"
#include "render.h"
#include "reply.h"
#include "banned.h"

/* The delays a rolled key may keep working for, and their seconds. */
static const char *const roll_delays[] = {"now", "1h", "24h", "7d", NULL};
static const int64_t roll_seconds[] = {0, 3600, 24 * 3600, 7 * 24 * 3600};

int dash_key_roll(struct ctx *c)
{
	static const char *const fields[] = {"expires_in", NULL};
	const char *delay;
	struct api_key old;
	if (field_allow(c, fields) < 0 ||
	    field_choice(c, "expires_in", true, roll_delays, &delay) < 0 ||
	    admin_key_load(c, &old) != 0)
		return -1;
	if (old.revoked_at && old.revoked_at <= c->now)
		return error(&c->err, 409, "invalid_state", NULL,
			     "this key is revoked; create a new one instead");
	int64_t stop = c->now;
	for (int i = 0; roll_delays[i]; i++)
		if (strcmp(delay, roll_delays[i]) == 0)
			stop += roll_seconds[i];
	if (c->store->ops->key_revoke(c->store, old.id, stop, &c->err) < 0)
		return -1;
	if (!old.revoked_at || old.revoked_at > stop)
		old.revoked_at = stop;
	json_t *extra = json_object();
	json_object_set_new(extra, "rolled_key", render_key(&old, NULL));
	return admin_key_issue(c, old.partner_id, old.name, old.scopes, extra);
}
