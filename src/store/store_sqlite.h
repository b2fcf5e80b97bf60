/* store_sqlite.h - what the SQLite backend's files share: the store and
 * connection structs, and the SQL layer of store_sqlite_sql.c (per-thread
 * connections, cached statements, binding and reading helpers, paged list
 * queries). Private to store_sqlite*.c; handlers never include it. */
#ifndef INNBOCKS_STORE_SQLITE_H
#define INNBOCKS_STORE_SQLITE_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>

#include "store.h"
#include "tenant.h"

#define STMT_CACHE 96
/* Past this size the write-ahead log is checkpointed completely and
 * restarted (store_sqlite.c); the file is also truncated back to it. */
#define WAL_LIMIT_BYTES 67108864 /* 64 MiB */

/* A prepared statement of one connection, found again by the address of
 * its SQL literal or the hash of SQL built at run time. */
struct cached_stmt {
	char *sql;
	const char *literal; /* the caller's string literal, or NULL */
	uint64_t hash;       /* of sql, for statements built at run time */
	sqlite3_stmt *st;
};

/* One SQLite connection of one thread, with its statements. */
struct conn {
	sqlite3 *db;
	struct sqlite_store *store;
	bool holds_write; /* this thread holds sqlite_store.write_mu */
	/* A write transaction's first run is optimistic: its savepoints are
	 * only counted, not sent (each one copies every page its request is
	 * first to change into a sub-journal). Undoing a request that
	 * changed rows since the outermost one (changes_at) then ends the
	 * run (doomed): its commit is refused with e->retry, and
	 * store_tx_write() runs the transaction again with every savepoint
	 * (safe_next). Undoing a request that only read costs nothing. */
	bool optimistic;
	bool safe_next;
	bool doomed;
	int savepoints;     /* open, in an optimistic run */
	int64_t changes_at; /* sqlite3_total_changes64() at the outermost */
	/* Reads through a memory map of the database while nothing commits
	 * (sq_read_map()): commits_seen is sqlite_store.commits at its latest
	 * read transaction, plus its own commits since; changed a bit per read
	 * transaction, the latest lowest, set when another connection had
	 * committed before it. */
	uint64_t commits_seen;
	uint64_t changed;
	struct conn *next;
	struct cached_stmt cache[STMT_CACHE];
	int ncache;
};

/* The backend's store: struct store (its ops) first, then its own state. */
struct sqlite_store {
	struct store base; /* first, so a struct store * converts back */
	char *path;
	pthread_key_t key;
	pthread_mutex_t mu;            /* guards conns */
	pthread_mutex_t write_mu;      /* one write transaction at a time in this process */
	pthread_mutex_t checkpoint_mu; /* one checkpoint at a time; after write_mu */
	struct conn *conns;
	atomic_int wal_frames;           /* frames in the WAL after the latest commit */
	atomic_int wal_copied;           /* of those, copied back by the latest checkpoint */
	atomic_int wal_asked;            /* wal_frames when a checkpoint was last asked for */
	int wal_limit_frames;            /* WAL_LIMIT_BYTES in frames of this page size */
	_Atomic int64_t wal_retry_at_ms; /* no WAL restart before (monotonic ms) */
	int wal_retry_ms;                /* after the latest busy try; under write_mu */
	atomic_uint_fast64_t commits;    /* of every connection, counted by the WAL hook */
	atomic_bool writable;            /* false since a write met a full or read-only disk */
};

/* The WAL starts from its beginning again (a restart, or SQLite's own after
 * a full checkpoint): none of it is written, copied back or asked about. */
void sq_wal_started_again(struct sqlite_store *ss);
/* Before a read transaction: maps the database for it, or not (see the
 * function). */
void sq_read_map(struct conn *c);
/* Closes a connection and its cached statements. */
void sq_conn_close(struct conn *c);
/* Sets the connection's busy timeout back to the usual one. */
void sq_busy_timeout_restore(struct conn *c);
/* Runs SQL text (no results); returns 0 or -1. */
int sq_exec(struct conn *c, const char *sql, struct err *e);
/* Returns the calling thread's connection, opening it on first use, or
 * NULL with e set. */
struct conn *sq_conn_get(struct store *s, struct err *e);
/* Fills e from an SQLite result code (503 for busy or a failing disk, 409
 * for a unique value a client can take first (store_conflict()), else 500);
 * returns -1. */
int sq_db_error(struct conn *c, int rc, struct err *e);
/* Returns the cached prepared statement for sql, a string literal (it is
 * found again by its address), or NULL with e set. */
sqlite3_stmt *sq_prep(struct conn *c, const char *sql, struct err *e);
/* The same for SQL text built at run time (found again by its content). */
sqlite3_stmt *sq_prep_text(struct conn *c, const char *sql, struct err *e);
/* The calling thread's connection (in *c) and sql's cached statement on it
 * (sq_conn_get(), sq_prep()), or NULL with e set. */
sqlite3_stmt *sq_stmt(struct store *s, const char *sql, struct conn **c, struct err *e);
/* Resets st and clears its bindings, ready for the next use. */
void sq_done(sqlite3_stmt *st);
/* Binds v, or NULL when v is NULL. The value must outlive the step. */
void sq_bind_text(sqlite3_stmt *st, int i, const char *v);
/* Binds a time or count where 0 means NULL. */
void sq_bind_time(sqlite3_stmt *st, int i, int64_t v);
/* Returns column i as an arena string, or NULL for NULL. */
char *sq_col_text(struct arena *a, sqlite3_stmt *st, int i);
/* Returns column i as an integer (0 for NULL). */
int64_t sq_col_i64(sqlite3_stmt *st, int i);
/* Runs a statement that returns no rows; returns 0 or -1. */
int sq_step_done(struct conn *c, sqlite3_stmt *st, struct err *e);

/* Reads the row st is on into item. */
typedef void row_reader(struct arena *a, sqlite3_stmt *st, void *item);
/* Runs st expecting at most one row: 0, STORE_NOT_FOUND or -1. */
int sq_get_one(struct conn *c, struct arena *a, sqlite3_stmt *st, row_reader *read, void *item,
	       struct err *e);
/* Reads the one row sql (a string literal) selects, with the n texts of v
 * bound as ?1, ?2, ..., into item by read: a read of one object by its id
 * (or hash, or email). Returns 0, STORE_NOT_FOUND or -1; pass v and n as
 * SQ_TEXTS(...). */
int sq_get_one_by(struct store *s, struct arena *a, const char *sql, const char *const *v,
		  int n, row_reader *read, void *item, struct err *e);
/* The arguments v and n of sq_get_one_by() for the texts given. */
#define SQ_TEXTS(...) \
	(const char *const[]){__VA_ARGS__}, \
		(int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))
/* Runs st and reads every row into a growing arena array. */
int sq_get_all(struct conn *c, struct arena *a, sqlite3_stmt *st, row_reader *read,
	       size_t item_size, void **items, size_t *n, struct err *e);

#define QUERY_MAX_BINDS 12

/* A SELECT assembled from fixed fragments; values are always bound. */
struct query {
	char sql[2048];
	size_t len;
	const char *text[QUERY_MAX_BINDS];
	int64_t num[QUERY_MAX_BINDS];
	bool is_num[QUERY_MAX_BINDS];
	int n;
};

/* Appends a fragment without a value. */
void sq_q_add(struct query *q, const char *fragment);
/* Appends a fragment with one text placeholder bound to v. */
void sq_q_text(struct query *q, const char *fragment, const char *v);
/* Appends a fragment with one integer placeholder bound to v. */
void sq_q_num(struct query *q, const char *fragment, int64_t v);
/* Finishes q (which ends in a WHERE clause) with the page bounds, runs it
 * and reads up to pg->limit items, newest first. cursor_sql turns a cursor
 * id (bound first) and scope (bound second, when not NULL) into a seq; an
 * unknown cursor is a 400. */
int sq_run_list(struct conn *c, struct arena *a, struct query *q, const char *seq_col,
		const char *cursor_sql, const char *scope, const struct page *pg,
		row_reader *read, size_t item_size, void **items, size_t *n, bool *has_more,
		struct err *e);

/* A condition on partner_id matching both tenants (tenant.h) of the partner
 * whose id is the SQL parameter p, e.g. SQ_BOTH_TENANTS("?2"). */
#define SQ_BOTH_TENANTS(p) "partner_id IN (" p ", " p " || '" TENANT_TEST_SUFFIX "')"

/* A condition that a row's partner_id is a live tenant (1) or a test one
 * (0), as the next bound number says: " AND " SQ_TENANT_LIVE_IS. */
#define SQ_TENANT_LIVE_IS \
	"(substr(partner_id, -length('" TENANT_TEST_SUFFIX "')) != '" TENANT_TEST_SUFFIX \
	"') = ?"

/* The operations of the per-area files, each named for its file and its
 * slot of struct store_ops (store.h says what each returns, owns and
 * fails with); store_sqlite.c puts them in the backend's one table. */

/* store_sqlite_customers.c */
int store_sqlite_customer_insert(struct store *s, struct arena *a, struct customer *cu,
				 struct err *e);
int store_sqlite_customer_get(struct store *s, struct arena *a, const char *partner_id,
			      const char *id, struct customer *out, struct err *e);
int store_sqlite_customer_get_any_partner(struct store *s, struct arena *a, const char *id,
					  struct customer *out, struct err *e);
int store_sqlite_customer_list(struct store *s, struct arena *a, const char *partner_id,
			       const struct customer_filter *f, const struct page *pg,
			       struct customer **items, size_t *n, bool *has_more,
			       struct err *e);
int store_sqlite_customer_update(struct store *s, const struct customer *cu, struct err *e);
int store_sqlite_customer_external_id_find(struct store *s, const char *partner_id,
					   const char *external_id, const char *except_id,
					   struct err *e);
int store_sqlite_customer_usage_spans(struct store *s, struct arena *a, const char *partner_id,
				      int64_t start, int64_t hi, struct usage_span **spans,
				      size_t *n, struct err *e);
int store_sqlite_customer_usage_customers(struct store *s, struct arena *a,
					  const char *partner_id, int64_t start, int64_t hi,
					  const struct page *pg, struct customer **items,
					  size_t *n, bool *has_more, struct err *e);

/* store_sqlite_events.c */
int store_sqlite_event_insert(struct store *s, const struct event *ev, struct err *e);
int store_sqlite_event_list(struct store *s, struct arena *a, const char *partner_id,
			    const char *type, int livemode, const struct page *pg,
			    struct event **items, size_t *n, bool *has_more, struct err *e);
int store_sqlite_event_list_any_partner(struct store *s, struct arena *a, const char *type,
					int livemode, const struct page *pg,
					struct event **items, size_t *n, bool *has_more,
					struct err *e);
int store_sqlite_event_list_tenant(struct store *s, struct arena *a, const char *tenant_id,
				   const struct event_filter *f, const struct page *pg,
				   struct event **items, size_t *n, bool *has_more,
				   struct err *e);
int store_sqlite_event_get(struct store *s, struct arena *a, const char *tenant_id,
			   const char *id, int64_t not_before, struct event *out,
			   struct err *e);
int store_sqlite_event_purge(struct store *s, int64_t before, int limit, int *purged,
			     struct err *e);
int store_sqlite_event_idem_get(struct store *s, struct arena *a, const char *scope,
				const char *key, struct idem_record *out, struct err *e);
int store_sqlite_event_idem_prefetch(struct store *s, int n, const char *const *scopes,
				     const char *const *keys, bool *in_use, struct err *e);
int store_sqlite_event_idem_put(struct store *s, const char *scope, const char *key,
				const struct idem_record *r, int64_t now, struct err *e);
int store_sqlite_event_idem_purge(struct store *s, int64_t before, struct err *e);

/* store_sqlite_mail.c */
int store_sqlite_mail_insert(struct store *s, const struct mail *m, struct err *e);
int store_sqlite_mail_get(struct store *s, struct arena *a, const char *partner_id,
			  const char *id, struct mail *out, struct err *e);
int store_sqlite_mail_get_any_partner(struct store *s, struct arena *a, const char *id,
				      struct mail *out, struct err *e);
int store_sqlite_mail_list(struct store *s, struct arena *a, const char *customer_id,
			   const struct mail_filter *f, const struct page *pg,
			   struct mail **items, size_t *n, bool *has_more, struct err *e);
int store_sqlite_mail_update(struct store *s, const struct mail *m, struct err *e);
int store_sqlite_mail_action_insert(struct store *s, const struct mail_action *act,
				    struct err *e);
int store_sqlite_mail_action_get(struct store *s, struct arena *a, const char *partner_id,
				 const char *id, struct mail_action *out, struct err *e);
int store_sqlite_mail_action_get_any_partner(struct store *s, struct arena *a, const char *id,
					     struct mail_action *out, struct err *e);
int store_sqlite_mail_action_update(struct store *s, const struct mail_action *act,
				    struct err *e);
int store_sqlite_mail_action_list_for_mail(struct store *s, struct arena *a,
					   const char *mail_id, struct mail_action **items,
					   size_t *n, struct err *e);
int store_sqlite_mail_action_list_any_partner(struct store *s, struct arena *a,
					      const char *status, int livemode,
					      const struct page *pg, struct mail_action **items,
					      size_t *n, bool *has_more, struct err *e);

/* store_sqlite_partners.c */
int store_sqlite_partner_insert(struct store *s, const struct partner *p, struct err *e);
int store_sqlite_partner_get(struct store *s, struct arena *a, const char *id,
			     struct partner *out, struct err *e);
int store_sqlite_partner_list(struct store *s, struct arena *a, const struct page *pg,
			      struct partner **items, size_t *n, bool *has_more, struct err *e);
int store_sqlite_partner_key_insert(struct store *s, const struct api_key *k, struct err *e);
int store_sqlite_partner_key_get(struct store *s, struct arena *a, const char *tenant_id,
				 const char *id, struct api_key *out, struct err *e);
int store_sqlite_partner_key_get_any_partner(struct store *s, struct arena *a, const char *id,
					     struct api_key *out, struct err *e);
int store_sqlite_partner_key_find_by_hash(struct store *s, struct arena *a, const char *hash,
					  struct api_key *out, struct err *e);
int store_sqlite_partner_key_list(struct store *s, struct arena *a, const char *tenant_id,
				  bool both_modes, const struct page *pg,
				  struct api_key **items, size_t *n, bool *has_more,
				  struct err *e);
int store_sqlite_partner_key_revoke(struct store *s, const char *id, int64_t at, struct err *e);
int store_sqlite_partner_key_touch(struct store *s, const char *id, int64_t now, struct err *e);
int store_sqlite_partner_rate_spend(struct store *s, const char *key_id, double rate,
				    double burst, double cost, double *tokens, bool *allowed,
				    struct err *e);
int store_sqlite_partner_operator_token_insert(struct store *s, const char *id,
					       const char *hash, int64_t now, struct err *e);
int store_sqlite_partner_operator_token_find(struct store *s, const char *hash, struct err *e);

/* store_sqlite_users.c */
int store_sqlite_user_insert(struct store *s, const struct user *u, struct err *e);
int store_sqlite_user_get(struct store *s, struct arena *a, const char *partner_id,
			  const char *id, struct user *out, struct err *e);
int store_sqlite_user_get_any_partner(struct store *s, struct arena *a, const char *id,
				      struct user *out, struct err *e);
int store_sqlite_user_find_by_email(struct store *s, struct arena *a, const char *email,
				    struct user *out, struct err *e);
int store_sqlite_user_password_set(struct store *s, const char *id, const char *hash,
				   int64_t now, struct err *e);
int store_sqlite_user_list(struct store *s, struct arena *a, const char *partner_id,
			   const struct page *pg, struct user **items, size_t *n,
			   bool *has_more, struct err *e);
int store_sqlite_user_role_set(struct store *s, const char *id, const char *role,
			       struct err *e);
int store_sqlite_user_delete(struct store *s, const char *id, struct err *e);
int store_sqlite_user_setup_insert(struct store *s, const char *hash, const char *user_id,
				   int64_t now, int64_t expires_at, struct err *e);
int store_sqlite_user_setup_void_partner(struct store *s, const char *partner_id,
					 struct err *e);
int store_sqlite_user_setup_use(struct store *s, struct arena *a, const char *hash, int64_t now,
				const char **user_id, struct err *e);
int store_sqlite_user_setup_find(struct store *s, struct arena *a, const char *hash,
				 int64_t now, const char **user_id, struct err *e);
int store_sqlite_user_session_insert(struct store *s, const struct user_session *ss,
				     struct err *e);
int store_sqlite_user_session_find(struct store *s, struct arena *a, const char *hash,
				   struct user_session *out, struct err *e);
int store_sqlite_user_session_touch(struct store *s, const char *hash, int64_t now,
				    struct err *e);
int store_sqlite_user_session_delete(struct store *s, const char *hash, struct err *e);
int store_sqlite_user_audit_insert(struct store *s, const struct audit_entry *ae,
				   struct err *e);
int store_sqlite_user_audit_list(struct store *s, struct arena *a, const char *partner_id,
				 const struct page *pg, struct audit_entry **items, size_t *n,
				 bool *has_more, struct err *e);

/* store_sqlite_webhooks.c */
int store_sqlite_webhook_endpoint_insert(struct store *s, const struct webhook_endpoint *w,
					 struct err *e);
int store_sqlite_webhook_endpoint_get(struct store *s, struct arena *a, const char *tenant_id,
				      const char *id, struct webhook_endpoint *out,
				      struct err *e);
int store_sqlite_webhook_endpoint_get_any_partner(struct store *s, struct arena *a,
						  const char *id, struct webhook_endpoint *out,
						  struct err *e);
int store_sqlite_webhook_endpoint_list(struct store *s, struct arena *a, const char *tenant_id,
				       bool both_modes, const struct page *pg,
				       struct webhook_endpoint **items, size_t *n,
				       bool *has_more, struct err *e);
int store_sqlite_webhook_endpoint_update(struct store *s, const struct webhook_endpoint *w,
					 struct err *e);
int store_sqlite_webhook_claim(struct store *s, struct arena *a, const char *owner, int lease_s,
			       int limit, int reserve, int per_endpoint, int per_tenant,
			       struct webhook_job **items, size_t *n, struct err *e);
int store_sqlite_webhook_record(struct store *s, const char *owner,
				const struct webhook_delivery *d, const char *job_status,
				bool disable_endpoint, struct err *e);
int store_sqlite_webhook_delivery_list(struct store *s, struct arena *a, const char *partner_id,
				       const struct delivery_filter *f, const struct page *pg,
				       struct webhook_delivery **items, size_t *n,
				       bool *has_more, struct err *e);
int store_sqlite_webhook_delivery_get(struct store *s, struct arena *a, const char *partner_id,
				      const char *endpoint_id, const char *id,
				      struct webhook_delivery *out, struct err *e);
int store_sqlite_webhook_resend(struct store *s, const char *event_id, const char *endpoint_id,
				int64_t now, struct err *e);
int store_sqlite_webhook_resend_failed(struct store *s, const char *endpoint_id, int64_t since,
				       int64_t now, int *resent, struct err *e);

/* store_sqlite_vfs.c: registers, once, the VFS every connection of the
 * backend opens with (SQLite's default, its WAL writes gathered per commit)
 * and returns its name. */
const char *store_sqlite_vfs_name(void);

#endif
