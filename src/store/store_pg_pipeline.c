/* store_pg_pipeline.c - statements whose result nothing waits for. Inside a
 * transaction a write that returns nothing to look at (BEGIN, a savepoint,
 * an event, an idempotent answer) is sent at once into the connection's
 * pipeline (libpq's pipeline mode), and its result is read with the next
 * statement that waits for one, in that statement's round trip: a create on
 * PostgreSQL was a dozen round trips, each a wake-up of two processes. The
 * server runs them as they come while this thread goes on with the next
 * request, and in order, so the statement that waits sees what they
 * changed. The failure of a statement sent so is reported by the call that
 * reads its result, which is always inside the same request's savepoint:
 * tx_release() reads what is left. */
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "store_pg.h"
#include "banned.h"

/* Sends one statement into the open pipeline: prepared when c has it,
 * else with its text. Returns libpq's 1 or 0. */
static int send_one(struct pg_conn *c, const char *name, const char *sql,
		    const struct pgs_params *p)
{
	int n = p ? p->n : 0;
	const char *const *v = n ? p->v : NULL;
	const int *len = n ? p->len : NULL, *fmt = n ? p->fmt : NULL;
	if (*name)
		return PQsendQueryPrepared(c->db, name, n, v, len, fmt, 0);
	return PQsendQueryParams(c->db, sql, n, NULL, v, len, fmt, 0);
}

/* Returns the name sql is prepared under on c (see pgs_stmt_prepared()).
 * Preparing waits for the server, which a pipeline does not allow, so the
 * results of what was sent are read first (once per statement text and
 * connection). */
static const char *prepared(struct pg_conn *c, const char *sql, struct err *e)
{
	const char *name = pgs_stmt_cached(c, sql);
	if (name)
		return name;
	if (pgs_flush(c, e) < 0)
		return NULL;
	return pgs_stmt_prepared(c, sql, e);
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
	/* Outside a transaction nothing may wait: it might never be read. */
	if (!c->in_tx)
		return pgs_run(c, sql, p, e);
	if (pgs_note_sent(c, sql, e) < 0)
		return -1;
	const char *name = prepared(c, sql, e);
	if (!name)
		return -1;
	if ((PQpipelineStatus(c->db) == PQ_PIPELINE_OFF && PQenterPipelineMode(c->db) != 1) ||
	    send_one(c, name, sql, p) != 1) {
		pgs_db_error(c, NULL, e);
		return -1;
	}
	c->unread++;
	return 0;
}

int pgs_push(struct pg_conn *c, struct err *e)
{
	if (c->unread == 0 || PQflush(c->db) == 0)
		return 0;
	pgs_db_error(c, NULL, e);
	return -1;
}

void pgs_later_drop(struct pg_conn *c)
{
	if (PQpipelineStatus(c->db) != PQ_PIPELINE_OFF) {
		/* Every result up to the sync point, whatever it is; a lost
		 * server ends each statement's results with no sync point. */
		if (PQstatus(c->db) == CONNECTION_OK && PQpipelineSync(c->db) == 1) {
			for (int ends_left = c->unread + 1; ends_left > 0;) {
				PGresult *r = PQgetResult(c->db);
				if (!r) {
					ends_left--;
					continue;
				}
				bool sync = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
				PQclear(r);
				if (sync)
					break;
			}
		}
		PQexitPipelineMode(c->db);
	}
	c->unread = 0;
}

bool pgs_later_waiting(const struct pg_conn *c)
{
	return c->unread > 0;
}

int pgs_pipeline(struct pg_conn *c, int n, const struct pgs_call *calls, PGresult **out,
		 struct err *e)
{
	/* Every text prepared first: preparing reads what was sent. */
	for (int i = 0; i < n; i++) {
		out[i] = NULL;
		if (pgs_note_sent(c, calls[i].sql, e) < 0 || !prepared(c, calls[i].sql, e))
			return -1;
	}
	int unread = c->unread;
	c->unread = 0; /* the pipeline's now, whatever happens to it */
	bool sent = PQpipelineStatus(c->db) != PQ_PIPELINE_OFF ||
		    PQenterPipelineMode(c->db) == 1;
	for (int i = 0; sent && i < n; i++)
		sent = send_one(c, pgs_stmt_cached(c, calls[i].sql), calls[i].sql,
				calls[i].p) == 1;
	if (!sent || PQpipelineSync(c->db) != 1) {
		pgs_db_error(c, NULL, e);
		PQexitPipelineMode(c->db);
		return -1;
	}
	/* Every statement's results, then the sync point. The first failure
	 * is the one reported; the statements after it did not run. */
	bool failed = false;
	for (int i = 0; i < unread + n; i++) {
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
		if (ok && !failed && i >= unread)
			out[i - unread] = r;
		else
			PQclear(r);
	}
	PGresult *sync = PQgetResult(c->db);
	bool synced = sync && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
	PQclear(sync);
	if (PQexitPipelineMode(c->db) != 1 || !synced) {
		/* The session ended after the statements had answered (a FATAL
		 * where the sync point was: terminated, shut down): what they did
		 * stands, a COMMIT that answered included; the connection is
		 * opened afresh before the next transaction. */
		pgs_conn_lost(c);
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
