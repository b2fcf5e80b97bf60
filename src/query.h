/* query.h - the query string as handlers read it: parameters, filters and
 * paging, refused with the documented errors (docs/api.md#lists). */
#ifndef INNBOCKS_QUERY_H
#define INNBOCKS_QUERY_H

#include "dispatch.h"

/* Returns the query parameter's value ("" when it has none; it lives as
 * long as the request), or NULL when absent. */
const char *query_get(struct ctx *c, const char *name);
/* Refuses (400 unknown_parameter) any query parameter not in allowed
 * (NULL-terminated; NULL allows none), and (400 invalid_request) any sent
 * with an empty value. Returns 0 or -1. */
int query_allow(struct ctx *c, const char *const allowed[]);
/* Checks the query against allowed plus limit/starting_after/ending_before
 * as query_allow() does, and fills pg. Returns 0 or -1 with 400
 * invalid_request / unknown_parameter. */
int query_page(struct ctx *c, const char *const allowed[], struct page *pg);
/* Returns the value of a filter, refusing (400 invalid_request) values not
 * in choices (NULL-terminated). *out is NULL when absent. */
int query_choice(struct ctx *c, const char *name, const char *const choices[],
		 const char **out);
/* Reads the operator lists' livemode filter into *livemode: 1 for "true",
 * 0 for "false", -1 when absent (both modes); anything else is refused as
 * query_choice() refuses it. Returns 0 or -1. */
int query_livemode(struct ctx *c, int *livemode);

#endif
