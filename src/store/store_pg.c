/* store_pg.c - the PostgreSQL backend of struct store (libpq): opening
 * (migrations under an advisory lock), transactions with savepoints, and the
 * backend's one table of operations (store_pg_ops), which names these and
 * the per-area store_pg_*.c files'.
 *
 * Each thread gets its own connection, as on SQLite; every statement is
 * sent with bound parameters (store_pg_sql.c). A write is a BEGIN ... COMMIT
 * with synchronous_commit on, so a commit is durable when it returns. The
 * server's writes go through writer.h's group commit as on SQLite: one
 * transaction per batch, so a partner's mailbox counter is locked once
 * per batch rather than once per create (docs/decisions.md). Several
 * server processes may share one database. */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_pg.h"
#include "banned.h"

/* The advisory lock key migrations are applied under ("innbocks" in ASCII
 * hex), so two instances starting together migrate once. */
#define MIGRATION_LOCK "7021782211342225779"

/* --- transactions --- */

/* From here to the end of the open transaction, a lock is waited for
 * PGS_LOCK_BRIEF only (struct pg_conn, brief). Sent with the next
 * statement. */
static int brief_waits(struct pg_conn *c, struct err *e)
{
	if (c->brief)
		return 0;
	c->brief = true;
	return pgs_later(c, "SET LOCAL lock_timeout TO '" PGS_LOCK_BRIEF "'", NULL, e);
}

/* BEGIN and savepoints are sent without waiting (pgs_later()). */
static int pg_tx_begin(struct store *s, bool write, struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	c->in_tx = true;
	c->write_tx = write; /* single-row reads then lock (pgs_get_one_by) */
	c->conflict = false;
	c->optimistic = write && !c->safe_next;
	/* The run again of an optimistic run that waited out a lock. */
	bool brief = c->safe_next && c->waited_out;
	c->safe_next = false;
	c->skipped_savepoint = false;
	c->savepoints = 0;
	c->xid[0] = '\0';
	c->brief = c->waited_out = false;
	store_pg_customer_counter_forget(c);
	store_pg_event_idem_ahead_forget(c);
	if (pgs_later(c, write ? PGS_BEGIN : PGS_BEGIN_READ, NULL, e) < 0 ||
	    (brief && brief_waits(c, e) < 0)) {
		c->in_tx = false;
		return -1;
	}
	c->wrote = false;
	return 0;
}

static int pg_tx_savepoint(struct store *s, struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	if (c->optimistic) {
		c->skipped_savepoint = true;
		if (c->savepoints++ == 0)
			c->wrote = false;
	} else if (pgs_later(c, PGS_SAVEPOINT, NULL, e) < 0) {
		return -1;
	}
	store_pg_customer_counter_savepoint(c);
	return 0;
}

/* Reads what the request sent with its release: a failure of it is the
 * request's, and leaves the savepoint open for pg_tx_undo(). In an
 * optimistic run it only hands the request's statements to the server,
 * which runs them while the next request is prepared; their results are
 * read with the next statement that waits. */
static int pg_tx_release(struct store *s, struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	if (c->optimistic) {
		c->savepoints--;
		if (pgs_push(c, e) < 0)
			return -1;
	} else if (pgs_later(c, PGS_RELEASE, NULL, e) < 0 || pgs_flush(c, e) < 0)
		return -1;
	store_pg_customer_counter_release(c);
	return 0;
}

static void pg_tx_undo(struct store *s)
{
	struct err e;
	struct pg_conn *c = pgs_conn_get(s, &e);
	if (!c)
		return;
	store_pg_customer_counter_undo(c);
	if (c->optimistic) {
		/* Nothing written: nothing to undo. Otherwise the run is over,
		 * and the next one has savepoints. */
		c->savepoints--;
		if (c->wrote) {
			c->conflict = true;
			c->safe_next = true;
		}
		return;
	}
	/* What was sent is read first; if it failed, the rollback did not
	 * run with it, and runs again on its own. */
	struct pgs_call undo[2] = {{PGS_ROLLBACK_TO, NULL}, {PGS_RELEASE, NULL}};
	PGresult *r[2];
	for (int tries = 0; tries < 2; tries++) {
		if (pgs_pipeline(c, 2, undo, r, &e) == 0) {
			PQclear(r[0]);
			PQclear(r[1]);
			/* It fails only with the session, and then so does
			 * the commit. */
			if (c->waited_out)
				(void)brief_waits(c, &e);
			return;
		}
	}
}

static void pg_tx_rollback(struct store *s)
{
	struct err e;
	struct pg_conn *c = pgs_conn_get(s, &e);
	if (!c || !c->in_tx)
		return;
	c->in_tx = c->write_tx = false;
	store_pg_customer_counter_forget(c);
	store_pg_event_idem_ahead_forget(c);
	pgs_later_drop(c);
	if (PQtransactionStatus(c->db) != PQTRANS_IDLE)
		pgs_run(c, PGS_ROLLBACK, NULL, &e);
}

/* The connection broke while COMMIT ran, so the transaction may or may not
 * have committed: asks a new session what became of xid, for up to a
 * second (its old backend may still be ending it). Returns 0 when it
 * committed, else -1 and e is left as the lost connection's 503. */
static int commit_settle(struct pg_conn *c, const char *xid, struct err *e)
{
	struct timespec pause = {0, 20 * 1000 * 1000};
	double until = monotonic_seconds() + 1.0;
	for (bool first = true; first || monotonic_seconds() < until; first = false) {
		struct err ignored;
		if (!first)
			nanosleep(&pause, NULL);
		if (pgs_conn_reopen(c, &ignored) < 0)
			continue;
		struct pgs_params q = {0};
		pgs_text(&q, xid);
		PGresult *r = pgs_exec(c, "SELECT pg_xact_status($1::xid8)", &q, &ignored);
		const char *status = r && PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "";
		bool committed = strcmp(status, "committed") == 0;
		bool settled = committed || strcmp(status, "aborted") == 0;
		PQclear(r);
		if (committed) {
			fprintf(stderr,
				"innbocks: postgres: the connection broke during COMMIT; "
				"the transaction committed\n");
			atomic_store(&c->store->writable, true);
			*e = (struct err){0};
			return 0;
		}
		if (settled)
			return -1;
	}
	return -1;
}

static int pg_tx_commit(struct store *s, struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	if (c->conflict) {
		/* Lost to a concurrent transaction, even if a savepoint was
		 * rolled back to since: the whole of it is to be run again. */
		pg_tx_rollback(s);
		return store_retry_error(e);
	}
	if (store_pg_customer_counter_write_later(c, e) < 0) {
		pg_tx_rollback(s);
		return -1;
	}
	store_pg_customer_counter_forget(c);
	store_pg_event_idem_ahead_forget(c);
	/* A write's transaction id, to learn its outcome should the connection
	 * break while COMMIT runs (commit_settle): read with the tenant's lock,
	 * else one round trip more. */
	if (c->write_tx && !c->xid[0]) {
		PGresult *x = pgs_exec(c, "SELECT pg_current_xact_id()::text", NULL, e);
		if (!x) {
			pg_tx_rollback(s);
			return -1;
		}
		snprintf(c->xid, sizeof(c->xid), "%s", PQgetvalue(x, 0, 0));
		PQclear(x);
	}
	PGresult *r = pgs_exec(c, PGS_COMMIT, NULL, e); /* with what was sent */
	c->in_tx = c->write_tx = false;
	if (!r) {
		/* The session ended, before or after PostgreSQL took the COMMIT:
		 * libpq need not have seen the socket close yet. */
		if (c->xid[0] && (PQstatus(c->db) == CONNECTION_BAD || c->lost))
			return commit_settle(c, c->xid, e);
		struct err ignored;
		if (PQtransactionStatus(c->db) != PQTRANS_IDLE)
			pgs_run(c, PGS_ROLLBACK, NULL, &ignored);
		return -1;
	}
	/* COMMIT of a transaction a failed statement aborted answers ROLLBACK. */
	bool committed = strcmp(PQcmdStatus(r), "COMMIT") == 0;
	PQclear(r);
	if (!committed)
		return error(e, 500, "internal_error", NULL,
			     "the transaction was aborted by an earlier error");
	atomic_store(&c->store->writable, true);
	return 0;
}

/* The tenant's row, locked as the mailbox counter's update locks it (FOR
 * NO KEY UPDATE, which leaves inserts referring to the partner free); its
 * counter is then handed out from memory (struct pgs_counter). In a run
 * without savepoints, what the requests before it sent is read first, so
 * that a failure of the lock is the lock's own (store.h): a request's
 * failure there ends the run (e->retry), the lock's does not. */
static int pg_tx_lock_tenant(struct store *s, const char *tenant_id, bool brief, struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c || (c->skipped_savepoint && pgs_flush(c, e) < 0))
		return -1;
	/* Sent with the lock, in its round trip. */
	if (brief && brief_waits(c, e) < 0)
		return -1;
	struct pgs_params q = {0};
	pgs_text(&q, tenant_id);
	bool skipped = c->skipped_savepoint;
	c->skipped_savepoint = false; /* the lock is no request's */
	/* Locking the row gives the transaction its id: read with it. */
	PGresult *r = pgs_exec(c,
			       "SELECT next_mailbox_number, pg_current_xact_id()::text"
			       " FROM partners WHERE id = $1 FOR NO KEY UPDATE",
			       &q, e);
	c->skipped_savepoint = skipped;
	if (!r)
		return -1;
	if (PQntuples(r) == 1)
		snprintf(c->xid, sizeof(c->xid), "%s", PQgetvalue(r, 0, 1));
	int rc = PQntuples(r) == 1
			 ? store_pg_customer_counter_hold(c, tenant_id, pgs_col_i64(r, 0, 0), e)
			 : 0;
	PQclear(r);
	return rc;
}

static bool pg_writable(struct store *s)
{
	return atomic_load(&((struct pg_store *)s)->writable);
}

/* The server fsyncs its own WAL; reaching it again is what was missing. */
static int pg_probe_write(struct store *s, struct err *e)
{
	if (pg_writable(s))
		return 0;
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c || pgs_run(c, "SELECT 1", NULL, e) < 0)
		return -1;
	atomic_store(&((struct pg_store *)s)->writable, true);
	return 0;
}

/* PostgreSQL checkpoints by itself: nothing to do between requests. */
static int pg_checkpoint(struct store *s, struct err *e)
{
	(void)s;
	(void)e;
	return 0;
}

/* --- lifecycle --- */

/* The figures of /metrics: the database's size, and the webhook queue.
 * A disabled endpoint's deliveries are paused, not behind: counting them
 * would age the oldest due one forever and fire the queue alert. */
static int pg_stats(struct store *s, struct store_stats *out, struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	PGresult *r = pgs_exec(
		c,
		"SELECT pg_database_size(current_database()), count(*),"
		" coalesce(min(j.next_attempt_at), 0)"
		" FROM webhook_jobs j JOIN webhook_endpoints w ON w.id = j.endpoint_id"
		" WHERE j.status = 'pending' AND w.status = 'enabled'",
		NULL, e);
	if (!r)
		return -1;
	*out = (struct store_stats){
		.database_bytes = pgs_col_i64(r, 0, 0),
		.wal_bytes = -1, /* PostgreSQL's WAL is the server's, not this database's */
		.webhook_pending = pgs_col_i64(r, 0, 1),
		.webhook_oldest_due = pgs_col_i64(r, 0, 2),
	};
	PQclear(r);
	return 0;
}

/* PostgreSQL has its own tools for consistent copies. */
static int pg_backup(struct store *s, const char *path, struct err *e)
{
	(void)s;
	(void)path;
	return error(
		e, 400, "invalid_request", NULL,
		"on PostgreSQL, back up with pg_dump (or a base backup); see docs/deploy.md");
}

static void pg_close(struct store *s)
{
	if (!s)
		return;
	struct pg_store *ps = (struct pg_store *)s;
	struct pg_conn *c = ps->conns;
	while (c) {
		struct pg_conn *next = c->next;
		pgs_conn_close(c);
		c = next;
	}
	pthread_key_delete(ps->key);
	pthread_mutex_destroy(&ps->mu);
	free(ps->conninfo);
	free(ps);
}

/* Applies the migrations the database has not seen, in one transaction
 * holding an advisory lock: instances starting together wait for the first
 * one, then find nothing left to do. */
static int migrate(struct store *s, struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	if (pgs_run(c, PGS_BEGIN, NULL, e) < 0)
		return -1;
	int have = 0, known = store_schema_version(true);
	/* Instances starting together wait for the first one's migrations as
	 * long as they take, not PGS_LOCK_TIMEOUT. */
	if (pgs_run(c, "SET LOCAL lock_timeout TO 0", NULL, e) < 0)
		goto fail;
	PGresult *r = NULL;
	if (pgs_run(c, "SELECT pg_advisory_xact_lock(" MIGRATION_LOCK ")", NULL, e) < 0 ||
	    pgs_run(c, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
		    NULL, e) < 0)
		goto fail;
	r = pgs_exec(c, "SELECT coalesce(max(version), 0) FROM schema_version", NULL, e);
	if (!r)
		goto fail;
	have = (int)pgs_col_i64(r, 0, 0);
	PQclear(r);
	if (have > known) {
		error(e, 503, "unavailable", NULL,
		      "the database has schema version %d, newer than this binary's %d", have,
		      known);
		goto fail;
	}
	for (int v = have; pg_migrations[v]; v++) {
		/* A migration is several statements: the simple protocol runs
		 * them, with no parameters (the text is the binary's own). */
		r = PQexec(c->db, pg_migrations[v]);
		if (PQresultStatus(r) != PGRES_COMMAND_OK &&
		    PQresultStatus(r) != PGRES_TUPLES_OK) {
			error(e, 503, "unavailable", NULL, "migration %d failed: %s", v + 1,
			      PQresultErrorMessage(r));
			PQclear(r);
			goto fail;
		}
		PQclear(r);
		struct pgs_params p = {0};
		pgs_num(&p, v + 1);
		if (pgs_run(c, "INSERT INTO schema_version VALUES ($1)", &p, e) < 0)
			goto fail;
	}
	if (pgs_run(c, PGS_COMMIT, NULL, e) < 0)
		return -1;
	s->schema_found = have;
	s->schema_version = known;
	return 0;
fail:
	PQclear(PQexec(c->db, "ROLLBACK"));
	return -1;
}

/* The PostgreSQL backend's operations, in the order of struct store_ops. */
const struct store_ops store_pg_ops = {
	.tx_begin = pg_tx_begin,
	.tx_savepoint = pg_tx_savepoint,
	.tx_release = pg_tx_release,
	.tx_undo = pg_tx_undo,
	.tx_commit = pg_tx_commit,
	.tx_rollback = pg_tx_rollback,
	.tx_lock_tenant = pg_tx_lock_tenant,
	.partner_insert = store_pg_partner_insert,
	.partner_get = store_pg_partner_get,
	.partner_list = store_pg_partner_list,
	.key_insert = store_pg_partner_key_insert,
	.key_get = store_pg_partner_key_get,
	.key_get_any_partner = store_pg_partner_key_get_any_partner,
	.key_find_by_hash = store_pg_partner_key_find_by_hash,
	.key_list = store_pg_partner_key_list,
	.key_revoke = store_pg_partner_key_revoke,
	.key_touch = store_pg_partner_key_touch,
	.rate_spend = store_pg_partner_rate_spend,
	.operator_token_insert = store_pg_partner_operator_token_insert,
	.operator_token_find = store_pg_partner_operator_token_find,
	.customer_insert = store_pg_customer_insert,
	.customer_get = store_pg_customer_get,
	.customer_get_any_partner = store_pg_customer_get_any_partner,
	.customer_list = store_pg_customer_list,
	.customer_update = store_pg_customer_update,
	.customer_external_id_find = store_pg_customer_external_id_find,
	.usage_spans = store_pg_customer_usage_spans,
	.usage_customers = store_pg_customer_usage_customers,
	.mail_insert = store_pg_mail_insert,
	.mail_get = store_pg_mail_get,
	.mail_get_any_partner = store_pg_mail_get_any_partner,
	.mail_list = store_pg_mail_list,
	.mail_update = store_pg_mail_update,
	.action_insert = store_pg_mail_action_insert,
	.action_get = store_pg_mail_action_get,
	.action_get_any_partner = store_pg_mail_action_get_any_partner,
	.action_update = store_pg_mail_action_update,
	.action_list_for_mail = store_pg_mail_action_list_for_mail,
	.action_list_any_partner = store_pg_mail_action_list_any_partner,
	.event_insert = store_pg_event_insert,
	.event_list = store_pg_event_list,
	.event_list_any_partner = store_pg_event_list_any_partner,
	.event_list_tenant = store_pg_event_list_tenant,
	.event_get = store_pg_event_get,
	.event_purge = store_pg_event_purge,
	.endpoint_insert = store_pg_webhook_endpoint_insert,
	.endpoint_get = store_pg_webhook_endpoint_get,
	.endpoint_get_any_partner = store_pg_webhook_endpoint_get_any_partner,
	.endpoint_list = store_pg_webhook_endpoint_list,
	.endpoint_update = store_pg_webhook_endpoint_update,
	.webhook_claim = store_pg_webhook_claim,
	.webhook_record = store_pg_webhook_record,
	.delivery_list = store_pg_webhook_delivery_list,
	.delivery_get = store_pg_webhook_delivery_get,
	.webhook_resend = store_pg_webhook_resend,
	.webhook_resend_failed = store_pg_webhook_resend_failed,
	.user_insert = store_pg_user_insert,
	.user_get = store_pg_user_get,
	.user_get_any_partner = store_pg_user_get_any_partner,
	.user_find_by_email = store_pg_user_find_by_email,
	.user_list = store_pg_user_list,
	.user_role_set = store_pg_user_role_set,
	.user_delete = store_pg_user_delete,
	.user_password_set = store_pg_user_password_set,
	.user_setup_insert = store_pg_user_setup_insert,
	.user_setup_void_partner = store_pg_user_setup_void_partner,
	.user_setup_find = store_pg_user_setup_find,
	.user_setup_use = store_pg_user_setup_use,
	.session_insert = store_pg_user_session_insert,
	.session_find = store_pg_user_session_find,
	.session_touch = store_pg_user_session_touch,
	.session_delete = store_pg_user_session_delete,
	.audit_insert = store_pg_user_audit_insert,
	.audit_list = store_pg_user_audit_list,
	.idem_get = store_pg_event_idem_get,
	.idem_prefetch = store_pg_event_idem_prefetch,
	.idem_put = store_pg_event_idem_put,
	.idem_purge = store_pg_event_idem_purge,
	.checkpoint = pg_checkpoint,
	.wal_bound = pg_checkpoint,
	.writable = pg_writable,
	.probe_write = pg_probe_write,
	.stats = pg_stats,
	.backup = pg_backup,
	.close = pg_close,
};

struct store *store_pg_open(const char *conninfo, struct err *e)
{
	struct pg_store *ps = calloc(1, sizeof(*ps));
	if (!ps)
		die("out of memory");
	ps->conninfo = strdup(conninfo);
	if (!ps->conninfo)
		die("out of memory");
	pthread_key_create(&ps->key, NULL);
	pthread_mutex_init(&ps->mu, NULL);
	atomic_init(&ps->writable, true);
	struct store *s = &ps->base;
	*s = (struct store){.ops = &store_pg_ops, .group_commit = true, .shared = true};
	const char *missing = store_slot_missing(s->ops);
	if (missing) {
		error(e, 500, "internal_error", NULL,
		      "the PostgreSQL backend does not implement %s", missing);
		pg_close(s);
		return NULL;
	}
	if (migrate(s, e) < 0) {
		pg_close(s);
		return NULL;
	}
	return s;
}
