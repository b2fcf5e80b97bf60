/* store_sqlite.c - the embedded SQLite backend of struct store.
 *
 * Each thread gets its own connection (WAL lets readers run beside the one
 * writer); statements are prepared once per connection and cached. Writes
 * use BEGIN IMMEDIATE, so a writer waits for the lock up front instead of
 * failing at commit, and busy_timeout absorbs other processes (the command
 * line) holding it. synchronous=FULL: a commit is on disk when it returns. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_sqlite.h"
#include "banned.h"

/* The migrations, generated from sql/sqlite/ at build time (embed_sql.sh). */
extern const char *const sqlite_migrations[];

#define STMT_CACHE 96
#define BUSY_TIMEOUT_MS 10000
/* Past this size the write-ahead log is checkpointed completely and
 * restarted (sq_wal_bound); the file is also truncated back to it. */
#define WAL_LIMIT_BYTES 67108864 /* 64 MiB */
#define STRINGIFY(x) #x
#define STRING_OF(x) STRINGIFY(x)

struct cached_stmt {
	char *sql;
	const char *literal;     /* the caller's string literal, or NULL */
	uint64_t hash;           /* of sql, for statements built at run time */
	sqlite3_stmt *st;
};

struct conn {
	sqlite3 *db;
	bool holds_write;        /* this thread holds sqlite_store.write_mu */
	struct conn *next;
	struct cached_stmt cache[STMT_CACHE];
	int ncache;
};

struct sqlite_store {
	struct store base;       /* first, so a struct store * converts back */
	char *path;
	pthread_key_t key;
	pthread_mutex_t mu;      /* guards conns */
	pthread_mutex_t write_mu; /* one write transaction at a time in this process */
	struct conn *conns;
	atomic_int wal_frames;   /* frames in the WAL after the latest commit */
	int wal_limit_frames;    /* WAL_LIMIT_BYTES in frames of this page size */
};

int sq_db_error(struct conn *c, int rc, struct err *e)
{
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return error(e, 503, "unavailable", NULL, "storage is busy, retry shortly");
	fprintf(stderr, "innbocks: sqlite error %d: %s\n", rc,
		c ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
	return error(e, 500, "internal_error", NULL, "internal storage error");
}

static int sq_exec_sql(struct conn *c, const char *sql, struct err *e)
{
	int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : sq_db_error(c, rc, e);
}

/* SQLite calls this after every commit with the WAL's length in frames. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	(void)db;
	(void)name;
	atomic_store_explicit(&((struct sqlite_store *)arg)->wal_frames, frames,
			      memory_order_relaxed);
	return SQLITE_OK;
}

static struct conn *conn_open(struct sqlite_store *ss, struct err *e)
{
	const char *path = ss->path;
	struct conn *c = calloc(1, sizeof(*c));
	if (!c)
		die("out of memory");
	int rc = sqlite3_open_v2(path, &c->db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				 SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		error(e, 503, "unavailable", NULL, "cannot open database %s: %s", path,
		      c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
	if (sq_exec_sql(c, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
		     "PRAGMA foreign_keys=ON; PRAGMA cache_size=-16384;"
		     "PRAGMA mmap_size=268435456;"
		     /* Checkpoints run on their own (sq_checkpoint, sq_wal_bound),
		      * not in commits; a restarted WAL shrinks back to the limit. */
		     "PRAGMA wal_autocheckpoint=0;"
		     "PRAGMA journal_size_limit=" STRING_OF(WAL_LIMIT_BYTES) ";", e) < 0)
		goto fail;
	/* After wal_autocheckpoint=0, which would replace it. */
	sqlite3_wal_hook(c->db, wal_hook, ss);
	return c;
fail:
	sqlite3_close(c->db);
	free(c);
	return NULL;
}

static void conn_close(struct conn *c)
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
	const unsigned char *t = sqlite3_column_text(st, i);
	if (!t)
		return NULL;
	return arena_strndup(a, (const char *)t, (size_t)sqlite3_column_bytes(st, i));
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

/* --- transactions --- */

/* Runs a transaction-control statement through the statement cache, so the
 * per-request BEGIN/SAVEPOINT/COMMIT cost no parsing. */
static int tx_exec(struct conn *c, const char *sql, struct err *e)
{
	sqlite3_stmt *st = sq_prep(c, sql, e);
	return st ? sq_step_done(c, st, e) : -1;
}

/* Ends the thread's hold on the in-process write lock, if it has it. */
static void write_lock_drop(struct store *s, struct conn *c)
{
	if (c->holds_write) {
		c->holds_write = false;
		pthread_mutex_unlock(&((struct sqlite_store *)s)->write_mu);
	}
}

static int sq_tx_begin(struct store *s, bool write, struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	if (!write)
		return tx_exec(c, "BEGIN", e);
	/* Threads of this process queue here rather than in SQLite's busy
	 * handler, which sleeps in steps of milliseconds; other processes (the
	 * command line) still meet busy_timeout. */
	pthread_mutex_lock(&((struct sqlite_store *)s)->write_mu);
	c->holds_write = true;
	if (tx_exec(c, "BEGIN IMMEDIATE", e) == 0)
		return 0;
	write_lock_drop(s, c);
	return -1;
}

static int sq_tx_savepoint(struct store *s, struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	return c ? tx_exec(c, "SAVEPOINT request", e) : -1;
}

static void sq_tx_undo(struct store *s)
{
	struct err e;
	struct conn *c = sq_conn_get(s, &e);
	if (c && tx_exec(c, "ROLLBACK TO request", &e) == 0)
		tx_exec(c, "RELEASE request", &e);
}

static void sq_tx_release(struct store *s)
{
	struct err e;
	struct conn *c = sq_conn_get(s, &e);
	if (c)
		tx_exec(c, "RELEASE request", &e);
}

static int sq_tx_commit(struct store *s, struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	int rc = tx_exec(c, "COMMIT", e);
	struct err ignored;
	if (rc < 0 && !sqlite3_get_autocommit(c->db))
		tx_exec(c, "ROLLBACK", &ignored);
	write_lock_drop(s, c);
	return rc;
}

static void sq_tx_rollback(struct store *s)
{
	struct err e;
	struct conn *c = sq_conn_get(s, &e);
	if (!c)
		return;
	if (!sqlite3_get_autocommit(c->db))
		tx_exec(c, "ROLLBACK", &e);
	write_lock_drop(s, c);
}

static int sq_checkpoint(struct store *s, struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return rc == SQLITE_OK || rc == SQLITE_BUSY ? 0 : sq_db_error(c, rc, e);
}

/* A passive checkpoint never completes while writes keep coming, so the WAL
 * would never restart and would grow without end. Past the limit, this one
 * holds the write lock (writers of this process queue; nothing adds frames)
 * and copies every frame back, waiting for readers of older snapshots via
 * the busy handler; the next commit then starts the WAL from its beginning. */
static int sq_wal_bound(struct store *s, struct err *e)
{
	struct sqlite_store *ss = (struct sqlite_store *)s;
	if (atomic_load_explicit(&ss->wal_frames, memory_order_relaxed) < ss->wal_limit_frames)
		return 0;
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	pthread_mutex_lock(&ss->write_mu);
	int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
	if (rc == SQLITE_OK)
		atomic_store_explicit(&ss->wal_frames, 0, memory_order_relaxed);
	pthread_mutex_unlock(&ss->write_mu);
	return rc == SQLITE_OK || rc == SQLITE_BUSY ? 0 : sq_db_error(c, rc, e);
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
int sq_run_list(struct conn *c, struct arena *a, struct query *q,
		    const char *seq_col, const char *cursor_sql, const char *scope,
		    const struct page *pg, row_reader *read, size_t item_size,
		    void **items, size_t *n, bool *has_more, struct err *e)
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
			return error(e, 400, "invalid_request",
				     backwards ? "ending_before" : "starting_after",
				     "no object with id %s in this list", cursor);
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
	char *buf = arena_alloc(a, item_size * (size_t)(pg->limit + 1));
	size_t count = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		read(a, st, buf + item_size * count++);
	sq_done(st);
	if (rc != SQLITE_DONE)
		return sq_db_error(c, rc, e);
	*has_more = count > (size_t)pg->limit;
	if (*has_more)
		count = (size_t)pg->limit;
	if (backwards) {
		/* Fetched oldest first from the cursor; present newest first. */
		char *tmp = arena_alloc(a, item_size);
		for (size_t i = 0; i < count / 2; i++) {
			char *x = buf + item_size * i, *y = buf + item_size * (count - 1 - i);
			memcpy(tmp, x, item_size);
			memcpy(x, y, item_size);
			memcpy(y, tmp, item_size);
		}
	}
	*items = buf;
	*n = count;
	return 0;
}
/* Runs st (bound) expecting at most one row, read by read into item. */
int sq_get_one(struct conn *c, struct arena *a, sqlite3_stmt *st, row_reader *read,
		   void *item, struct err *e)
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

/* --- lifecycle --- */

static void sq_close(struct store *s)
{
	if (!s)
		return;
	struct sqlite_store *ss = (struct sqlite_store *)s;
	struct conn *c = ss->conns;
	while (c) {
		struct conn *next = c->next;
		conn_close(c);
		c = next;
	}
	pthread_key_delete(ss->key);
	pthread_mutex_destroy(&ss->mu);
	pthread_mutex_destroy(&ss->write_mu);
	free(ss->path);
	free(ss);
}

/* Applies the migrations the database has not seen, each in a transaction. */
static int migrate(struct store *s, struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	if (sq_exec_sql(c, "BEGIN IMMEDIATE", e) < 0)
		return -1;
	if (sq_exec_sql(c, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
		     e) < 0)
		goto fail;
	sqlite3_stmt *st = sq_prep(c, "SELECT coalesce(max(version), 0) FROM schema_version", e);
	if (!st)
		goto fail;
	int rc = sqlite3_step(st);
	int have = rc == SQLITE_ROW ? (int)sq_col_i64(st, 0) : 0;
	sq_done(st);
	if (rc != SQLITE_ROW) {
		sq_db_error(c, rc, e);
		goto fail;
	}
	int known = 0;
	while (sqlite_migrations[known])
		known++;
	if (have > known) {
		error(e, 503, "unavailable", NULL,
		      "the database has schema version %d, newer than this binary's %d", have,
		      known);
		goto fail;
	}
	for (int v = have; sqlite_migrations[v]; v++) {
		if (sq_exec_sql(c, sqlite_migrations[v], e) < 0)
			goto fail;
		char sql[80];
		snprintf(sql, sizeof(sql), "INSERT INTO schema_version VALUES (%d)", v + 1);
		if (sq_exec_sql(c, sql, e) < 0)
			goto fail;
	}
	return sq_exec_sql(c, "COMMIT", e);
fail:
	sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* Converts WAL_LIMIT_BYTES into frames of the database's page size. */
static int wal_limit_init(struct sqlite_store *ss, struct err *e)
{
	struct conn *c = sq_conn_get(&ss->base, e);
	sqlite3_stmt *st = c ? sq_prep(c, "PRAGMA page_size", e) : NULL;
	if (!st)
		return -1;
	int rc = sqlite3_step(st);
	int64_t page = rc == SQLITE_ROW ? sq_col_i64(st, 0) : 0;
	sq_done(st);
	if (rc != SQLITE_ROW)
		return sq_db_error(c, rc, e);
	/* Each frame is a page plus its 24-byte header. */
	ss->wal_limit_frames = (int)(WAL_LIMIT_BYTES / (page + 24));
	return 0;
}

struct store *store_sqlite_open(const char *path, struct err *e)
{
	/* No global memory statistics: they take a mutex on every allocation.
	 * Only possible before SQLite initialises; later calls are harmless no-ops. */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	struct sqlite_store *ss = calloc(1, sizeof(*ss));
	if (!ss)
		die("out of memory");
	ss->path = strdup(path);
	if (!ss->path)
		die("out of memory");
	pthread_key_create(&ss->key, NULL);
	pthread_mutex_init(&ss->mu, NULL);
	pthread_mutex_init(&ss->write_mu, NULL);
	struct store *s = &ss->base;
	*s = (struct store){
		.tx_begin = sq_tx_begin,
		.tx_savepoint = sq_tx_savepoint,
		.tx_undo = sq_tx_undo,
		.tx_release = sq_tx_release,
		.tx_commit = sq_tx_commit,
		.tx_rollback = sq_tx_rollback,
		.checkpoint = sq_checkpoint,
		.wal_bound = sq_wal_bound,
		.close = sq_close,
	};
	sq_bind_partners(s);
	sq_bind_customers(s);
	sq_bind_mail(s);
	sq_bind_events(s);
	sq_bind_webhooks(s);
	if (migrate(s, e) < 0 || wal_limit_init(ss, e) < 0) {
		sq_close(s);
		return NULL;
	}
	return s;
}
