/* store_sqlite_sql.c - the SQLite backend's thin SQL layer, shared by every
 * store_sqlite*.c file: per-thread connections, the statement cache,
 * binding and reading helpers, and paged list queries. It calls nothing of
 * the files above it, so the arrows run one way: store_sqlite.c and the
 * per-area files use it. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idem.h"
#include "store_sqlite.h"
#include "banned.h"

#define BUSY_TIMEOUT_MS 10000
#define STRINGIFY(x) #x
#define STRING_OF(x) STRINGIFY(x)
/* A connection reads up to 256 MiB of the database through a memory map. */
#define MMAP_PRAGMA "PRAGMA mmap_size=268435456"

/* SQLite names a violated unique constraint by its columns; these are the
 * ones store_conflict() answers, by the names both schemas give them. */
static const char *const unique_names[][2] = {
	{"customers.partner_id, customers.external_customer_id", "customers_partner_external"},
	{"users.email", "users_email"},
};

/* Returns the name of the unique constraint the connection's last error
 * says was violated, or NULL when it names another. */
static const char *unique_violated(struct conn *c)
{
	static const char prefix[] = "UNIQUE constraint failed: ";
	const char *msg = sqlite3_errmsg(c->db);
	if (strncmp(msg, prefix, sizeof(prefix) - 1) != 0)
		return NULL;
	for (size_t i = 0; i < sizeof(unique_names) / sizeof(unique_names[0]); i++)
		if (strcmp(msg + sizeof(prefix) - 1, unique_names[i][0]) == 0)
			return unique_names[i][1];
	return NULL;
}

int sq_db_error(struct conn *c, int rc, struct err *e)
{
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return error(e, 503, "unavailable", NULL, "storage is busy, retry shortly");
	/* With one writer at a time the handlers see a taken value first; a
	 * store operation called without that check gets the same answer. */
	if (c && (rc & 0xff) == SQLITE_CONSTRAINT && store_conflict(unique_violated(c), e) < 0)
		return -1;
	/* The disk, not the request: full, read-only or failing. Writes stop
	 * until a commit or the main thread's probe succeeds again. */
	const char *fault = NULL;
	switch (rc & 0xff) {
	case SQLITE_FULL:
		fault = "the database's disk is full";
		break;
	case SQLITE_READONLY:
		fault = "the database is read-only";
		break;
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
		fault = "the database's disk cannot be written";
		break;
	}
	static struct log_limit faults, others;
	log_limited(fault ? &faults : &others, "sqlite error %d: %s", rc,
		    c ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
	if (fault) {
		if (c)
			atomic_store(&c->store->writable, false);
		return error(e, 503, "unavailable", NULL, "%s; retry later", fault);
	}
	return error(e, 500, "internal_error", NULL, "internal storage error");
}

int sq_exec(struct conn *c, const char *sql, struct err *e)
{
	int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : sq_db_error(c, rc, e);
}

/* SQLite calls this after every commit with the WAL's length in frames. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	(void)db;
	(void)name;
	struct conn *c = arg;
	struct sqlite_store *ss = c->store;
	atomic_fetch_add_explicit(&ss->commits, 1, memory_order_relaxed);
	c->commits_seen++; /* its own: SQLite keeps its pages after them */
	if (frames < atomic_load_explicit(&ss->wal_frames, memory_order_relaxed))
		sq_wal_started_again(ss); /* by SQLite itself, after a full checkpoint */
	atomic_store_explicit(&ss->wal_frames, frames, memory_order_relaxed);
	return SQLITE_OK;
}

void sq_wal_started_again(struct sqlite_store *ss)
{
	atomic_store_explicit(&ss->wal_frames, 0, memory_order_relaxed);
	atomic_store_explicit(&ss->wal_copied, 0, memory_order_relaxed);
	atomic_store_explicit(&ss->wal_asked, 0, memory_order_relaxed);
}

/* Whether a read transaction reads the database through a memory map. A
 * map saves a copy of each page read, but when another connection has
 * committed since this one's latest transaction, SQLite drops this one's
 * pages and unmaps the whole file, to map it again and fault every page
 * read back in: under a steady stream of commits, far dearer than reading
 * the pages. So a connection reads without the map from a transaction that
 * follows a commit until 64 of its transactions in a row have followed
 * none. Called with no transaction open on c. */
void sq_read_map(struct conn *c)
{
	uint64_t commits = atomic_load_explicit(&c->store->commits, memory_order_relaxed);
	bool was_unmapped = c->changed != 0;
	c->changed = c->changed << 1 | (commits != c->commits_seen);
	c->commits_seen = commits;
	bool unmapped = c->changed != 0;
	if (unmapped != was_unmapped)
		sqlite3_exec(c->db, unmapped ? "PRAGMA mmap_size=0" : MMAP_PRAGMA, NULL, NULL,
			     NULL);
}

/* innbocks_idempotency_key_digest(key): idem_key_digest() for SQL, for the
 * migration that turned stored keys into digests. */
static void key_digest_sql(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	const unsigned char *key = sqlite3_value_text(argv[0]);
	if (!key) {
		sqlite3_result_null(ctx);
		return;
	}
	char digest[65];
	idem_key_digest((const char *)key, digest);
	sqlite3_result_text(ctx, digest, 64, SQLITE_TRANSIENT);
}

static struct conn *conn_open(struct sqlite_store *ss, struct err *e)
{
	const char *path = ss->path;
	struct conn *c = calloc(1, sizeof(*c));
	if (!c)
		die("out of memory");
	int rc = sqlite3_open_v2(
		path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
		store_sqlite_vfs_name());
	if (rc != SQLITE_OK) {
		/* The file's path and SQLite's reason are the operator's (the
		 * start checked the file: store_sqlite.c); a client, reached here
		 * by a thread's first request, learns that storage failed. */
		static struct log_limit opens;
		log_limited(&opens, "cannot open database %s: %s", path,
			    c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
		error(e, 503, "unavailable", NULL, "storage is unreachable, retry shortly");
		goto fail;
	}
	c->store = ss;
	sq_busy_timeout_restore(c);
	sqlite3_create_function(c->db, "innbocks_idempotency_key_digest", 1,
				SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, key_digest_sql, NULL,
				NULL);
	if (sq_exec(c,
		    "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
		    "PRAGMA foreign_keys=ON; PRAGMA cache_size=-16384;" MMAP_PRAGMA ";"
		    /* Savepoint journals in memory, never a temporary file. */
		    "PRAGMA temp_store=MEMORY;"
		    /* Checkpoints run on their own (sq_checkpoint, sq_wal_bound),
		      * not in commits; a restarted WAL shrinks back to the limit. */
		    "PRAGMA wal_autocheckpoint=0;"
		    "PRAGMA journal_size_limit=" STRING_OF(WAL_LIMIT_BYTES) ";",
		    e) < 0)
		goto fail;
	/* After wal_autocheckpoint=0, which would replace it. */
	sqlite3_wal_hook(c->db, wal_hook, c);
	return c;
fail:
	sqlite3_close(c->db);
	free(c);
	return NULL;
}

void sq_busy_timeout_restore(struct conn *c)
{
	sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
}

void sq_conn_close(struct conn *c)
{
	for (int i = 0; i < c->ncache; i++) {
		sqlite3_finalize(c->cache[i].st);
		free(c->cache[i].sql);
	}
	sqlite3_close(c->db);
	free(c);
}

/* Returns the calling thread's connection, opening it on first use. */
struct conn *sq_conn_get(struct store *s, struct err *e)
{
	struct sqlite_store *ss = (struct sqlite_store *)s;
	struct conn *c = pthread_getspecific(ss->key);
	if (c)
		return c;
	c = conn_open(ss, e);
	if (!c)
		return NULL;
	pthread_mutex_lock(&ss->mu);
	c->next = ss->conns;
	ss->conns = c;
	pthread_mutex_unlock(&ss->mu);
	pthread_setspecific(ss->key, c);
	return c;
}

/* FNV-1a: statements share long prefixes, so comparing strings is slow. */
static uint64_t sql_hash(const char *sql)
{
	uint64_t h = 14695981039346656037ull;
	for (const unsigned char *p = (const unsigned char *)sql; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return h;
}

/* Returns the cached statement for sql, found by the text's address when
 * by_address (string literals live, unchanged, for the whole run) or by
 * its content. */
static sqlite3_stmt *prep_cached(struct conn *c, const char *sql, bool by_address,
				 struct err *e)
{
	uint64_t h = 0;
	if (by_address) {
		for (int i = 0; i < c->ncache; i++)
			if (c->cache[i].literal == sql)
				return c->cache[i].st;
	} else {
		h = sql_hash(sql);
		for (int i = 0; i < c->ncache; i++)
			if (!c->cache[i].literal && c->cache[i].hash == h &&
			    strcmp(c->cache[i].sql, sql) == 0)
				return c->cache[i].st;
	}
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK) {
		sq_db_error(c, rc, e);
		return NULL;
	}
	if (c->ncache == STMT_CACHE) {
		/* Dynamic list queries could in theory fill the cache: evict the last. */
		c->ncache--;
		sqlite3_finalize(c->cache[c->ncache].st);
		free(c->cache[c->ncache].sql);
	}
	c->cache[c->ncache].sql = strdup(sql);
	if (!c->cache[c->ncache].sql)
		die("out of memory");
	c->cache[c->ncache].hash = h;
	c->cache[c->ncache].literal = by_address ? sql : NULL;
	c->cache[c->ncache].st = st;
	c->ncache++;
	return st;
}

sqlite3_stmt *sq_prep(struct conn *c, const char *sql, struct err *e)
{
	return prep_cached(c, sql, true, e);
}

sqlite3_stmt *sq_prep_text(struct conn *c, const char *sql, struct err *e)
{
	return prep_cached(c, sql, false, e);
}

sqlite3_stmt *sq_stmt(struct store *s, const char *sql, struct conn **c, struct err *e)
{
	*c = sq_conn_get(s, e);
	return *c ? sq_prep(*c, sql, e) : NULL;
}

void sq_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

void sq_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* Binds a time or count where 0 means null. */
void sq_bind_time(sqlite3_stmt *st, int i, int64_t v)
{
	if (v)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

char *sq_col_text(struct arena *a, sqlite3_stmt *st, int i)
{
	/* One column lookup for both the text and its length (two
	 * sqlite3_column_* calls look the column up twice). SQLite calls the
	 * value unprotected: its accessors take no connection mutex, which
	 * none of ours has (SQLITE_OPEN_NOMUTEX, one thread at a time). */
	sqlite3_value *v = sqlite3_column_value(st, i);
	const unsigned char *t = sqlite3_value_text(v);
	if (!t)
		return NULL;
	return arena_strndup(a, (const char *)t, (size_t)sqlite3_value_bytes(v));
}

int64_t sq_col_i64(sqlite3_stmt *st, int i)
{
	return sqlite3_column_int64(st, i);
}

/* Runs a statement that returns no rows; returns 0 or -1. */
int sq_step_done(struct conn *c, sqlite3_stmt *st, struct err *e)
{
	int rc = sqlite3_step(st);
	sq_done(st);
	if (rc == SQLITE_DONE)
		return 0;
	return sq_db_error(c, rc, e);
}

/* --- list queries --- */

void sq_q_add(struct query *q, const char *fragment)
{
	size_t l = strlen(fragment);
	if (q->len + l >= sizeof(q->sql))
		die("query too long");
	memcpy(q->sql + q->len, fragment, l + 1);
	q->len += l;
}

void sq_q_text(struct query *q, const char *fragment, const char *v)
{
	sq_q_add(q, fragment);
	q->text[q->n] = v;
	q->is_num[q->n++] = false;
}

void sq_q_num(struct query *q, const char *fragment, int64_t v)
{
	sq_q_add(q, fragment);
	q->num[q->n] = v;
	q->is_num[q->n++] = true;
}


/* Finishes q (which ends in a WHERE clause) with the page bounds, runs it and
 * reads up to pg->limit items of item_size into *items, newest first.
 * cursor_sql turns a cursor id (bound first) and scope (bound second, when
 * not NULL) into a seq; an unknown cursor is a 400. */
int sq_run_list(struct conn *c, struct arena *a, struct query *q, const char *seq_col,
		const char *cursor_sql, const char *scope, const struct page *pg,
		row_reader *read, size_t item_size, void **items, size_t *n, bool *has_more,
		struct err *e)
{
	const char *cursor = pg->starting_after ? pg->starting_after : pg->ending_before;
	bool backwards = pg->ending_before != NULL;
	if (cursor) {
		sqlite3_stmt *st = sq_prep(c, cursor_sql, e);
		if (!st)
			return -1;
		sq_bind_text(st, 1, cursor);
		if (scope)
			sq_bind_text(st, 2, scope);
		int rc = sqlite3_step(st);
		int64_t seq = rc == SQLITE_ROW ? sq_col_i64(st, 0) : 0;
		sq_done(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return sq_db_error(c, rc, e);
		if (rc == SQLITE_DONE)
			return store_cursor_unknown(pg, e);
		char frag[64];
		snprintf(frag, sizeof(frag), " AND %s %s ?", seq_col, backwards ? ">" : "<");
		sq_q_num(q, frag, seq);
	}
	char order[64];
	snprintf(order, sizeof(order), " ORDER BY %s %s LIMIT ?", seq_col,
		 backwards ? "ASC" : "DESC");
	sq_q_num(q, order, pg->limit + 1);

	sqlite3_stmt *st = sq_prep_text(c, q->sql, e);
	if (!st)
		return -1;
	for (int i = 0; i < q->n; i++) {
		if (q->is_num[i])
			sqlite3_bind_int64(st, i + 1, q->num[i]);
		else
			sq_bind_text(st, i + 1, q->text[i]);
	}
	char *buf = arena_alloc(a, item_size * (size_t)pg->limit);
	size_t count = 0;
	int rc;
	*has_more = false;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		/* The row past the page only tells that there are more. */
		if (count == (size_t)pg->limit) {
			*has_more = true;
			break;
		}
		read(a, st, buf + item_size * count++);
	}
	sq_done(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return sq_db_error(c, rc, e);
	/* Fetched oldest first from the cursor; present newest first. */
	if (backwards)
		store_items_reverse(buf, item_size, count);
	*items = buf;
	*n = count;
	return 0;
}
/* Runs st (bound) expecting at most one row, read by read into item. */
int sq_get_one(struct conn *c, struct arena *a, sqlite3_stmt *st, row_reader *read, void *item,
	       struct err *e)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read(a, st, item);
	sq_done(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return STORE_NOT_FOUND;
	return sq_db_error(c, rc, e);
}

int sq_get_one_by(struct store *s, struct arena *a, const char *sql, const char *const *v,
		  int n, row_reader *read, void *item, struct err *e)
{
	struct conn *c;
	sqlite3_stmt *st = sq_stmt(s, sql, &c, e);
	if (!st)
		return -1;
	for (int i = 0; i < n; i++)
		sq_bind_text(st, i + 1, v[i]);
	return sq_get_one(c, a, st, read, item, e);
}

/* Runs st (bound) and reads every row into a growing arena array. */
int sq_get_all(struct conn *c, struct arena *a, sqlite3_stmt *st, row_reader *read,
	       size_t item_size, void **items, size_t *n, struct err *e)
{
	size_t cap = 8, count = 0;
	char *buf = arena_alloc(a, cap * item_size);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (count == cap) {
			char *bigger = arena_alloc(a, 2 * cap * item_size);
			memcpy(bigger, buf, cap * item_size);
			buf = bigger;
			cap *= 2;
		}
		read(a, st, buf + item_size * count++);
	}
	sq_done(st);
	if (rc != SQLITE_DONE)
		return sq_db_error(c, rc, e);
	*items = buf;
	*n = count;
	return 0;
}
