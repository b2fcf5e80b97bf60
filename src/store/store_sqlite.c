/* store_sqlite.c - the embedded SQLite backend of struct store: opening
 * (migrations), transactions, checkpoints, and the backend's one table of
 * operations (store_sqlite_ops), which names these and the per-area files'
 * (store_sqlite_customers.c, ...).
 *
 * Each thread gets its own connection (WAL lets readers run beside the one
 * writer); statements are prepared once per connection and cached
 * (store_sqlite_sql.c). Writes use BEGIN IMMEDIATE, so a writer waits for
 * the lock up front instead of failing at commit, and busy_timeout absorbs
 * other processes (the command line) holding it. synchronous=FULL: a commit
 * is on disk when it returns. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "store_sqlite.h"
#include "banned.h"

/* Free space a full disk must have again before writes are tried (and
 * /healthz says ready): a few requests' worth of WAL growth. */
#define PROBE_ROOM_BYTES (1024 * 1024)

/* Whether the database's filesystem has PROBE_ROOM_BYTES free. On a full
 * disk small commits (a key's last use, the probe's one page) often still
 * fit in the WAL's existing length while real writes need more: writes count
 * as possible again, and /healthz says ready, only once there is room. */
static bool has_room(struct sqlite_store *ss)
{
	struct statvfs fs;
	return statvfs(ss->path, &fs) != 0 ||
	       (uint64_t)fs.f_bavail * fs.f_frsize >= PROBE_ROOM_BYTES;
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
	if (!write) {
		sq_read_map(c);
		return tx_exec(c, "BEGIN", e);
	}
	/* Threads of this process queue here rather than in SQLite's busy
	 * handler, which sleeps in steps of milliseconds; other processes (the
	 * command line) still meet busy_timeout. */
	pthread_mutex_lock(&((struct sqlite_store *)s)->write_mu);
	c->holds_write = true;
	c->optimistic = !c->safe_next;
	c->safe_next = false;
	c->doomed = false;
	c->savepoints = 0;
	if (tx_exec(c, "BEGIN IMMEDIATE", e) == 0)
		return 0;
	write_lock_drop(s, c);
	return -1;
}

/* Refuses to go on in a write transaction SQLite has rolled back by itself
 * (it may, on a full or failing disk): a savepoint or statement there would
 * start a transaction of its own and commit alone. */
static int tx_alive(struct conn *c, struct err *e)
{
	if (!c->holds_write || !sqlite3_get_autocommit(c->db))
		return 0;
	return error(e, 503, "unavailable", NULL,
		     "the transaction was rolled back by a storage fault; retry shortly");
}

static int sq_tx_savepoint(struct store *s, struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c || tx_alive(c, e) < 0)
		return -1;
	if (!c->optimistic)
		return tx_exec(c, "SAVEPOINT request", e);
	if (c->doomed) /* it will not commit: the rest is not worth running */
		return store_retry_error(e);
	if (c->savepoints++ == 0)
		c->changes_at = sqlite3_total_changes64(c->db);
	return 0;
}

static void sq_tx_undo(struct store *s)
{
	struct err e;
	struct conn *c = sq_conn_get(s, &e);
	if (!c)
		return;
	if (c->optimistic) {
		/* A statement that fails changes nothing (SQLite undoes it
		 * alone), so only rows changed since the outermost savepoint
		 * need one that was not sent. */
		c->savepoints--;
		if (sqlite3_total_changes64(c->db) != c->changes_at) {
			c->doomed = true;
			c->safe_next = true;
		}
		return;
	}
	if (tx_exec(c, "ROLLBACK TO request", &e) == 0)
		tx_exec(c, "RELEASE request", &e);
}

static int sq_tx_release(struct store *s, struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c || tx_alive(c, e) < 0)
		return -1;
	if (!c->optimistic)
		return tx_exec(c, "RELEASE request", e);
	c->savepoints--;
	return 0;
}

static int sq_tx_commit(struct store *s, struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	int rc;
	if (c->doomed) /* the run needed a savepoint it did not send */
		rc = store_retry_error(e);
	else if (tx_alive(c, e) < 0)
		rc = -1;
	else
		rc = tx_exec(c, "COMMIT", e);
	struct err ignored;
	if (rc < 0 && !sqlite3_get_autocommit(c->db))
		tx_exec(c, "ROLLBACK", &ignored);
	if (rc == 0 && !atomic_load(&c->store->writable) && has_room(c->store))
		atomic_store(&c->store->writable, true);
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

/* One writer at a time: the write transaction holds every tenant. */
static int sq_tx_lock_tenant(struct store *s, const char *tenant_id, bool brief, struct err *e)
{
	(void)s, (void)tenant_id, (void)brief, (void)e;
	return 0;
}

static bool sq_writable(struct store *s)
{
	return atomic_load(&((struct sqlite_store *)s)->writable);
}

/* Commits a change of one page (the header's user_version, which the schema
 * does not use: migrations count in schema_version): the cheapest commit
 * that needs the disk (and then has_room()). */
static int sq_probe_write(struct store *s, struct err *e)
{
	if (sq_writable(s))
		return 0;
	if (!has_room((struct sqlite_store *)s))
		return error(e, 503, "unavailable", NULL,
			     "the database's disk is full; retry later");
	struct conn *c = sq_conn_get(s, e);
	if (!c || sq_tx_begin(s, true, e) < 0)
		return -1;
	if (sq_exec(c, "PRAGMA user_version = 0", e) < 0) {
		sq_tx_rollback(s);
		return -1;
	}
	return sq_tx_commit(s, e);
}

/* Copies what it can of the WAL back, without waiting for anything; skipped
 * while sq_wal_bound() works (only one checkpoint runs at a time, and one
 * that meets another gets SQLITE_BUSY at once). */
static int sq_checkpoint(struct store *s, struct err *e)
{
	struct sqlite_store *ss = (struct sqlite_store *)s;
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	if (pthread_mutex_trylock(&ss->checkpoint_mu) != 0)
		return 0;
	int copied = 0;
	int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL,
					   &copied);
	int before = atomic_load_explicit(&ss->wal_copied, memory_order_relaxed);
	if (rc == SQLITE_OK)
		atomic_store_explicit(&ss->wal_copied, copied, memory_order_relaxed);
	pthread_mutex_unlock(&ss->checkpoint_mu);
	/* SQLite syncs the database file only when a checkpoint copied the
	 * whole WAL, which a passive one under writes never does: the restart
	 * would then wait, write lock held, for every page copied before it to
	 * reach the disk. Through SQLite's own handle: closing a descriptor of
	 * our own would drop every POSIX lock this process holds on the file,
	 * and another process could then take the database from under it. */
	sqlite3_file *db_file = NULL;
	if (rc == SQLITE_OK && copied != before &&
	    sqlite3_file_control(c->db, "main", SQLITE_FCNTL_FILE_POINTER, &db_file) ==
		    SQLITE_OK &&
	    db_file && db_file->pMethods)
		rc = db_file->pMethods->xSync(db_file, SQLITE_SYNC_NORMAL);
	return rc == SQLITE_OK || rc == SQLITE_BUSY ? 0 : sq_db_error(c, rc, e);
}

/* A passive checkpoint never completes while writes keep coming, so the WAL
 * would never restart and would grow without end. Past the limit, this one
 * holds the write lock (writers of this process queue; nothing adds frames)
 * and copies every frame back, waiting briefly for readers of older
 * snapshots; the next commit then starts the WAL from its beginning.
 *
 * The copying is done beforehand, while writes go on: the checkpointer
 * thread is asked (this returns 1) for a passive checkpoint at half the
 * limit and again at 7/8, and the restart waits until one has copied all
 * but a quarter of the limit, so that it copies little with the write lock
 * held. A restart that copied what the 500 ms checkpoint had left stopped
 * writes for 18 to 56 ms about every 0.3 s under sustained creates: the tail
 * of every create's latency. Past the limit by half, it restarts whatever
 * is left.
 *
 * Under sustained writes the WAL grows by tens of megabytes a second, so a
 * try that readers kept busy is tried again soon: most often the reader was
 * a thread of this process that lost its core for a moment. Tries that keep
 * failing come further apart, up to WAL_RESTART_RETRY_MAX_MS: a long reader
 * (a backup's VACUUM INTO, a report in the sqlite3 shell) keeps the WAL from
 * restarting for as long as it reads, and waiting it out with the write lock
 * held would stop every write. Each try stops writes WAL_RESTART_WAIT_MS at
 * most; the WAL grows past its bound while such a reader lasts, and restarts
 * right after. */
#define WAL_RESTART_WAIT_MS 50
#define WAL_RESTART_RETRY_FIRST_MS 10
#define WAL_RESTART_RETRY_MAX_MS 1000
static int sq_wal_bound(struct store *s, struct err *e)
{
	struct sqlite_store *ss = (struct sqlite_store *)s;
	int frames = atomic_load_explicit(&ss->wal_frames, memory_order_relaxed);
	int limit = ss->wal_limit_frames;
	int uncopied = frames - atomic_load_explicit(&ss->wal_copied, memory_order_relaxed);
	if (frames < limit || (frames < limit + limit / 2 && uncopied > limit / 4)) {
		bool want = uncopied >= limit / 2 ||
			    (frames >= limit - limit / 8 && uncopied >= limit / 8);
		/* Asked again only after an eighth of the limit more: a reader of an
		 * old snapshot can keep every checkpoint from copying. */
		int asked = atomic_load_explicit(&ss->wal_asked, memory_order_relaxed);
		if (!want || (asked && frames - asked < limit / 8))
			return 0;
		atomic_store_explicit(&ss->wal_asked, frames, memory_order_relaxed);
		return 1;
	}
	int64_t now_ms = (int64_t)(monotonic_seconds() * 1000);
	if (now_ms < atomic_load_explicit(&ss->wal_retry_at_ms, memory_order_relaxed))
		return 0;
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	pthread_mutex_lock(&ss->write_mu);
	if (pthread_mutex_trylock(&ss->checkpoint_mu) != 0) {
		if (frames < limit + limit / 2) { /* a passive one is copying: let it */
			pthread_mutex_unlock(&ss->write_mu);
			return 0;
		}
		pthread_mutex_lock(&ss->checkpoint_mu);
	}
	sqlite3_busy_timeout(c->db, WAL_RESTART_WAIT_MS);
	int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
	sq_busy_timeout_restore(c);
	if (rc == SQLITE_OK) {
		sq_wal_started_again(ss);
		ss->wal_retry_ms = 0;
	} else if (rc == SQLITE_BUSY) {
		ss->wal_retry_ms = ss->wal_retry_ms ? ss->wal_retry_ms * 2
						    : WAL_RESTART_RETRY_FIRST_MS;
		if (ss->wal_retry_ms > WAL_RESTART_RETRY_MAX_MS)
			ss->wal_retry_ms = WAL_RESTART_RETRY_MAX_MS;
		atomic_store_explicit(&ss->wal_retry_at_ms, now_ms + ss->wal_retry_ms,
				      memory_order_relaxed);
	}
	pthread_mutex_unlock(&ss->checkpoint_mu);
	pthread_mutex_unlock(&ss->write_mu);
	return rc == SQLITE_OK || rc == SQLITE_BUSY ? 0 : sq_db_error(c, rc, e);
}

/* --- lifecycle --- */

/* Reads the file sizes with stat(2): cheaper than asking SQLite for page
 * counts, and it includes the write-ahead log. */
static int sq_stats(struct store *s, struct store_stats *out, struct err *e)
{
	struct sqlite_store *ss = (struct sqlite_store *)s;
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	*out = (struct store_stats){0};
	struct stat sb;
	if (stat(ss->path, &sb) == 0)
		out->database_bytes = (int64_t)sb.st_size;
	char wal[1100];
	snprintf(wal, sizeof(wal), "%s-wal", ss->path);
	if (stat(wal, &sb) == 0)
		out->wal_bytes = (int64_t)sb.st_size;
	sqlite3_stmt *st = sq_prep(
		c,
		"SELECT count(*), coalesce(min(j.next_attempt_at), 0)"
		" FROM webhook_jobs j JOIN webhook_endpoints w ON w.id = j.endpoint_id"
		" WHERE j.status = 'pending' AND w.status = 'enabled'",
		e);
	if (!st)
		return -1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->webhook_pending = sq_col_i64(st, 0);
		out->webhook_oldest_due = sq_col_i64(st, 1);
	}
	sq_done(st);
	return rc == SQLITE_ROW ? 0 : sq_db_error(c, rc, e);
}

/* Syncs the file or directory at path to disk; returns 0 or -1 (errno). */
static int sync_path(const char *path, bool directory)
{
	int fd = open(path, (directory ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

/* Writes the directory a file path is in ("." for a bare name). */
static void dir_of(const char *path, char *dir, size_t size)
{
	snprintf(dir, size, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		slash[slash == dir ? 1 : 0] = '\0';
	else
		snprintf(dir, size, ".");
}

/* Removes what backups to path left when they were killed: the files
 * path.partial-PID of processes that are gone (this one's too). */
static void partials_remove(const char *path)
{
	char dir[1100];
	dir_of(path, dir, sizeof(dir));
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	char prefix[300];
	if (snprintf(prefix, sizeof(prefix), "%s.partial-", name) >= (int)sizeof(prefix))
		return;
	DIR *d = opendir(dir);
	if (!d)
		return;
	size_t n = strlen(prefix);
	/* readdir_r is deprecated; this stream is this call's alone. */
	/* cppcheck-suppress readdirCalled */
	for (struct dirent *f; (f = readdir(d));) {
		char *end = NULL;
		if (strncmp(f->d_name, prefix, n) != 0)
			continue;
		long pid = strtol(f->d_name + n, &end, 10);
		if (end == f->d_name + n || *end || pid <= 0)
			continue;
		if (pid == (long)getpid() || (kill((pid_t)pid, 0) < 0 && errno == ESRCH)) {
			char stale[1400];
			snprintf(stale, sizeof(stale), "%s/%s", dir, f->d_name);
			unlink(stale);
		}
	}
	closedir(d);
}

/* VACUUM INTO rather than the online backup API: the backup API restarts
 * whenever another connection writes, so under a steady stream of writes
 * it never finishes, while VACUUM INTO copies one snapshot (a read
 * transaction, which WAL lets writers run beside) and compacts it. It
 * writes a temporary file next to the target, synced, then links it into
 * place, so a crash never leaves a half-written FILE. */
static int sq_backup(struct store *s, const char *path, struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	if (access(path, F_OK) == 0)
		return error(e, 409, "invalid_request", NULL, "%s exists; give a new file name",
			     path);
	char tmp[1100];
	if (snprintf(tmp, sizeof(tmp), "%s.partial-%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp))
		return error(e, 400, "invalid_request", NULL, "the backup path is too long");
	partials_remove(path);
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(c->db, "VACUUM INTO ?", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, tmp, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_OK) {
		error(e, 500, "internal_error", NULL, "cannot write %s: %s", tmp,
		      sqlite3_errmsg(c->db));
		unlink(tmp);
		return -1;
	}
	char dir[1100];
	dir_of(path, dir, sizeof(dir));
	if (sync_path(tmp, false) < 0 || link(tmp, path) < 0 || sync_path(dir, true) < 0) {
		error(e, 500, "internal_error", NULL, "cannot write %s: %s", path,
		      strerror(errno));
		unlink(tmp);
		return -1;
	}
	unlink(tmp);
	return 0;
}

static void sq_close(struct store *s)
{
	if (!s)
		return;
	struct sqlite_store *ss = (struct sqlite_store *)s;
	struct conn *c = ss->conns;
	while (c) {
		struct conn *next = c->next;
		sq_conn_close(c);
		c = next;
	}
	pthread_key_delete(ss->key);
	pthread_mutex_destroy(&ss->mu);
	pthread_mutex_destroy(&ss->write_mu);
	pthread_mutex_destroy(&ss->checkpoint_mu);
	free(ss->path);
	free(ss);
}

/* Before anything else at start: the database can be opened, read and
 * written. If not, the error names the file and SQLite's reason, where a
 * request would get "retry later" (SQLite opens a file it may not write
 * read-only without a word, and every write would then fail). */
static int open_check(const char *path, struct err *e)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
				 store_sqlite_vfs_name());
	const char *why = NULL;
	if (rc == SQLITE_OK && sqlite3_db_readonly(db, "main") == 1)
		why = "the file is read-only for this user; the server writes to it";
	else if (rc == SQLITE_OK)
		rc = sqlite3_exec(db,
				  "PRAGMA journal_mode=WAL; SELECT count(*) FROM sqlite_schema",
				  NULL, NULL, NULL);
	if (!why && rc != SQLITE_OK)
		why = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
	if (why) {
		char dir[1100];
		dir_of(path, dir, sizeof(dir));
		if (access(dir, W_OK | X_OK) != 0)
			error(e, 503, "unavailable", NULL,
			      "cannot open the database %s: %s (its directory %s is not "
			      "writable, and SQLite keeps %s-wal and %s-shm there)",
			      path, why, dir, path, path);
		else
			error(e, 503, "unavailable", NULL, "cannot open the database %s: %s",
			      path, why);
	}
	sqlite3_close(db);
	return why ? -1 : 0;
}

/* Applies the migrations the database has not seen, each in a transaction. */
static int migrate(struct store *s, struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	if (sq_exec(c, "BEGIN IMMEDIATE", e) < 0)
		return -1;
	if (sq_exec(c, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
		    e) < 0)
		goto fail;
	sqlite3_stmt *st = sq_prep(c, "SELECT coalesce(max(version), 0) FROM schema_version",
				   e);
	if (!st)
		goto fail;
	int rc = sqlite3_step(st);
	int have = rc == SQLITE_ROW ? (int)sq_col_i64(st, 0) : 0;
	sq_done(st);
	if (rc != SQLITE_ROW) {
		sq_db_error(c, rc, e);
		goto fail;
	}
	int known = store_schema_version(false);
	if (have > known) {
		error(e, 503, "unavailable", NULL,
		      "the database has schema version %d, newer than this binary's %d", have,
		      known);
		goto fail;
	}
	for (int v = have; sqlite_migrations[v]; v++) {
		if (sq_exec(c, sqlite_migrations[v], e) < 0) {
			error(e, e->status, e->code, NULL,
			      "cannot migrate the database %s to schema version %d: %s",
			      ((struct sqlite_store *)s)->path, v + 1, sqlite3_errmsg(c->db));
			goto fail;
		}
		char sql[80];
		snprintf(sql, sizeof(sql), "INSERT INTO schema_version VALUES (%d)", v + 1);
		if (sq_exec(c, sql, e) < 0)
			goto fail;
	}
	if (sq_exec(c, "COMMIT", e) < 0)
		return -1;
	s->schema_found = have;
	s->schema_version = known;
	return 0;
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

/* The SQLite backend's operations, in the order of struct store_ops. */
const struct store_ops store_sqlite_ops = {
	.tx_begin = sq_tx_begin,
	.tx_savepoint = sq_tx_savepoint,
	.tx_release = sq_tx_release,
	.tx_undo = sq_tx_undo,
	.tx_commit = sq_tx_commit,
	.tx_rollback = sq_tx_rollback,
	.tx_lock_tenant = sq_tx_lock_tenant,
	.partner_insert = store_sqlite_partner_insert,
	.partner_get = store_sqlite_partner_get,
	.partner_list = store_sqlite_partner_list,
	.key_insert = store_sqlite_partner_key_insert,
	.key_get = store_sqlite_partner_key_get,
	.key_get_any_partner = store_sqlite_partner_key_get_any_partner,
	.key_find_by_hash = store_sqlite_partner_key_find_by_hash,
	.key_list = store_sqlite_partner_key_list,
	.key_revoke = store_sqlite_partner_key_revoke,
	.key_touch = store_sqlite_partner_key_touch,
	.rate_spend = store_sqlite_partner_rate_spend,
	.operator_token_insert = store_sqlite_partner_operator_token_insert,
	.operator_token_find = store_sqlite_partner_operator_token_find,
	.customer_insert = store_sqlite_customer_insert,
	.customer_get = store_sqlite_customer_get,
	.customer_get_any_partner = store_sqlite_customer_get_any_partner,
	.customer_list = store_sqlite_customer_list,
	.customer_update = store_sqlite_customer_update,
	.customer_external_id_find = store_sqlite_customer_external_id_find,
	.usage_spans = store_sqlite_customer_usage_spans,
	.usage_customers = store_sqlite_customer_usage_customers,
	.mail_insert = store_sqlite_mail_insert,
	.mail_get = store_sqlite_mail_get,
	.mail_get_any_partner = store_sqlite_mail_get_any_partner,
	.mail_list = store_sqlite_mail_list,
	.mail_update = store_sqlite_mail_update,
	.action_insert = store_sqlite_mail_action_insert,
	.action_get = store_sqlite_mail_action_get,
	.action_get_any_partner = store_sqlite_mail_action_get_any_partner,
	.action_update = store_sqlite_mail_action_update,
	.action_list_for_mail = store_sqlite_mail_action_list_for_mail,
	.action_list_any_partner = store_sqlite_mail_action_list_any_partner,
	.event_insert = store_sqlite_event_insert,
	.event_list = store_sqlite_event_list,
	.event_list_any_partner = store_sqlite_event_list_any_partner,
	.event_list_tenant = store_sqlite_event_list_tenant,
	.event_get = store_sqlite_event_get,
	.event_purge = store_sqlite_event_purge,
	.endpoint_insert = store_sqlite_webhook_endpoint_insert,
	.endpoint_get = store_sqlite_webhook_endpoint_get,
	.endpoint_get_any_partner = store_sqlite_webhook_endpoint_get_any_partner,
	.endpoint_list = store_sqlite_webhook_endpoint_list,
	.endpoint_update = store_sqlite_webhook_endpoint_update,
	.webhook_claim = store_sqlite_webhook_claim,
	.webhook_record = store_sqlite_webhook_record,
	.delivery_list = store_sqlite_webhook_delivery_list,
	.delivery_get = store_sqlite_webhook_delivery_get,
	.webhook_resend = store_sqlite_webhook_resend,
	.webhook_resend_failed = store_sqlite_webhook_resend_failed,
	.user_insert = store_sqlite_user_insert,
	.user_get = store_sqlite_user_get,
	.user_get_any_partner = store_sqlite_user_get_any_partner,
	.user_find_by_email = store_sqlite_user_find_by_email,
	.user_list = store_sqlite_user_list,
	.user_role_set = store_sqlite_user_role_set,
	.user_delete = store_sqlite_user_delete,
	.user_password_set = store_sqlite_user_password_set,
	.user_setup_insert = store_sqlite_user_setup_insert,
	.user_setup_void_partner = store_sqlite_user_setup_void_partner,
	.user_setup_find = store_sqlite_user_setup_find,
	.user_setup_use = store_sqlite_user_setup_use,
	.session_insert = store_sqlite_user_session_insert,
	.session_find = store_sqlite_user_session_find,
	.session_touch = store_sqlite_user_session_touch,
	.session_delete = store_sqlite_user_session_delete,
	.audit_insert = store_sqlite_user_audit_insert,
	.audit_list = store_sqlite_user_audit_list,
	.idem_get = store_sqlite_event_idem_get,
	.idem_prefetch = store_sqlite_event_idem_prefetch,
	.idem_put = store_sqlite_event_idem_put,
	.idem_purge = store_sqlite_event_idem_purge,
	.checkpoint = sq_checkpoint,
	.wal_bound = sq_wal_bound,
	.writable = sq_writable,
	.probe_write = sq_probe_write,
	.stats = sq_stats,
	.backup = sq_backup,
	.close = sq_close,
};

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
	pthread_mutex_init(&ss->checkpoint_mu, NULL);
	atomic_init(&ss->writable, true);
	struct store *s = &ss->base;
	*s = (struct store){.ops = &store_sqlite_ops, .group_commit = true};
	const char *missing = store_slot_missing(s->ops);
	if (missing) {
		error(e, 500, "internal_error", NULL,
		      "the SQLite backend does not implement %s", missing);
		sq_close(s);
		return NULL;
	}
	if (open_check(path, e) < 0 || migrate(s, e) < 0 || wal_limit_init(ss, e) < 0) {
		sq_close(s);
		return NULL;
	}
	return s;
}
