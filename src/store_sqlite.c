/* store_sqlite.c - the embedded SQLite backend of struct store.
 *
 * Each thread gets its own connection (WAL lets readers run beside the one
 * writer); statements are prepared once per connection and cached. Writes
 * use BEGIN IMMEDIATE, so a writer waits for the lock up front instead of
 * failing at commit, and busy_timeout absorbs other processes (the command
 * line) holding it. synchronous=FULL: a commit is on disk when it returns. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

/* The migrations, generated from sql/sqlite/ at build time (embed_sql.sh). */
extern const char *const sqlite_migrations[];

#define STMT_CACHE 96
#define BUSY_TIMEOUT_MS 10000

struct cached_stmt {
	char *sql;
	sqlite3_stmt *st;
};

struct conn {
	sqlite3 *db;
	struct conn *next;
	struct cached_stmt cache[STMT_CACHE];
	int ncache;
};

struct sqlite_store {
	struct store base;       /* first, so a struct store * converts back */
	char *path;
	pthread_key_t key;
	pthread_mutex_t mu;      /* guards conns */
	struct conn *conns;
};

static int db_error(struct conn *c, int rc, struct err *e)
{
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return error(e, 503, "unavailable", NULL, "storage is busy, retry shortly");
	fprintf(stderr, "innbocks: sqlite error %d: %s\n", rc,
		c ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
	return error(e, 500, "internal_error", NULL, "internal storage error");
}

static int exec_sql(struct conn *c, const char *sql, struct err *e)
{
	int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : db_error(c, rc, e);
}

static struct conn *conn_open(const char *path, struct err *e)
{
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
	if (exec_sql(c, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
		     "PRAGMA foreign_keys=ON; PRAGMA cache_size=-16384;"
		     "PRAGMA mmap_size=268435456;", e) < 0)
		goto fail;
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
static struct conn *conn_get(struct store *s, struct err *e)
{
	struct sqlite_store *ss = (struct sqlite_store *)s;
	struct conn *c = pthread_getspecific(ss->key);
	if (c)
		return c;
	c = conn_open(ss->path, e);
	if (!c)
		return NULL;
	pthread_mutex_lock(&ss->mu);
	c->next = ss->conns;
	ss->conns = c;
	pthread_mutex_unlock(&ss->mu);
	pthread_setspecific(ss->key, c);
	return c;
}

/* Returns the cached prepared statement for sql, reset and unbound. */
static sqlite3_stmt *prep(struct conn *c, const char *sql, struct err *e)
{
	for (int i = 0; i < c->ncache; i++)
		if (strcmp(c->cache[i].sql, sql) == 0)
			return c->cache[i].st;
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK) {
		db_error(c, rc, e);
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
	c->cache[c->ncache].st = st;
	c->ncache++;
	return st;
}

static void done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* Binds a time or count where 0 means null. */
static void bind_time(sqlite3_stmt *st, int i, int64_t v)
{
	if (v)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

static char *col_text(struct arena *a, sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	if (!t)
		return NULL;
	return arena_strndup(a, (const char *)t, (size_t)sqlite3_column_bytes(st, i));
}

static int64_t col_i64(sqlite3_stmt *st, int i)
{
	return sqlite3_column_int64(st, i);
}

/* Runs a statement that returns no rows; returns 0 or -1. */
static int step_done(struct conn *c, sqlite3_stmt *st, struct err *e)
{
	int rc = sqlite3_step(st);
	done(st);
	if (rc == SQLITE_DONE)
		return 0;
	return db_error(c, rc, e);
}

/* --- transactions ---------------------------------------------------- */

static int sq_tx_begin(struct store *s, bool write, struct err *e)
{
	struct conn *c = conn_get(s, e);
	if (!c)
		return -1;
	return exec_sql(c, write ? "BEGIN IMMEDIATE" : "BEGIN", e);
}

static int sq_tx_savepoint(struct store *s, struct err *e)
{
	struct conn *c = conn_get(s, e);
	return c ? exec_sql(c, "SAVEPOINT request", e) : -1;
}

static void sq_tx_undo(struct store *s)
{
	struct err e;
	struct conn *c = conn_get(s, &e);
	if (c)
		sqlite3_exec(c->db, "ROLLBACK TO request", NULL, NULL, NULL);
}

static int sq_tx_commit(struct store *s, struct err *e)
{
	struct conn *c = conn_get(s, e);
	if (!c)
		return -1;
	int rc = sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		return 0;
	db_error(c, rc, e);
	if (!sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

static void sq_tx_rollback(struct store *s)
{
	struct err e;
	struct conn *c = conn_get(s, &e);
	if (c && !sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

/* --- list queries ------------------------------------------------------ */

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

static void q_add(struct query *q, const char *fragment)
{
	size_t l = strlen(fragment);
	if (q->len + l >= sizeof(q->sql))
		die("query too long");
	memcpy(q->sql + q->len, fragment, l + 1);
	q->len += l;
}

static void q_text(struct query *q, const char *fragment, const char *v)
{
	q_add(q, fragment);
	q->text[q->n] = v;
	q->is_num[q->n++] = false;
}

static void q_num(struct query *q, const char *fragment, int64_t v)
{
	q_add(q, fragment);
	q->num[q->n] = v;
	q->is_num[q->n++] = true;
}

/* Reads the row st is on into item. */
typedef void row_reader(struct arena *a, sqlite3_stmt *st, void *item);

/* Finishes q (which ends in a WHERE clause) with the page bounds, runs it and
 * reads up to pg->limit items of item_size into *items, newest first.
 * cursor_sql turns a cursor id (bound first) and scope (bound second, when
 * not NULL) into a seq; an unknown cursor is a 400. */
static int run_list(struct conn *c, struct arena *a, struct query *q,
		    const char *seq_col, const char *cursor_sql, const char *scope,
		    const struct page *pg, row_reader *read, size_t item_size,
		    void **items, size_t *n, bool *has_more, struct err *e)
{
	const char *cursor = pg->starting_after ? pg->starting_after : pg->ending_before;
	bool backwards = pg->ending_before != NULL;
	if (cursor) {
		sqlite3_stmt *st = prep(c, cursor_sql, e);
		if (!st)
			return -1;
		bind_text(st, 1, cursor);
		if (scope)
			bind_text(st, 2, scope);
		int rc = sqlite3_step(st);
		int64_t seq = rc == SQLITE_ROW ? col_i64(st, 0) : 0;
		done(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return db_error(c, rc, e);
		if (rc == SQLITE_DONE)
			return error(e, 400, "invalid_request",
				     backwards ? "ending_before" : "starting_after",
				     "no object with id %s in this list", cursor);
		char frag[64];
		snprintf(frag, sizeof(frag), " AND %s %s ?", seq_col, backwards ? ">" : "<");
		q_num(q, frag, seq);
	}
	char order[64];
	snprintf(order, sizeof(order), " ORDER BY %s %s LIMIT ?", seq_col,
		 backwards ? "ASC" : "DESC");
	q_num(q, order, pg->limit + 1);

	sqlite3_stmt *st = prep(c, q->sql, e);
	if (!st)
		return -1;
	for (int i = 0; i < q->n; i++) {
		if (q->is_num[i])
			sqlite3_bind_int64(st, i + 1, q->num[i]);
		else
			bind_text(st, i + 1, q->text[i]);
	}
	char *buf = arena_alloc(a, item_size * (size_t)(pg->limit + 1));
	size_t count = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		read(a, st, buf + item_size * count++);
	done(st);
	if (rc != SQLITE_DONE)
		return db_error(c, rc, e);
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

/* --- partners ---------------------------------------------------------- */

#define PARTNER_COLS "id, name, line1, line2, city, state, postal_code, country, created_at"

static void read_partner(struct arena *a, sqlite3_stmt *st, void *item)
{
	struct partner *p = item;
	p->id = col_text(a, st, 0);
	p->name = col_text(a, st, 1);
	p->location.line1 = col_text(a, st, 2);
	p->location.line2 = col_text(a, st, 3);
	p->location.city = col_text(a, st, 4);
	p->location.state = col_text(a, st, 5);
	p->location.postal_code = col_text(a, st, 6);
	p->location.country = col_text(a, st, 7);
	p->created_at = col_i64(st, 8);
}

static int sq_partner_insert(struct store *s, const struct partner *p, struct err *e)
{
	struct conn *c = conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = prep(c, "INSERT INTO partners (" PARTNER_COLS ") "
				"VALUES (?,?,?,?,?,?,?,?,?)", e);
	if (!st)
		return -1;
	bind_text(st, 1, p->id);
	bind_text(st, 2, p->name);
	bind_text(st, 3, p->location.line1);
	bind_text(st, 4, p->location.line2);
	bind_text(st, 5, p->location.city);
	bind_text(st, 6, p->location.state);
	bind_text(st, 7, p->location.postal_code);
	bind_text(st, 8, p->location.country);
	sqlite3_bind_int64(st, 9, p->created_at);
	return step_done(c, st, e);
}

/* Runs st (bound) expecting at most one row, read by read into item. */
static int get_one(struct conn *c, struct arena *a, sqlite3_stmt *st, row_reader *read,
		   void *item, struct err *e)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read(a, st, item);
	done(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return STORE_NOT_FOUND;
	return db_error(c, rc, e);
}

/* Runs st (bound) and reads every row into a growing arena array. */
static int get_all(struct conn *c, struct arena *a, sqlite3_stmt *st, row_reader *read,
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
	done(st);
	if (rc != SQLITE_DONE)
		return db_error(c, rc, e);
	*items = buf;
	*n = count;
	return 0;
}

static int sq_partner_get(struct store *s, struct arena *a, const char *id,
			  struct partner *out, struct err *e)
{
	struct conn *c = conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = prep(c, "SELECT " PARTNER_COLS " FROM partners WHERE id = ?", e);
	if (!st)
		return -1;
	bind_text(st, 1, id);
	return get_one(c, a, st, read_partner, out, e);
}

static int sq_partner_list(struct store *s, struct arena *a, const struct page *pg,
			   struct partner **items, size_t *n, bool *has_more, struct err *e)
{
	struct conn *c = conn_get(s, e);
	if (!c)
		return -1;
	struct query q = {0};
	q_add(&q, "SELECT " PARTNER_COLS " FROM partners WHERE 1");
	return run_list(c, a, &q, "seq", "SELECT seq FROM partners WHERE id = ?", NULL, pg,
			read_partner, sizeof(**items), (void **)items, n, has_more, e);
}

/* --- keys and operator tokens ------------------------------------------ */

#define KEY_COLS "id, partner_id, name, prefix, hash, scopes, created_at, last_used_at, revoked_at"

static void read_key(struct arena *a, sqlite3_stmt *st, void *item)
{
	struct api_key *k = item;
	k->id = col_text(a, st, 0);
	k->partner_id = col_text(a, st, 1);
	k->name = col_text(a, st, 2);
	k->prefix = col_text(a, st, 3);
	k->hash = col_text(a, st, 4);
	k->scopes = (unsigned)col_i64(st, 5);
	k->created_at = col_i64(st, 6);
	k->last_used_at = col_i64(st, 7);
	k->revoked_at = col_i64(st, 8);
}

static int sq_key_insert(struct store *s, const struct api_key *k, struct err *e)
{
	struct conn *c = conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = prep(c, "INSERT INTO api_keys (" KEY_COLS ") "
				"VALUES (?,?,?,?,?,?,?,?,?)", e);
	if (!st)
		return -1;
	bind_text(st, 1, k->id);
	bind_text(st, 2, k->partner_id);
	bind_text(st, 3, k->name);
	bind_text(st, 4, k->prefix);
	bind_text(st, 5, k->hash);
	sqlite3_bind_int64(st, 6, k->scopes);
	sqlite3_bind_int64(st, 7, k->created_at);
	bind_time(st, 8, k->last_used_at);
	bind_time(st, 9, k->revoked_at);
	return step_done(c, st, e);
}

static int key_get_by(struct store *s, struct arena *a, const char *sql, const char *v,
		      struct api_key *out, struct err *e)
{
	struct conn *c = conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = prep(c, sql, e);
	if (!st)
		return -1;
	bind_text(st, 1, v);
	return get_one(c, a, st, read_key, out, e);
}

static int sq_key_get(struct store *s, struct arena *a, const char *id,
		      struct api_key *out, struct err *e)
{
	return key_get_by(s, a, "SELECT " KEY_COLS " FROM api_keys WHERE id = ?", id, out, e);
}

static int sq_key_find_by_hash(struct store *s, struct arena *a, const char *hash,
			       struct api_key *out, struct err *e)
{
	return key_get_by(s, a, "SELECT " KEY_COLS " FROM api_keys WHERE hash = ?", hash,
			  out, e);
}

static int sq_key_list(struct store *s, struct arena *a, const char *partner_id,
		       const struct page *pg, struct api_key **items, size_t *n,
		       bool *has_more, struct err *e)
{
	struct conn *c = conn_get(s, e);
	if (!c)
		return -1;
	struct query q = {0};
	q_text(&q, "SELECT " KEY_COLS " FROM api_keys WHERE partner_id = ?", partner_id);
	return run_list(c, a, &q, "seq",
			"SELECT seq FROM api_keys WHERE id = ? AND partner_id = ?", partner_id,
			pg, read_key, sizeof(**items), (void **)items, n, has_more, e);
}

static int update_by_id(struct store *s, const char *sql, const char *id, int64_t now,
			struct err *e)
{
	struct conn *c = conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = prep(c, sql, e);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	bind_text(st, 2, id);
	return step_done(c, st, e);
}

static int sq_key_revoke(struct store *s, const char *id, int64_t now, struct err *e)
{
	return update_by_id(s, "UPDATE api_keys SET revoked_at = ? "
			    "WHERE id = ? AND revoked_at IS NULL", id, now, e);
}

static int sq_key_touch(struct store *s, const char *id, int64_t now, struct err *e)
{
	return update_by_id(s, "UPDATE api_keys SET last_used_at = ? WHERE id = ?", id, now, e);
}

static int sq_operator_token_insert(struct store *s, const char *id, const char *hash,
				    int64_t now, struct err *e)
{
	struct conn *c = conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = prep(c, "INSERT INTO operator_tokens (id, hash, created_at) "
				"VALUES (?,?,?)", e);
	if (!st)
		return -1;
	bind_text(st, 1, id);
	bind_text(st, 2, hash);
	sqlite3_bind_int64(st, 3, now);
	return step_done(c, st, e);
}

static int sq_operator_token_find(struct store *s, const char *hash, struct err *e)
{
	struct conn *c = conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = prep(c, "SELECT 1 FROM operator_tokens WHERE hash = ?", e);
	if (!st)
		return -1;
	bind_text(st, 1, hash);
	int rc = sqlite3_step(st);
	done(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? STORE_NOT_FOUND : db_error(c, rc, e);
}

/* --- customers and mailboxes ------------------------------------------- */

#define CUSTOMER_SELECT \
	"SELECT c.id, c.partner_id, c.external_customer_id, c.email, c.name, c.phone," \
	" c.prepay, c.own_billing_active, c.status, c.form_status, c.form_submitted_at," \
	" c.form_approved_at, c.form_rejection_reason, c.identity_status," \
	" c.identity_verified_at, c.identity_failure_reason, c.compliance_updated_at," \
	" c.metadata, c.created_at, c.updated_at, c.deactivated_at, c.deactivation_reason," \
	" m.id, m.number, m.status, m.reserved_at, m.activated_at, m.closed_at," \
	" p.line1, p.line2, p.city, p.state, p.postal_code, p.country" \
	" FROM customers c JOIN mailboxes m ON m.customer_id = c.id" \
	" JOIN partners p ON p.id = c.partner_id"

static void read_customer(struct arena *a, sqlite3_stmt *st, void *item)
{
	struct customer *c = item;
	c->id = col_text(a, st, 0);
	c->partner_id = col_text(a, st, 1);
	c->external_id = col_text(a, st, 2);
	c->email = col_text(a, st, 3);
	c->name = col_text(a, st, 4);
	c->phone = col_text(a, st, 5);
	c->prepay = col_i64(st, 6) != 0;
	c->own_billing_active = col_i64(st, 7) != 0;
	c->status = col_text(a, st, 8);
	c->form_status = col_text(a, st, 9);
	c->form_submitted_at = col_i64(st, 10);
	c->form_approved_at = col_i64(st, 11);
	c->form_rejection_reason = col_text(a, st, 12);
	c->identity_status = col_text(a, st, 13);
	c->identity_verified_at = col_i64(st, 14);
	c->identity_failure_reason = col_text(a, st, 15);
	c->compliance_updated_at = col_i64(st, 16);
	c->metadata = col_text(a, st, 17);
	c->created_at = col_i64(st, 18);
	c->updated_at = col_i64(st, 19);
	c->deactivated_at = col_i64(st, 20);
	c->deactivation_reason = col_text(a, st, 21);
	c->mailbox.id = col_text(a, st, 22);
	c->mailbox.number = col_text(a, st, 23);
	c->mailbox.status = col_text(a, st, 24);
	c->mailbox.reserved_at = col_i64(st, 25);
	c->mailbox.activated_at = col_i64(st, 26);
	c->mailbox.closed_at = col_i64(st, 27);
	c->location.line1 = col_text(a, st, 28);
	c->location.line2 = col_text(a, st, 29);
	c->location.city = col_text(a, st, 30);
	c->location.state = col_text(a, st, 31);
	c->location.postal_code = col_text(a, st, 32);
	c->location.country = col_text(a, st, 33);
}

/* Binds the mutable customer columns in the order of CUSTOMER_MUTABLE. */
#define CUSTOMER_MUTABLE \
	"external_customer_id = ?1, email = ?2, name = ?3, phone = ?4, prepay = ?5," \
	" own_billing_active = ?6, status = ?7, form_status = ?8, form_submitted_at = ?9," \
	" form_approved_at = ?10, form_rejection_reason = ?11, identity_status = ?12," \
	" identity_verified_at = ?13, identity_failure_reason = ?14," \
	" compliance_updated_at = ?15, metadata = ?16, updated_at = ?17," \
	" deactivated_at = ?18, deactivation_reason = ?19"

static void bind_customer_mutable(sqlite3_stmt *st, const struct customer *c)
{
	bind_text(st, 1, c->external_id);
	bind_text(st, 2, c->email);
	bind_text(st, 3, c->name);
	bind_text(st, 4, c->phone);
	sqlite3_bind_int(st, 5, c->prepay);
	sqlite3_bind_int(st, 6, c->own_billing_active);
	bind_text(st, 7, c->status);
	bind_text(st, 8, c->form_status);
	bind_time(st, 9, c->form_submitted_at);
	bind_time(st, 10, c->form_approved_at);
	bind_text(st, 11, c->form_rejection_reason);
	bind_text(st, 12, c->identity_status);
	bind_time(st, 13, c->identity_verified_at);
	bind_text(st, 14, c->identity_failure_reason);
	sqlite3_bind_int64(st, 15, c->compliance_updated_at);
	bind_text(st, 16, c->metadata);
	sqlite3_bind_int64(st, 17, c->updated_at);
	bind_time(st, 18, c->deactivated_at);
	bind_text(st, 19, c->deactivation_reason);
}

static int sq_customer_insert(struct store *s, struct arena *a, struct customer *cu,
			      struct err *e)
{
	struct conn *c = conn_get(s, e);
	if (!c)
		return -1;
	/* The partner's counter only grows, so a number is never handed out twice. */
	sqlite3_stmt *st = prep(c, "UPDATE partners SET next_mailbox_number ="
				" next_mailbox_number + 1 WHERE id = ?"
				" RETURNING next_mailbox_number - 1, line1, line2, city, state,"
				" postal_code, country", e);
	if (!st)
		return -1;
	bind_text(st, 1, cu->partner_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		cu->mailbox.number = arena_printf(a, "%lld", (long long)col_i64(st, 0));
		cu->location.line1 = col_text(a, st, 1);
		cu->location.line2 = col_text(a, st, 2);
		cu->location.city = col_text(a, st, 3);
		cu->location.state = col_text(a, st, 4);
		cu->location.postal_code = col_text(a, st, 5);
		cu->location.country = col_text(a, st, 6);
		rc = sqlite3_step(st);
	}
	done(st);
	if (rc != SQLITE_DONE)
		return db_error(c, rc, e);
	if (!cu->mailbox.number)
		return error(e, 500, "internal_error", NULL, "partner %s does not exist",
			     cu->partner_id);

	/* The column order follows bind_customer_mutable(), then the identity. */
	st = prep(c, "INSERT INTO customers (id, partner_id, created_at, external_customer_id,"
		  " email, name, phone, prepay, own_billing_active, status, form_status,"
		  " form_submitted_at, form_approved_at, form_rejection_reason, identity_status,"
		  " identity_verified_at, identity_failure_reason, compliance_updated_at,"
		  " metadata, updated_at, deactivated_at, deactivation_reason)"
		  " VALUES (?20, ?21, ?22, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
		  " ?13, ?14, ?15, ?16, ?17, ?18, ?19)", e);
	if (!st)
		return -1;
	bind_customer_mutable(st, cu);
	bind_text(st, 20, cu->id);
	bind_text(st, 21, cu->partner_id);
	sqlite3_bind_int64(st, 22, cu->created_at);
	if (step_done(c, st, e) < 0)
		return -1;

	st = prep(c, "INSERT INTO mailboxes (id, partner_id, customer_id, number, status,"
		  " reserved_at, activated_at, closed_at) VALUES (?,?,?,?,?,?,?,?)", e);
	if (!st)
		return -1;
	bind_text(st, 1, cu->mailbox.id);
	bind_text(st, 2, cu->partner_id);
	bind_text(st, 3, cu->id);
	bind_text(st, 4, cu->mailbox.number);
	bind_text(st, 5, cu->mailbox.status);
	sqlite3_bind_int64(st, 6, cu->mailbox.reserved_at);
	bind_time(st, 7, cu->mailbox.activated_at);
	bind_time(st, 8, cu->mailbox.closed_at);
	return step_done(c, st, e);
}

static int sq_customer_get(struct store *s, struct arena *a, const char *partner_id,
			   const char *id, struct customer *out, struct err *e)
{
	struct conn *c = conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = prep(c, partner_id
				? CUSTOMER_SELECT " WHERE c.id = ?1 AND c.partner_id = ?2"
				: CUSTOMER_SELECT " WHERE c.id = ?1", e);
	if (!st)
		return -1;
	bind_text(st, 1, id);
	if (partner_id)
		bind_text(st, 2, partner_id);
	return get_one(c, a, st, read_customer, out, e);
}

static int sq_customer_list(struct store *s, struct arena *a, const char *partner_id,
			    const struct customer_filter *f, const struct page *pg,
			    struct customer **items, size_t *n, bool *has_more, struct err *e)
{
	struct conn *c = conn_get(s, e);
	if (!c)
		return -1;
	struct query q = {0};
	q_text(&q, CUSTOMER_SELECT " WHERE c.partner_id = ?", partner_id);
	if (f->status)
		q_text(&q, " AND c.status = ?", f->status);
	if (f->external_id)
		q_text(&q, " AND c.external_customer_id = ?", f->external_id);
	if (f->email)
		q_text(&q, " AND c.email = ? COLLATE NOCASE", f->email);
	return run_list(c, a, &q, "c.seq",
			"SELECT seq FROM customers WHERE id = ? AND partner_id = ?", partner_id,
			pg, read_customer, sizeof(**items), (void **)items, n, has_more, e);
}

static int sq_customer_update(struct store *s, const struct customer *cu, struct err *e)
{
	struct conn *c = conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = prep(c, "UPDATE customers SET " CUSTOMER_MUTABLE " WHERE id = ?20", e);
	if (!st)
		return -1;
	bind_customer_mutable(st, cu);
	bind_text(st, 20, cu->id);
	if (step_done(c, st, e) < 0)
		return -1;
	st = prep(c, "UPDATE mailboxes SET status = ?, activated_at = ?, closed_at = ?"
		  " WHERE id = ?", e);
	if (!st)
		return -1;
	bind_text(st, 1, cu->mailbox.status);
	bind_time(st, 2, cu->mailbox.activated_at);
	bind_time(st, 3, cu->mailbox.closed_at);
	bind_text(st, 4, cu->mailbox.id);
	return step_done(c, st, e);
}

static int sq_customer_external_id_find(struct store *s, const char *partner_id,
					const char *external_id, const char *except_id,
					struct err *e)
{
	struct conn *c = conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = prep(c, "SELECT 1 FROM customers WHERE partner_id = ?"
				" AND external_customer_id = ? AND id IS NOT ?", e);
	if (!st)
		return -1;
	bind_text(st, 1, partner_id);
	bind_text(st, 2, external_id);
	bind_text(st, 3, except_id);
	int rc = sqlite3_step(st);
	done(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? STORE_NOT_FOUND : db_error(c, rc, e);
}

static int sq_usage_customers(struct store *s, struct arena *a, const char *partner_id,
			      int64_t start, int64_t end, struct customer **items,
			      size_t *n, struct err *e)
{
	struct conn *c = conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = prep(c, CUSTOMER_SELECT " WHERE m.partner_id = ?1"
				" AND m.activated_at IS NOT NULL AND m.activated_at < ?3"
				" AND (m.closed_at IS NULL OR m.closed_at > ?2)"
				" ORDER BY m.activated_at, m.seq", e);
	if (!st)
		return -1;
	bind_text(st, 1, partner_id);
	sqlite3_bind_int64(st, 2, start);
	sqlite3_bind_int64(st, 3, end);
	return get_all(c, a, st, read_customer, sizeof(**items), (void **)items, n, e);
}

/* --- mail and mail actions -------------------------------------------- */

#define MAIL_COLS \
	"id, partner_id, customer_id, mailbox_id, type, status, source, photos," \
	" performed_by, tracking_number, carrier, sender, notes, metadata, received_at," \
	" created_at, updated_at, deleted_at"

static void read_mail(struct arena *a, sqlite3_stmt *st, void *item)
{
	struct mail *m = item;
	m->id = col_text(a, st, 0);
	m->partner_id = col_text(a, st, 1);
	m->customer_id = col_text(a, st, 2);
	m->mailbox_id = col_text(a, st, 3);
	m->type = col_text(a, st, 4);
	m->status = col_text(a, st, 5);
	m->source = col_text(a, st, 6);
	m->photos = col_text(a, st, 7);
	m->performed_by = col_text(a, st, 8);
	m->tracking_number = col_text(a, st, 9);
	m->carrier = col_text(a, st, 10);
	m->sender = col_text(a, st, 11);
	m->notes = col_text(a, st, 12);
	m->metadata = col_text(a, st, 13);
	m->received_at = col_i64(st, 14);
	m->created_at = col_i64(st, 15);
	m->updated_at = col_i64(st, 16);
	m->deleted_at = col_i64(st, 17);
}

static int sq_mail_insert(struct store *s, const struct mail *m, struct err *e)
{
	struct conn *c = conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = prep(c, "INSERT INTO mail (" MAIL_COLS ") VALUES"
				" (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", e);
	if (!st)
		return -1;
	const char *texts[] = {m->id, m->partner_id, m->customer_id, m->mailbox_id, m->type,
			       m->status, m->source, m->photos, m->performed_by,
			       m->tracking_number, m->carrier, m->sender, m->notes, m->metadata};
	for (int i = 0; i < 14; i++)
		bind_text(st, i + 1, texts[i]);
	sqlite3_bind_int64(st, 15, m->received_at);
	sqlite3_bind_int64(st, 16, m->created_at);
	sqlite3_bind_int64(st, 17, m->updated_at);
	bind_time(st, 18, m->deleted_at);
	return step_done(c, st, e);
}

static int sq_mail_get(struct store *s, struct arena *a, const char *partner_id,
		       const char *id, struct mail *out, struct err *e)
{
	struct conn *c = conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = prep(c, partner_id
				? "SELECT " MAIL_COLS " FROM mail WHERE id = ?1"
				  " AND deleted_at IS NULL AND partner_id = ?2"
				: "SELECT " MAIL_COLS " FROM mail WHERE id = ?1"
				  " AND deleted_at IS NULL", e);
	if (!st)
		return -1;
	bind_text(st, 1, id);
	if (partner_id)
		bind_text(st, 2, partner_id);
	return get_one(c, a, st, read_mail, out, e);
}

static int sq_mail_list(struct store *s, struct arena *a, const char *customer_id,
			const struct mail_filter *f, const struct page *pg,
			struct mail **items, size_t *n, bool *has_more, struct err *e)
{
	struct conn *c = conn_get(s, e);
	if (!c)
		return -1;
	struct query q = {0};
	q_text(&q, "SELECT " MAIL_COLS " FROM mail WHERE customer_id = ?"
	       " AND deleted_at IS NULL", customer_id);
	if (f->type)
		q_text(&q, " AND type = ?", f->type);
	if (f->status)
		q_text(&q, " AND status = ?", f->status);
	return run_list(c, a, &q, "seq",
			"SELECT seq FROM mail WHERE id = ? AND customer_id = ?"
			" AND deleted_at IS NULL", customer_id,
			pg, read_mail, sizeof(**items), (void **)items, n, has_more, e);
}

static int sq_mail_update(struct store *s, const struct mail *m, struct err *e)
{
	struct conn *c = conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = prep(c, "UPDATE mail SET status = ?, updated_at = ?, deleted_at = ?"
				" WHERE id = ?", e);
	if (!st)
		return -1;
	bind_text(st, 1, m->status);
	sqlite3_bind_int64(st, 2, m->updated_at);
	bind_time(st, 3, m->deleted_at);
	bind_text(st, 4, m->id);
	return step_done(c, st, e);
}

#define ACTION_COLS \
	"id, partner_id, mail_id, customer_id, type, status, forward_address," \
	" shipping_speed, notes, result, failure_reason, requested_at, completed_at"

static void read_action(struct arena *a, sqlite3_stmt *st, void *item)
{
	struct mail_action *act = item;
	act->id = col_text(a, st, 0);
	act->partner_id = col_text(a, st, 1);
	act->mail_id = col_text(a, st, 2);
	act->customer_id = col_text(a, st, 3);
	act->type = col_text(a, st, 4);
	act->status = col_text(a, st, 5);
	act->forward_address = col_text(a, st, 6);
	act->shipping_speed = col_text(a, st, 7);
	act->notes = col_text(a, st, 8);
	act->result = col_text(a, st, 9);
	act->failure_reason = col_text(a, st, 10);
	act->requested_at = col_i64(st, 11);
	act->completed_at = col_i64(st, 12);
}

static int sq_action_insert(struct store *s, const struct mail_action *act, struct err *e)
{
	struct conn *c = conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = prep(c, "INSERT INTO mail_actions (" ACTION_COLS ") VALUES"
				" (?,?,?,?,?,?,?,?,?,?,?,?,?)", e);
	if (!st)
		return -1;
	const char *texts[] = {act->id, act->partner_id, act->mail_id, act->customer_id,
			       act->type, act->status, act->forward_address,
			       act->shipping_speed, act->notes, act->result,
			       act->failure_reason};
	for (int i = 0; i < 11; i++)
		bind_text(st, i + 1, texts[i]);
	sqlite3_bind_int64(st, 12, act->requested_at);
	bind_time(st, 13, act->completed_at);
	return step_done(c, st, e);
}

static int sq_action_get(struct store *s, struct arena *a, const char *id,
			 struct mail_action *out, struct err *e)
{
	struct conn *c = conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = prep(c, "SELECT " ACTION_COLS " FROM mail_actions WHERE id = ?", e);
	if (!st)
		return -1;
	bind_text(st, 1, id);
	return get_one(c, a, st, read_action, out, e);
}

static int sq_action_update(struct store *s, const struct mail_action *act, struct err *e)
{
	struct conn *c = conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = prep(c, "UPDATE mail_actions SET status = ?, result = ?,"
				" failure_reason = ?, completed_at = ? WHERE id = ?", e);
	if (!st)
		return -1;
	bind_text(st, 1, act->status);
	bind_text(st, 2, act->result);
	bind_text(st, 3, act->failure_reason);
	bind_time(st, 4, act->completed_at);
	bind_text(st, 5, act->id);
	return step_done(c, st, e);
}

static int sq_action_list_for_mail(struct store *s, struct arena *a, const char *mail_id,
				   struct mail_action **items, size_t *n, struct err *e)
{
	struct conn *c = conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = prep(c, "SELECT " ACTION_COLS " FROM mail_actions"
				" WHERE mail_id = ? ORDER BY seq", e);
	if (!st)
		return -1;
	bind_text(st, 1, mail_id);
	return get_all(c, a, st, read_action, sizeof(**items), (void **)items, n, e);
}

static int sq_action_list(struct store *s, struct arena *a, const char *status,
			  const struct page *pg, struct mail_action **items, size_t *n,
			  bool *has_more, struct err *e)
{
	struct conn *c = conn_get(s, e);
	if (!c)
		return -1;
	struct query q = {0};
	q_add(&q, "SELECT " ACTION_COLS " FROM mail_actions WHERE 1");
	if (status)
		q_text(&q, " AND status = ?", status);
	return run_list(c, a, &q, "seq", "SELECT seq FROM mail_actions WHERE id = ?", NULL, pg,
			read_action, sizeof(**items), (void **)items, n, has_more, e);
}

/* --- events ------------------------------------------------------------ */

static void read_event(struct arena *a, sqlite3_stmt *st, void *item)
{
	struct event *ev = item;
	ev->id = col_text(a, st, 0);
	ev->partner_id = col_text(a, st, 1);
	ev->type = col_text(a, st, 2);
	ev->created_at = col_i64(st, 3);
	ev->payload = col_text(a, st, 4);
}

static int sq_event_insert(struct store *s, const struct event *ev, struct err *e)
{
	struct conn *c = conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = prep(c, "INSERT INTO events (id, partner_id, type, created_at,"
				" payload) VALUES (?,?,?,?,?)", e);
	if (!st)
		return -1;
	bind_text(st, 1, ev->id);
	bind_text(st, 2, ev->partner_id);
	bind_text(st, 3, ev->type);
	sqlite3_bind_int64(st, 4, ev->created_at);
	bind_text(st, 5, ev->payload);
	return step_done(c, st, e);
}

static int sq_event_list(struct store *s, struct arena *a, const char *partner_id,
			 const char *type, const struct page *pg, struct event **items,
			 size_t *n, bool *has_more, struct err *e)
{
	struct conn *c = conn_get(s, e);
	if (!c)
		return -1;
	struct query q = {0};
	q_add(&q, "SELECT id, partner_id, type, created_at, payload FROM events WHERE 1");
	if (partner_id)
		q_text(&q, " AND partner_id = ?", partner_id);
	if (type)
		q_text(&q, " AND type = ?", type);
	return run_list(c, a, &q, "seq",
			partner_id ? "SELECT seq FROM events WHERE id = ? AND partner_id = ?"
				   : "SELECT seq FROM events WHERE id = ?",
			partner_id, pg, read_event, sizeof(**items), (void **)items, n,
			has_more, e);
}

/* --- idempotency ------------------------------------------------------- */

static int sq_idem_get(struct store *s, struct arena *a, const char *scope,
		       const char *key, struct idem_record *out, struct err *e)
{
	struct conn *c = conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = prep(c, "SELECT fingerprint, status, body FROM idempotency"
				" WHERE scope = ? AND key = ?", e);
	if (!st)
		return -1;
	bind_text(st, 1, scope);
	bind_text(st, 2, key);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->fingerprint = col_text(a, st, 0);
		out->status = (int)col_i64(st, 1);
		out->body_len = (size_t)sqlite3_column_bytes(st, 2);
		out->body = arena_strndup(a, sqlite3_column_blob(st, 2), out->body_len);
	}
	done(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? STORE_NOT_FOUND : db_error(c, rc, e);
}

static int sq_idem_put(struct store *s, const char *scope, const char *key,
		       const struct idem_record *r, int64_t now, struct err *e)
{
	struct conn *c = conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = prep(c, "INSERT OR REPLACE INTO idempotency (scope, key,"
				" fingerprint, status, body, created_at) VALUES (?,?,?,?,?,?)", e);
	if (!st)
		return -1;
	bind_text(st, 1, scope);
	bind_text(st, 2, key);
	bind_text(st, 3, r->fingerprint);
	sqlite3_bind_int(st, 4, r->status);
	sqlite3_bind_blob(st, 5, r->body, (int)r->body_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, now);
	return step_done(c, st, e);
}

static int sq_idem_purge(struct store *s, int64_t before, struct err *e)
{
	struct conn *c = conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = prep(c, "DELETE FROM idempotency WHERE created_at < ?", e);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, before);
	return step_done(c, st, e);
}

/* --- lifecycle --------------------------------------------------------- */

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
	free(ss->path);
	free(ss);
}

/* Applies the migrations the database has not seen, each in a transaction. */
static int migrate(struct store *s, struct err *e)
{
	struct conn *c = conn_get(s, e);
	if (!c)
		return -1;
	if (exec_sql(c, "BEGIN IMMEDIATE", e) < 0)
		return -1;
	if (exec_sql(c, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
		     e) < 0)
		goto fail;
	sqlite3_stmt *st = prep(c, "SELECT coalesce(max(version), 0) FROM schema_version", e);
	if (!st)
		goto fail;
	int rc = sqlite3_step(st);
	int have = rc == SQLITE_ROW ? (int)col_i64(st, 0) : 0;
	done(st);
	if (rc != SQLITE_ROW) {
		db_error(c, rc, e);
		goto fail;
	}
	for (int v = have; sqlite_migrations[v]; v++) {
		if (exec_sql(c, sqlite_migrations[v], e) < 0)
			goto fail;
		char sql[80];
		snprintf(sql, sizeof(sql), "INSERT INTO schema_version VALUES (%d)", v + 1);
		if (exec_sql(c, sql, e) < 0)
			goto fail;
	}
	return exec_sql(c, "COMMIT", e);
fail:
	sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

struct store *store_sqlite_open(const char *path, struct err *e)
{
	struct sqlite_store *ss = calloc(1, sizeof(*ss));
	if (!ss)
		die("out of memory");
	ss->path = strdup(path);
	if (!ss->path)
		die("out of memory");
	pthread_key_create(&ss->key, NULL);
	pthread_mutex_init(&ss->mu, NULL);
	struct store *s = &ss->base;
	*s = (struct store){
		.tx_begin = sq_tx_begin,
		.tx_savepoint = sq_tx_savepoint,
		.tx_undo = sq_tx_undo,
		.tx_commit = sq_tx_commit,
		.tx_rollback = sq_tx_rollback,
		.partner_insert = sq_partner_insert,
		.partner_get = sq_partner_get,
		.partner_list = sq_partner_list,
		.key_insert = sq_key_insert,
		.key_get = sq_key_get,
		.key_find_by_hash = sq_key_find_by_hash,
		.key_list = sq_key_list,
		.key_revoke = sq_key_revoke,
		.key_touch = sq_key_touch,
		.operator_token_insert = sq_operator_token_insert,
		.operator_token_find = sq_operator_token_find,
		.customer_insert = sq_customer_insert,
		.customer_get = sq_customer_get,
		.customer_list = sq_customer_list,
		.customer_update = sq_customer_update,
		.customer_external_id_find = sq_customer_external_id_find,
		.usage_customers = sq_usage_customers,
		.mail_insert = sq_mail_insert,
		.mail_get = sq_mail_get,
		.mail_list = sq_mail_list,
		.mail_update = sq_mail_update,
		.action_insert = sq_action_insert,
		.action_get = sq_action_get,
		.action_update = sq_action_update,
		.action_list_for_mail = sq_action_list_for_mail,
		.action_list = sq_action_list,
		.event_insert = sq_event_insert,
		.event_list = sq_event_list,
		.idem_get = sq_idem_get,
		.idem_put = sq_idem_put,
		.idem_purge = sq_idem_purge,
		.close = sq_close,
	};
	if (migrate(s, e) < 0) {
		sq_close(s);
		return NULL;
	}
	return s;
}
