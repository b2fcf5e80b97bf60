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
	struct conn *next;
	struct cached_stmt cache[STMT_CACHE];
	int ncache;
};

/* The backend's store: struct store's table first, then its own state. */
struct sqlite_store {
	struct store base; /* first, so a struct store * converts back */
	char *path;
	pthread_key_t key;
	pthread_mutex_t mu;       /* guards conns */
	pthread_mutex_t write_mu; /* one write transaction at a time in this process */
	struct conn *conns;
	atomic_int wal_frames; /* frames in the WAL after the latest commit */
	int wal_limit_frames;  /* WAL_LIMIT_BYTES in frames of this page size */
	atomic_bool writable;  /* false since a write met a full or read-only disk */
};

/* Closes a connection and its cached statements. */
void sq_conn_close(struct conn *c);
/* Runs SQL text (no results); returns 0 or -1. */
int sq_exec(struct conn *c, const char *sql, struct err *e);
/* Returns the calling thread's connection, opening it on first use, or
 * NULL with e set. */
struct conn *sq_conn_get(struct store *s, struct err *e);
/* Fills e from an SQLite result code (503 for busy, else 500); returns -1. */
int sq_db_error(struct conn *c, int rc, struct err *e);
/* Returns the cached prepared statement for sql, a string literal (it is
 * found again by its address), or NULL with e set. */
sqlite3_stmt *sq_prep(struct conn *c, const char *sql, struct err *e);
/* The same for SQL text built at run time (found again by its content). */
sqlite3_stmt *sq_prep_text(struct conn *c, const char *sql, struct err *e);
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

/* Each file of the backend fills its slots of the table of operations. */
void sq_register_partners(struct store *s);
void sq_register_customers(struct store *s);
void sq_register_mail(struct store *s);
void sq_register_events(struct store *s);
void sq_register_webhooks(struct store *s);
void sq_register_users(struct store *s);

#endif
