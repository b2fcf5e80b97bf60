/* store_pg_mail.c - the PostgreSQL backend: inbound mail and mail actions. */
#include <stdio.h>
#include <string.h>

#include "store_pg.h"
#include "banned.h"

/* --- mail --- */

#define MAIL_COLS \
	"id, partner_id, customer_id, mailbox_id, type, status, source, photos," \
	" performed_by, tracking_number, carrier, sender, notes, metadata, received_at," \
	" created_at, updated_at, deleted_at"

static void read_mail(struct arena *a, const PGresult *r, int row, void *item)
{
	struct mail *m = item;
	m->id = pgs_col_text(a, r, row, 0);
	m->partner_id = pgs_col_text(a, r, row, 1);
	m->customer_id = pgs_col_text(a, r, row, 2);
	m->mailbox_id = pgs_col_text(a, r, row, 3);
	m->type = pgs_col_text(a, r, row, 4);
	m->status = pgs_col_text(a, r, row, 5);
	m->source = pgs_col_text(a, r, row, 6);
	m->photos = pgs_col_text(a, r, row, 7);
	m->performed_by = pgs_col_text(a, r, row, 8);
	m->tracking_number = pgs_col_text(a, r, row, 9);
	m->carrier = pgs_col_text(a, r, row, 10);
	m->sender = pgs_col_text(a, r, row, 11);
	m->notes = pgs_col_text(a, r, row, 12);
	m->metadata = pgs_col_text(a, r, row, 13);
	m->received_at = pgs_col_i64(r, row, 14);
	m->created_at = pgs_col_i64(r, row, 15);
	m->updated_at = pgs_col_i64(r, row, 16);
	m->deleted_at = pgs_col_i64(r, row, 17);
}

int store_pg_mail_insert(struct store *s, const struct mail *m, struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_params q = {0};
	const char *texts[] = {
		m->id,      m->partner_id, m->customer_id, m->mailbox_id,   m->type,
		m->status,  m->source,     m->photos,      m->performed_by, m->tracking_number,
		m->carrier, m->sender,     m->notes,       m->metadata};
	for (int i = 0; i < 14; i++)
		pgs_text(&q, texts[i]);
	pgs_num(&q, m->received_at);
	pgs_num(&q, m->created_at);
	pgs_num(&q, m->updated_at);
	pgs_time(&q, m->deleted_at);
	return pgs_run(c,
		       "INSERT INTO mail (" MAIL_COLS ") VALUES ($1, $2, $3, $4, $5, $6,"
		       " $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
		       &q, e);
}

int store_pg_mail_get(struct store *s, struct arena *a, const char *partner_id, const char *id,
		      struct mail *out, struct err *e)
{
	if (store_partner_required(partner_id, "mail_get", e) < 0)
		return -1;
	return pgs_get_one_by(s, a, PGS_LOCK_IN_WRITE,
			      "SELECT " MAIL_COLS " FROM mail WHERE id = $1"
			      " AND deleted_at IS NULL AND partner_id = $2",
			      PGS_TEXTS(id, partner_id), read_mail, out, e);
}

int store_pg_mail_get_any_partner(struct store *s, struct arena *a, const char *id,
				  struct mail *out, struct err *e)
{
	return pgs_get_one_by(s, a, PGS_LOCK_IN_WRITE,
			      "SELECT " MAIL_COLS
			      " FROM mail WHERE id = $1 AND deleted_at IS NULL",
			      PGS_TEXTS(id), read_mail, out, e);
}

int store_pg_mail_list(struct store *s, struct arena *a, const char *customer_id,
		       const struct mail_filter *f, const struct page *pg, struct mail **items,
		       size_t *n, bool *has_more, struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_query q = {0};
	pgs_q_text(&q,
		   "SELECT " MAIL_COLS " FROM mail WHERE customer_id = ?"
		   " AND deleted_at IS NULL",
		   customer_id);
	if (f->type)
		pgs_q_text(&q, " AND type = ?", f->type);
	if (f->status)
		pgs_q_text(&q, " AND status = ?", f->status);
	return pgs_run_list(c, a, &q, "seq",
			    "SELECT seq FROM mail WHERE id = $1 AND customer_id = $2"
			    " AND deleted_at IS NULL",
			    customer_id, pg, read_mail, sizeof(**items), (void **)items, n,
			    has_more, e);
}

int store_pg_mail_update(struct store *s, const struct mail *m, struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_params q = {0};
	pgs_text(&q, m->status);
	pgs_num(&q, m->updated_at);
	pgs_time(&q, m->deleted_at);
	pgs_text(&q, m->id);
	return pgs_run(c,
		       "UPDATE mail SET status = $1, updated_at = $2, deleted_at = $3"
		       " WHERE id = $4",
		       &q, e);
}

/* --- mail actions --- */

#define ACTION_COLS \
	"id, partner_id, mail_id, customer_id, type, status, forward_address," \
	" shipping_speed, notes, result, failure_reason, requested_at, completed_at"

static void read_action(struct arena *a, const PGresult *r, int row, void *item)
{
	struct mail_action *act = item;
	act->id = pgs_col_text(a, r, row, 0);
	act->partner_id = pgs_col_text(a, r, row, 1);
	act->mail_id = pgs_col_text(a, r, row, 2);
	act->customer_id = pgs_col_text(a, r, row, 3);
	act->type = pgs_col_text(a, r, row, 4);
	act->status = pgs_col_text(a, r, row, 5);
	act->forward_address = pgs_col_text(a, r, row, 6);
	act->shipping_speed = pgs_col_text(a, r, row, 7);
	act->notes = pgs_col_text(a, r, row, 8);
	act->result = pgs_col_text(a, r, row, 9);
	act->failure_reason = pgs_col_text(a, r, row, 10);
	act->requested_at = pgs_col_i64(r, row, 11);
	act->completed_at = pgs_col_i64(r, row, 12);
}

int store_pg_mail_action_insert(struct store *s, const struct mail_action *act, struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_params q = {0};
	const char *texts[] = {
		act->id,    act->partner_id, act->mail_id,         act->customer_id,
		act->type,  act->status,     act->forward_address, act->shipping_speed,
		act->notes, act->result,     act->failure_reason};
	for (int i = 0; i < 11; i++)
		pgs_text(&q, texts[i]);
	pgs_num(&q, act->requested_at);
	pgs_time(&q, act->completed_at);
	return pgs_run(c,
		       "INSERT INTO mail_actions (" ACTION_COLS ") VALUES ($1, $2, $3, $4,"
		       " $5, $6, $7, $8, $9, $10, $11, $12, $13)",
		       &q, e);
}

int store_pg_mail_action_get(struct store *s, struct arena *a, const char *partner_id,
			     const char *id, struct mail_action *out, struct err *e)
{
	if (store_partner_required(partner_id, "action_get", e) < 0)
		return -1;
	return pgs_get_one_by(s, a, PGS_LOCK_IN_WRITE,
			      "SELECT " ACTION_COLS
			      " FROM mail_actions WHERE id = $1 AND partner_id = $2",
			      PGS_TEXTS(id, partner_id), read_action, out, e);
}

int store_pg_mail_action_get_any_partner(struct store *s, struct arena *a, const char *id,
					 struct mail_action *out, struct err *e)
{
	return pgs_get_one_by(s, a, PGS_LOCK_IN_WRITE,
			      "SELECT " ACTION_COLS " FROM mail_actions WHERE id = $1",
			      PGS_TEXTS(id), read_action, out, e);
}

int store_pg_mail_action_update(struct store *s, const struct mail_action *act, struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_params q = {0};
	pgs_text(&q, act->status);
	pgs_text(&q, act->result);
	pgs_text(&q, act->failure_reason);
	pgs_time(&q, act->completed_at);
	pgs_text(&q, act->id);
	return pgs_run(c,
		       "UPDATE mail_actions SET status = $1, result = $2,"
		       " failure_reason = $3, completed_at = $4 WHERE id = $5",
		       &q, e);
}

int store_pg_mail_action_list_for_mail(struct store *s, struct arena *a, const char *mail_id,
				       struct mail_action **items, size_t *n, struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_params q = {0};
	pgs_text(&q, mail_id);
	return pgs_get_all(c, a,
			   "SELECT " ACTION_COLS " FROM mail_actions WHERE mail_id = $1"
			   " ORDER BY seq",
			   &q, read_action, sizeof(**items), (void **)items, n, e);
}

int store_pg_mail_action_list_any_partner(struct store *s, struct arena *a, const char *status,
					  int livemode, const struct page *pg,
					  struct mail_action **items, size_t *n, bool *has_more,
					  struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_query q = {0};
	pgs_q_add(&q, "SELECT " ACTION_COLS " FROM mail_actions WHERE true");
	if (status)
		pgs_q_text(&q, " AND status = ?", status);
	if (livemode >= 0)
		pgs_q_num(&q, " AND " PGS_TENANT_LIVE_IS, livemode);
	return pgs_run_list(c, a, &q, "seq", "SELECT seq FROM mail_actions WHERE id = $1", NULL,
			    pg, read_action, sizeof(**items), (void **)items, n, has_more, e);
}
