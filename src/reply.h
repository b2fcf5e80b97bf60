/* reply.h - what a handler answers: its result object, the list envelope
 * (API.md §2 "Lists"), or the 404 for an object it cannot see. */
#ifndef INNBOCKS_REPLY_H
#define INNBOCKS_REPLY_H

#include <jansson.h>
#include <stdbool.h>

#include "dispatch.h"

/* Sets the handler's result to status and obj, which it takes. Returns 0. */
int reply_take(struct ctx *c, int status, json_t *obj);
/* Replies 200 with the list envelope around data, which it takes. Returns 0. */
int reply_list_take(struct ctx *c, json_t *data, bool has_more);
/* Returns -1 with 404 not_found for a missing (or another partner's)
 * object of kind; param names the field that gave id (NULL: the path). */
int reply_not_found(struct ctx *c, const char *kind, const char *id, const char *param);

#endif
