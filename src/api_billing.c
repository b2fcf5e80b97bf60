/* api_billing.c - GET /api/v1/billing/usage (docs/api.md): active-mailbox
 * usage of one calendar month, from mailbox activation and closing times. */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "handlers.h"
#include "query.h"
#include "render.h"
#include "reply.h"
#include "validate.h"
#include "banned.h"

/* Fills [start, end) with the current UTC month. */
static void current_month(int64_t now, int64_t *start, int64_t *end)
{
	time_t t = (time_t)now;
	struct tm tm;
	gmtime_r(&t, &tm);
	char period[32];
	snprintf(period, sizeof(period), "%04d-%02d", tm.tm_year + 1900, tm.tm_mon + 1);
	period_parse(period, start, end);
}

/* A period's bound is always a moment: 1970-01 starts at 0, which
 * render_time() writes as null (its "none"). */
static json_t *period_bound(int64_t t)
{
	char buf[21];
	time_format(t, buf);
	return json_string(buf);
}

static json_t *line_item(const struct customer *cu, int64_t days)
{
	json_t *o = json_object();
	json_object_set_new(o, "customer_id", json_string(cu->id));
	json_object_set_new(o, "external_customer_id", render_string_or_null(cu->external_id));
	json_object_set_new(o, "mailbox_id", json_string(cu->mailbox.id));
	json_object_set_new(o, "mailbox_number", json_string(cu->mailbox.number));
	json_object_set_new(o, "prepay", json_boolean(cu->prepay));
	json_object_set_new(o, "active_from", render_time(cu->mailbox.activated_at));
	json_object_set_new(o, "active_until", render_time(cu->mailbox.closed_at));
	json_object_set_new(o, "active_days", json_integer(days));
	return o;
}

int api_billing_usage(struct ctx *c)
{
	static const char *const allowed[] = {"period", NULL};
	struct page pg;
	if (query_page(c, allowed, &pg) < 0)
		return -1;
	int64_t start, end;
	const char *period = query_get(c, "period");
	if (!period)
		current_month(c->now, &start, &end);
	else if (period_parse(period, &start, &end) < 0)
		return error(&c->err, 400, "invalid_request", "period",
			     "period must be a month written YYYY-MM, from 1970-01 to 9999-11");

	struct customer *rows;
	size_t n;
	if (c->store->ops->usage_customers(c->store, c->a, c->partner_id, start, end, &rows, &n,
					   &c->err) < 0)
		return -1;
	/* The moment "active at the end" is judged: the period's last second,
	 * or now while the period runs. A period still to come has none. */
	int64_t at = end - 1 < c->now ? end - 1 : c->now;
	bool started = start <= c->now;
	int64_t active = 0, billable = 0, days_total = 0;
	/* The line items (billable rows, in order of activation) are rows[i]
	 * for i in line[], with their days; the totals cover all of them. */
	size_t *line = arena_alloc(c->a, (n ? n : 1) * sizeof(*line));
	int64_t *line_days = arena_alloc(c->a, (n ? n : 1) * sizeof(*line_days));
	const char *cursor = pg.starting_after ? pg.starting_after : pg.ending_before;
	size_t nlines = 0, cursor_at = SIZE_MAX;
	for (size_t i = 0; i < n; i++) {
		const struct customer *cu = &rows[i];
		int64_t days = usage_active_days(cu->mailbox.activated_at,
						 cu->mailbox.closed_at, start, end, c->now);
		if (days == 0)
			continue;
		billable++;
		days_total += days;
		if (started &&
		    usage_active_at(cu->mailbox.activated_at, cu->mailbox.closed_at, at))
			active++;
		if (cursor && cursor_at == SIZE_MAX &&
		    (strcmp(cursor, cu->mailbox.id) == 0 || strcmp(cursor, cu->id) == 0))
			cursor_at = nlines;
		line_days[nlines] = days;
		line[nlines++] = i;
	}
	if (cursor && cursor_at == SIZE_MAX)
		return error(&c->err, 400, "invalid_request",
			     pg.starting_after ? "starting_after" : "ending_before",
			     "no line item for %s in this period", cursor);
	/* starting_after pages towards later activations, ending_before towards
	 * earlier ones; has_more looks in the direction of travel. */
	size_t from = 0, to = nlines;
	if (pg.starting_after)
		from = cursor_at + 1;
	else if (pg.ending_before)
		to = cursor_at;
	bool more = to - from > (size_t)pg.limit;
	if (more && pg.ending_before)
		from = to - (size_t)pg.limit;
	else if (more)
		to = from + (size_t)pg.limit;
	json_t *data = json_array();
	for (size_t k = from; k < to; k++)
		json_array_append_new(data, line_item(&rows[line[k]], line_days[k]));
	json_t *items = json_object();
	json_object_set_new(items, "object", json_string("list"));
	json_object_set_new(items, "has_more", json_boolean(more));
	json_object_set_new(items, "data", data);
	json_t *period_obj = json_object();
	json_object_set_new(period_obj, "start", period_bound(start));
	json_object_set_new(period_obj, "end", period_bound(end));
	json_t *o = json_object();
	json_object_set_new(o, "object", json_string("billing_usage"));
	json_object_set_new(o, "livemode", render_livemode(c->partner_id));
	json_object_set_new(o, "period", period_obj);
	json_object_set_new(o, "active_mailboxes", json_integer(active));
	json_object_set_new(o, "billable_mailboxes", json_integer(billable));
	json_object_set_new(o, "mailbox_days", json_integer(days_total));
	json_object_set_new(o, "line_items", items);
	return reply_take(c, 200, o);
}
