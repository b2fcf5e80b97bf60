/* store_pg_webhooks.c - the PostgreSQL backend: webhook endpoints, the
 * delivery jobs the worker leases, and the log of attempts. */
#include <stdio.h>
#include <string.h>

#include "store_pg.h"
#include "banned.h"

#define ENDPOINT_COLS \
	"id, partner_id, url, enabled_events, status, secret, previous_secret," \
	" previous_secret_expires_at, created_at, updated_at"

static void read_endpoint(struct arena *a, const PGresult *r, int row, void *item)
{
	struct webhook_endpoint *w = item;
	w->id = pgs_col_text(a, r, row, 0);
	w->partner_id = pgs_col_text(a, r, row, 1);
	w->url = pgs_col_text(a, r, row, 2);
	w->enabled_events = pgs_col_text(a, r, row, 3);
	w->status = pgs_col_text(a, r, row, 4);
	w->secret = pgs_col_text(a, r, row, 5);
	w->previous_secret = pgs_col_text(a, r, row, 6);
	w->previous_secret_expires_at = pgs_col_i64(r, row, 7);
	w->created_at = pgs_col_i64(r, row, 8);
	w->updated_at = pgs_col_i64(r, row, 9);
}

int store_pg_webhook_endpoint_insert(struct store *s, const struct webhook_endpoint *w,
				     struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_params q = {0};
	pgs_text(&q, w->id);
	pgs_text(&q, w->partner_id);
	pgs_text(&q, w->url);
	pgs_text(&q, w->enabled_events);
	pgs_text(&q, w->status);
	pgs_text(&q, w->secret);
	pgs_text(&q, w->previous_secret);
	pgs_time(&q, w->previous_secret_expires_at);
	pgs_num(&q, w->created_at);
	pgs_num(&q, w->updated_at);
	return pgs_run(c,
		       "INSERT INTO webhook_endpoints (" ENDPOINT_COLS ")"
		       " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
		       &q, e);
}

int store_pg_webhook_endpoint_get(struct store *s, struct arena *a, const char *tenant_id,
				  const char *id, struct webhook_endpoint *out, struct err *e)
{
	if (store_partner_required(tenant_id, "endpoint_get", e) < 0)
		return -1;
	return pgs_get_one_by(s, a, PGS_LOCK_IN_WRITE,
			      "SELECT " ENDPOINT_COLS " FROM webhook_endpoints WHERE id = $1"
			      " AND partner_id = $2",
			      PGS_TEXTS(id, tenant_id), read_endpoint, out, e);
}

int store_pg_webhook_endpoint_get_any_partner(struct store *s, struct arena *a, const char *id,
					      struct webhook_endpoint *out, struct err *e)
{
	return pgs_get_one_by(s, a, PGS_LOCK_IN_WRITE,
			      "SELECT " ENDPOINT_COLS " FROM webhook_endpoints WHERE id = $1",
			      PGS_TEXTS(id), read_endpoint, out, e);
}

int store_pg_webhook_endpoint_list(struct store *s, struct arena *a, const char *tenant_id,
				   bool both_modes, const struct page *pg,
				   struct webhook_endpoint **items, size_t *n, bool *has_more,
				   struct err *e)
{
	if (store_partner_required(tenant_id, "endpoint_list", e) < 0)
		return -1;
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_query q = {0};
	pgs_q_text(&q,
		   both_modes ? "SELECT " ENDPOINT_COLS
				" FROM webhook_endpoints WHERE " PGS_BOTH_TENANTS("$1")
			      : "SELECT " ENDPOINT_COLS
				" FROM webhook_endpoints WHERE partner_id = $1",
		   tenant_id);
	return pgs_run_list(
		c, a, &q, "seq",
		both_modes
			? "SELECT seq FROM webhook_endpoints WHERE id = $1 AND " PGS_BOTH_TENANTS(
				  "$2")
			: "SELECT seq FROM webhook_endpoints WHERE id = $1 AND partner_id = $2",
		tenant_id, pg, read_endpoint, sizeof(**items), (void **)items, n, has_more, e);
}

int store_pg_webhook_endpoint_update(struct store *s, const struct webhook_endpoint *w,
				     struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_params q = {0};
	pgs_text(&q, w->url);
	pgs_text(&q, w->enabled_events);
	pgs_text(&q, w->status);
	pgs_text(&q, w->secret);
	pgs_text(&q, w->previous_secret);
	pgs_time(&q, w->previous_secret_expires_at);
	pgs_num(&q, w->updated_at);
	pgs_text(&q, w->id);
	return pgs_run(c,
		       "UPDATE webhook_endpoints SET url = $1, enabled_events = $2,"
		       " status = $3, secret = $4, previous_secret = $5,"
		       " previous_secret_expires_at = $6, updated_at = $7 WHERE id = $8",
		       &q, e);
}

static void read_job(struct arena *a, const PGresult *r, int row, void *item)
{
	struct webhook_job *j = item;
	j->event_id = pgs_col_text(a, r, row, 0);
	j->event_type = pgs_col_text(a, r, row, 1);
	j->partner_id = pgs_col_text(a, r, row, 2);
	j->payload = pgs_col_text(a, r, row, 3);
	j->endpoint_id = pgs_col_text(a, r, row, 4);
	j->url = pgs_col_text(a, r, row, 5);
	j->secret = pgs_col_text(a, r, row, 6);
	j->previous_secret = pgs_col_text(a, r, row, 7);
	j->attempts = (int)pgs_col_i64(r, row, 8);
}

int store_pg_webhook_claim(struct store *s, struct arena *a, const char *owner, int lease_s,
			   int limit, int reserve, int per_endpoint, int per_tenant,
			   struct webhook_job **items, size_t *n, struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	/* One statement, on the database's clock. Up to `fair` it is the
	 * SQLite query: only each enabled endpoint's first per_endpoint due
	 * jobs are read, from webhook_jobs_endpoint_due, so a backlog does not
	 * grow the work; each is placed by what its endpoint, then its tenant,
	 * would have leased with it, and the fewest leased go first (store.h).
	 * Ranking needs window functions, which FOR UPDATE cannot sit beside,
	 * so the fair choice is made on the statement's snapshot and `won` then
	 * locks it, skipping any row another claim (on any instance) is
	 * locking: a concurrent claim ranks the same jobs first, so it skips
	 * them rather than waiting, and a job leased and committed meanwhile
	 * fails the recheck of locked_until on its newest version. Only locked
	 * rows are updated; what the claim took comes back oldest due first. */
	struct pgs_params q = {0};
	pgs_text(&q, owner);
	pgs_num(&q, limit);
	pgs_num(&q, per_endpoint);
	pgs_num(&q, per_tenant);
	pgs_num(&q, lease_s);
	pgs_num(&q, limit - reserve);
	return pgs_get_all(
		c, a,
		"WITH clock AS (SELECT " PGS_NOW " AS now),"
		" leased AS ("
		"  SELECT j.endpoint_id, w.partner_id, count(*) AS n"
		"  FROM webhook_jobs j JOIN webhook_endpoints w ON w.id = j.endpoint_id, clock"
		"  WHERE j.status = 'pending' AND j.locked_until > clock.now"
		"  GROUP BY j.endpoint_id, w.partner_id),"
		" due AS ("
		"  SELECT j.seq, j.next_attempt_at, w.partner_id AS tenant,"
		"  row_number() OVER (PARTITION BY j.endpoint_id"
		"   ORDER BY j.next_attempt_at, j.seq) + coalesce((SELECT n FROM leased l"
		"   WHERE l.endpoint_id = j.endpoint_id), 0) AS endpoint_place"
		"  FROM webhook_endpoints w CROSS JOIN clock CROSS JOIN LATERAL ("
		"   SELECT c.seq, c.endpoint_id, c.next_attempt_at FROM webhook_jobs c"
		"   WHERE c.endpoint_id = w.id AND c.status = 'pending'"
		"   AND c.next_attempt_at <= clock.now AND c.locked_until <= clock.now"
		"   ORDER BY c.next_attempt_at, c.seq LIMIT $3) j"
		"  WHERE w.status = 'enabled'),"
		" placed AS ("
		"  SELECT d.*, row_number() OVER (PARTITION BY d.tenant"
		"   ORDER BY d.endpoint_place, d.next_attempt_at, d.seq)"
		"  + coalesce((SELECT sum(n) FROM leased l WHERE l.partner_id = d.tenant), 0)"
		"  AS tenant_place"
		"  FROM due d WHERE d.endpoint_place <= $3),"
		" fair AS ("
		"  SELECT p.seq, p.tenant_place, row_number() OVER ("
		"   ORDER BY p.tenant_place, p.endpoint_place, p.next_attempt_at, p.seq) AS pick"
		"  FROM placed p WHERE p.tenant_place <= $4),"
		" claimed AS ("
		"  UPDATE webhook_jobs j SET locked_until = clock.now + $5, locked_by = $1"
		"  FROM (SELECT c.seq FROM webhook_jobs c, clock"
		"   WHERE c.seq IN (SELECT f.seq FROM fair f WHERE f.pick <= $2"
		"    AND (f.pick <= $6 OR f.tenant_place = 1))"
		"   AND c.status = 'pending' AND c.locked_until <= clock.now"
		"   FOR UPDATE OF c SKIP LOCKED LIMIT $2) won, clock,"
		"  events ev, webhook_endpoints w"
		"  WHERE j.seq = won.seq AND ev.id = j.event_id AND w.id = j.endpoint_id"
		"  RETURNING j.seq, j.next_attempt_at, j.event_id, ev.type, ev.partner_id,"
		"  ev.payload, w.id AS endpoint_id, w.url, w.secret,"
		"  CASE WHEN w.previous_secret_expires_at > clock.now"
		"   THEN w.previous_secret END AS previous_secret, j.attempts)"
		" SELECT event_id, type, partner_id, payload, endpoint_id, url, secret,"
		" previous_secret, attempts FROM claimed ORDER BY next_attempt_at, seq",
		&q, read_job, sizeof(**items), (void **)items, n, e);
}

int store_pg_webhook_record(struct store *s, const char *owner,
			    const struct webhook_delivery *d, const char *job_status,
			    bool disable_endpoint, struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	/* The owner check: the UPDATE waits for a claim that is taking the job
	 * over, then rechecks locked_by on the row it committed. */
	struct pgs_params j = {0};
	pgs_num(&j, d->attempt);
	pgs_text(&j, job_status);
	pgs_time(&j, d->next_attempt_at);
	pgs_text(&j, d->event_id);
	pgs_text(&j, d->endpoint_id);
	pgs_text(&j, owner);
	PGresult *r = pgs_exec(
		c,
		"UPDATE webhook_jobs SET attempts = $1, status = $2,"
		" next_attempt_at = coalesce($3, next_attempt_at), locked_until = 0,"
		" locked_by = NULL"
		" WHERE event_id = $4 AND endpoint_id = $5 AND locked_by = $6",
		&j, e);
	if (!r)
		return -1;
	bool held = strcmp(PQcmdTuples(r), "1") == 0;
	PQclear(r);
	/* Resent while this attempt ran (webhook_resend): the job already
	 * starts over, so the attempt only gives its lease back. */
	bool resent = false;
	if (!held) {
		struct pgs_params l = {0};
		pgs_text(&l, d->event_id);
		pgs_text(&l, d->endpoint_id);
		pgs_text(&l, owner);
		r = pgs_exec(c,
			     "UPDATE webhook_jobs SET locked_until = 0, locked_by = NULL"
			     " WHERE event_id = $1 AND endpoint_id = $2"
			     " AND locked_by = $3 || '+resent'",
			     &l, e);
		if (!r)
			return -1;
		resent = strcmp(PQcmdTuples(r), "1") == 0;
		PQclear(r);
	}
	struct pgs_params q = {0};
	pgs_text(&q, d->id);
	pgs_text(&q, d->partner_id);
	pgs_text(&q, d->event_id);
	pgs_text(&q, d->event_type);
	pgs_text(&q, d->endpoint_id);
	pgs_text(&q, d->url);
	pgs_num(&q, d->attempt);
	pgs_text(&q, d->status);
	pgs_time(&q, d->response_status);
	pgs_text(&q, d->error);
	pgs_num(&q, d->duration_ms);
	pgs_num(&q, d->attempted_at);
	/* A lost or resent lease's attempt is logged, but its retry is not its
	 * own. */
	pgs_time(&q, held ? d->next_attempt_at : 0);
	pgs_text(&q, d->request_body);
	pgs_text(&q, d->response_body);
	if (pgs_run(c,
		    "INSERT INTO webhook_deliveries (id, partner_id, event_id, event_type,"
		    " endpoint_id, url, attempt, status, response_status, error, duration_ms,"
		    " attempted_at, next_attempt_at, request_body, response_body) VALUES ($1, $2,"
		    " $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
		    &q, e) < 0)
		return -1;
	if (!held && !resent)
		return STORE_NOT_FOUND;
	if (!disable_endpoint)
		return 0;
	struct pgs_params w = {0};
	pgs_num(&w, d->attempted_at);
	pgs_text(&w, d->endpoint_id);
	return pgs_run(c,
		       "UPDATE webhook_endpoints SET status = 'disabled', updated_at = $1"
		       " WHERE id = $2",
		       &w, e);
}

#define DELIVERY_COLS \
	"id, partner_id, event_id, event_type, endpoint_id, url, attempt, status," \
	" response_status, error, duration_ms, attempted_at, next_attempt_at"

static void read_delivery(struct arena *a, const PGresult *r, int row, void *item)
{
	struct webhook_delivery *d = item;
	d->id = pgs_col_text(a, r, row, 0);
	d->partner_id = pgs_col_text(a, r, row, 1);
	d->event_id = pgs_col_text(a, r, row, 2);
	d->event_type = pgs_col_text(a, r, row, 3);
	d->endpoint_id = pgs_col_text(a, r, row, 4);
	d->url = pgs_col_text(a, r, row, 5);
	d->attempt = (int)pgs_col_i64(r, row, 6);
	d->status = pgs_col_text(a, r, row, 7);
	d->response_status = (int)pgs_col_i64(r, row, 8);
	d->error = pgs_col_text(a, r, row, 9);
	d->duration_ms = pgs_col_i64(r, row, 10);
	d->attempted_at = pgs_col_i64(r, row, 11);
	d->next_attempt_at = pgs_col_i64(r, row, 12);
}

int store_pg_webhook_delivery_list(struct store *s, struct arena *a, const char *partner_id,
				   const struct delivery_filter *f, const struct page *pg,
				   struct webhook_delivery **items, size_t *n, bool *has_more,
				   struct err *e)
{
	if (store_partner_required(partner_id, "delivery_list", e) < 0)
		return -1;
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_query q = {0};
	pgs_q_text(&q, "SELECT " DELIVERY_COLS " FROM webhook_deliveries WHERE partner_id = ?",
		   partner_id);
	if (f->event_id)
		pgs_q_text(&q, " AND event_id = ?", f->event_id);
	if (f->event_type)
		pgs_q_text(&q, " AND event_type = ?", f->event_type);
	if (f->status)
		pgs_q_text(&q, " AND status = ?", f->status);
	if (f->endpoint_id)
		pgs_q_text(&q, " AND endpoint_id = ?", f->endpoint_id);
	/* A cursor must be a row of this list: one endpoint's log pages only
	 * by that endpoint's deliveries (the endpoint is the partner's). */
	return pgs_run_list(
		c, a, &q, "seq",
		f->endpoint_id
			? "SELECT seq FROM webhook_deliveries WHERE id = $1 AND endpoint_id = $2"
			: "SELECT seq FROM webhook_deliveries WHERE id = $1 AND partner_id = $2",
		f->endpoint_id ? f->endpoint_id : partner_id, pg, read_delivery,
		sizeof(**items), (void **)items, n, has_more, e);
}

/* A delivery attempt with the bodies it keeps. */
static void read_delivery_bodies(struct arena *a, const PGresult *r, int row, void *item)
{
	struct webhook_delivery *d = item;
	read_delivery(a, r, row, item);
	d->request_body = pgs_col_text(a, r, row, 13);
	d->response_body = pgs_col_text(a, r, row, 14);
}

int store_pg_webhook_delivery_get(struct store *s, struct arena *a, const char *partner_id,
				  const char *endpoint_id, const char *id,
				  struct webhook_delivery *out, struct err *e)
{
	if (store_partner_required(partner_id, "delivery_get", e) < 0)
		return -1;
	return pgs_get_one_by(s, a, PGS_NO_LOCK,
			      "SELECT " DELIVERY_COLS ", request_body, response_body"
			      " FROM webhook_deliveries WHERE id = $1 AND endpoint_id = $2"
			      " AND " PGS_BOTH_TENANTS("$3"),
			      PGS_TEXTS(id, endpoint_id, partner_id), read_delivery_bodies, out,
			      e);
}

int store_pg_webhook_resend(struct store *s, const char *event_id, const char *endpoint_id,
			    int64_t now, struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_params q = {0};
	pgs_text(&q, event_id);
	pgs_text(&q, endpoint_id);
	pgs_num(&q, now);
	return pgs_run(c,
		       "INSERT INTO webhook_jobs (event_id, endpoint_id, status,"
		       " next_attempt_at) VALUES ($1, $2, 'pending', $3)"
		       " ON CONFLICT (event_id, endpoint_id) DO UPDATE SET attempts = 0,"
		       " status = 'pending', next_attempt_at = excluded.next_attempt_at,"
		       " locked_by = CASE WHEN webhook_jobs.locked_by LIKE '%+resent'"
		       "  THEN webhook_jobs.locked_by"
		       "  ELSE webhook_jobs.locked_by || '+resent' END",
		       &q, e);
}

int store_pg_webhook_resend_failed(struct store *s, const char *endpoint_id, int64_t since,
				   int64_t now, int *resent, struct err *e)
{
	*resent = 0;
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_params q = {0};
	pgs_text(&q, endpoint_id);
	pgs_num(&q, since);
	pgs_num(&q, now);
	PGresult *r = pgs_exec(
		c,
		"UPDATE webhook_jobs SET attempts = 0, status = 'pending',"
		" next_attempt_at = $3, locked_until = 0, locked_by = NULL"
		" WHERE endpoint_id = $1 AND status = 'failed' AND event_id IN"
		" (SELECT event_id FROM webhook_deliveries WHERE endpoint_id = $1"
		" AND attempted_at >= $2)",
		&q, e);
	if (!r)
		return -1;
	*resent = (int)strtol(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return 0;
}
