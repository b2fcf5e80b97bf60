/* api_meta.c - the routes about the server itself: the health check and
 * the OpenAPI document it was built with (no authentication), and the
 * metrics (the operator's). */
#include "handlers.h"
#include "metrics.h"
#include "reply.h"
#include "banned.h"

/* The document, compiled in from openapi/innbocks.yaml (embed_openapi.py). */
extern const char openapi_json[];
extern const size_t openapi_json_len;

int api_meta_health(struct ctx *c)
{
	if (!c->store->ops->writable(c->store))
		return error(&c->err, 503, "unavailable", NULL,
			     "not ready: the database takes no writes (a full, read-only or "
			     "failing disk, or a database server that cannot be reached)");
	json_t *o = json_object();
	json_object_set_new(o, "status", json_string("ok"));
	return reply_take(c, 200, o);
}

int api_meta_openapi(struct ctx *c)
{
	c->raw = openapi_json;
	c->raw_len = openapi_json_len;
	c->status = 200;
	return 0;
}

int api_meta_metrics(struct ctx *c)
{
	size_t len = 0;
	const char *text = metrics_render(c->a, c->store, &len, &c->err);
	if (!text)
		return -1;
	c->raw = text;
	c->raw_len = len;
	c->content_type = METRICS_CONTENT_TYPE;
	c->status = 200;
	return 0;
}
