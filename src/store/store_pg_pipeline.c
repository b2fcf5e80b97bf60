/* store_pg_pipeline.c - statements sent later. A write whose result nothing
 * waits for (BEGIN, a savepoint, an event, an idempotent answer) is queued
 * on the connection and goes out with the next statement that is sent, in
 * one round trip (libpq's pipeline mode), rather than in one round trip of
 * its own: a create on PostgreSQL was a dozen round trips, each a wake-up of
 * two processes. The server runs a pipeline's statements in order, so the
 * statement sent with queued writes sees what they changed. The failure of
 * a queued statement is reported by the call that sent it, which is always
 * inside the same request's savepoint: tx_release() sends what is left. */
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "store_pg.h"
#include "banned.h"

/* How many statements wait at most; one more sends them first. */
#define LATER_MAX 16

/* A queued statement: its text (a literal) and its parameters, whose values
 * are copied into the queue's bytes (the caller's are gone by the time it
 * is sent). */
struct later_stmt {
	const char *sql;
	const char *name; /* prepared as, on the connection; "": not prepared */
	int n;
	size_t off[PGS_MAX_PARAMS]; /* of each value in bytes */
	bool null[PGS_MAX_PARAMS];
	int len[PGS_MAX_PARAMS];
	int fmt[PGS_MAX_PARAMS];
};

struct pgs_later {
	struct later_stmt q[LATER_MAX];
	int n;
	char *bytes;
	size_t used, cap;
};

/* Copies len bytes to the end of the queue's bytes; returns their offset. */
static size_t bytes_add(struct pgs_later *l, const char *v, size_t len)
{
	if (l->used + len + 1 > l->cap) {
		size_t cap = l->cap ? l->cap : 4096;
		while (cap < l->used + len + 1)
			cap *= 2;
		l->bytes = realloc(l->bytes, cap);
		if (!l->bytes)
			die("out of memory");
		l->cap = cap;
	}
	size_t off = l->used;
	memcpy(l->bytes + off, v, len);
	l->bytes[off + len] = '\0';
	l->used += len + 1;
	return off;
}

/* Sends one statement into the open pipeline: prepared when c has it,
 * else with its text. Returns libpq's 1 or 0. */
static int send_one(struct pg_conn *c, const char *name, const char *sql, int n,
		    const char *const *v, const int *len, const int *fmt)
{
	if (*name)
		return PQsendQueryPrepared(c->db, name, n, v, len, fmt, 0);
	return PQsendQueryParams(c->db, sql, n, NULL, v, len, fmt, 0);
}

/* Sends the queued statement q into the open pipeline. Returns libpq's 1
 * or 0. */
static int send_later(struct pg_conn *c, const struct later_stmt *q)
{
	const char *v[PGS_MAX_PARAMS];
	for (int i = 0; i < q->n; i++)
		v[i] = q->null[i] ? NULL : c->later->bytes + q->off[i];
	return send_one(c, q->name, q->sql, q->n, v, q->len, q->fmt);
}

/* Reads the results of one statement of the pipeline: the first, or NULL
 * when there was none. */
static PGresult *result_of_one(struct pg_conn *c)
{
	PGresult *first = NULL, *r;
	while ((r = PQgetResult(c->db)) != NULL) {
		if (!first)
			first = r;
		else
			PQclear(r);
	}
	return first;
}

int pgs_later(struct pg_conn *c, const char *sql, const struct pgs_params *p, struct err *e)
{
	/* Outside a transaction nothing may wait: it might never be sent. */
	if (!c->in_tx)
		return pgs_run(c, sql, p, e);
	if (pgs_note_sent(c, sql, e) < 0)
		return -1;
	if (!c->later) {
		c->later = calloc(1, sizeof(*c->later));
		if (!c->later)
			die("out of memory");
	}
	struct pgs_later *l = c->later;
	if (l->n == LATER_MAX && pgs_flush(c, e) < 0)
		return -1;
	/* Prepared now: nothing but sending is allowed in a pipeline. */
	const char *name = pgs_stmt_prepared(c, sql, e);
	if (!name)
		return -1;
	struct later_stmt *q = &l->q[l->n];
	q->sql = sql;
	q->name = name;
	q->n = p ? p->n : 0;
	for (int i = 0; i < q->n; i++) {
		q->null[i] = p->v[i] == NULL;
		q->fmt[i] = p->fmt[i];
		size_t len = p->fmt[i] ? (size_t)p->len[i] : p->v[i] ? strlen(p->v[i]) : 0;
		q->len[i] = (int)len;
		q->off[i] = p->v[i] ? bytes_add(l, p->v[i], len) : 0;
	}
	l->n++;
	return 0;
}

void pgs_later_drop(struct pg_conn *c)
{
	if (c->later) {
		c->later->n = 0;
		c->later->used = 0;
	}
}

void pgs_later_free(struct pg_conn *c)
{
	if (c->later)
		free(c->later->bytes);
	free(c->later);
	c->later = NULL;
}

bool pgs_later_waiting(const struct pg_conn *c)
{
	return c->later && c->later->n > 0;
}

int pgs_pipeline(struct pg_conn *c, int n, const struct pgs_call *calls, PGresult **out,
		 struct err *e)
{
	if (n > PGS_CALLS_MAX)
		die("too many statements in one pipeline");
	const char *names[PGS_CALLS_MAX];
	for (int i = 0; i < n; i++) {
		out[i] = NULL;
		if (pgs_note_sent(c, calls[i].sql, e) < 0)
			return -1;
		names[i] = pgs_stmt_prepared(c, calls[i].sql, e);
		if (!names[i])
			return -1;
	}
	struct pgs_later *l = c->later;
	int queued = l ? l->n : 0;
	bool sent = PQenterPipelineMode(c->db) == 1;
	for (int i = 0; sent && i < queued; i++)
		sent = send_later(c, &l->q[i]) == 1;
	for (int i = 0; sent && i < n; i++) {
		const struct pgs_params *p = calls[i].p;
		int np = p ? p->n : 0;
		sent = send_one(c, names[i], calls[i].sql, np, np ? p->v : NULL,
				np ? p->len : NULL, np ? p->fmt : NULL) == 1;
	}
	/* The queue is the pipeline's now, whatever happens to it. */
	pgs_later_drop(c);
	if (!sent || PQpipelineSync(c->db) != 1) {
		pgs_db_error(c, NULL, e);
		PQexitPipelineMode(c->db);
		return -1;
	}
	/* Every statement's results, then the sync point. The first failure
	 * is the one reported; the statements after it did not run. */
	bool failed = false;
	for (int i = 0; i < queued + n; i++) {
		PGresult *r = result_of_one(c);
		ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
		bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
		if (!ok && !failed) {
			/* An aborted statement follows the failed one, always. */
			if (st == PGRES_PIPELINE_ABORTED)
				error(e, 500, "internal_error", NULL, "internal storage error");
			else
				pgs_db_error(c, r, e);
			failed = true;
		}
		if (ok && !failed && i >= queued)
			out[i - queued] = r;
		else
			PQclear(r);
	}
	PGresult *sync = PQgetResult(c->db);
	bool synced = sync && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
	PQclear(sync);
	if (PQexitPipelineMode(c->db) != 1 || !synced) {
		if (!failed)
			pgs_db_error(c, NULL, e);
		failed = true;
	}
	if (!failed)
		return 0;
	for (int i = 0; i < n; i++) {
		PQclear(out[i]);
		out[i] = NULL;
	}
	return -1;
}

int pgs_flush(struct pg_conn *c, struct err *e)
{
	if (!pgs_later_waiting(c))
		return 0;
	return pgs_pipeline(c, 0, NULL, NULL, e);
}
