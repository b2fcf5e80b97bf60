/* store_pg_events.c - the PostgreSQL backend: the event outbox, the events
 * partners read back (and their purge after the retention), and stored
 * idempotent responses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idem.h"
#include "store_pg.h"
#include "banned.h"

/* --- events --- */

#define EVENT_COLS "id, partner_id, type, created_at, payload"

static void read_event(struct arena *a, const PGresult *r, int row, void *item)
{
	struct event *ev = item;
	ev->id = pgs_col_text(a, r, row, 0);
	ev->partner_id = pgs_col_text(a, r, row, 1);
	ev->type = pgs_col_text(a, r, row, 2);
	ev->created_at = pgs_col_i64(r, row, 3);
	ev->payload = pgs_col_text(a, r, row, 4);
}

int store_pg_event_insert(struct store *s, const struct event *ev, struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_params q = {0};
	pgs_text(&q, ev->id);
	pgs_text(&q, ev->partner_id);
	pgs_text(&q, ev->type);
	pgs_num(&q, ev->created_at);
	pgs_text(&q, ev->payload);
	/* The event and its outbox, one job per endpoint that wants it, in
	 * one statement (the jobs' foreign key is checked at its end, when the
	 * event is there), sent without waiting (pgs_later()). No NOTIFY: it
	 * serializes commits. */
	return pgs_later(
		c,
		"WITH event AS (INSERT INTO events (" EVENT_COLS ")"
		" VALUES ($1, $2, $3, $4, $5))"
		" INSERT INTO webhook_jobs (event_id, endpoint_id, status,"
		" next_attempt_at) SELECT $1::text, w.id, 'pending', $4::bigint"
		" FROM webhook_endpoints w WHERE w.partner_id = $2 AND w.status = 'enabled'"
		" AND EXISTS (SELECT 1 FROM jsonb_array_elements_text("
		"w.enabled_events::jsonb) j(v) WHERE j.v IN ('*', $3::text))",
		&q, e);
}

/* The events of both tenants of partner_id, or of every partner when
 * partner_id is NULL: the body of event_list and event_list_any_partner,
 * which alone may pass NULL. */
static int events_list(struct store *s, struct arena *a, const char *partner_id,
		       const char *type, int livemode, const struct page *pg,
		       struct event **items, size_t *n, bool *has_more, struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_query q = {0};
	pgs_q_add(&q, "SELECT " EVENT_COLS " FROM events WHERE true");
	if (partner_id)
		pgs_q_text(&q, " AND " PGS_BOTH_TENANTS("$1"), partner_id);
	if (type)
		pgs_q_text(&q, " AND type = ?", type);
	if (livemode >= 0)
		pgs_q_num(&q, " AND " PGS_TENANT_LIVE_IS, livemode);
	return pgs_run_list(
		c, a, &q, "seq",
		partner_id ? "SELECT seq FROM events WHERE id = $1 AND " PGS_BOTH_TENANTS("$2")
			   : "SELECT seq FROM events WHERE id = $1",
		partner_id, pg, read_event, sizeof(**items), (void **)items, n, has_more, e);
}

int store_pg_event_list(struct store *s, struct arena *a, const char *partner_id,
			const char *type, int livemode, const struct page *pg,
			struct event **items, size_t *n, bool *has_more, struct err *e)
{
	if (store_partner_required(partner_id, "event_list", e) < 0)
		return -1;
	return events_list(s, a, partner_id, type, livemode, pg, items, n, has_more, e);
}

int store_pg_event_list_any_partner(struct store *s, struct arena *a, const char *type,
				    int livemode, const struct page *pg, struct event **items,
				    size_t *n, bool *has_more, struct err *e)
{
	return events_list(s, a, NULL, type, livemode, pg, items, n, has_more, e);
}

int store_pg_event_list_tenant(struct store *s, struct arena *a, const char *tenant_id,
			       const struct event_filter *f, const struct page *pg,
			       struct event **items, size_t *n, bool *has_more, struct err *e)
{
	if (store_partner_required(tenant_id, "event_list_tenant", e) < 0)
		return -1;
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	const char *cursor = pg->starting_after ? pg->starting_after : pg->ending_before;
	if (cursor) {
		/* An expired event has left the list, so it is no cursor either. */
		struct pgs_params p = {0};
		pgs_text(&p, cursor);
		pgs_text(&p, tenant_id);
		pgs_num(&p, f->not_before);
		int rc = pgs_exists(c,
				    "SELECT 1 FROM events WHERE id = $1 AND partner_id = $2"
				    " AND created_at >= $3",
				    &p, e);
		if (rc < 0)
			return -1;
		if (rc == STORE_NOT_FOUND)
			return store_cursor_unknown(pg, e);
	}
	struct pgs_query q = {0};
	pgs_q_text(&q, "SELECT " EVENT_COLS " FROM events WHERE partner_id = ?", tenant_id);
	pgs_q_num(&q, " AND created_at >= ?",
		  f->created_gte > f->not_before ? f->created_gte : f->not_before);
	pgs_q_num(&q, " AND created_at < ?", f->created_lt);
	if (f->type)
		pgs_q_text(&q, " AND type = ?", f->type);
	if (f->family)
		pgs_q_text(&q, " AND starts_with(type, ?::text)", f->family);
	return pgs_run_list(
		c, a, &q, "seq", "SELECT seq FROM events WHERE id = $1 AND partner_id = $2",
		tenant_id, pg, read_event, sizeof(**items), (void **)items, n, has_more, e);
}

int store_pg_event_get(struct store *s, struct arena *a, const char *tenant_id, const char *id,
		       int64_t not_before, struct event *out, struct err *e)
{
	if (store_partner_required(tenant_id, "event_get", e) < 0)
		return -1;
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_params q = {0};
	pgs_text(&q, id);
	pgs_text(&q, tenant_id);
	pgs_num(&q, not_before);
	return pgs_get_one(c, a,
			   "SELECT " EVENT_COLS " FROM events"
			   " WHERE id = $1 AND partner_id = $2 AND created_at >= $3",
			   &q, read_event, out, e);
}

int store_pg_event_purge(struct store *s, int64_t before, int limit, int *purged, struct err *e)
{
	/* One statement: the batch (expired events whose delivery jobs are all
	 * finished, or that have none: a pending job still needs its event's
	 * payload) is chosen once, and its attempts, jobs and events go
	 * together; the foreign keys are checked at the statement's end. */
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_params q = {0};
	pgs_num(&q, before);
	pgs_num(&q, limit);
	PGresult *r = pgs_exec(
		c,
		"WITH batch AS (SELECT e.id FROM events e WHERE e.created_at < $1 AND NOT EXISTS"
		"  (SELECT 1 FROM webhook_jobs j WHERE j.event_id = e.id AND j.status = 'pending')"
		"  LIMIT $2),"
		" attempts AS (DELETE FROM webhook_deliveries WHERE event_id IN"
		"  (SELECT id FROM batch)),"
		" jobs AS (DELETE FROM webhook_jobs WHERE event_id IN (SELECT id FROM batch))"
		" DELETE FROM events WHERE id IN (SELECT id FROM batch)",
		&q, e);
	if (!r)
		return -1;
	*purged = (int)strtol(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return 0;
}

/* --- idempotency --- */

/* The first request with a key holds this lock until it commits, with its
 * effects and its stored answer: a concurrent duplicate (on any instance)
 * is told so at once, and a later one finds the answer. The read goes in
 * the same round trip: the server runs it after the lock is taken, with a
 * snapshot of its own. */
#define IDEM_LOCK \
	"SELECT pg_try_advisory_xact_lock(" \
	"hashtextextended($1::text || chr(10) || $2::text, 0))"
#define IDEM_READ \
	"SELECT fingerprint, status, body, created_at FROM idempotency" \
	" WHERE scope = $1 AND key = $2"

/* A key read ahead (idem_prefetch): the results of its two statements,
 * NULL once idem_get() took them. */
struct pgs_idem_ahead {
	const char *scope, *key;
	PGresult *lock, *row;
};

void store_pg_event_idem_ahead_forget(struct pg_conn *c)
{
	for (int i = 0; i < c->nahead; i++) {
		PQclear(c->ahead[i].lock);
		PQclear(c->ahead[i].row);
	}
	free(c->ahead);
	c->ahead = NULL;
	c->nahead = 0;
}

/* Whether a claim's result (IDEM_LOCK) says another transaction holds the key. */
static bool idem_held_elsewhere(const PGresult *lock)
{
	return !(PQntuples(lock) == 1 && strcmp(PQgetvalue(lock, 0, 0), "t") == 0);
}

int store_pg_event_idem_prefetch(struct store *s, int n, const char *const *scopes,
				 const char *const *keys, bool *in_use, struct err *e)
{
	for (int i = 0; i < n; i++)
		in_use[i] = false;
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	store_pg_event_idem_ahead_forget(c);
	if (n == 0)
		return 0;
	struct pgs_idem_ahead *ahead = calloc((size_t)n, sizeof(*ahead));
	struct pgs_params *q = calloc((size_t)n, sizeof(*q));
	struct pgs_call *calls = calloc(2 * (size_t)n, sizeof(*calls));
	PGresult **res = calloc(2 * (size_t)n, sizeof(*res));
	if (!ahead || !q || !calls || !res)
		die("out of memory");
	int m = 0;
	int *read_as = calloc((size_t)n, sizeof(*read_as)); /* pair i is ahead[read_as[i]] */
	if (!read_as)
		die("out of memory");
	for (int i = 0; i < n; i++) {
		int seen = -1; /* the pair given before, read once */
		for (int j = 0; j < m && seen < 0; j++)
			if (strcmp(ahead[j].scope, scopes[i]) == 0 &&
			    strcmp(ahead[j].key, keys[i]) == 0)
				seen = j;
		if (seen >= 0) {
			read_as[i] = seen;
			continue;
		}
		read_as[i] = m;
		ahead[m] = (struct pgs_idem_ahead){.scope = scopes[i], .key = keys[i]};
		pgs_text(&q[m], scopes[i]);
		pgs_text(&q[m], keys[i]);
		calls[2 * m] = (struct pgs_call){IDEM_LOCK, &q[m]};
		calls[2 * m + 1] = (struct pgs_call){IDEM_READ, &q[m]};
		m++;
	}
	int rc = pgs_pipeline(c, 2 * m, calls, res, e);
	if (rc == 0) {
		for (int j = 0; j < m; j++) {
			ahead[j].lock = res[2 * j];
			ahead[j].row = res[2 * j + 1];
		}
		for (int i = 0; i < n; i++)
			in_use[i] = idem_held_elsewhere(ahead[read_as[i]].lock);
		c->ahead = ahead;
		c->nahead = m;
	} else {
		free(ahead);
	}
	free(read_as);
	free(q);
	free(calls);
	free(res);
	return rc;
}

/* The answer of idem_get() from its two results (cleared here). */
static int idem_answer(struct arena *a, PGresult *lock, PGresult *r, struct idem_record *out,
		       struct err *e)
{
	bool elsewhere = idem_held_elsewhere(lock);
	PQclear(lock);
	if (elsewhere) {
		PQclear(r);
		return idem_in_use(e);
	}
	if (PQntuples(r) == 0) {
		PQclear(r);
		return STORE_NOT_FOUND;
	}
	out->fingerprint = pgs_col_text(a, r, 0, 0);
	out->status = (int)pgs_col_i64(r, 0, 1);
	out->created_at = pgs_col_i64(r, 0, 3);
	/* bytea comes back in its text (hex) form. */
	size_t len = 0;
	unsigned char *body = PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, 2), &len);
	PQclear(r);
	if (!body)
		die("out of memory");
	out->body_len = len;
	out->body = arena_strndup(a, (const char *)body, len);
	PQfreemem(body);
	return 0;
}

int store_pg_event_idem_get(struct store *s, struct arena *a, const char *scope,
			    const char *key, struct idem_record *out, struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	for (int i = 0; i < c->nahead; i++) {
		struct pgs_idem_ahead *ah = &c->ahead[i];
		if (ah->lock && strcmp(ah->scope, scope) == 0 && strcmp(ah->key, key) == 0) {
			PGresult *lock = ah->lock, *r = ah->row;
			ah->lock = ah->row = NULL;
			return idem_answer(a, lock, r, out, e);
		}
	}
	struct pgs_params q = {0};
	pgs_text(&q, scope);
	pgs_text(&q, key);
	struct pgs_call calls[2] = {{IDEM_LOCK, &q}, {IDEM_READ, &q}};
	PGresult *res[2];
	if (pgs_pipeline(c, 2, calls, res, e) < 0)
		return -1;
	return idem_answer(a, res[0], res[1], out, e);
}

int store_pg_event_idem_put(struct store *s, const char *scope, const char *key,
			    const struct idem_record *r, int64_t now, struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_params q = {0};
	pgs_text(&q, scope);
	pgs_text(&q, key);
	pgs_text(&q, r->fingerprint);
	pgs_num(&q, r->status);
	pgs_bytes(&q, r->body, r->body_len);
	pgs_num(&q, now);
	/* Sent with the savepoint's release (it returns nothing to wait for). */
	return pgs_later(
		c,
		"INSERT INTO idempotency (scope, key, fingerprint, status, body,"
		" created_at) VALUES ($1, $2, $3, $4, $5, $6)"
		" ON CONFLICT (scope, key) DO UPDATE SET fingerprint = excluded.fingerprint,"
		" status = excluded.status, body = excluded.body,"
		" created_at = excluded.created_at",
		&q, e);
}

int store_pg_event_idem_purge(struct store *s, int64_t before, struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	/* As on SQLite: records append in id order, so the expired ones are the
	 * ids before the first one created at or after `before`. */
	struct pgs_params q = {0};
	pgs_num(&q, before);
	return pgs_run(
		c,
		"DELETE FROM idempotency WHERE id < coalesce("
		"(SELECT id FROM idempotency WHERE created_at >= $1 ORDER BY id LIMIT 1),"
		" (SELECT max(id) + 1 FROM idempotency))",
		&q, e);
}
