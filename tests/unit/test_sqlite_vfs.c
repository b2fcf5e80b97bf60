/* test_sqlite_vfs.c - the SQLite backend's VFS (store_sqlite_vfs.c), which
 * gathers a connection's write-ahead-log writes: whatever it holds back, the
 * files must hold what SQLite's own VFS would have written whenever another
 * connection can look, and SQLite must read back what it wrote. Each test
 * writes through the VFS and reads through SQLite's default VFS on a
 * connection of its own, as another process would. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store_sqlite.h"
#include "unit.h"

/* A database file in a temporary directory of its own. */
struct vfs_dir {
	char dir[64];
	char path[96];
};

static bool vfs_dir_make(struct vfs_dir *d)
{
	snprintf(d->dir, sizeof(d->dir), "/tmp/innbocks-vfs-XXXXXX");
	if (!mkdtemp(d->dir))
		return false;
	snprintf(d->path, sizeof(d->path), "%s/t.db", d->dir);
	return true;
}

static void vfs_dir_remove(struct vfs_dir *d)
{
	const char *suffixes[] = {"", "-wal", "-shm", ".copy", ".copy-wal", ".copy-shm"};
	char p[128];
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(*suffixes); i++) {
		snprintf(p, sizeof(p), "%s%s", d->path, suffixes[i]);
		unlink(p);
	}
	rmdir(d->dir);
}

/* Opens path through the backend's VFS (gathering) or SQLite's default. */
static sqlite3 *open_db(const char *path, bool gathering)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
				 gathering ? store_sqlite_vfs_name() : NULL);
	if (rc != SQLITE_OK) {
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 2000);
	return db;
}

static bool exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		fprintf(stderr, "  %s: %s\n", sql, msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return rc == SQLITE_OK;
}

/* The text of the first column of the first row of sql, in buf ("" when
 * none, "error: ..." when it fails). */
static const char *query_text(sqlite3 *db, const char *sql, char *buf, size_t size)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(buf, size, "%s", (const char *)sqlite3_column_text(st, 0));
	else if (rc == SQLITE_DONE)
		snprintf(buf, size, "%s", "");
	else
		snprintf(buf, size, "error: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return buf;
}

/* What the table t holds: its rows and the bytes of their blobs. */
#define CONTENT "SELECT count(*) || ':' || total(length(b)) FROM t"

/* Inserts n rows of random blobs of size bytes into t. */
static bool insert_rows(sqlite3 *db, int size, int n)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(
		db,
		"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s"
		" WHERE i < ?1) INSERT INTO t(b) SELECT randomblob(?2) FROM s",
		-1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int(st, 1, n);
		sqlite3_bind_int(st, 2, size);
		rc = sqlite3_step(st);
	}
	if (rc != SQLITE_DONE)
		fprintf(stderr, "  insert_rows: %s\n", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE;
}

static const char *const SETUP =
	"PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;"
	"CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, b BLOB);";

TEST(sqlite_vfs_a_commit_is_in_the_file_before_other_connections_see_it_even_without_a_sync)
{
	struct vfs_dir d;
	if (!CHECK(vfs_dir_make(&d)))
		return;
	sqlite3 *w = open_db(d.path, true), *r = open_db(d.path, false);
	/* synchronous=OFF: no xSync hands the frames on; the commit frame (and
	 * the end of the transaction, after it) must. */
	if (CHECK(w && r) && CHECK(exec(w, SETUP)) &&
	    CHECK(exec(w, "PRAGMA synchronous=OFF")) && CHECK(exec(w, "BEGIN")) &&
	    CHECK(insert_rows(w, 3000, 40)) && CHECK(exec(w, "COMMIT"))) {
		char b[256];
		CHECK_STR(query_text(r, CONTENT, b, sizeof(b)), "40:120000.0");
		CHECK_STR(query_text(r, "PRAGMA integrity_check", b, sizeof(b)), "ok");
	}
	sqlite3_close(r);
	sqlite3_close(w);
	vfs_dir_remove(&d);
}

TEST(sqlite_vfs_frames_of_a_rolled_back_transaction_never_overwrite_another_connections_commit)
{
	struct vfs_dir d;
	if (!CHECK(vfs_dir_make(&d)))
		return;
	sqlite3 *w = open_db(d.path, true), *other = open_db(d.path, false);
	/* A cache of 10 pages spills the big transaction's pages into the WAL
	 * as frames that are not a commit; the transaction is rolled back, the
	 * other connection commits where those frames were, and the first
	 * writes again. */
	if (CHECK(w && other) && CHECK(exec(w, SETUP)) &&
	    CHECK(exec(w, "PRAGMA cache_size=10")) && CHECK(exec(w, "BEGIN")) &&
	    CHECK(insert_rows(w, 2000, 40)) && CHECK(exec(w, "ROLLBACK")) &&
	    CHECK(insert_rows(other, 1000, 120)) && CHECK(insert_rows(w, 1500, 5))) {
		char b[256];
		CHECK_STR(query_text(w, CONTENT, b, sizeof(b)), "125:127500.0");
		CHECK_STR(query_text(other, CONTENT, b, sizeof(b)), "125:127500.0");
		CHECK_STR(query_text(other, "PRAGMA integrity_check", b, sizeof(b)), "ok");
	}
	sqlite3_close(other);
	sqlite3_close(w);
	vfs_dir_remove(&d);
}

/* The write system calls this process made so far (/proc/self/io), or -1. */
static long long write_calls(void)
{
	FILE *f = fopen("/proc/self/io", "r");
	long long n = -1;
	char line[128];
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "syscw: %lld", &n) == 1)
			break;
	if (f)
		fclose(f);
	return n;
}

TEST(sqlite_vfs_a_commit_of_many_frames_makes_few_write_calls)
{
	struct vfs_dir d;
	if (!CHECK(vfs_dir_make(&d)))
		return;
	sqlite3 *w = open_db(d.path, true);
	/* 40 rows of 3000 bytes: a page each, and the table's b-tree pages.
	 * SQLite's own VFS writes each frame in two calls (over 80 here). */
	if (CHECK(w) && CHECK(exec(w, SETUP)) && CHECK(exec(w, "PRAGMA synchronous=FULL"))) {
		long long before = write_calls();
		if (CHECK(exec(w, "BEGIN")) && CHECK(insert_rows(w, 3000, 40)) &&
		    CHECK(exec(w, "COMMIT"))) {
			long long calls = write_calls() - before;
			CHECK(before >= 0);
			CHECK(calls > 0 && calls <= 4);
		}
	}
	sqlite3_close(w);
	vfs_dir_remove(&d);
}

/* Copies the file at from to to; returns false when it cannot. */
static bool copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	bool ok = in && out;
	char buf[65536];
	size_t n;
	while (ok && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		ok = fwrite(buf, 1, n, out) == n;
	if (in)
		fclose(in);
	if (out && fclose(out) != 0)
		ok = false;
	return ok;
}

TEST(sqlite_vfs_a_transaction_that_rewrote_spilled_pages_survives_a_crash_whole)
{
	struct vfs_dir d;
	if (!CHECK(vfs_dir_make(&d)))
		return;
	sqlite3 *w = open_db(d.path, true), *copy = NULL;
	char wal[128], copy_path[128], copy_wal[128];
	snprintf(wal, sizeof(wal), "%s-wal", d.path);
	snprintf(copy_path, sizeof(copy_path), "%s.copy", d.path);
	snprintf(copy_wal, sizeof(copy_wal), "%s.copy-wal", d.path);
	/* Pages spilled early in the transaction change again: SQLite writes
	 * them again in place, reads them back and rewrites the frames'
	 * checksums at the commit. A copy of the files taken then, without the
	 * shared memory, is what a crash leaves: SQLite recovers the WAL by its
	 * checksums and drops a transaction whose chain is broken. */
	if (CHECK(w) && CHECK(exec(w, SETUP)) &&
	    CHECK(exec(w, "PRAGMA cache_size=10; PRAGMA synchronous=FULL")) &&
	    CHECK(exec(w, "INSERT INTO t(b) VALUES (randomblob(100))")) &&
	    CHECK(exec(w, "BEGIN")) && CHECK(insert_rows(w, 700, 100)) &&
	    CHECK(exec(w, "UPDATE t SET b = randomblob(650) WHERE id % 3 = 0; COMMIT")) &&
	    CHECK(copy_file(d.path, copy_path)) && CHECK(copy_file(wal, copy_wal))) {
		/* One row of 100 bytes, 67 of 700 and the 33 updated of 650. */
		char b[256];
		CHECK_STR(query_text(w, CONTENT, b, sizeof(b)), "101:68450.0");
		copy = open_db(copy_path, false);
		if (CHECK(copy)) {
			CHECK_STR(query_text(copy, CONTENT, b, sizeof(b)), "101:68450.0");
			CHECK_STR(query_text(copy, "PRAGMA integrity_check", b, sizeof(b)),
				  "ok");
		}
	}
	sqlite3_close(copy);
	sqlite3_close(w);
	vfs_dir_remove(&d);
}
