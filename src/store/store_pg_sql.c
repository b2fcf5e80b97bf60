/* store_pg_sql.c - the PostgreSQL backend's thin SQL layer, shared by every
 * store_pg*.c file: per-thread libpq connections, bound parameters, error
 * mapping, reading helpers and paged list queries. It calls nothing of the
 * files above it. */
#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_pg.h"
#include "banned.h"

/* --- parameters --- */

/* Reserves the next parameter slot; too many is a programming error. */
static int param_next(struct pgs_params *p)
{
	if (p->n == PGS_MAX_PARAMS)
		die("too many SQL parameters");
	return p->n++;
}

void pgs_text(struct pgs_params *p, const char *v)
{
	int i = param_next(p);
	p->v[i] = v;
	p->len[i] = 0;
	p->fmt[i] = 0;
}

void pgs_num(struct pgs_params *p, int64_t v)
{
	int i = param_next(p);
	snprintf(p->num[i], sizeof(p->num[i]), "%" PRId64, v);
	p->v[i] = p->num[i];
	p->len[i] = 0;
	p->fmt[i] = 0;
}

void pgs_time(struct pgs_params *p, int64_t v)
{
	if (v)
		pgs_num(p, v);
	else
		pgs_text(p, NULL);
}

void pgs_bytes(struct pgs_params *p, const char *v, size_t len)
{
	int i = param_next(p);
	p->v[i] = v ? v : "";
	p->len[i] = (int)len;
	p->fmt[i] = 1;
}

/* --- connections --- */

/* Forgets the statements prepared on c's session (gone with it). */
static void stmts_forget(struct pg_conn *c)
{
	for (int i = 0; i < c->nstmts; i++)
		free(c->stmts[i].sql);
	c->nstmts = 0;
}

/* Sets what every session of the backend runs with: a commit is durable
 * when it returns (the server's default, made sure of here); warnings and
 * worse only. And bounds on what another instance can hold up: a lock
 * waited for longer than PGS_LOCK_TIMEOUT fails the statement (SQLSTATE
 * 55P03, answered 503 with Retry-After) instead of holding this instance's
 * writer, and every other tenant's writes with it, for as long as the lock
 * lasts; a session of this server left idle inside a transaction (its
 * process stopped, its host paused) is ended by PostgreSQL after
 * PGS_IDLE_IN_TX_TIMEOUT, which frees its locks; the server's keepalives
 * find a peer that is gone from the network. Returns 0 or -1. */
static int session_setup(struct pg_conn *c, struct err *e)
{
	if (pgs_run(c, "SET synchronous_commit TO on", NULL, e) < 0 ||
	    pgs_run(c, "SET client_min_messages TO warning", NULL, e) < 0 ||
	    pgs_run(c, "SET lock_timeout TO '" PGS_LOCK_TIMEOUT "'", NULL, e) < 0 ||
	    pgs_run(c,
		    "SET idle_in_transaction_session_timeout TO '" PGS_IDLE_IN_TX_TIMEOUT "'",
		    NULL, e) < 0 ||
	    pgs_run(c, "SET tcp_keepalives_idle TO 30", NULL, e) < 0 ||
	    pgs_run(c, "SET tcp_keepalives_interval TO 10", NULL, e) < 0 ||
	    pgs_run(c, "SET tcp_keepalives_count TO 3", NULL, e) < 0)
		return -1;
	static const char *const tx[] = {PGS_BEGIN,   PGS_BEGIN_READ,  PGS_SAVEPOINT,
					 PGS_RELEASE, PGS_ROLLBACK_TO, PGS_COMMIT,
					 PGS_ROLLBACK};
	for (size_t i = 0; i < sizeof(tx) / sizeof(tx[0]); i++)
		if (!pgs_stmt_prepared(c, tx[i], e))
			return -1;
	return 0;
}

/* A notice (a server's NOTICE or WARNING, or libpq's own, such as a
 * pipeline it cannot leave once the session ended) goes to stderr like
 * the server's other messages, with their prefix; libpq's default prints
 * it bare. */
static void on_notice(void *arg, const char *message)
{
	(void)arg;
	fprintf(stderr, "innbocks: postgres: %s", message);
}

/* Logs libpq's message (which ends in a newline) after what, at most once a
 * second per l: while the database is down every request fails. */
static void log_pg(struct log_limit *l, const char *what, const char *message)
{
	size_t n = strlen(message);
	while (n && message[n - 1] == '\n')
		n--;
	log_limited(l, "%s: %.*s", what, (int)n, message);
}

/* libpq's reason goes to stderr only: it names the database's host, port or
 * socket, which are not the business of whoever sent the request. */
static int unreachable(struct err *e, const char *why)
{
	static struct log_limit lines;
	log_pg(&lines, "cannot reach PostgreSQL", why);
	return error(e, 503, "unavailable", NULL, "storage is unreachable, retry shortly");
}

static struct pg_conn *conn_open(struct pg_store *ps, struct err *e)
{
	struct pg_conn *c = calloc(1, sizeof(*c));
	if (!c)
		die("out of memory");
	c->store = ps;
	c->db = PQconnectdb(ps->conninfo);
	if (c->db)
		PQsetNoticeProcessor(c->db, on_notice, NULL); /* kept by PQreset() */
	if (!c->db || PQstatus(c->db) != CONNECTION_OK) {
		unreachable(e, c->db ? PQerrorMessage(c->db) : "out of memory");
		pgs_conn_close(c);
		return NULL;
	}
	if (session_setup(c, e) < 0) {
		pgs_conn_close(c);
		return NULL;
	}
	return c;
}

void pgs_conn_close(struct pg_conn *c)
{
	if (c->db)
		PQfinish(c->db);
	stmts_forget(c);
	store_pg_event_idem_ahead_forget(c);
	free(c);
}

void pgs_conn_lost(struct pg_conn *c)
{
	c->lost = true;
	atomic_store(&c->store->writable, false);
}

int pgs_conn_reopen(struct pg_conn *c, struct err *e)
{
	PQreset(c->db);
	c->lost = false;
	stmts_forget(c); /* a new session has prepared nothing */
	pgs_later_drop(c);
	if (PQstatus(c->db) != CONNECTION_OK)
		return unreachable(e, PQerrorMessage(c->db));
	return session_setup(c, e);
}

struct pg_conn *pgs_conn_get(struct store *s, struct err *e)
{
	struct pg_store *ps = (struct pg_store *)s;
	struct pg_conn *c = pthread_getspecific(ps->key);
	if (c) {
		/* A connection lost between transactions is reopened; inside one
		 * the transaction is gone, and the caller's statement reports it. */
		if ((PQstatus(c->db) == CONNECTION_BAD || c->lost) && !c->in_tx &&
		    pgs_conn_reopen(c, e) < 0)
			return NULL;
		return c;
	}
	c = conn_open(ps, e);
	if (!c)
		return NULL;
	pthread_mutex_lock(&ps->mu);
	c->next = ps->conns;
	ps->conns = c;
	pthread_mutex_unlock(&ps->mu);
	pthread_setspecific(ps->key, c);
	return c;
}

/* --- statements --- */

/* Fills e from a failed result (r may be NULL: no answer at all): the
 * storage results SQLite's backend gives for the same faults, and for a
 * unique violation a client can cause the answer the handler gives when it
 * sees the conflict itself (store_conflict()). */
void pgs_db_error(struct pg_conn *c, const PGresult *r, struct err *e)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(c->db);
	if (PQstatus(c->db) == CONNECTION_BAD || !state || strncmp(state, "08", 2) == 0 ||
	    strncmp(state, "57P", 3) == 0 || strncmp(state, "53", 2) == 0 ||
	    strcmp(state, "25P03") == 0) {
		/* The server is gone, shutting down or out of resources, or it
		 * ended this session (terminated, idle in a transaction too long). */
		static struct log_limit lost;
		pgs_conn_lost(c);
		log_pg(&lost, "postgres", msg);
		error(e, 503, "unavailable", NULL, "storage is unreachable, retry shortly");
		return;
	}
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0) {
		/* Serialization failure, deadlock: this transaction lost to a
		 * concurrent one and is aborted; run again, it may well pass
		 * (store_tx_write()). A savepoint rolled back to does not make
		 * it commit: the request it was part of already failed. */
		store_retry_error(e);
		if (c->in_tx)
			c->conflict = true;
		return;
	}
	bool lock_timeout = strcmp(state, "55P03") == 0;
	if (lock_timeout && c->in_tx)
		c->waited_out = true;
	if (c->in_tx && c->optimistic && c->skipped_savepoint) {
		/* No savepoint to go back to: the transaction runs again with
		 * them, where this failure will be its request's alone (and a
		 * lock it waited out is waited for briefly: struct pg_conn). */
		store_retry_error(e);
		c->conflict = true;
		c->safe_next = true;
		return;
	}
	if (lock_timeout || strcmp(state, "57014") == 0) {
		/* Lock not available (a lock timeout), or the statement canceled
		 * (pg_cancel_backend(), a statement_timeout set on the role):
		 * busy, for the client to retry. */
		error(e, 503, "unavailable", NULL, "storage is busy, retry shortly");
		return;
	}
	/* A unique value another transaction (on any instance) took between
	 * the handler's check and this write: the handler's own 409. */
	if (strcmp(state, "23505") == 0 &&
	    store_conflict(PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME), e) < 0)
		return;
	static struct log_limit internal;
	char what[40];
	snprintf(what, sizeof(what), "postgres error %s", state);
	log_pg(&internal, what, msg);
	error(e, 500, "internal_error", NULL, "internal storage error");
}

const char *pgs_stmt_cached(const struct pg_conn *c, const char *sql)
{
	uint64_t h = text_hash(TEXT_HASH_START, sql);
	for (int i = 0; i < c->nstmts; i++)
		if (c->stmts[i].hash == h && strcmp(c->stmts[i].sql, sql) == 0)
			return c->stmts[i].name;
	return c->nstmts == PGS_STMT_CACHE ? "" : NULL;
}

/* The server infers the parameters' types, as for PQexecParams. */
const char *pgs_stmt_prepared(struct pg_conn *c, const char *sql, struct err *e)
{
	const char *cached = pgs_stmt_cached(c, sql);
	if (cached)
		return cached;
	uint64_t h = text_hash(TEXT_HASH_START, sql);
	struct pgs_stmt *st = &c->stmts[c->nstmts];
	snprintf(st->name, sizeof(st->name), "s%d", c->nstmts + 1);
	PGresult *r = PQprepare(c->db, st->name, sql, 0, NULL);
	if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
		pgs_db_error(c, r, e);
		PQclear(r);
		return NULL;
	}
	PQclear(r);
	st->hash = h;
	st->sql = strdup(sql);
	if (!st->sql)
		die("out of memory");
	c->nstmts++;
	return st->name;
}

int pgs_note_sent(struct pg_conn *c, const char *sql, struct err *e)
{
	if (!c->in_tx)
		return 0;
	if (c->lost) {
		/* The session ended inside the transaction: nothing more reaches
		 * it, and nothing left of a broken pipeline is read as an answer. */
		return error(e, 503, "unavailable", NULL,
			     "storage is unreachable, retry shortly");
	}
	if (c->optimistic && c->conflict) {
		/* The run is over (pgs_db_error(), pg_tx_undo()): its commit
		 * will fail, so nothing more goes to the server. */
		return store_retry_error(e);
	}
	if (strncmp(sql, "SELECT ", 7) != 0)
		c->wrote = true;
	return 0;
}

PGresult *pgs_exec(struct pg_conn *c, const char *sql, const struct pgs_params *p,
		   struct err *e)
{
	if (pgs_note_sent(c, sql, e) < 0)
		return NULL;
	if (pgs_later_waiting(c)) {
		PGresult *r;
		struct pgs_call call = {sql, p};
		return pgs_pipeline(c, 1, &call, &r, e) == 0 ? r : NULL;
	}
	const char *name = pgs_stmt_prepared(c, sql, e);
	if (!name)
		return NULL;
	int n = p ? p->n : 0;
	const char *const *v = n ? p->v : NULL;
	const int *len = n ? p->len : NULL, *fmt = n ? p->fmt : NULL;
	PGresult *r = *name ? PQexecPrepared(c->db, name, n, v, len, fmt, 0)
			    : PQexecParams(c->db, sql, n, NULL, v, len, fmt, 0);
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	pgs_db_error(c, r, e);
	PQclear(r);
	return NULL;
}

int pgs_run(struct pg_conn *c, const char *sql, const struct pgs_params *p, struct err *e)
{
	PGresult *r = pgs_exec(c, sql, p, e);
	if (!r)
		return -1;
	PQclear(r);
	return 0;
}

char *pgs_col_text(struct arena *a, const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return NULL;
	return arena_strndup(a, PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col));
}

int64_t pgs_col_i64(const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return 0;
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

int pgs_get_one(struct pg_conn *c, struct arena *a, const char *sql, const struct pgs_params *p,
		pgs_row_reader *read, void *item, struct err *e)
{
	PGresult *r = pgs_exec(c, sql, p, e);
	if (!r)
		return -1;
	int rc = PQntuples(r) > 0 ? 0 : STORE_NOT_FOUND;
	if (rc == 0)
		read(a, r, 0, item);
	PQclear(r);
	return rc;
}

int pgs_exists(struct pg_conn *c, const char *sql, const struct pgs_params *p, struct err *e)
{
	PGresult *r = pgs_exec(c, sql, p, e);
	if (!r)
		return -1;
	int rc = PQntuples(r) > 0 ? 0 : STORE_NOT_FOUND;
	PQclear(r);
	return rc;
}

int pgs_get_all(struct pg_conn *c, struct arena *a, const char *sql, const struct pgs_params *p,
		pgs_row_reader *read, size_t item_size, void **items, size_t *n, struct err *e)
{
	PGresult *r = pgs_exec(c, sql, p, e);
	if (!r)
		return -1;
	size_t count = (size_t)PQntuples(r);
	char *buf = arena_alloc(a, (count ? count : 1) * item_size);
	for (size_t i = 0; i < count; i++)
		read(a, r, (int)i, buf + item_size * i);
	PQclear(r);
	*items = buf;
	*n = count;
	return 0;
}

/* --- list queries --- */

void pgs_q_add(struct pgs_query *q, const char *fragment)
{
	for (const char *f = fragment; *f; f++) {
		char buf[16];
		size_t l = 1;
		if (*f == '?')
			l = (size_t)snprintf(buf, sizeof(buf), "$%d", q->p.n + 1);
		else
			buf[0] = *f;
		if (q->len + l >= sizeof(q->sql))
			die("query too long");
		memcpy(q->sql + q->len, buf, l);
		q->len += l;
	}
	q->sql[q->len] = '\0';
}

void pgs_q_text(struct pgs_query *q, const char *fragment, const char *v)
{
	pgs_q_add(q, fragment);
	pgs_text(&q->p, v);
}

void pgs_q_num(struct pgs_query *q, const char *fragment, int64_t v)
{
	pgs_q_add(q, fragment);
	pgs_num(&q->p, v);
}

int pgs_run_list(struct pg_conn *c, struct arena *a, struct pgs_query *q, const char *seq_col,
		 const char *cursor_sql, const char *scope, const struct page *pg,
		 pgs_row_reader *read, size_t item_size, void **items, size_t *n,
		 bool *has_more, struct err *e)
{
	const char *cursor = pg->starting_after ? pg->starting_after : pg->ending_before;
	bool backwards = pg->ending_before != NULL;
	if (cursor) {
		struct pgs_params cp = {0};
		pgs_text(&cp, cursor);
		if (scope)
			pgs_text(&cp, scope);
		PGresult *r = pgs_exec(c, cursor_sql, &cp, e);
		if (!r)
			return -1;
		bool found = PQntuples(r) > 0;
		int64_t seq = found ? pgs_col_i64(r, 0, 0) : 0;
		PQclear(r);
		if (!found)
			return store_cursor_unknown(pg, e);
		char frag[64];
		snprintf(frag, sizeof(frag), " AND %s %s ?", seq_col, backwards ? ">" : "<");
		pgs_q_num(q, frag, seq);
	}
	char order[64];
	snprintf(order, sizeof(order), " ORDER BY %s %s LIMIT ?", seq_col,
		 backwards ? "ASC" : "DESC");
	pgs_q_num(q, order, pg->limit + 1);

	PGresult *r = pgs_exec(c, q->sql, &q->p, e);
	if (!r)
		return -1;
	size_t count = (size_t)PQntuples(r);
	*has_more = count > (size_t)pg->limit;
	if (*has_more)
		count = (size_t)pg->limit;
	char *buf = arena_alloc(a, item_size * (size_t)(pg->limit + 1));
	for (size_t i = 0; i < count; i++) {
		/* Fetched oldest first from the cursor when backwards: present
		 * newest first. */
		size_t at = backwards ? count - 1 - i : i;
		read(a, r, (int)i, buf + item_size * at);
	}
	PQclear(r);
	*items = buf;
	*n = count;
	return 0;
}

int pgs_get_one_by(struct store *s, struct arena *a, enum pgs_lock lock, const char *sql,
		   const char *const *v, int n, pgs_row_reader *read, void *item, struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	/* One text per statement and lock, each prepared once. */
	char locked[2048];
	if (lock == PGS_LOCK_IN_WRITE && c->write_tx) {
		if ((size_t)snprintf(locked, sizeof(locked), "%s FOR NO KEY UPDATE", sql) >=
		    sizeof(locked))
			die("query too long");
		sql = locked;
	}
	struct pgs_params q = {0};
	for (int i = 0; i < n; i++)
		pgs_text(&q, v[i]);
	return pgs_get_one(c, a, sql, &q, read, item, e);
}
