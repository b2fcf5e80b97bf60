/* store_sqlite.h - what the SQLite backend's files share: the per-thread
 * connection, cached statements, binding and reading helpers, paged list
 * queries. Private to store_sqlite*.c; handlers never include it. */
#ifndef INNBOCKS_STORE_SQLITE_H
#define INNBOCKS_STORE_SQLITE_H

#include <sqlite3.h>

#include "store.h"
#include "tenant.h"

struct conn; /* one SQLite connection of one thread, with its statements */

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
int sq_get_one(struct conn *c, struct arena *a, sqlite3_stmt *st, row_reader *read,
	       void *item, struct err *e);
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
		row_reader *read, size_t item_size, void **items, size_t *n,
		bool *has_more, struct err *e);

/* A condition on partner_id matching both tenants (tenant.h) of the partner
 * whose id is the SQL parameter p, e.g. SQ_BOTH_TENANTS("?2"). */
#define SQ_BOTH_TENANTS(p) "partner_id IN (" p ", " p " || '" TENANT_TEST_SUFFIX "')"

/* Each file of the backend fills its slots of the vtable. */
void sq_bind_partners(struct store *s);
void sq_bind_customers(struct store *s);
void sq_bind_mail(struct store *s);
void sq_bind_events(struct store *s);
void sq_bind_webhooks(struct store *s);

#endif
