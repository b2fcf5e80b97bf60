/* store_sqlite_customers.c - the SQLite backend: customers with their
 * mailboxes (one row each), and billing usage rows. */
#include <stdio.h>
#include <string.h>

#include "store_sqlite.h"
#include "banned.h"

/* --- customers and mailboxes --- */

#define CUSTOMER_SELECT \
	"SELECT c.id, c.partner_id, c.external_customer_id, c.email, c.name, c.phone," \
	" c.prepay, c.own_billing_active, c.status, c.form_status, c.form_submitted_at," \
	" c.form_approved_at, c.form_rejection_reason, c.identity_status," \
	" c.identity_verified_at, c.identity_failure_reason, c.compliance_updated_at," \
	" c.metadata, c.created_at, c.updated_at, c.deactivated_at, c.deactivation_reason," \
	" c.mailbox_id, c.mailbox_number, c.mailbox_status, c.mailbox_reserved_at," \
	" c.mailbox_activated_at, c.mailbox_closed_at FROM customers c"

static void read_customer(struct arena *a, sqlite3_stmt *st, void *item)
{
	struct customer *c = item;
	c->id = sq_col_text(a, st, 0);
	c->partner_id = sq_col_text(a, st, 1);
	c->external_id = sq_col_text(a, st, 2);
	c->email = sq_col_text(a, st, 3);
	c->name = sq_col_text(a, st, 4);
	c->phone = sq_col_text(a, st, 5);
	c->prepay = sq_col_i64(st, 6) != 0;
	c->own_billing_active = sq_col_i64(st, 7) != 0;
	c->status = sq_col_text(a, st, 8);
	c->form_status = sq_col_text(a, st, 9);
	c->form_submitted_at = sq_col_i64(st, 10);
	c->form_approved_at = sq_col_i64(st, 11);
	c->form_rejection_reason = sq_col_text(a, st, 12);
	c->identity_status = sq_col_text(a, st, 13);
	c->identity_verified_at = sq_col_i64(st, 14);
	c->identity_failure_reason = sq_col_text(a, st, 15);
	c->compliance_updated_at = sq_col_i64(st, 16);
	c->metadata = sq_col_text(a, st, 17);
	c->created_at = sq_col_i64(st, 18);
	c->updated_at = sq_col_i64(st, 19);
	c->deactivated_at = sq_col_i64(st, 20);
	c->deactivation_reason = sq_col_text(a, st, 21);
	c->mailbox.id = sq_col_text(a, st, 22);
	c->mailbox.number = sq_col_text(a, st, 23);
	c->mailbox.status = sq_col_text(a, st, 24);
	c->mailbox.reserved_at = sq_col_i64(st, 25);
	c->mailbox.activated_at = sq_col_i64(st, 26);
	c->mailbox.closed_at = sq_col_i64(st, 27);
}

/* Binds the mutable customer columns in the order of CUSTOMER_MUTABLE. */
#define CUSTOMER_MUTABLE \
	"external_customer_id = ?1, email = ?2, name = ?3, phone = ?4, prepay = ?5," \
	" own_billing_active = ?6, status = ?7, form_status = ?8, form_submitted_at = ?9," \
	" form_approved_at = ?10, form_rejection_reason = ?11, identity_status = ?12," \
	" identity_verified_at = ?13, identity_failure_reason = ?14," \
	" compliance_updated_at = ?15, metadata = ?16, updated_at = ?17," \
	" deactivated_at = ?18, deactivation_reason = ?19, mailbox_status = ?20," \
	" mailbox_activated_at = ?21, mailbox_closed_at = ?22"

static void bind_customer_mutable(sqlite3_stmt *st, const struct customer *c)
{
	sq_bind_text(st, 1, c->external_id);
	sq_bind_text(st, 2, c->email);
	sq_bind_text(st, 3, c->name);
	sq_bind_text(st, 4, c->phone);
	sqlite3_bind_int(st, 5, c->prepay ? 1 : 0);
	sqlite3_bind_int(st, 6, c->own_billing_active ? 1 : 0);
	sq_bind_text(st, 7, c->status);
	sq_bind_text(st, 8, c->form_status);
	sq_bind_time(st, 9, c->form_submitted_at);
	sq_bind_time(st, 10, c->form_approved_at);
	sq_bind_text(st, 11, c->form_rejection_reason);
	sq_bind_text(st, 12, c->identity_status);
	sq_bind_time(st, 13, c->identity_verified_at);
	sq_bind_text(st, 14, c->identity_failure_reason);
	sqlite3_bind_int64(st, 15, c->compliance_updated_at);
	sq_bind_text(st, 16, c->metadata);
	sqlite3_bind_int64(st, 17, c->updated_at);
	sq_bind_time(st, 18, c->deactivated_at);
	sq_bind_text(st, 19, c->deactivation_reason);
	sq_bind_text(st, 20, c->mailbox.status);
	sq_bind_time(st, 21, c->mailbox.activated_at);
	sq_bind_time(st, 22, c->mailbox.closed_at);
}

int store_sqlite_customer_insert(struct store *s, struct arena *a, struct customer *cu,
				 struct err *e)
{
	if (store_partner_required(cu->partner_id, "customer_insert", e) < 0)
		return -1;
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	/* The partner's counter only grows, so a number is never handed out twice.
	 * An UPDATE, then a SELECT in the same transaction: RETURNING would
	 * build a temporary b-tree for its one row (3.4 µs a number against 1.5,
	 * in a loop of its own). */
	sqlite3_stmt *st = sq_prep(c,
				   "UPDATE partners SET next_mailbox_number ="
				   " next_mailbox_number + 1 WHERE id = ?",
				   e);
	if (!st)
		return -1;
	sq_bind_text(st, 1, cu->partner_id);
	if (sq_step_done(c, st, e) < 0)
		return -1;
	st = sq_prep(c, "SELECT next_mailbox_number - 1 FROM partners WHERE id = ?", e);
	if (!st)
		return -1;
	sq_bind_text(st, 1, cu->partner_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		cu->mailbox.number = arena_printf(a, "%s%lld",
						  tenant_livemode(cu->partner_id) ? "" : "T",
						  (long long)sq_col_i64(st, 0));
		rc = sqlite3_step(st);
	}
	sq_done(st);
	if (rc != SQLITE_DONE)
		return sq_db_error(c, rc, e);
	if (!cu->mailbox.number)
		return error(e, 500, "internal_error", NULL, "partner %s does not exist",
			     cu->partner_id);

	/* The column order follows bind_customer_mutable(), then what never changes. */
	st = sq_prep(
		c,
		"INSERT INTO customers (external_customer_id, email, name, phone, prepay,"
		" own_billing_active, status, form_status, form_submitted_at,"
		" form_approved_at, form_rejection_reason, identity_status,"
		" identity_verified_at, identity_failure_reason, compliance_updated_at,"
		" metadata, updated_at, deactivated_at, deactivation_reason, mailbox_status,"
		" mailbox_activated_at, mailbox_closed_at, id, partner_id, created_at,"
		" mailbox_id, mailbox_number, mailbox_reserved_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
		" ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28)",
		e);
	if (!st)
		return -1;
	bind_customer_mutable(st, cu);
	sq_bind_text(st, 23, cu->id);
	sq_bind_text(st, 24, cu->partner_id);
	sqlite3_bind_int64(st, 25, cu->created_at);
	sq_bind_text(st, 26, cu->mailbox.id);
	sq_bind_text(st, 27, cu->mailbox.number);
	sqlite3_bind_int64(st, 28, cu->mailbox.reserved_at);
	return sq_step_done(c, st, e);
}

int store_sqlite_customer_get(struct store *s, struct arena *a, const char *partner_id,
			      const char *id, struct customer *out, struct err *e)
{
	if (store_partner_required(partner_id, "customer_get", e) < 0)
		return -1;
	return sq_get_one_by(s, a, CUSTOMER_SELECT " WHERE c.id = ?1 AND c.partner_id = ?2",
			     SQ_TEXTS(id, partner_id), read_customer, out, e);
}

int store_sqlite_customer_get_any_partner(struct store *s, struct arena *a, const char *id,
					  struct customer *out, struct err *e)
{
	return sq_get_one_by(s, a, CUSTOMER_SELECT " WHERE c.id = ?1", SQ_TEXTS(id),
			     read_customer, out, e);
}

int store_sqlite_customer_list(struct store *s, struct arena *a, const char *partner_id,
			       const struct customer_filter *f, const struct page *pg,
			       struct customer **items, size_t *n, bool *has_more,
			       struct err *e)
{
	if (store_partner_required(partner_id, "customer_list", e) < 0)
		return -1;
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	struct query q = {0};
	sq_q_text(&q, CUSTOMER_SELECT " WHERE c.partner_id = ?", partner_id);
	if (f->status)
		sq_q_text(&q, " AND c.status = ?", f->status);
	if (f->external_id)
		sq_q_text(&q, " AND c.external_customer_id = ?", f->external_id);
	if (f->email)
		sq_q_text(&q, " AND c.email = ? COLLATE NOCASE", f->email);
	return sq_run_list(
		c, a, &q, "c.seq", "SELECT seq FROM customers WHERE id = ? AND partner_id = ?",
		partner_id, pg, read_customer, sizeof(**items), (void **)items, n, has_more, e);
}

int store_sqlite_customer_update(struct store *s, const struct customer *cu, struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = sq_prep(
		c, "UPDATE customers SET " CUSTOMER_MUTABLE " WHERE id = ?23", e);
	if (!st)
		return -1;
	bind_customer_mutable(st, cu);
	sq_bind_text(st, 23, cu->id);
	return sq_step_done(c, st, e);
}

int store_sqlite_customer_external_id_find(struct store *s, const char *partner_id,
					   const char *external_id, const char *except_id,
					   struct err *e)
{
	if (store_partner_required(partner_id, "customer_external_id_find", e) < 0)
		return -1;
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = sq_prep(c,
				   "SELECT 1 FROM customers WHERE partner_id = ?"
				   " AND external_customer_id = ? AND id IS NOT ?",
				   e);
	if (!st)
		return -1;
	sq_bind_text(st, 1, partner_id);
	sq_bind_text(st, 2, external_id);
	sq_bind_text(st, 3, except_id);
	int rc = sqlite3_step(st);
	sq_done(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? STORE_NOT_FOUND : sq_db_error(c, rc, e);
}

/* The mailboxes of tenant ?1 active at some second of [?2, ?3) (store.h);
 * one closed in the second it was activated was active in that second; 0
 * is no time (usage_active_days()), which only a hand-edited row holds. */
#define USAGE_WHERE \
	" WHERE c.partner_id = ?1 AND ?2 < ?3" \
	" AND c.mailbox_activated_at IS NOT NULL AND c.mailbox_activated_at <> 0" \
	" AND c.mailbox_activated_at < ?3" \
	" AND (c.mailbox_closed_at IS NULL" \
	" OR c.mailbox_closed_at > c.mailbox_activated_at AND c.mailbox_closed_at > ?2" \
	" OR c.mailbox_closed_at = c.mailbox_activated_at AND c.mailbox_activated_at >= ?2)"

/* A page of line items: the first ones, those after the line item at
 * (?4, ?5) (its activation and creation order), or the last ones before it. */
static const char usage_first[] = CUSTOMER_SELECT USAGE_WHERE
	" ORDER BY c.mailbox_activated_at, c.seq LIMIT ?4";
static const char usage_after[] = CUSTOMER_SELECT USAGE_WHERE
	" AND c.mailbox_activated_at >= ?4 AND (c.mailbox_activated_at > ?4 OR c.seq > ?5)"
	" ORDER BY c.mailbox_activated_at, c.seq LIMIT ?6";
static const char usage_before[] = CUSTOMER_SELECT USAGE_WHERE
	" AND c.mailbox_activated_at <= ?4 AND (c.mailbox_activated_at < ?4 OR c.seq < ?5)"
	" ORDER BY c.mailbox_activated_at DESC, c.seq DESC LIMIT ?6";

static void read_span(struct arena *a, sqlite3_stmt *st, void *item)
{
	(void)a;
	struct usage_span *sp = item;
	sp->activated_at = sq_col_i64(st, 0);
	sp->closed_at = sq_col_i64(st, 1);
}

/* The statement's first three parameters: the tenant and [start, hi). */
static sqlite3_stmt *usage_stmt(struct conn *c, const char *sql, const char *partner_id,
				int64_t start, int64_t hi, struct err *e)
{
	sqlite3_stmt *st = sq_prep(c, sql, e);
	if (!st)
		return NULL;
	sq_bind_text(st, 1, partner_id);
	sqlite3_bind_int64(st, 2, start);
	sqlite3_bind_int64(st, 3, hi);
	return st;
}

int store_sqlite_customer_usage_spans(struct store *s, struct arena *a, const char *partner_id,
				      int64_t start, int64_t hi, struct usage_span **spans,
				      size_t *n, struct err *e)
{
	if (store_partner_required(partner_id, "usage_spans", e) < 0)
		return -1;
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = usage_stmt(
		c,
		"SELECT c.mailbox_activated_at, c.mailbox_closed_at FROM customers c" USAGE_WHERE,
		partner_id, start, hi, e);
	if (!st)
		return -1;
	return sq_get_all(c, a, st, read_span, sizeof(**spans), (void **)spans, n, e);
}

int store_sqlite_customer_usage_customers(struct store *s, struct arena *a,
					  const char *partner_id, int64_t start, int64_t hi,
					  const struct page *pg, struct customer **items,
					  size_t *n, bool *has_more, struct err *e)
{
	if (store_partner_required(partner_id, "usage_customers", e) < 0)
		return -1;
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	const char *cursor = pg->starting_after ? pg->starting_after : pg->ending_before;
	int64_t at = 0, seq = 0;
	if (cursor) {
		/* A line item is named by its customer or its mailbox (found by
		 * its index, customers_partner_activated_mailbox: asked in one
		 * condition with the period's, SQLite read the period's mailboxes
		 * instead). */
		sqlite3_stmt *st = usage_stmt(
			c,
			strncmp(cursor, "mbx_", 4) == 0
				? "SELECT c.mailbox_activated_at, c.seq FROM customers c" USAGE_WHERE
				  " AND c.seq = (SELECT m.seq FROM customers m WHERE m.partner_id = ?1"
				  " AND m.mailbox_id = ?4 AND m.mailbox_activated_at IS NOT NULL LIMIT 1)"
				: "SELECT c.mailbox_activated_at, c.seq FROM customers c" USAGE_WHERE
				  " AND c.id = ?4",
			partner_id, start, hi, e);
		if (!st)
			return -1;
		sq_bind_text(st, 4, cursor);
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			at = sq_col_i64(st, 0);
			seq = sq_col_i64(st, 1);
		}
		sq_done(st);
		if (rc == SQLITE_DONE)
			return error(e, 400, "invalid_request",
				     pg->starting_after ? "starting_after" : "ending_before",
				     "no line item for %s in this period", resp_quote(cursor));
		if (rc != SQLITE_ROW)
			return sq_db_error(c, rc, e);
	}
	/* Read in the direction of travel, one row past the page. */
	const char *sql = !cursor              ? usage_first
			  : pg->starting_after ? usage_after
					       : usage_before;
	sqlite3_stmt *st = usage_stmt(c, sql, partner_id, start, hi, e);
	if (!st)
		return -1;
	if (cursor) {
		sqlite3_bind_int64(st, 4, at);
		sqlite3_bind_int64(st, 5, seq);
	}
	sqlite3_bind_int64(st, cursor ? 6 : 4, pg->limit + 1);
	if (sq_get_all(c, a, st, read_customer, sizeof(**items), (void **)items, n, e) < 0)
		return -1;
	store_page_oldest_first(pg, *items, sizeof(**items), n, has_more);
	return 0;
}
