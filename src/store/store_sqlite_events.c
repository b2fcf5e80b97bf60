/* store_sqlite_events.c - the SQLite backend: the event outbox, the events
 * partners read back (and their purge after the retention), and stored
 * idempotent responses. */
#include <stdio.h>
#include <string.h>

#include "store_sqlite.h"
#include "banned.h"

/* --- events --- */

static void read_event(struct arena *a, sqlite3_stmt *st, void *item)
{
	struct event *ev = item;
	ev->id = sq_col_text(a, st, 0);
	ev->partner_id = sq_col_text(a, st, 1);
	ev->type = sq_col_text(a, st, 2);
	ev->created_at = sq_col_i64(st, 3);
	ev->payload = sq_col_text(a, st, 4);
}

int store_sqlite_event_insert(struct store *s, const struct event *ev, struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = sq_prep(c,
				   "INSERT INTO events (id, partner_id, type, created_at,"
				   " payload) VALUES (?,?,?,?,?)",
				   e);
	if (!st)
		return -1;
	sq_bind_text(st, 1, ev->id);
	sq_bind_text(st, 2, ev->partner_id);
	sq_bind_text(st, 3, ev->type);
	sqlite3_bind_int64(st, 4, ev->created_at);
	sq_bind_text(st, 5, ev->payload);
	if (sq_step_done(c, st, e) < 0)
		return -1;
	/* The outbox: one job per endpoint that wants the event, in this transaction. */
	st = sq_prep(
		c,
		"INSERT INTO webhook_jobs (event_id, endpoint_id, status, next_attempt_at)"
		" SELECT ?1, w.id, 'pending', ?3 FROM webhook_endpoints w"
		" WHERE w.partner_id = ?2 AND w.status = 'enabled' AND EXISTS"
		" (SELECT 1 FROM json_each(w.enabled_events) j WHERE j.value IN ('*', ?4))",
		e);
	if (!st)
		return -1;
	sq_bind_text(st, 1, ev->id);
	sq_bind_text(st, 2, ev->partner_id);
	sqlite3_bind_int64(st, 3, ev->created_at);
	sq_bind_text(st, 4, ev->type);
	if (sq_step_done(c, st, e) < 0)
		return -1;
	return sqlite3_changes(c->db) > 0 ? 0 : STORE_NONE_QUEUED;
}

/* The events of both tenants of partner_id, or of every partner when
 * partner_id is NULL: the body of event_list and event_list_any_partner,
 * which alone may pass NULL. */
static int events_list(struct store *s, struct arena *a, const char *partner_id,
		       const char *type, int livemode, const struct page *pg,
		       struct event **items, size_t *n, bool *has_more, struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	struct query q = {0};
	sq_q_add(&q, "SELECT id, partner_id, type, created_at, payload FROM events WHERE 1");
	if (partner_id)
		sq_q_text(&q, " AND " SQ_BOTH_TENANTS("?1"), partner_id);
	if (type)
		sq_q_text(&q, " AND type = ?", type);
	if (livemode >= 0)
		sq_q_num(&q, " AND " SQ_TENANT_LIVE_IS, livemode);
	return sq_run_list(
		c, a, &q, "seq",
		partner_id ? "SELECT seq FROM events WHERE id = ?1 AND " SQ_BOTH_TENANTS("?2")
			   : "SELECT seq FROM events WHERE id = ?",
		partner_id, pg, read_event, sizeof(**items), (void **)items, n, has_more, e);
}

int store_sqlite_event_list(struct store *s, struct arena *a, const char *partner_id,
			    const char *type, int livemode, const struct page *pg,
			    struct event **items, size_t *n, bool *has_more, struct err *e)
{
	if (store_partner_required(partner_id, "event_list", e) < 0)
		return -1;
	return events_list(s, a, partner_id, type, livemode, pg, items, n, has_more, e);
}

int store_sqlite_event_list_any_partner(struct store *s, struct arena *a, const char *type,
					int livemode, const struct page *pg,
					struct event **items, size_t *n, bool *has_more,
					struct err *e)
{
	return events_list(s, a, NULL, type, livemode, pg, items, n, has_more, e);
}

int store_sqlite_event_list_tenant(struct store *s, struct arena *a, const char *tenant_id,
				   const struct event_filter *f, const struct page *pg,
				   struct event **items, size_t *n, bool *has_more,
				   struct err *e)
{
	if (store_partner_required(tenant_id, "event_list_tenant", e) < 0)
		return -1;
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	const char *cursor = pg->starting_after ? pg->starting_after : pg->ending_before;
	if (cursor) {
		/* An expired event has left the list, so it is no cursor either. */
		sqlite3_stmt *st = sq_prep(
			c,
			"SELECT 1 FROM events WHERE id = ? AND partner_id = ?"
			" AND created_at >= ?",
			e);
		if (!st)
			return -1;
		sq_bind_text(st, 1, cursor);
		sq_bind_text(st, 2, tenant_id);
		sqlite3_bind_int64(st, 3, f->not_before);
		int rc = sqlite3_step(st);
		sq_done(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return sq_db_error(c, rc, e);
		if (rc == SQLITE_DONE)
			return store_cursor_unknown(pg, e);
	}
	struct query q = {0};
	sq_q_text(&q,
		  "SELECT id, partner_id, type, created_at, payload FROM events"
		  " WHERE partner_id = ?",
		  tenant_id);
	/* The unary + keeps the planner on events_partner (partner_id, seq),
	 * which yields the order, instead of the purge's index on created_at. */
	sq_q_num(&q, " AND +created_at >= ?",
		 f->created_gte > f->not_before ? f->created_gte : f->not_before);
	sq_q_num(&q, " AND +created_at < ?", f->created_lt);
	if (f->type)
		sq_q_text(&q, " AND type = ?", f->type);
	/* A family comes from the catalogue: no GLOB wildcards in it. */
	if (f->family)
		sq_q_text(&q, " AND type GLOB ?", arena_printf(a, "%s*", f->family));
	return sq_run_list(
		c, a, &q, "seq", "SELECT seq FROM events WHERE id = ?1 AND partner_id = ?2",
		tenant_id, pg, read_event, sizeof(**items), (void **)items, n, has_more, e);
}

int store_sqlite_event_get(struct store *s, struct arena *a, const char *tenant_id,
			   const char *id, int64_t not_before, struct event *out, struct err *e)
{
	if (store_partner_required(tenant_id, "event_get", e) < 0)
		return -1;
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = sq_prep(
		c,
		"SELECT id, partner_id, type, created_at, payload FROM events"
		" WHERE id = ? AND partner_id = ? AND created_at >= ?",
		e);
	if (!st)
		return -1;
	sq_bind_text(st, 1, id);
	sq_bind_text(st, 2, tenant_id);
	sqlite3_bind_int64(st, 3, not_before);
	return sq_get_one(c, a, st, read_event, out, e);
}

/* Expired events whose delivery jobs are all finished (or that have none):
 * a pending job (a retry to come, an endpoint disabled for now) still needs
 * its event's payload. */
int store_sqlite_event_purge(struct store *s, int64_t before, int limit, int *purged,
			     struct err *e)
{
	/* The batch is chosen once, then its attempts, its finished jobs and
	 * the events themselves go (webhook_jobs references events), so an event
	 * never loses its delivery log without going too. */
	static const char *const steps[] = {
		"DELETE FROM temp.purge_batch",
		("INSERT INTO temp.purge_batch SELECT e.id FROM events e WHERE e.created_at < ?1"
		 " AND NOT EXISTS (SELECT 1 FROM webhook_jobs j WHERE j.event_id = e.id"
		 " AND j.status = 'pending') LIMIT ?2"),
		"DELETE FROM webhook_deliveries WHERE event_id IN temp.purge_batch",
		"DELETE FROM webhook_jobs WHERE event_id IN temp.purge_batch",
		"DELETE FROM events WHERE id IN temp.purge_batch",
	};
	*purged = 0;
	struct conn *c = sq_conn_get(s, e);
	if (!c ||
	    sq_exec(c, "CREATE TEMP TABLE IF NOT EXISTS purge_batch (id TEXT PRIMARY KEY)", e) <
		    0)
		return -1;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		sqlite3_stmt *st = sq_prep(c, steps[i], e);
		if (!st)
			return -1;
		if (sqlite3_bind_parameter_count(st) == 2) {
			sqlite3_bind_int64(st, 1, before);
			sqlite3_bind_int(st, 2, limit);
		}
		if (sq_step_done(c, st, e) < 0)
			return -1;
	}
	*purged = sqlite3_changes(c->db);
	return 0;
}

/* --- idempotency --- */

/* One writer at a time, reading from its own cache: nothing to gain. */
int store_sqlite_event_idem_prefetch(struct store *s, int n, const char *const *scopes,
				     const char *const *keys, bool *in_use, struct err *e)
{
	(void)s, (void)scopes, (void)keys, (void)e;
	for (int i = 0; i < n; i++)
		in_use[i] = false;
	return 0;
}

int store_sqlite_event_idem_get(struct store *s, struct arena *a, const char *scope,
				const char *key, struct idem_record *out, struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = sq_prep(
		c,
		"SELECT fingerprint, status, body, created_at FROM idempotency"
		" WHERE scope = ? AND key = ?",
		e);
	if (!st)
		return -1;
	sq_bind_text(st, 1, scope);
	sq_bind_text(st, 2, key);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->fingerprint = sq_col_text(a, st, 0);
		out->status = (int)sq_col_i64(st, 1);
		out->body_len = (size_t)sqlite3_column_bytes(st, 2);
		out->body = arena_strndup(a, sqlite3_column_blob(st, 2), out->body_len);
		out->created_at = sq_col_i64(st, 3);
	}
	sq_done(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? STORE_NOT_FOUND : sq_db_error(c, rc, e);
}

int store_sqlite_event_idem_put(struct store *s, const char *scope, const char *key,
				const struct idem_record *r, int64_t now, struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = sq_prep(
		c,
		"INSERT OR REPLACE INTO idempotency (scope, key,"
		" fingerprint, status, body, created_at) VALUES (?,?,?,?,?,?)",
		e);
	if (!st)
		return -1;
	sq_bind_text(st, 1, scope);
	sq_bind_text(st, 2, key);
	sq_bind_text(st, 3, r->fingerprint);
	sqlite3_bind_int(st, 4, r->status);
	sqlite3_bind_blob(st, 5, r->body, (int)r->body_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, now);
	return sq_step_done(c, st, e);
}

int store_sqlite_event_idem_purge(struct store *s, int64_t before, struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	/* Records append in rowid order, so the expired ones are a prefix: every
	 * row before the first one created at or after `before`. Finding it reads
	 * only rows that go anyway; rows out of time order (a clock stepped back)
	 * stay until a later purge. */
	sqlite3_stmt *st = sq_prep(c,
				   "DELETE FROM idempotency WHERE id < coalesce("
				   "(SELECT id FROM idempotency WHERE created_at >= ?1"
				   " ORDER BY id LIMIT 1),"
				   " (SELECT max(id) + 1 FROM idempotency))",
				   e);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, before);
	return sq_step_done(c, st, e);
}
