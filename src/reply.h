/* reply.h - what a handler answers: its result object, the list envelope
 * (docs/api.md#lists), or the 404 for an object it cannot see. */
#ifndef INNBOCKS_REPLY_H
#define INNBOCKS_REPLY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "dispatch.h"

/* Renders one item of a list: returns a new reference, or NULL with c->err
 * set. */
typedef json_t *reply_item_fn(struct ctx *c, const void *item);

/* Renders one item of a list into b: returns 0, or -1 with c->err set. */
typedef int reply_item_write_fn(struct ctx *c, struct buf *b, const void *item);

/* Sets the handler's result to status and obj, which it takes. Returns 0. */
int reply_take(struct ctx *c, int status, json_t *obj);
/* Sets the handler's result to status and the JSON document written in b,
 * whose bytes it takes (b is left empty). Returns 0. */
int reply_buf_take(struct ctx *c, int status, struct buf *b);
/* Replies 200 with the list envelope around the n items of item_size bytes
 * at items (borrowed), each rendered by render, and has_more. Returns 0, or
 * -1 when an item cannot be rendered. */
int reply_list(struct ctx *c, const void *items, size_t n, size_t item_size,
	       reply_item_fn *render, bool has_more);
/* The same with each item written straight into the body by write. */
int reply_list_write(struct ctx *c, const void *items, size_t n, size_t item_size,
		     reply_item_write_fn *write, bool has_more);
/* Returns -1 with 404 not_found for a missing (or another partner's)
 * object of kind; param names the field that gave id (NULL: the path). */
int reply_not_found(struct ctx *c, const char *kind, const char *id, const char *param);

#endif
