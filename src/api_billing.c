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

	/* The seconds that count: those of the period that are not in the
	 * future. The moment "active at the end" is judged: the period's last
	 * second, or now while the period runs. A period still to come has
	 * neither. */
	int64_t hi = end < c->now + 1 ? end : c->now + 1;
	int64_t at = end - 1 < c->now ? end - 1 : c->now;
	struct usage_span *spans;
	size_t nspans;
	if (c->store->ops->usage_spans(c->store, c->a, c->partner_id, start, hi, &spans,
				       &nspans, &c->err) < 0)
		return -1;
	/* The totals cover the whole period; the line items are one page. */
	int64_t active = 0, days_total = 0;
	for (size_t i = 0; i < nspans; i++) {
		const struct usage_span *sp = &spans[i];
		days_total += usage_active_days(sp->activated_at, sp->closed_at, start, end,
						c->now);
		if (usage_active_at(sp->activated_at, sp->closed_at, at))
			active++;
	}
	struct customer *rows;
	size_t n;
	bool more;
	if (c->store->ops->usage_customers(c->store, c->a, c->partner_id, start, hi, &pg, &rows,
					   &n, &more, &c->err) < 0)
		return -1;
	json_t *data = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(
			data,
			line_item(&rows[i], usage_active_days(rows[i].mailbox.activated_at,
							      rows[i].mailbox.closed_at, start,
							      end, c->now)));
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
	json_object_set_new(o, "billable_mailboxes", json_integer((json_int_t)nspans));
	json_object_set_new(o, "mailbox_days", json_integer(days_total));
	json_object_set_new(o, "line_items", items);
	return reply_take(c, 200, o);
}
