/* dash_endpoints.c - what the dashboard does with webhook endpoints beyond
 * the operator API's handlers it shares: showing the signing secret again,
 * after the user re-enters their password (docs/decisions.md, "Dashboard"). */
#include "field.h"
#include "handlers.h"
#include "reply.h"
#include "session.h"
#include "banned.h"

int dash_endpoint_reveal_check(struct ctx *c)
{
	static const char *const fields[] = {"password", NULL};
	const char *password;
	if (field_allow(c, fields) < 0 ||
	    field_string(c, "password", true, false, 1, SESSION_PASSWORD_MAX, false, &password) < 0 ||
	    dash_session_limit(c, c->session->user.email) < 0)
		return -1;
	if (!session_password_verify(c->session->user.password_hash, password))
		return error(&c->err, 422, "validation_failed", "password",
			     "the password is not correct");
	return 0;
}

int dash_endpoint_reveal(struct ctx *c)
{
	struct webhook_endpoint w;
	if (admin_endpoint_load(c, &w) != 0)
		return -1;
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(w.id));
	json_object_set_new(o, "object", json_string("webhook_endpoint_secret"));
	json_object_set_new(o, "secret", json_string(w.secret));
	return reply_take(c, 200, o);
}
