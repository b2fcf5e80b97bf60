/* store_sqlite_mail.c - the SQLite backend: inbound mail and mail actions. */
#include <stdio.h>
#include <string.h>

#include "store_sqlite.h"
#include "banned.h"

/* --- mail and mail actions --- */

#define MAIL_COLS \
	"id, partner_id, customer_id, mailbox_id, type, status, source, photos," \
	" performed_by, tracking_number, carrier, sender, notes, metadata, received_at," \
	" created_at, updated_at, deleted_at"

static void read_mail(struct arena *a, sqlite3_stmt *st, void *item)
{
	struct mail *m = item;
	m->id = sq_col_text(a, st, 0);
	m->partner_id = sq_col_text(a, st, 1);
	m->customer_id = sq_col_text(a, st, 2);
	m->mailbox_id = sq_col_text(a, st, 3);
	m->type = sq_col_text(a, st, 4);
	m->status = sq_col_text(a, st, 5);
	m->source = sq_col_text(a, st, 6);
	m->photos = sq_col_text(a, st, 7);
	m->performed_by = sq_col_text(a, st, 8);
	m->tracking_number = sq_col_text(a, st, 9);
	m->carrier = sq_col_text(a, st, 10);
	m->sender = sq_col_text(a, st, 11);
	m->notes = sq_col_text(a, st, 12);
	m->metadata = sq_col_text(a, st, 13);
	m->received_at = sq_col_i64(st, 14);
	m->created_at = sq_col_i64(st, 15);
	m->updated_at = sq_col_i64(st, 16);
	m->deleted_at = sq_col_i64(st, 17);
}

int store_sqlite_mail_insert(struct store *s, const struct mail *m, struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = sq_prep(c,
				   "INSERT INTO mail (" MAIL_COLS ") VALUES"
				   " (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
				   e);
	if (!st)
		return -1;
	const char *texts[] = {
		m->id,      m->partner_id, m->customer_id, m->mailbox_id,   m->type,
		m->status,  m->source,     m->photos,      m->performed_by, m->tracking_number,
		m->carrier, m->sender,     m->notes,       m->metadata};
	for (int i = 0; i < 14; i++)
		sq_bind_text(st, i + 1, texts[i]);
	sqlite3_bind_int64(st, 15, m->received_at);
	sqlite3_bind_int64(st, 16, m->created_at);
	sqlite3_bind_int64(st, 17, m->updated_at);
	sq_bind_time(st, 18, m->deleted_at);
	return sq_step_done(c, st, e);
}

int store_sqlite_mail_get(struct store *s, struct arena *a, const char *partner_id,
			  const char *id, struct mail *out, struct err *e)
{
	if (store_partner_required(partner_id, "mail_get", e) < 0)
		return -1;
	return sq_get_one_by(s, a,
			     "SELECT " MAIL_COLS " FROM mail WHERE id = ?1"
			     " AND deleted_at IS NULL AND partner_id = ?2",
			     SQ_TEXTS(id, partner_id), read_mail, out, e);
}

int store_sqlite_mail_get_any_partner(struct store *s, struct arena *a, const char *id,
				      struct mail *out, struct err *e)
{
	return sq_get_one_by(
		s, a, "SELECT " MAIL_COLS " FROM mail WHERE id = ?1 AND deleted_at IS NULL",
		SQ_TEXTS(id), read_mail, out, e);
}

int store_sqlite_mail_list(struct store *s, struct arena *a, const char *customer_id,
			   const struct mail_filter *f, const struct page *pg,
			   struct mail **items, size_t *n, bool *has_more, struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	struct query q = {0};
	sq_q_text(&q,
		  "SELECT " MAIL_COLS " FROM mail WHERE customer_id = ?"
		  " AND deleted_at IS NULL",
		  customer_id);
	if (f->type)
		sq_q_text(&q, " AND type = ?", f->type);
	if (f->status)
		sq_q_text(&q, " AND status = ?", f->status);
	return sq_run_list(c, a, &q, "seq",
			   "SELECT seq FROM mail WHERE id = ? AND customer_id = ?"
			   " AND deleted_at IS NULL",
			   customer_id, pg, read_mail, sizeof(**items), (void **)items, n,
			   has_more, e);
}

int store_sqlite_mail_update(struct store *s, const struct mail *m, struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = sq_prep(c,
				   "UPDATE mail SET status = ?, updated_at = ?, deleted_at = ?"
				   " WHERE id = ?",
				   e);
	if (!st)
		return -1;
	sq_bind_text(st, 1, m->status);
	sqlite3_bind_int64(st, 2, m->updated_at);
	sq_bind_time(st, 3, m->deleted_at);
	sq_bind_text(st, 4, m->id);
	return sq_step_done(c, st, e);
}

#define ACTION_COLS \
	"id, partner_id, mail_id, customer_id, type, status, forward_address," \
	" shipping_speed, notes, result, failure_reason, requested_at, completed_at"

static void read_action(struct arena *a, sqlite3_stmt *st, void *item)
{
	struct mail_action *act = item;
	act->id = sq_col_text(a, st, 0);
	act->partner_id = sq_col_text(a, st, 1);
	act->mail_id = sq_col_text(a, st, 2);
	act->customer_id = sq_col_text(a, st, 3);
	act->type = sq_col_text(a, st, 4);
	act->status = sq_col_text(a, st, 5);
	act->forward_address = sq_col_text(a, st, 6);
	act->shipping_speed = sq_col_text(a, st, 7);
	act->notes = sq_col_text(a, st, 8);
	act->result = sq_col_text(a, st, 9);
	act->failure_reason = sq_col_text(a, st, 10);
	act->requested_at = sq_col_i64(st, 11);
	act->completed_at = sq_col_i64(st, 12);
}

int store_sqlite_mail_action_insert(struct store *s, const struct mail_action *act,
				    struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = sq_prep(c,
				   "INSERT INTO mail_actions (" ACTION_COLS ") VALUES"
				   " (?,?,?,?,?,?,?,?,?,?,?,?,?)",
				   e);
	if (!st)
		return -1;
	const char *texts[] = {
		act->id,    act->partner_id, act->mail_id,         act->customer_id,
		act->type,  act->status,     act->forward_address, act->shipping_speed,
		act->notes, act->result,     act->failure_reason};
	for (int i = 0; i < 11; i++)
		sq_bind_text(st, i + 1, texts[i]);
	sqlite3_bind_int64(st, 12, act->requested_at);
	sq_bind_time(st, 13, act->completed_at);
	return sq_step_done(c, st, e);
}

int store_sqlite_mail_action_get(struct store *s, struct arena *a, const char *partner_id,
				 const char *id, struct mail_action *out, struct err *e)
{
	if (store_partner_required(partner_id, "action_get", e) < 0)
		return -1;
	return sq_get_one_by(s, a,
			     "SELECT " ACTION_COLS " FROM mail_actions WHERE id = ?1"
			     " AND partner_id = ?2",
			     SQ_TEXTS(id, partner_id), read_action, out, e);
}

int store_sqlite_mail_action_get_any_partner(struct store *s, struct arena *a, const char *id,
					     struct mail_action *out, struct err *e)
{
	return sq_get_one_by(s, a, "SELECT " ACTION_COLS " FROM mail_actions WHERE id = ?1",
			     SQ_TEXTS(id), read_action, out, e);
}

int store_sqlite_mail_action_update(struct store *s, const struct mail_action *act,
				    struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = sq_prep(c,
				   "UPDATE mail_actions SET status = ?, result = ?,"
				   " failure_reason = ?, completed_at = ? WHERE id = ?",
				   e);
	if (!st)
		return -1;
	sq_bind_text(st, 1, act->status);
	sq_bind_text(st, 2, act->result);
	sq_bind_text(st, 3, act->failure_reason);
	sq_bind_time(st, 4, act->completed_at);
	sq_bind_text(st, 5, act->id);
	return sq_step_done(c, st, e);
}

int store_sqlite_mail_action_list_for_mail(struct store *s, struct arena *a,
					   const char *mail_id, struct mail_action **items,
					   size_t *n, struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = sq_prep(c,
				   "SELECT " ACTION_COLS " FROM mail_actions"
				   " WHERE mail_id = ? ORDER BY seq",
				   e);
	if (!st)
		return -1;
	sq_bind_text(st, 1, mail_id);
	return sq_get_all(c, a, st, read_action, sizeof(**items), (void **)items, n, e);
}

int store_sqlite_mail_action_list_any_partner(struct store *s, struct arena *a,
					      const char *status, int livemode,
					      const struct page *pg, struct mail_action **items,
					      size_t *n, bool *has_more, struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	struct query q = {0};
	sq_q_add(&q, "SELECT " ACTION_COLS " FROM mail_actions WHERE 1");
	if (status)
		sq_q_text(&q, " AND status = ?", status);
	if (livemode >= 0)
		sq_q_num(&q, " AND " SQ_TENANT_LIVE_IS, livemode);
	return sq_run_list(c, a, &q, "seq", "SELECT seq FROM mail_actions WHERE id = ?", NULL,
			   pg, read_action, sizeof(**items), (void **)items, n, has_more, e);
}
