/* reply.c - the handler's result, the list envelope, the 404. */
#include "reply.h"

#include <string.h>

#include "banned.h"

int reply_take(struct ctx *c, int status, json_t *obj)
{
	c->status = status;
	json_decref(c->out);
	buf_free(&c->out_bytes);
	c->out = obj;
	return 0;
}

int reply_buf_take(struct ctx *c, int status, struct buf *b)
{
	c->status = status;
	json_decref(c->out);
	c->out = NULL;
	buf_free(&c->out_bytes);
	c->out_bytes = *b;
	*b = (struct buf){0};
	return 0;
}

/* Starts the list envelope: {"object":"list","data":[ */
static void list_open(struct buf *b, size_t n)
{
	buf_reserve(b, 128 + n * 640);
	buf_lit(b, "{\"object\":\"list\",\"data\":[");
}

/* Ends the envelope in b and replies 200 with it. */
static int list_close(struct ctx *c, struct buf *b, bool has_more)
{
	buf_lit(b, "],\"has_more\":");
	if (has_more)
		buf_lit(b, "true");
	else
		buf_lit(b, "false");
	/* A path that is not UTF-8 leaves "url" out, as json_string() did. */
	size_t at = b->len;
	buf_lit(b, ",\"url\":");
	if (!buf_json_string(b, c->req->path, strlen(c->req->path)))
		b->len = at;
	buf_putc(b, '}');
	return reply_buf_take(c, 200, b);
}

int reply_list(struct ctx *c, const void *items, size_t n, size_t item_size,
	       reply_item_fn *render, bool has_more)
{
	struct buf b = {0};
	list_open(&b, n);
	for (size_t i = 0; i < n; i++) {
		json_t *item = render(c, (const char *)items + i * item_size);
		if (!item) {
			buf_free(&b);
			return -1;
		}
		if (i)
			buf_putc(&b, ',');
		buf_json_value(&b, item);
		json_decref(item);
	}
	return list_close(c, &b, has_more);
}

int reply_list_write(struct ctx *c, const void *items, size_t n, size_t item_size,
		     reply_item_write_fn *write, bool has_more)
{
	struct buf b = {0};
	list_open(&b, n);
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_putc(&b, ',');
		if (write(c, &b, (const char *)items + i * item_size) < 0) {
			buf_free(&b);
			return -1;
		}
	}
	return list_close(c, &b, has_more);
}

int reply_not_found(struct ctx *c, const char *kind, const char *id, const char *param)
{
	return error(&c->err, 404, "not_found", param, "no such %s: %s", kind, resp_quote(id));
}
