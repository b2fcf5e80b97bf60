/* reply.c - the handler's result, the list envelope, the 404. */
#include "reply.h"
#include "banned.h"

int reply_take(struct ctx *c, int status, json_t *obj)
{
	c->status = status;
	json_decref(c->out);
	c->out = obj;
	return 0;
}

int reply_list(struct ctx *c, const void *items, size_t n, size_t item_size,
	       reply_item_fn *render, bool has_more)
{
	json_t *data = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *item = render(c, (const char *)items + i * item_size);
		if (!item) {
			json_decref(data);
			return -1;
		}
		json_array_append_new(data, item);
	}
	json_t *o = json_object();
	json_object_set_new(o, "object", json_string("list"));
	json_object_set_new(o, "data", data);
	json_object_set_new(o, "has_more", json_boolean(has_more));
	json_object_set_new(o, "url", json_string(c->req->path));
	return reply_take(c, 200, o);
}

int reply_not_found(struct ctx *c, const char *kind, const char *id, const char *param)
{
	return error(&c->err, 404, "not_found", param, "no such %s: %s", kind, id);
}
