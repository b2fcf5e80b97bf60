/* store_pg_customers.c - the PostgreSQL backend: customers with their
 * mailboxes (one row each), and billing usage rows. */
#include <stdio.h>
#include <string.h>

#include "store_pg.h"
#include "banned.h"

#define CUSTOMER_SELECT \
	"SELECT c.id, c.partner_id, c.external_customer_id, c.email, c.name, c.phone," \
	" c.prepay, c.own_billing_active, c.status, c.form_status, c.form_submitted_at," \
	" c.form_approved_at, c.form_rejection_reason, c.identity_status," \
	" c.identity_verified_at, c.identity_failure_reason, c.compliance_updated_at," \
	" c.metadata, c.created_at, c.updated_at, c.deactivated_at, c.deactivation_reason," \
	" c.mailbox_id, c.mailbox_number, c.mailbox_status, c.mailbox_reserved_at," \
	" c.mailbox_activated_at, c.mailbox_closed_at FROM customers c"

static void read_customer(struct arena *a, const PGresult *r, int row, void *item)
{
	struct customer *c = item;
	c->id = pgs_col_text(a, r, row, 0);
	c->partner_id = pgs_col_text(a, r, row, 1);
	c->external_id = pgs_col_text(a, r, row, 2);
	c->email = pgs_col_text(a, r, row, 3);
	c->name = pgs_col_text(a, r, row, 4);
	c->phone = pgs_col_text(a, r, row, 5);
	c->prepay = pgs_col_i64(r, row, 6) != 0;
	c->own_billing_active = pgs_col_i64(r, row, 7) != 0;
	c->status = pgs_col_text(a, r, row, 8);
	c->form_status = pgs_col_text(a, r, row, 9);
	c->form_submitted_at = pgs_col_i64(r, row, 10);
	c->form_approved_at = pgs_col_i64(r, row, 11);
	c->form_rejection_reason = pgs_col_text(a, r, row, 12);
	c->identity_status = pgs_col_text(a, r, row, 13);
	c->identity_verified_at = pgs_col_i64(r, row, 14);
	c->identity_failure_reason = pgs_col_text(a, r, row, 15);
	c->compliance_updated_at = pgs_col_i64(r, row, 16);
	c->metadata = pgs_col_text(a, r, row, 17);
	c->created_at = pgs_col_i64(r, row, 18);
	c->updated_at = pgs_col_i64(r, row, 19);
	c->deactivated_at = pgs_col_i64(r, row, 20);
	c->deactivation_reason = pgs_col_text(a, r, row, 21);
	c->mailbox.id = pgs_col_text(a, r, row, 22);
	c->mailbox.number = pgs_col_text(a, r, row, 23);
	c->mailbox.status = pgs_col_text(a, r, row, 24);
	c->mailbox.reserved_at = pgs_col_i64(r, row, 25);
	c->mailbox.activated_at = pgs_col_i64(r, row, 26);
	c->mailbox.closed_at = pgs_col_i64(r, row, 27);
}

/* The mutable customer columns, bound by bind_customer_mutable() as $1..$22. */
#define CUSTOMER_MUTABLE \
	"external_customer_id = $1, email = $2, name = $3, phone = $4, prepay = $5," \
	" own_billing_active = $6, status = $7, form_status = $8, form_submitted_at = $9," \
	" form_approved_at = $10, form_rejection_reason = $11, identity_status = $12," \
	" identity_verified_at = $13, identity_failure_reason = $14," \
	" compliance_updated_at = $15, metadata = $16, updated_at = $17," \
	" deactivated_at = $18, deactivation_reason = $19, mailbox_status = $20," \
	" mailbox_activated_at = $21, mailbox_closed_at = $22"

/* A customer's insert up to its last value, the mailbox number ($28),
 * which the statement ends with. */
#define CUSTOMER_INSERT \
	"INSERT INTO customers (external_customer_id, email, name, phone," \
	" prepay, own_billing_active, status, form_status, form_submitted_at," \
	" form_approved_at, form_rejection_reason, identity_status," \
	" identity_verified_at, identity_failure_reason, compliance_updated_at," \
	" metadata, updated_at, deactivated_at, deactivation_reason," \
	" mailbox_status, mailbox_activated_at, mailbox_closed_at, id, partner_id," \
	" created_at, mailbox_id, mailbox_reserved_at, mailbox_number)" \
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14," \
	" $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, "

static void bind_customer_mutable(struct pgs_params *q, const struct customer *c)
{
	pgs_text(q, c->external_id);
	pgs_text(q, c->email);
	pgs_text(q, c->name);
	pgs_text(q, c->phone);
	pgs_num(q, c->prepay ? 1 : 0);
	pgs_num(q, c->own_billing_active ? 1 : 0);
	pgs_text(q, c->status);
	pgs_text(q, c->form_status);
	pgs_time(q, c->form_submitted_at);
	pgs_time(q, c->form_approved_at);
	pgs_text(q, c->form_rejection_reason);
	pgs_text(q, c->identity_status);
	pgs_time(q, c->identity_verified_at);
	pgs_text(q, c->identity_failure_reason);
	pgs_num(q, c->compliance_updated_at);
	pgs_text(q, c->metadata);
	pgs_num(q, c->updated_at);
	pgs_time(q, c->deactivated_at);
	pgs_text(q, c->deactivation_reason);
	pgs_text(q, c->mailbox.status);
	pgs_time(q, c->mailbox.activated_at);
	pgs_time(q, c->mailbox.closed_at);
}

/* --- the mailbox counter of a write transaction --- */

int store_pg_customer_counter_hold(struct pg_conn *c, const char *tenant, int64_t next,
				   struct err *e)
{
	struct pgs_counter *k = &c->counter;
	if (strcmp(k->tenant, tenant) == 0)
		return 0; /* held already: memory is ahead of the row */
	if (store_pg_customer_counter_write_later(c, e) < 0)
		return -1;
	if (strlen(tenant) >= sizeof(k->tenant)) {
		store_pg_customer_counter_forget(c);
		return 0; /* not a tenant id: customer_insert takes the row's */
	}
	snprintf(k->tenant, sizeof(k->tenant), "%s", tenant);
	k->next = next;
	k->dirty = false;
	for (int i = 0; i < k->depth; i++)
		k->at_savepoint[i] = next;
	return 0;
}

int store_pg_customer_counter_write_later(struct pg_conn *c, struct err *e)
{
	struct pgs_counter *k = &c->counter;
	if (!k->dirty)
		return 0;
	struct pgs_params q = {0};
	pgs_text(&q, k->tenant);
	pgs_num(&q, k->next);
	k->dirty = false;
	return pgs_later(c, "UPDATE partners SET next_mailbox_number = $2 WHERE id = $1", &q,
			 e);
}

void store_pg_customer_counter_forget(struct pg_conn *c)
{
	c->counter.tenant[0] = '\0';
	c->counter.dirty = false;
	c->counter.depth = 0;
}

void store_pg_customer_counter_savepoint(struct pg_conn *c)
{
	struct pgs_counter *k = &c->counter;
	if (k->depth == PGS_SAVEPOINTS_MAX)
		die("savepoints nested too deep");
	k->at_savepoint[k->depth++] = k->next;
}

void store_pg_customer_counter_release(struct pg_conn *c)
{
	if (c->counter.depth > 0)
		c->counter.depth--;
}

void store_pg_customer_counter_undo(struct pg_conn *c)
{
	struct pgs_counter *k = &c->counter;
	if (k->depth > 0)
		k->next = k->at_savepoint[--k->depth];
}

/* --- customers --- */

int store_pg_customer_insert(struct store *s, struct arena *a, struct customer *cu,
			     struct err *e)
{
	if (store_partner_required(cu->partner_id, "customer_insert", e) < 0)
		return -1;
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	const char *prefix = tenant_livemode(cu->partner_id) ? "" : "T";
	struct pgs_params p = {0};
	bind_customer_mutable(&p, cu);
	pgs_text(&p, cu->id);
	pgs_text(&p, cu->partner_id);
	pgs_num(&p, cu->created_at);
	pgs_text(&p, cu->mailbox.id);
	pgs_num(&p, cu->mailbox.reserved_at);
	struct pgs_counter *k = &c->counter;
	if (strcmp(k->tenant, cu->partner_id) == 0) {
		/* The transaction holds the tenant (a batch of group commit):
		 * the number comes from memory, and the insert is sent without
		 * waiting (pgs_later()). A failure (another customer took the
		 * external id first) is the request's, at its release. */
		cu->mailbox.number = arena_printf(a, "%s%lld", prefix, (long long)k->next);
		pgs_text(&p, cu->mailbox.number);
		k->next++;
		k->dirty = true;
		return pgs_later(c, CUSTOMER_INSERT "$28)", &p, e);
	}
	/* One statement takes the partner's next number and inserts the
	 * customer with it. The counter only grows, and its row stays locked
	 * until this transaction ends: numbers are unique and gap-free even
	 * across instances (a rolled-back insert gives its number back). A
	 * partner that does not exist leaves the number NULL, which the
	 * column refuses (a bug, 500). */
	pgs_text(&p, prefix);
	PGresult *r = pgs_exec(c,
			       "WITH counter AS (UPDATE partners SET next_mailbox_number ="
			       " next_mailbox_number + 1 WHERE id = $24"
			       " RETURNING next_mailbox_number - 1 AS number) " CUSTOMER_INSERT
			       "$28::text || (SELECT number FROM counter))"
			       " RETURNING mailbox_number",
			       &p, e);
	if (!r)
		return -1;
	cu->mailbox.number = pgs_col_text(a, r, 0, 0);
	PQclear(r);
	return 0;
}

int store_pg_customer_get(struct store *s, struct arena *a, const char *partner_id,
			  const char *id, struct customer *out, struct err *e)
{
	if (store_partner_required(partner_id, "customer_get", e) < 0)
		return -1;
	return pgs_get_one_by(s, a, PGS_LOCK_IN_WRITE,
			      CUSTOMER_SELECT " WHERE c.id = $1 AND c.partner_id = $2",
			      PGS_TEXTS(id, partner_id), read_customer, out, e);
}

int store_pg_customer_get_any_partner(struct store *s, struct arena *a, const char *id,
				      struct customer *out, struct err *e)
{
	return pgs_get_one_by(s, a, PGS_LOCK_IN_WRITE, CUSTOMER_SELECT " WHERE c.id = $1",
			      PGS_TEXTS(id), read_customer, out, e);
}

int store_pg_customer_list(struct store *s, struct arena *a, const char *partner_id,
			   const struct customer_filter *f, const struct page *pg,
			   struct customer **items, size_t *n, bool *has_more, struct err *e)
{
	if (store_partner_required(partner_id, "customer_list", e) < 0)
		return -1;
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_query q = {0};
	pgs_q_text(&q, CUSTOMER_SELECT " WHERE c.partner_id = ?", partner_id);
	if (f->status)
		pgs_q_text(&q, " AND c.status = ?", f->status);
	if (f->external_id)
		pgs_q_text(&q, " AND c.external_customer_id = ?", f->external_id);
	if (f->email)
		pgs_q_text(&q, " AND lower(c.email) = lower(?::text COLLATE \"C\")", f->email);
	return pgs_run_list(c, a, &q, "c.seq",
			    "SELECT seq FROM customers WHERE id = $1 AND partner_id = $2",
			    partner_id, pg, read_customer, sizeof(**items), (void **)items, n,
			    has_more, e);
}

int store_pg_customer_update(struct store *s, const struct customer *cu, struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_params q = {0};
	bind_customer_mutable(&q, cu);
	pgs_text(&q, cu->id);
	return pgs_run(c, "UPDATE customers SET " CUSTOMER_MUTABLE " WHERE id = $23", &q, e);
}

int store_pg_customer_external_id_find(struct store *s, const char *partner_id,
				       const char *external_id, const char *except_id,
				       struct err *e)
{
	if (store_partner_required(partner_id, "customer_external_id_find", e) < 0)
		return -1;
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_params q = {0};
	pgs_text(&q, partner_id);
	pgs_text(&q, external_id);
	pgs_text(&q, except_id);
	return pgs_exists(c,
			  "SELECT 1 FROM customers WHERE partner_id = $1"
			  " AND external_customer_id = $2 AND id IS DISTINCT FROM $3",
			  &q, e);
}

/* The mailboxes of tenant $1 active at some second of [$2, $3) (store.h);
 * one closed in the second it was activated was active in that second; 0
 * is no time (usage_active_days()), which only a hand-edited row holds. */
#define USAGE_WHERE \
	" WHERE c.partner_id = $1 AND $2::bigint < $3::bigint" \
	" AND c.mailbox_activated_at IS NOT NULL AND c.mailbox_activated_at <> 0" \
	" AND c.mailbox_activated_at < $3" \
	" AND (c.mailbox_closed_at IS NULL" \
	" OR c.mailbox_closed_at > c.mailbox_activated_at AND c.mailbox_closed_at > $2" \
	" OR c.mailbox_closed_at = c.mailbox_activated_at AND c.mailbox_activated_at >= $2)"

/* A page of line items: the first ones, those after the line item at
 * ($4, $5) (its activation and creation order), or the last ones before it. */
static const char usage_first[] = CUSTOMER_SELECT USAGE_WHERE
	" ORDER BY c.mailbox_activated_at, c.seq LIMIT $4";
static const char usage_after[] = CUSTOMER_SELECT USAGE_WHERE
	" AND c.mailbox_activated_at >= $4 AND (c.mailbox_activated_at > $4 OR c.seq > $5)"
	" ORDER BY c.mailbox_activated_at, c.seq LIMIT $6";
static const char usage_before[] = CUSTOMER_SELECT USAGE_WHERE
	" AND c.mailbox_activated_at <= $4 AND (c.mailbox_activated_at < $4 OR c.seq < $5)"
	" ORDER BY c.mailbox_activated_at DESC, c.seq DESC LIMIT $6";

static void read_span(struct arena *a, const PGresult *r, int row, void *item)
{
	(void)a;
	struct usage_span *sp = item;
	sp->activated_at = pgs_col_i64(r, row, 0);
	sp->closed_at = pgs_col_i64(r, row, 1);
}

/* A usage statement's first three parameters: the tenant and [start, hi). */
static void usage_params(struct pgs_params *q, const char *partner_id, int64_t start,
			 int64_t hi)
{
	pgs_text(q, partner_id);
	pgs_num(q, start);
	pgs_num(q, hi);
}

int store_pg_customer_usage_spans(struct store *s, struct arena *a, const char *partner_id,
				  int64_t start, int64_t hi, struct usage_span **spans,
				  size_t *n, struct err *e)
{
	if (store_partner_required(partner_id, "usage_spans", e) < 0)
		return -1;
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_params q = {0};
	usage_params(&q, partner_id, start, hi);
	return pgs_get_all(
		c, a,
		"SELECT c.mailbox_activated_at, c.mailbox_closed_at FROM customers c" USAGE_WHERE,
		&q, read_span, sizeof(**spans), (void **)spans, n, e);
}

struct usage_at {
	int64_t activated_at, seq;
};

static void read_usage_at(struct arena *a, const PGresult *r, int row, void *item)
{
	(void)a;
	struct usage_at *at = item;
	at->activated_at = pgs_col_i64(r, row, 0);
	at->seq = pgs_col_i64(r, row, 1);
}

int store_pg_customer_usage_customers(struct store *s, struct arena *a, const char *partner_id,
				      int64_t start, int64_t hi, const struct page *pg,
				      struct customer **items, size_t *n, bool *has_more,
				      struct err *e)
{
	if (store_partner_required(partner_id, "usage_customers", e) < 0)
		return -1;
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	const char *cursor = pg->starting_after ? pg->starting_after : pg->ending_before;
	struct usage_at at = {0};
	struct pgs_params q = {0};
	usage_params(&q, partner_id, start, hi);
	if (cursor) {
		/* A line item is named by its customer or its mailbox (found by
		 * its index, customers_partner_activated_mailbox: asked in one
		 * condition with the period's, SQLite read the period's mailboxes
		 * instead). */
		pgs_text(&q, cursor);
		int rc = pgs_get_one(
			c, a,
			strncmp(cursor, "mbx_", 4) == 0
				? "SELECT c.mailbox_activated_at, c.seq FROM customers c" USAGE_WHERE
				  " AND c.seq = (SELECT m.seq FROM customers m WHERE m.partner_id = $1"
				  " AND m.mailbox_id = $4 AND m.mailbox_activated_at IS NOT NULL LIMIT 1)"
				: "SELECT c.mailbox_activated_at, c.seq FROM customers c" USAGE_WHERE
				  " AND c.id = $4",
			&q, read_usage_at, &at, e);
		if (rc == STORE_NOT_FOUND)
			return error(e, 400, "invalid_request",
				     pg->starting_after ? "starting_after" : "ending_before",
				     "no line item for %s in this period", resp_quote(cursor));
		if (rc < 0)
			return -1;
		q = (struct pgs_params){0};
		usage_params(&q, partner_id, start, hi);
		pgs_num(&q, at.activated_at);
		pgs_num(&q, at.seq);
	}
	/* Read in the direction of travel, one row past the page. */
	pgs_num(&q, pg->limit + 1);
	const char *sql = !cursor              ? usage_first
			  : pg->starting_after ? usage_after
					       : usage_before;
	if (pgs_get_all(c, a, sql, &q, read_customer, sizeof(**items), (void **)items, n, e) <
	    0)
		return -1;
	store_page_oldest_first(pg, *items, sizeof(**items), n, has_more);
	return 0;
}
