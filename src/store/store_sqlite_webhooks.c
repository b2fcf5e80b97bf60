/* store_sqlite_webhooks.c - the SQLite backend: webhook endpoints, the
 * delivery jobs the worker leases, and the log of attempts. */
#include <stdio.h>
#include <string.h>

#include "store_sqlite.h"
#include "banned.h"

#define ENDPOINT_COLS \
	"id, partner_id, url, enabled_events, status, secret, previous_secret," \
	" previous_secret_expires_at, created_at, updated_at"

static void read_endpoint(struct arena *a, sqlite3_stmt *st, void *item)
{
	struct webhook_endpoint *w = item;
	w->id = sq_col_text(a, st, 0);
	w->partner_id = sq_col_text(a, st, 1);
	w->url = sq_col_text(a, st, 2);
	w->enabled_events = sq_col_text(a, st, 3);
	w->status = sq_col_text(a, st, 4);
	w->secret = sq_col_text(a, st, 5);
	w->previous_secret = sq_col_text(a, st, 6);
	w->previous_secret_expires_at = sq_col_i64(st, 7);
	w->created_at = sq_col_i64(st, 8);
	w->updated_at = sq_col_i64(st, 9);
}

int store_sqlite_webhook_endpoint_insert(struct store *s, const struct webhook_endpoint *w,
					 struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = sq_prep(c,
				   "INSERT INTO webhook_endpoints (" ENDPOINT_COLS ")"
				   " VALUES (?,?,?,?,?,?,?,?,?,?)",
				   e);
	if (!st)
		return -1;
	sq_bind_text(st, 1, w->id);
	sq_bind_text(st, 2, w->partner_id);
	sq_bind_text(st, 3, w->url);
	sq_bind_text(st, 4, w->enabled_events);
	sq_bind_text(st, 5, w->status);
	sq_bind_text(st, 6, w->secret);
	sq_bind_text(st, 7, w->previous_secret);
	sq_bind_time(st, 8, w->previous_secret_expires_at);
	sqlite3_bind_int64(st, 9, w->created_at);
	sqlite3_bind_int64(st, 10, w->updated_at);
	return sq_step_done(c, st, e);
}

int store_sqlite_webhook_endpoint_get(struct store *s, struct arena *a, const char *tenant_id,
				      const char *id, struct webhook_endpoint *out,
				      struct err *e)
{
	if (store_partner_required(tenant_id, "endpoint_get", e) < 0)
		return -1;
	return sq_get_one_by(s, a,
			     "SELECT " ENDPOINT_COLS " FROM webhook_endpoints"
			     " WHERE id = ?1 AND partner_id = ?2",
			     SQ_TEXTS(id, tenant_id), read_endpoint, out, e);
}

int store_sqlite_webhook_endpoint_get_any_partner(struct store *s, struct arena *a,
						  const char *id, struct webhook_endpoint *out,
						  struct err *e)
{
	return sq_get_one_by(s, a,
			     "SELECT " ENDPOINT_COLS " FROM webhook_endpoints WHERE id = ?1",
			     SQ_TEXTS(id), read_endpoint, out, e);
}

int store_sqlite_webhook_endpoint_list(struct store *s, struct arena *a, const char *tenant_id,
				       bool both_modes, const struct page *pg,
				       struct webhook_endpoint **items, size_t *n,
				       bool *has_more, struct err *e)
{
	if (store_partner_required(tenant_id, "endpoint_list", e) < 0)
		return -1;
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	struct query q = {0};
	sq_q_text(&q,
		  both_modes ? "SELECT " ENDPOINT_COLS
			       " FROM webhook_endpoints WHERE " SQ_BOTH_TENANTS("?1")
			     : "SELECT " ENDPOINT_COLS
			       " FROM webhook_endpoints WHERE partner_id = ?1",
		  tenant_id);
	return sq_run_list(
		c, a, &q, "seq",
		both_modes
			? "SELECT seq FROM webhook_endpoints WHERE id = ?1 AND " SQ_BOTH_TENANTS(
				  "?2")
			: "SELECT seq FROM webhook_endpoints WHERE id = ?1 AND partner_id = ?2",
		tenant_id, pg, read_endpoint, sizeof(**items), (void **)items, n, has_more, e);
}

int store_sqlite_webhook_endpoint_update(struct store *s, const struct webhook_endpoint *w,
					 struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = sq_prep(
		c,
		"UPDATE webhook_endpoints SET url = ?, enabled_events = ?,"
		" status = ?, secret = ?, previous_secret = ?,"
		" previous_secret_expires_at = ?, updated_at = ? WHERE id = ?",
		e);
	if (!st)
		return -1;
	sq_bind_text(st, 1, w->url);
	sq_bind_text(st, 2, w->enabled_events);
	sq_bind_text(st, 3, w->status);
	sq_bind_text(st, 4, w->secret);
	sq_bind_text(st, 5, w->previous_secret);
	sq_bind_time(st, 6, w->previous_secret_expires_at);
	sqlite3_bind_int64(st, 7, w->updated_at);
	sq_bind_text(st, 8, w->id);
	return sq_step_done(c, st, e);
}

static void read_job(struct arena *a, sqlite3_stmt *st, void *item)
{
	struct webhook_job *j = item;
	j->event_id = sq_col_text(a, st, 0);
	j->event_type = sq_col_text(a, st, 1);
	j->partner_id = sq_col_text(a, st, 2);
	j->payload = sq_col_text(a, st, 3);
	j->endpoint_id = sq_col_text(a, st, 4);
	j->url = sq_col_text(a, st, 5);
	j->secret = sq_col_text(a, st, 6);
	j->previous_secret = sq_col_text(a, st, 7);
	j->attempts = (int)sq_col_i64(st, 8);
}

int store_sqlite_webhook_claim(struct store *s, struct arena *a, const char *owner, int lease_s,
			       int limit, int reserve, int per_endpoint, int per_tenant,
			       struct webhook_job **items, size_t *n, struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	/* Only each enabled endpoint's first per_endpoint due jobs are read (no
	 * later one could be taken), in order from webhook_jobs_endpoint_due, so
	 * the claim's work does not grow with a backlog; the leases come from
	 * webhook_jobs_leased. Each job's place is what its endpoint, then its
	 * tenant, would have leased with it and those ranked before it: within
	 * a tenant the endpoints with the fewest leased come first, and the
	 * tenants with the fewest leased first overall (store.h). Jobs past a
	 * cap are ranked after every job that fits, so they take no place. The
	 * clock is the database's (unixepoch()), as on PostgreSQL; the write
	 * transaction makes this claim the only one until it commits. */
	sqlite3_stmt *st = sq_prep(
		c,
		"WITH clock AS (SELECT unixepoch() AS now),"
		" leased AS ("
		"  SELECT j.endpoint_id, w.partner_id, count(*) AS n"
		"  FROM webhook_jobs j JOIN webhook_endpoints w ON w.id = j.endpoint_id, clock"
		"  WHERE j.status = 'pending' AND j.locked_until > clock.now"
		"  GROUP BY j.endpoint_id),"
		" due AS ("
		"  SELECT j.seq, j.next_attempt_at, w.partner_id AS tenant,"
		"  row_number() OVER (PARTITION BY j.endpoint_id"
		"   ORDER BY j.next_attempt_at, j.seq) + coalesce((SELECT n FROM leased l"
		"   WHERE l.endpoint_id = j.endpoint_id), 0) AS endpoint_place"
		"  FROM webhook_endpoints w, clock, webhook_jobs j"
		"  WHERE w.status = 'enabled' AND j.seq IN ("
		"   SELECT c.seq FROM webhook_jobs c"
		"   WHERE c.endpoint_id = w.id AND c.status = 'pending'"
		"   AND c.next_attempt_at <= clock.now AND c.locked_until <= clock.now"
		"   ORDER BY c.next_attempt_at, c.seq LIMIT ?2)),"
		" placed AS ("
		"  SELECT d.*, row_number() OVER (PARTITION BY d.tenant"
		"   ORDER BY d.endpoint_place, d.next_attempt_at, d.seq)"
		"  + coalesce((SELECT sum(n) FROM leased l WHERE l.partner_id = d.tenant), 0)"
		"  AS tenant_place"
		"  FROM due d WHERE d.endpoint_place <= ?2),"
		" fair AS ("
		"  SELECT p.seq, p.next_attempt_at, p.tenant_place, row_number() OVER ("
		"   ORDER BY p.tenant_place, p.endpoint_place, p.next_attempt_at, p.seq) AS pick"
		"  FROM placed p WHERE p.tenant_place <= ?3)"
		" SELECT j.event_id, ev.type, ev.partner_id, ev.payload, w.id, w.url, w.secret,"
		" CASE WHEN w.previous_secret_expires_at > clock.now THEN w.previous_secret END,"
		" j.attempts"
		" FROM fair f JOIN webhook_jobs j ON j.seq = f.seq"
		" JOIN events ev ON ev.id = j.event_id"
		" JOIN webhook_endpoints w ON w.id = j.endpoint_id, clock"
		" WHERE f.pick <= ?1 AND (f.pick <= ?1 - ?4 OR f.tenant_place = 1)"
		" ORDER BY f.next_attempt_at, f.seq",
		e);
	if (!st)
		return -1;
	sqlite3_bind_int(st, 1, limit);
	sqlite3_bind_int(st, 2, per_endpoint);
	sqlite3_bind_int(st, 3, per_tenant);
	sqlite3_bind_int(st, 4, reserve);
	if (sq_get_all(c, a, st, read_job, sizeof(**items), (void **)items, n, e) < 0)
		return -1;
	st = sq_prep(c,
		     "UPDATE webhook_jobs SET locked_until = unixepoch() + ?, locked_by = ?"
		     " WHERE event_id = ? AND endpoint_id = ?",
		     e);
	if (!st)
		return -1;
	for (size_t i = 0; i < *n; i++) {
		sqlite3_bind_int(st, 1, lease_s);
		sq_bind_text(st, 2, owner);
		sq_bind_text(st, 3, (*items)[i].event_id);
		sq_bind_text(st, 4, (*items)[i].endpoint_id);
		if (sq_step_done(c, st, e) < 0)
			return -1;
	}
	return 0;
}

int store_sqlite_webhook_record(struct store *s, const char *owner,
				const struct webhook_delivery *d, const char *job_status,
				bool disable_endpoint, struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	/* Only the lease's owner moves the job on; a worker that lost it
	 * leaves the job to the one that took it over. */
	sqlite3_stmt *st = sq_prep(
		c,
		"UPDATE webhook_jobs SET attempts = ?, status = ?,"
		" next_attempt_at = coalesce(?, next_attempt_at), locked_until = 0,"
		" locked_by = NULL WHERE event_id = ? AND endpoint_id = ? AND locked_by = ?",
		e);
	if (!st)
		return -1;
	sqlite3_bind_int(st, 1, d->attempt);
	sq_bind_text(st, 2, job_status);
	sq_bind_time(st, 3, d->next_attempt_at);
	sq_bind_text(st, 4, d->event_id);
	sq_bind_text(st, 5, d->endpoint_id);
	sq_bind_text(st, 6, owner);
	if (sq_step_done(c, st, e) < 0)
		return -1;
	bool held = sqlite3_changes(c->db) == 1;
	/* Resent while this attempt ran (webhook_resend): the job already
	 * starts over, so the attempt only gives its lease back. */
	bool resent = false;
	if (!held) {
		st = sq_prep(
			c,
			"UPDATE webhook_jobs SET locked_until = 0, locked_by = NULL"
			" WHERE event_id = ? AND endpoint_id = ? AND locked_by = ? || '+resent'",
			e);
		if (!st)
			return -1;
		sq_bind_text(st, 1, d->event_id);
		sq_bind_text(st, 2, d->endpoint_id);
		sq_bind_text(st, 3, owner);
		if (sq_step_done(c, st, e) < 0)
			return -1;
		resent = sqlite3_changes(c->db) == 1;
	}
	st = sq_prep(c,
		     "INSERT INTO webhook_deliveries (id, partner_id, event_id,"
		     " event_type, endpoint_id, url, attempt, status, response_status,"
		     " error, duration_ms, attempted_at, next_attempt_at, request_body,"
		     " response_body) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
		     e);
	if (!st)
		return -1;
	sq_bind_text(st, 1, d->id);
	sq_bind_text(st, 2, d->partner_id);
	sq_bind_text(st, 3, d->event_id);
	sq_bind_text(st, 4, d->event_type);
	sq_bind_text(st, 5, d->endpoint_id);
	sq_bind_text(st, 6, d->url);
	sqlite3_bind_int(st, 7, d->attempt);
	sq_bind_text(st, 8, d->status);
	sq_bind_time(st, 9, d->response_status);
	sq_bind_text(st, 10, d->error);
	sqlite3_bind_int64(st, 11, d->duration_ms);
	sqlite3_bind_int64(st, 12, d->attempted_at);
	/* A lost or resent lease's attempt is logged, but its retry is not its
	 * own. */
	sq_bind_time(st, 13, held ? d->next_attempt_at : 0);
	sq_bind_text(st, 14, d->request_body);
	sq_bind_text(st, 15, d->response_body);
	if (sq_step_done(c, st, e) < 0)
		return -1;
	if (!held && !resent)
		return STORE_NOT_FOUND;
	if (!disable_endpoint)
		return 0;
	st = sq_prep(c,
		     "UPDATE webhook_endpoints SET status = 'disabled', updated_at = ?"
		     " WHERE id = ?",
		     e);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, d->attempted_at);
	sq_bind_text(st, 2, d->endpoint_id);
	return sq_step_done(c, st, e);
}

#define DELIVERY_COLS \
	"id, partner_id, event_id, event_type, endpoint_id, url, attempt, status," \
	" response_status, error, duration_ms, attempted_at, next_attempt_at"

static void read_delivery(struct arena *a, sqlite3_stmt *st, void *item)
{
	struct webhook_delivery *d = item;
	d->id = sq_col_text(a, st, 0);
	d->partner_id = sq_col_text(a, st, 1);
	d->event_id = sq_col_text(a, st, 2);
	d->event_type = sq_col_text(a, st, 3);
	d->endpoint_id = sq_col_text(a, st, 4);
	d->url = sq_col_text(a, st, 5);
	d->attempt = (int)sq_col_i64(st, 6);
	d->status = sq_col_text(a, st, 7);
	d->response_status = (int)sq_col_i64(st, 8);
	d->error = sq_col_text(a, st, 9);
	d->duration_ms = sq_col_i64(st, 10);
	d->attempted_at = sq_col_i64(st, 11);
	d->next_attempt_at = sq_col_i64(st, 12);
}

int store_sqlite_webhook_delivery_list(struct store *s, struct arena *a, const char *partner_id,
				       const struct delivery_filter *f, const struct page *pg,
				       struct webhook_delivery **items, size_t *n,
				       bool *has_more, struct err *e)
{
	if (store_partner_required(partner_id, "delivery_list", e) < 0)
		return -1;
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	struct query q = {0};
	sq_q_text(&q, "SELECT " DELIVERY_COLS " FROM webhook_deliveries WHERE partner_id = ?",
		  partner_id);
	if (f->event_id)
		sq_q_text(&q, " AND event_id = ?", f->event_id);
	if (f->event_type)
		sq_q_text(&q, " AND event_type = ?", f->event_type);
	if (f->status)
		sq_q_text(&q, " AND status = ?", f->status);
	if (f->endpoint_id)
		sq_q_text(&q, " AND endpoint_id = ?", f->endpoint_id);
	/* A cursor must be a row of this list: one endpoint's log pages only
	 * by that endpoint's deliveries (the endpoint is the partner's). */
	return sq_run_list(c, a, &q, "seq",
			   f->endpoint_id ? "SELECT seq FROM webhook_deliveries"
					    " WHERE id = ? AND endpoint_id = ?"
					  : "SELECT seq FROM webhook_deliveries"
					    " WHERE id = ? AND partner_id = ?",
			   f->endpoint_id ? f->endpoint_id : partner_id, pg, read_delivery,
			   sizeof(**items), (void **)items, n, has_more, e);
}

/* A delivery attempt with the bodies it keeps. */
static void read_delivery_bodies(struct arena *a, sqlite3_stmt *st, void *item)
{
	struct webhook_delivery *d = item;
	read_delivery(a, st, item);
	d->request_body = sq_col_text(a, st, 13);
	d->response_body = sq_col_text(a, st, 14);
}

int store_sqlite_webhook_delivery_get(struct store *s, struct arena *a, const char *partner_id,
				      const char *endpoint_id, const char *id,
				      struct webhook_delivery *out, struct err *e)
{
	if (store_partner_required(partner_id, "delivery_get", e) < 0)
		return -1;
	return sq_get_one_by(s, a,
			     "SELECT " DELIVERY_COLS ", request_body, response_body"
			     " FROM webhook_deliveries WHERE id = ?1 AND endpoint_id = ?2"
			     " AND " SQ_BOTH_TENANTS("?3"),
			     SQ_TEXTS(id, endpoint_id, partner_id), read_delivery_bodies, out,
			     e);
}

int store_sqlite_webhook_resend(struct store *s, const char *event_id, const char *endpoint_id,
				int64_t now, struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = sq_prep(
		c,
		"INSERT INTO webhook_jobs (event_id, endpoint_id, status,"
		" next_attempt_at) VALUES (?, ?, 'pending', ?)"
		" ON CONFLICT (event_id, endpoint_id) DO UPDATE SET attempts = 0,"
		" status = 'pending', next_attempt_at = excluded.next_attempt_at,"
		" locked_by = CASE WHEN webhook_jobs.locked_by LIKE '%+resent'"
		"  THEN webhook_jobs.locked_by ELSE webhook_jobs.locked_by || '+resent' END",
		e);
	if (!st)
		return -1;
	sq_bind_text(st, 1, event_id);
	sq_bind_text(st, 2, endpoint_id);
	sqlite3_bind_int64(st, 3, now);
	return sq_step_done(c, st, e);
}

int store_sqlite_webhook_resend_failed(struct store *s, const char *endpoint_id, int64_t since,
				       int64_t now, int *resent, struct err *e)
{
	*resent = 0;
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = sq_prep(
		c,
		"UPDATE webhook_jobs SET attempts = 0, status = 'pending',"
		" next_attempt_at = ?3, locked_until = 0, locked_by = NULL"
		" WHERE endpoint_id = ?1 AND status = 'failed' AND event_id IN"
		" (SELECT event_id FROM webhook_deliveries WHERE endpoint_id = ?1"
		" AND attempted_at >= ?2)",
		e);
	if (!st)
		return -1;
	sq_bind_text(st, 1, endpoint_id);
	sqlite3_bind_int64(st, 2, since);
	sqlite3_bind_int64(st, 3, now);
	if (sq_step_done(c, st, e) < 0)
		return -1;
	*resent = sqlite3_changes(sqlite3_db_handle(st));
	return 0;
}
