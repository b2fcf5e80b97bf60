/* store_pg.h - what the PostgreSQL backend's files share: the store and
 * connection structs, and the SQL layer of store_pg_sql.c (per-thread libpq
 * connections, bound parameters, reading helpers, paged list queries).
 * Private to store_pg*.c; handlers never include it. */
#ifndef INNBOCKS_STORE_PG_H
#define INNBOCKS_STORE_PG_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>

#include "store.h"
#include "tenant.h"

/* How many statements a connection keeps prepared; past that, a new text
 * runs unprepared (every statement text of the backend fits many times). */
#define PGS_STMT_CACHE 256

/* A statement prepared on one connection, found by its text. */
struct pgs_stmt {
	uint64_t hash; /* of sql */
	char *sql;     /* the text (owned) */
	char name[16]; /* the server-side name: "s1", "s2", ... */
};

#define PGS_SAVEPOINTS_MAX 8

/* How long a statement waits for a lock another session holds before it
 * fails with 55P03 (a 503), and how long PostgreSQL lets a session of
 * this server sit idle inside a transaction before ending it
 * (store_pg_sql.c, session_setup). A batch holds its tenants' rows for
 * milliseconds; these are for a peer that stopped. */
#define PGS_LOCK_TIMEOUT "5s"
/* How long a write transaction that already waited out a lock (or a
 * batch that waited out a held tenant: tx_lock_tenant's brief) waits for
 * each further one: a peer's batch holds a row for less. */
#define PGS_LOCK_BRIEF "250ms"
#define PGS_IDLE_IN_TX_TIMEOUT "30s"

/* The mailbox counter of the tenant a write transaction holds
 * (tx_lock_tenant): read with the lock, numbers handed out from memory,
 * and written back once, just before the commit (store_pg_customers.c).
 * A savepoint undone gives back the numbers it took. */
struct pgs_counter {
	char tenant[64]; /* "" when the transaction holds none */
	int64_t next;
	bool dirty; /* next differs from the row */
	int64_t at_savepoint[PGS_SAVEPOINTS_MAX];
	int depth; /* savepoints open */
};

/* One libpq connection of one thread. */
struct pg_conn {
	PGconn *db;
	/* Statements prepared on this session (PQprepare once, then
	 * PQexecPrepared): parsed and planned once per connection rather than
	 * per execution. Emptied when the session is lost and reset. */
	struct pgs_stmt stmts[PGS_STMT_CACHE];
	int nstmts;
	struct pg_store *store;
	bool in_tx; /* between tx_begin and tx_commit/tx_rollback */
	/* The session ended (a statement failed as a lost server's do, or the
	 * pipeline lost its sync point), although libpq may not have seen its
	 * socket close yet: opened afresh before the next transaction, and a
	 * COMMIT that failed so is settled (pg_tx_commit). */
	bool lost;
	bool write_tx; /* ... and that transaction is a write: reads of
				  * objects it may change lock their rows */
	bool conflict; /* a statement of the open transaction failed with a
			* serialization failure or a deadlock, or its first
			* run (optimistic) cannot go on: it must not commit
			* (pg_tx_commit), but may be run again */
	/* A write transaction's first run is optimistic: its savepoints are
	 * not sent and its releases send nothing, so a batch's requests go
	 * without a savepoint each and one request's writes go out with the
	 * next one's first statement. Whatever would need a savepoint (a
	 * failed statement, undoing a request that wrote) fails the
	 * transaction with e->retry instead, and its next run on this
	 * connection sends every savepoint (safe_next). */
	bool optimistic;
	bool safe_next;
	bool skipped_savepoint; /* an optimistic run opened one (not sent) */
	/* Lock waits: once a write transaction has waited out one lock (the
	 * full PGS_LOCK_TIMEOUT), it waits PGS_LOCK_BRIEF for each further one,
	 * so that rows held elsewhere (a stopped instance, a foreign session)
	 * cost a batch one full timeout, not one per request. brief: the open
	 * transaction's timeout is the brief one; waited_out: a statement of
	 * the open transaction (until the next begins, of the last one) waited
	 * out a lock. Then the transaction waits briefly from the request's
	 * undo on (a SET LOCAL inside its savepoint would be rolled back with
	 * it), and an optimistic run's run again (safe_next) from its start. */
	bool brief;
	bool waited_out;
	bool wrote;     /* a write was sent since the innermost savepoint */
	int savepoints; /* open, in an optimistic run */
	/* Statements sent into the connection's pipeline whose results are
	 * not read yet (store_pg_pipeline.c). */
	int unread;
	/* The idempotency locks and stored answers read ahead for the open
	 * transaction's requests (idem_prefetch), until idem_get() takes
	 * each (store_pg_events.c). */
	struct pgs_idem_ahead *ahead;
	int nahead;
	struct pgs_counter counter;
	/* The open write transaction's id, once read: on the way, with the
	 * tenant's lock, else by pg_tx_commit() before COMMIT; "" until then. */
	char xid[24];
	struct pg_conn *next;
};

/* The backend's store: struct store (its ops) first, then its own state. */
struct pg_store {
	struct store base; /* first, so a struct store * converts back */
	char *conninfo;
	pthread_key_t key;
	pthread_mutex_t mu; /* guards conns */
	struct pg_conn *conns;
	atomic_bool writable; /* false since the server could not be reached */
};

#define PGS_MAX_PARAMS 32

/* The parameters of one statement, always bound (never spliced into SQL):
 * text values by pointer, numbers formatted into the struct itself. */
struct pgs_params {
	const char *v[PGS_MAX_PARAMS];
	int len[PGS_MAX_PARAMS];
	int fmt[PGS_MAX_PARAMS]; /* 0 text, 1 binary (bytea) */
	char num[PGS_MAX_PARAMS][24];
	int n;
};

/* Adds a text parameter, NULL when v is NULL. */
void pgs_text(struct pgs_params *p, const char *v);
/* Adds an integer parameter. */
void pgs_num(struct pgs_params *p, int64_t v);
/* Adds a time or count where 0 means NULL. */
void pgs_time(struct pgs_params *p, int64_t v);
/* Adds a binary (bytea) parameter of len bytes. */
void pgs_bytes(struct pgs_params *p, const char *v, size_t len);

/* Returns the calling thread's connection, opening it on first use (and
 * again after it was lost), or NULL with e set. */
struct pg_conn *pgs_conn_get(struct store *s, struct err *e);
/* Closes a connection. */
void pgs_conn_close(struct pg_conn *c);
/* Marks c's session as ended (struct pg_conn's lost) and the store as not
 * writable until a write commits again (pg_probe_write()). */
void pgs_conn_lost(struct pg_conn *c);
/* Opens c's connection again after it broke (a new session: nothing
 * prepared, nothing pending). Returns 0, or -1 with e (503). */
int pgs_conn_reopen(struct pg_conn *c, struct err *e);
/* Runs sql with p (NULL: none), prepared on the connection the first time
 * this text runs on it; returns the result (PQclear it) when it succeeded,
 * else NULL with e set: 503 for a lost server or a lock not
 * available, 503 with e->retry for a serialization failure or a deadlock
 * (and the open transaction marked, c->conflict), 409 for a unique value a
 * client can take first (store_conflict()), 500 for anything else. */
PGresult *pgs_exec(struct pg_conn *c, const char *sql, const struct pgs_params *p,
		   struct err *e);
/* The statements of transactions, prepared with every session: a
 * statement is prepared (parsed) the first time it runs on a connection,
 * and in a transaction a failed statement aborted, nothing but a rollback
 * may be parsed. */
#define PGS_BEGIN "BEGIN"
/* A read transaction sees one snapshot, as on SQLite: a GET's statements
 * (a page and its totals, mail and its actions) see the same commits. A
 * read-only transaction at this level is never refused for serialization. */
#define PGS_BEGIN_READ "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
#define PGS_SAVEPOINT "SAVEPOINT request"
#define PGS_RELEASE "RELEASE SAVEPOINT request"
#define PGS_ROLLBACK_TO "ROLLBACK TO SAVEPOINT request"
#define PGS_COMMIT "COMMIT"
#define PGS_ROLLBACK "ROLLBACK"

/* Returns the name sql is prepared under on c, preparing it the first time;
 * "" when the cache is full (run it unprepared then); NULL with e set when
 * preparing failed (as running it would have: a syntax error, a lost
 * server). */
const char *pgs_stmt_prepared(struct pg_conn *c, const char *sql, struct err *e);
/* The same without preparing: NULL when sql is not prepared on c yet. */
const char *pgs_stmt_cached(const struct pg_conn *c, const char *sql);
/* Fills e from a failed result (r NULL: no answer at all), as pgs_exec()
 * describes its failures; in an optimistic run that skipped a savepoint
 * (struct pg_conn), any failure also fails the transaction for a run with
 * savepoints, where it is its request's alone. */
void pgs_db_error(struct pg_conn *c, const PGresult *r, struct err *e);

/* store_pg_pipeline.c: statements whose result nothing waits for. */

/* Sends sql into c's pipeline at once, inside a transaction (outside one it
 * runs as pgs_run()); its result is read by the next statement that waits
 * for one (pgs_exec(), pgs_pipeline(), pgs_flush()), which reports its
 * failure. Returns 0, or -1 with e set when it could not be sent. libpq
 * may hold it until pgs_push() or the next wait. */
int pgs_later(struct pg_conn *c, const char *sql, const struct pgs_params *p, struct err *e);
/* Hands what pgs_later() sent to the server without waiting for the
 * results, so it runs while this thread goes on. Returns 0 or -1. */
int pgs_push(struct pg_conn *c, struct err *e);
/* Reads the results of what was sent; returns 0, or -1 with e set from
 * the first statement that failed (those after it did not run). */
int pgs_flush(struct pg_conn *c, struct err *e);
/* Reads and forgets the results of what was sent, whatever they are (the
 * transaction is being rolled back, or the session was reset). */
void pgs_later_drop(struct pg_conn *c);
/* Returns true when results of statements sent are unread. */
bool pgs_later_waiting(const struct pg_conn *c);
/* One statement of a pipeline: its text and parameters (NULL: none). */
struct pgs_call {
	const char *sql;
	const struct pgs_params *p;
};
/* Sends the n calls after what was sent before and waits for all of it, in
 * one round trip;
 * returns 0 with the calls' results in out[0..n-1] (PQclear each), or -1
 * with e set from the first statement that failed (none of out is set). */
int pgs_pipeline(struct pg_conn *c, int n, const struct pgs_call *calls, PGresult **out,
		 struct err *e);

/* Notes that sql is about to be sent on c: a statement other than a plain
 * SELECT writes (struct pg_conn's wrote). Returns 0, or -1 with e set: 503
 * when the session ended inside the open transaction (c->lost), 503 with
 * e->retry when the optimistic run of c's transaction is over already. */
int pgs_note_sent(struct pg_conn *c, const char *sql, struct err *e);

/* Runs sql, which returns no rows; returns 0 or -1. */
int pgs_run(struct pg_conn *c, const char *sql, const struct pgs_params *p, struct err *e);
/* Returns column col of row as an arena string, or NULL for NULL. */
char *pgs_col_text(struct arena *a, const PGresult *r, int row, int col);
/* Returns column col of row as an integer (0 for NULL). */
int64_t pgs_col_i64(const PGresult *r, int row, int col);

/* Reads row of r into item. */
typedef void pgs_row_reader(struct arena *a, const PGresult *r, int row, void *item);
/* Runs sql expecting at most one row: 0, STORE_NOT_FOUND or -1. */
int pgs_get_one(struct pg_conn *c, struct arena *a, const char *sql, const struct pgs_params *p,
		pgs_row_reader *read, void *item, struct err *e);
/* Whether pgs_get_one_by() locks the row it reads: a read an update may
 * follow locks it inside a write transaction (FOR NO KEY UPDATE), so a
 * handler that reads an object, decides on its state and writes it makes
 * a concurrent request (on any instance) wait and then read the new state,
 * as SQLite's one writer at a time does. No update changes an id, so the
 * lock leaves rows that refer to the object free to be inserted (their
 * foreign keys' checks): a peer stopped while it holds an endpoint does
 * not hold up every event for it. */
enum pgs_lock { PGS_NO_LOCK, PGS_LOCK_IN_WRITE };
/* Reads the one row sql selects, with the n texts of v bound as $1, $2,
 * ..., into item by read: a read of one object by its id (or hash, or
 * email). With PGS_LOCK_IN_WRITE, inside a write transaction sql ends in
 * FOR NO KEY UPDATE. Returns 0, STORE_NOT_FOUND or -1; pass v and n as
 * PGS_TEXTS(...). */
int pgs_get_one_by(struct store *s, struct arena *a, enum pgs_lock lock, const char *sql,
		   const char *const *v, int n, pgs_row_reader *read, void *item,
		   struct err *e);
/* The arguments v and n of pgs_get_one_by() for the texts given. */
#define PGS_TEXTS(...) \
	(const char *const[]){__VA_ARGS__}, \
		(int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))
/* Runs sql and reads every row into an arena array. */
int pgs_get_all(struct pg_conn *c, struct arena *a, const char *sql, const struct pgs_params *p,
		pgs_row_reader *read, size_t item_size, void **items, size_t *n, struct err *e);
/* Runs sql expecting at most one row: 0 when there is one, STORE_NOT_FOUND
 * when not, -1 on failure. */
int pgs_exists(struct pg_conn *c, const char *sql, const struct pgs_params *p, struct err *e);

/* A SELECT assembled from fixed fragments, each `?` in them becoming the
 * next $n; values are always bound. */
struct pgs_query {
	char sql[2048];
	size_t len;
	struct pgs_params p;
};

/* Appends a fragment without a value. */
void pgs_q_add(struct pgs_query *q, const char *fragment);
/* Appends a fragment with one `?` bound to the text v. */
void pgs_q_text(struct pgs_query *q, const char *fragment, const char *v);
/* Appends a fragment with one `?` bound to the integer v. */
void pgs_q_num(struct pgs_query *q, const char *fragment, int64_t v);
/* Finishes q (which ends in a WHERE clause) with the page bounds, runs it
 * and reads up to pg->limit items, newest first. cursor_sql turns a cursor
 * id ($1) and scope ($2, when not NULL) into a seq; an unknown cursor is a
 * 400. */
int pgs_run_list(struct pg_conn *c, struct arena *a, struct pgs_query *q, const char *seq_col,
		 const char *cursor_sql, const char *scope, const struct page *pg,
		 pgs_row_reader *read, size_t item_size, void **items, size_t *n,
		 bool *has_more, struct err *e);


/* The database's clock in Unix seconds, as SQL: what leases are measured
 * by, since the instances sharing a database may disagree on the time. */
#define PGS_NOW "floor(extract(epoch FROM now()))::bigint"

/* A condition on partner_id matching both tenants (tenant.h) of the partner
 * whose id is the SQL parameter p, e.g. PGS_BOTH_TENANTS("$2"). */
#define PGS_BOTH_TENANTS(p) \
	"partner_id IN (" p "::text, " p "::text || '" TENANT_TEST_SUFFIX "')"

/* A condition that a row's partner_id is a live tenant (1) or a test one
 * (0), as the next bound number says: " AND " PGS_TENANT_LIVE_IS. */
#define PGS_TENANT_LIVE_IS \
	"(right(partner_id, length('" TENANT_TEST_SUFFIX "')) <> '" TENANT_TEST_SUFFIX "') = " \
	"(?::int = 1)"

/* The operations of the per-area files, each named for its file and its
 * slot of struct store_ops (store.h says what each returns, owns and
 * fails with); store_pg.c puts them in the backend's one table. */

/* store_pg_customers.c */
int store_pg_customer_insert(struct store *s, struct arena *a, struct customer *cu,
			     struct err *e);
int store_pg_customer_get(struct store *s, struct arena *a, const char *partner_id,
			  const char *id, struct customer *out, struct err *e);
int store_pg_customer_get_any_partner(struct store *s, struct arena *a, const char *id,
				      struct customer *out, struct err *e);
int store_pg_customer_list(struct store *s, struct arena *a, const char *partner_id,
			   const struct customer_filter *f, const struct page *pg,
			   struct customer **items, size_t *n, bool *has_more, struct err *e);
int store_pg_customer_update(struct store *s, const struct customer *cu, struct err *e);
int store_pg_customer_external_id_find(struct store *s, const char *partner_id,
				       const char *external_id, const char *except_id,
				       struct err *e);
int store_pg_customer_usage_spans(struct store *s, struct arena *a, const char *partner_id,
				  int64_t start, int64_t hi, struct usage_span **spans,
				  size_t *n, struct err *e);
int store_pg_customer_usage_customers(struct store *s, struct arena *a, const char *partner_id,
				      int64_t start, int64_t hi, const struct page *pg,
				      struct customer **items, size_t *n, bool *has_more,
				      struct err *e);

/* The mailbox counter of the open transaction (struct pgs_counter), in
 * store_pg_customers.c. Holds tenant's counter, whose value next was read
 * under the tenant's lock; sends the write of the one held before, if it
 * changed (pgs_later()). Returns 0 or -1. */
int store_pg_customer_counter_hold(struct pg_conn *c, const char *tenant, int64_t next,
				   struct err *e);
/* Sends the write of the held counter if it changed (before a commit,
 * or before another tenant is held). Returns 0 or -1. */
int store_pg_customer_counter_write_later(struct pg_conn *c, struct err *e);
/* Forgets the held counter (a transaction's start or end). */
void store_pg_customer_counter_forget(struct pg_conn *c);
/* A savepoint opened, kept or undone: the numbers taken since stay taken
 * or are given back. */
void store_pg_customer_counter_savepoint(struct pg_conn *c);
void store_pg_customer_counter_release(struct pg_conn *c);
void store_pg_customer_counter_undo(struct pg_conn *c);

/* store_pg_events.c */
int store_pg_event_insert(struct store *s, const struct event *ev, struct err *e);
int store_pg_event_list(struct store *s, struct arena *a, const char *partner_id,
			const char *type, int livemode, const struct page *pg,
			struct event **items, size_t *n, bool *has_more, struct err *e);
int store_pg_event_list_any_partner(struct store *s, struct arena *a, const char *type,
				    int livemode, const struct page *pg, struct event **items,
				    size_t *n, bool *has_more, struct err *e);
int store_pg_event_list_tenant(struct store *s, struct arena *a, const char *tenant_id,
			       const struct event_filter *f, const struct page *pg,
			       struct event **items, size_t *n, bool *has_more, struct err *e);
int store_pg_event_get(struct store *s, struct arena *a, const char *tenant_id, const char *id,
		       int64_t not_before, struct event *out, struct err *e);
int store_pg_event_purge(struct store *s, int64_t before, int limit, int *purged,
			 struct err *e);
int store_pg_event_idem_get(struct store *s, struct arena *a, const char *scope,
			    const char *key, struct idem_record *out, struct err *e);
int store_pg_event_idem_prefetch(struct store *s, int n, const char *const *scopes,
				 const char *const *keys, bool *in_use, struct err *e);
/* Frees what idem_prefetch read and no idem_get() took (the transaction
 * ends). */
void store_pg_event_idem_ahead_forget(struct pg_conn *c);
int store_pg_event_idem_put(struct store *s, const char *scope, const char *key,
			    const struct idem_record *r, int64_t now, struct err *e);
int store_pg_event_idem_purge(struct store *s, int64_t before, struct err *e);

/* store_pg_mail.c */
int store_pg_mail_insert(struct store *s, const struct mail *m, struct err *e);
int store_pg_mail_get(struct store *s, struct arena *a, const char *partner_id, const char *id,
		      struct mail *out, struct err *e);
int store_pg_mail_get_any_partner(struct store *s, struct arena *a, const char *id,
				  struct mail *out, struct err *e);
int store_pg_mail_list(struct store *s, struct arena *a, const char *customer_id,
		       const struct mail_filter *f, const struct page *pg, struct mail **items,
		       size_t *n, bool *has_more, struct err *e);
int store_pg_mail_update(struct store *s, const struct mail *m, struct err *e);
int store_pg_mail_action_insert(struct store *s, const struct mail_action *act, struct err *e);
int store_pg_mail_action_get(struct store *s, struct arena *a, const char *partner_id,
			     const char *id, struct mail_action *out, struct err *e);
int store_pg_mail_action_get_any_partner(struct store *s, struct arena *a, const char *id,
					 struct mail_action *out, struct err *e);
int store_pg_mail_action_update(struct store *s, const struct mail_action *act, struct err *e);
int store_pg_mail_action_list_for_mail(struct store *s, struct arena *a, const char *mail_id,
				       struct mail_action **items, size_t *n, struct err *e);
int store_pg_mail_action_list_any_partner(struct store *s, struct arena *a, const char *status,
					  int livemode, const struct page *pg,
					  struct mail_action **items, size_t *n, bool *has_more,
					  struct err *e);

/* store_pg_partners.c */
int store_pg_partner_insert(struct store *s, const struct partner *p, struct err *e);
int store_pg_partner_get(struct store *s, struct arena *a, const char *id, struct partner *out,
			 struct err *e);
int store_pg_partner_list(struct store *s, struct arena *a, const struct page *pg,
			  struct partner **items, size_t *n, bool *has_more, struct err *e);
int store_pg_partner_key_insert(struct store *s, const struct api_key *k, struct err *e);
int store_pg_partner_key_get(struct store *s, struct arena *a, const char *tenant_id,
			     const char *id, struct api_key *out, struct err *e);
int store_pg_partner_key_get_any_partner(struct store *s, struct arena *a, const char *id,
					 struct api_key *out, struct err *e);
int store_pg_partner_key_find_by_hash(struct store *s, struct arena *a, const char *hash,
				      struct api_key *out, struct err *e);
int store_pg_partner_key_list(struct store *s, struct arena *a, const char *tenant_id,
			      bool both_modes, const struct page *pg, struct api_key **items,
			      size_t *n, bool *has_more, struct err *e);
int store_pg_partner_key_revoke(struct store *s, const char *id, int64_t now, struct err *e);
int store_pg_partner_key_touch(struct store *s, const char *id, int64_t now, struct err *e);
int store_pg_partner_rate_spend(struct store *s, const char *key_id, double rate, double burst,
				double cost, double *tokens, bool *allowed, struct err *e);
int store_pg_partner_operator_token_insert(struct store *s, const char *id, const char *hash,
					   int64_t now, struct err *e);
int store_pg_partner_operator_token_find(struct store *s, const char *hash, struct err *e);

/* store_pg_users.c */
int store_pg_user_insert(struct store *s, const struct user *u, struct err *e);
int store_pg_user_get(struct store *s, struct arena *a, const char *partner_id, const char *id,
		      struct user *out, struct err *e);
int store_pg_user_get_any_partner(struct store *s, struct arena *a, const char *id,
				  struct user *out, struct err *e);
int store_pg_user_find_by_email(struct store *s, struct arena *a, const char *email,
				struct user *out, struct err *e);
int store_pg_user_list(struct store *s, struct arena *a, const char *partner_id,
		       const struct page *pg, struct user **items, size_t *n, bool *has_more,
		       struct err *e);
int store_pg_user_role_set(struct store *s, const char *id, const char *role, struct err *e);
int store_pg_user_delete(struct store *s, const char *id, struct err *e);
int store_pg_user_password_set(struct store *s, const char *id, const char *hash, int64_t now,
			       struct err *e);
int store_pg_user_setup_insert(struct store *s, const char *hash, const char *user_id,
			       int64_t now, int64_t expires_at, struct err *e);
int store_pg_user_setup_void_partner(struct store *s, const char *partner_id, struct err *e);
int store_pg_user_setup_use(struct store *s, struct arena *a, const char *hash, int64_t now,
			    const char **user_id, struct err *e);
int store_pg_user_setup_find(struct store *s, struct arena *a, const char *hash, int64_t now,
			     const char **user_id, struct err *e);
int store_pg_user_session_insert(struct store *s, const struct user_session *ss, struct err *e);
int store_pg_user_session_find(struct store *s, struct arena *a, const char *hash,
			       struct user_session *out, struct err *e);
int store_pg_user_session_touch(struct store *s, const char *hash, int64_t now, struct err *e);
int store_pg_user_session_delete(struct store *s, const char *hash, struct err *e);
int store_pg_user_audit_insert(struct store *s, const struct audit_entry *ae, struct err *e);
int store_pg_user_audit_list(struct store *s, struct arena *a, const char *partner_id,
			     const struct page *pg, struct audit_entry **items, size_t *n,
			     bool *has_more, struct err *e);

/* store_pg_webhooks.c */
int store_pg_webhook_endpoint_insert(struct store *s, const struct webhook_endpoint *w,
				     struct err *e);
int store_pg_webhook_endpoint_get(struct store *s, struct arena *a, const char *tenant_id,
				  const char *id, struct webhook_endpoint *out, struct err *e);
int store_pg_webhook_endpoint_get_any_partner(struct store *s, struct arena *a, const char *id,
					      struct webhook_endpoint *out, struct err *e);
int store_pg_webhook_endpoint_list(struct store *s, struct arena *a, const char *tenant_id,
				   bool both_modes, const struct page *pg,
				   struct webhook_endpoint **items, size_t *n, bool *has_more,
				   struct err *e);
int store_pg_webhook_endpoint_update(struct store *s, const struct webhook_endpoint *w,
				     struct err *e);
int store_pg_webhook_claim(struct store *s, struct arena *a, const char *owner, int lease_s,
			   int limit, int reserve, int per_endpoint, int per_tenant,
			   struct webhook_job **items, size_t *n, struct err *e);
int store_pg_webhook_record(struct store *s, const char *owner,
			    const struct webhook_delivery *d, const char *job_status,
			    bool disable_endpoint, struct err *e);
int store_pg_webhook_delivery_list(struct store *s, struct arena *a, const char *partner_id,
				   const struct delivery_filter *f, const struct page *pg,
				   struct webhook_delivery **items, size_t *n, bool *has_more,
				   struct err *e);
int store_pg_webhook_delivery_get(struct store *s, struct arena *a, const char *partner_id,
				  const char *endpoint_id, const char *id,
				  struct webhook_delivery *out, struct err *e);
int store_pg_webhook_resend(struct store *s, const char *event_id, const char *endpoint_id,
			    int64_t now, struct err *e);
int store_pg_webhook_resend_failed(struct store *s, const char *endpoint_id, int64_t since,
				   int64_t now, int *resent, struct err *e);

#endif
