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

int reply_list_take(struct ctx *c, json_t *data, bool has_more)
{
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
