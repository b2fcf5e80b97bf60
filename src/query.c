/* query.c - query parameters, filters and paging, shared by handlers. */
#include "query.h"

#include <stdlib.h>
#include <string.h>

#include "validate.h"
#include "banned.h"

const char *query_get(struct ctx *c, const char *name)
{
	for (size_t i = 0; i < c->req->nquery; i++)
		if (strcmp(c->req->query[i].key, name) == 0)
			return c->req->query[i].value ? c->req->query[i].value : "";
	return NULL;
}

/* A parameter sent with an empty value (`?email=`, or a bare `?email`) is
 * a client's mistake, an empty field of a form, never "no filter": 400
 * naming it, as Stripe refuses an empty string. */
static int refuse_empty(struct ctx *c)
{
	for (size_t i = 0; i < c->req->nquery; i++) {
		const struct query_param *q = &c->req->query[i];
		if (!q->value || !*q->value)
			return error(&c->err, 400, "invalid_request", q->key,
				     "%s must not be empty: leave the parameter out instead",
				     q->key);
	}
	return 0;
}

/* A parameter in neither list (also may be NULL): 400 naming it; then one
 * sent empty (refuse_empty()). */
static int refuse_unknown(struct ctx *c, const char *const allowed[], const char *const also[])
{
	for (size_t i = 0; i < c->req->nquery; i++) {
		const char *k = c->req->query[i].key;
		if (!valid_one_of(k, allowed) && !(also && valid_one_of(k, also)))
			return error(&c->err, 400, "unknown_parameter", k,
				     "unknown query parameter: %s", resp_quote(k));
	}
	return refuse_empty(c);
}

int query_allow(struct ctx *c, const char *const allowed[])
{
	return refuse_unknown(c, allowed, NULL);
}

int query_page(struct ctx *c, const char *const allowed[], struct page *pg)
{
	static const char *const paging[] = {"limit", "starting_after", "ending_before", NULL};
	if (refuse_unknown(c, allowed, paging) < 0)
		return -1;
	pg->limit = 20;
	const char *limit = query_get(c, "limit");
	if (limit) {
		/* Decimal digits, leading zeros allowed (0100 is 100). */
		long v = 0;
		const char *significant = limit + strspn(limit, "0");
		size_t digits = strspn(significant, "0123456789");
		if (!significant[digits] && digits <= 3)
			v = strtol(significant, NULL, 10);
		if (v < 1 || v > 100)
			return error(&c->err, 400, "invalid_request", "limit",
				     "limit must be an integer from 1 to 100");
		pg->limit = (int)v;
	}
	pg->starting_after = query_get(c, "starting_after");
	pg->ending_before = query_get(c, "ending_before");
	if (pg->starting_after && pg->ending_before)
		return error(&c->err, 400, "invalid_request", "ending_before",
			     "send starting_after or ending_before, not both");
	return 0;
}

int query_choice(struct ctx *c, const char *name, const char *const choices[], const char **out)
{
	*out = query_get(c, name);
	if (*out && !valid_one_of(*out, choices))
		return error(&c->err, 400, "invalid_request", name,
			     "%s is not a valid %s: use %s", resp_quote(*out), name,
			     resp_choices(choices));
	return 0;
}

int query_livemode(struct ctx *c, int *livemode)
{
	static const char *const booleans[] = {"true", "false", NULL};
	const char *v;
	if (query_choice(c, "livemode", booleans, &v) < 0)
		return -1;
	*livemode = v ? v[0] == 't' : -1;
	return 0;
}
