/* test_store.c - the struct store contract (store.h), run against one
 * backend per run, on a fresh database per test: SQLite (a file in its own
 * temporary directory) by default; PostgreSQL when INNBOCKS_UNIT_PG holds
 * a libpq key=value conninfo of a server's maintenance database (each test
 * then gets a database of its own, a copy of one the run migrated first;
 * scripts/pg_cluster.sh run sets it). The
 * tests cover partners and list paging, customers and their per-partner
 * mailbox numbers, tenancy, updates, external ids, keys, idempotency
 * records, events, transactions with rollback and savepoints, dashboard
 * users, setup links, sessions and the audit log, rate-limit buckets, mail
 * and action lists, webhook endpoints, operator tokens, the metrics' stats,
 * backups, the health of writes, which reads lock their row (PostgreSQL), and that each backend's table fills every
 * slot of struct store_ops, each of which a test here calls (a test reads
 * this file to check that, so a new slot cannot go untested). Tests of
 * one backend's own mechanics are skipped on the other with unit_skip(),
 * which the run counts. */
#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "idem.h"
#include "store/store.h"
#include "store/store_sqlite.h"
#include "unit.h"

/* One fresh database: a store on a file in its own temporary directory, or
 * on a PostgreSQL database of its own. */
struct db {
	struct store *s;
	struct arena *a;
	struct err e;
	char dir[256];
	char path[272];
	char dbname[64];     /* PostgreSQL only */
	char conninfo[1024]; /* PostgreSQL only: the store's */
};

/* The conninfo of the PostgreSQL server's maintenance database, or NULL
 * when the run is on SQLite. */
static const char *pg_admin(void)
{
	const char *v = getenv("INNBOCKS_UNIT_PG");
	return v && *v ? v : NULL;
}

/* Skips the running test unless the run is on SQLite; returns true when
 * it skipped. */
static bool sqlite_only(void)
{
	if (!pg_admin())
		return false;
	unit_skip("on postgres: SQLite only (its files and migrations)");
	return true;
}

/* Skips the running test, saying why, unless the run is on PostgreSQL;
 * returns true when it skipped. */
static bool pg_only(const char *why)
{
	if (pg_admin())
		return false;
	unit_skip(why);
	return true;
}

/* Runs one statement (or several) on the PostgreSQL server's maintenance
 * database; returns it worked. */
static bool pg_admin_exec(const char *sql)
{
	PGconn *pc = PQconnectdb(pg_admin());
	PGresult *r = PQstatus(pc) == CONNECTION_OK ? PQexec(pc, sql) : NULL;
	bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		printf("    %s: %s", sql, r ? PQresultErrorMessage(r) : PQerrorMessage(pc));
	PQclear(r);
	PQfinish(pc);
	return ok;
}

/* Opens the backend under test on d's database. */
static struct store *db_store_open(struct db *d)
{
	return pg_admin() ? store_pg_open(d->conninfo, &d->e)
			  : store_sqlite_open(d->path, &d->e);
}

/* The template's name once pg_template() has made it. */
static char template_name[64];

/* Drops the template (at exit). */
static void pg_template_drop(void)
{
	char sql[128];
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", template_name);
	pg_admin_exec(sql);
}

/* The name of a database, migrated once by this process, that each test's
 * PostgreSQL database is copied from (migrating every test's own took most
 * of the run's time); made on first use, dropped at exit. NULL when it
 * could not be made (after a failed check). */
static const char *pg_template(void)
{
	if (template_name[0])
		return template_name;
	char name[64], sql[128], conninfo[1024];
	snprintf(name, sizeof(name), "innbocks_unit_template_%d", (int)getpid());
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	if (!CHECK(pg_admin_exec(sql)))
		return NULL;
	memcpy(template_name, name, sizeof(name));
	atexit(pg_template_drop);
	/* In a conninfo string, a later keyword wins. */
	snprintf(conninfo, sizeof(conninfo), "%s dbname=%s", pg_admin(), name);
	struct err e = {0};
	struct store *s = store_pg_open(conninfo, &e);
	if (!s)
		printf("    migrating the template: %s\n", e.message);
	if (!CHECK(s != NULL)) {
		pg_template_drop();
		template_name[0] = '\0';
		return NULL;
	}
	s->ops->close(s);
	return template_name;
}

/* Opens a store on a new database; returns false (after a failed check)
 * when that is impossible. */
static bool db_open(struct db *d)
{
	memset(d, 0, sizeof(*d));
	d->a = arena_new();
	if (pg_admin()) {
		static int serial;
		snprintf(d->dbname, sizeof(d->dbname), "innbocks_unit_%d_%d", (int)getpid(),
			 ++serial);
		const char *template = pg_template();
		char sql[192];
		snprintf(sql, sizeof(sql), "CREATE DATABASE %s TEMPLATE %s", d->dbname,
			 template ? template : "template1");
		if (!template || !CHECK(pg_admin_exec(sql))) {
			d->dbname[0] = '\0';
			return false;
		}
		/* In a conninfo string, a later keyword wins. */
		snprintf(d->conninfo, sizeof(d->conninfo), "%s dbname=%s", pg_admin(),
			 d->dbname);
	} else {
		const char *tmp = getenv("TMPDIR");
		snprintf(d->dir, sizeof(d->dir), "%s/innbocks-unit-XXXXXX",
			 tmp && *tmp ? tmp : "/tmp");
		if (!CHECK(mkdtemp(d->dir) != NULL)) {
			d->dir[0] = '\0';
			return false;
		}
		snprintf(d->path, sizeof(d->path), "%s/test.db", d->dir);
	}
	d->s = db_store_open(d);
	if (!d->s)
		printf("    store open: %s\n", d->e.message);
	return CHECK(d->s != NULL);
}

/* Closes the store and removes its files or its database. */
static void db_close(struct db *d)
{
	if (d->s)
		d->s->ops->close(d->s);
	d->s = NULL;
	arena_free(d->a);
	d->a = NULL;
	if (d->dbname[0]) {
		char sql[128];
		snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)",
			 d->dbname);
		CHECK(pg_admin_exec(sql));
		return;
	}
	if (!d->path[0])
		return;
	const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		char p[300];
		snprintf(p, sizeof(p), "%s%s", d->path, suffixes[i]);
		unlink(p);
	}
	if (d->dir[0])
		rmdir(d->dir);
}

/* Closes and reopens the store on the same database, as a restart would. */
static bool db_reopen(struct db *d)
{
	d->s->ops->close(d->s);
	d->s = db_store_open(d);
	return CHECK(d->s != NULL);
}

/* Runs SQL (one or more statements) on the test's database beside the
 * store, as another program would; returns it worked. */
static bool db_exec(struct db *d, const char *sql)
{
	if (d->dbname[0]) {
		PGconn *pc = PQconnectdb(d->conninfo);
		PGresult *r = PQexec(pc, sql);
		bool ok = CHECK_INT(PQresultStatus(r), PGRES_COMMAND_OK);
		if (!ok)
			printf("    %s", PQresultErrorMessage(r));
		PQclear(r);
		PQfinish(pc);
		return ok;
	}
	sqlite3 *db = NULL;
	bool ok = CHECK_INT(sqlite3_open(d->path, &db), SQLITE_OK) &&
		  CHECK_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	return ok;
}

/* Returns the integer the query answers on the test's database (-1 when
 * it answers none). */
static int64_t db_count(struct db *d, const char *sql)
{
	int64_t v = -1;
	if (d->dbname[0]) {
		PGconn *pc = PQconnectdb(d->conninfo);
		PGresult *r = PQexec(pc, sql);
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
			v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		PQclear(r);
		PQfinish(pc);
		return v;
	}
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	if (sqlite3_open(d->path, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* --- setup: what most tests start from, so that each reads as what it
 * checks ------------------------------------------------------------------ */

/* A partner to insert, created at 100. */
static struct partner partner_new(const char *id)
{
	return (struct partner){
		.id = id,
		.name = "Acme Mail",
		.location = {.line1 = "1 Main St",
			     .city = "Springfield",
			     .state = "IL",
			     .postal_code = "62701",
			     .country = "US"},
		.created_at = 100,
	};
}

/* Inserts a partner with the given id; returns true when the store did. */
static bool partner_add(struct db *d, const char *id, int64_t created_at)
{
	struct partner p = partner_new(id);
	p.created_at = created_at;
	return CHECK_INT(d->s->ops->partner_insert(d->s, &p, &d->e), 0);
}

/* Returns a new invited customer of partner with id "cus_<tag>" and mailbox
 * "mbx_<tag>", as the API would create it (strings in a); customer_new
 * in d's arena. */
static struct customer customer_in(struct arena *a, const char *partner_id, const char *tag)
{
	return (struct customer){
		.id = arena_printf(a, "cus_%s", tag),
		.partner_id = partner_id,
		.email = arena_printf(a, "%s@example.com", tag),
		.name = "Jane Doe",
		.status = "invited",
		.form_status = "not_started",
		.identity_status = "not_started",
		.compliance_updated_at = 1000,
		.metadata = "{}",
		.created_at = 1000,
		.updated_at = 1000,
		.mailbox = {.id = arena_printf(a, "mbx_%s", tag),
			    .status = "reserved",
			    .reserved_at = 1000},
	};
}

static struct customer customer_new(struct db *d, const char *partner_id, const char *tag)
{
	return customer_in(d->a, partner_id, tag);
}

/* Inserts a new customer (see customer_new) and returns its mailbox number
 * (arena string), or NULL after a failed check. */
static const char *customer_add(struct db *d, const char *partner_id, const char *tag)
{
	struct customer c = customer_new(d, partner_id, tag);
	if (!CHECK_INT(d->s->ops->customer_insert(d->s, d->a, &c, &d->e), 0))
		return NULL;
	return c.mailbox.number;
}

/* Opens a store on a new database with the partner partner_id (and its
 * test tenant); returns false after a failed check. Most tests start here. */
static bool db_open_partner(struct db *d, const char *partner_id)
{
	return db_open(d) && partner_add(d, partner_id, 100);
}

/* The same with partners ptn_a and ptn_b, for tests that one partner cannot
 * see the other's rows. */
static bool db_open_partners(struct db *d)
{
	return db_open_partner(d, "ptn_a") && partner_add(d, "ptn_b", 100);
}

/* The same with a customer of each: cus_a (mailbox mbx_a) of ptn_a and
 * cus_b of ptn_b. */
static bool db_open_customers(struct db *d)
{
	return db_open_partners(d) && customer_add(d, "ptn_a", "a") &&
	       customer_add(d, "ptn_b", "b");
}

/* Inserts key id of tenant_id whose secret hashes to hash. */
static bool key_add(struct db *d, const char *id, const char *tenant_id, const char *hash)
{
	struct api_key k = {.id = id,
			    .partner_id = tenant_id,
			    .name = "CRM",
			    .prefix = "ib_live_abcd",
			    .hash = hash,
			    .scopes = 5,
			    .created_at = 100};
	return CHECK_INT(d->s->ops->key_insert(d->s, &k, &d->e), 0);
}

/* Inserts the enabled endpoint id of partner_id, for the event types of
 * enabled_events (a JSON array). */
static bool endpoint_add_for(struct db *d, const char *id, const char *partner_id,
			     const char *enabled_events)
{
	struct webhook_endpoint w = {
		.id = id,
		.partner_id = partner_id,
		.url = "https://example.com/h",
		.enabled_events = enabled_events,
		.status = "enabled",
		.secret = "whsec_x",
		.created_at = 100,
		.updated_at = 100,
	};
	return CHECK_INT(d->s->ops->endpoint_insert(d->s, &w, &d->e), 0);
}

/* The same for every event type. */
static bool endpoint_add(struct db *d, const char *id, const char *partner_id)
{
	return endpoint_add_for(d, id, partner_id, "[\"*\"]");
}

/* Inserts a dashboard user of partner_id (role developer, no password);
 * returns true when the store did. */
static bool user_add(struct db *d, const char *id, const char *partner_id, const char *email,
		     int64_t created_at)
{
	struct user u = {.id = id,
			 .partner_id = partner_id,
			 .email = email,
			 .role = "developer",
			 .created_at = created_at};
	return CHECK_INT(d->s->ops->user_insert(d->s, &u, &d->e), 0);
}

/* --- steps in a write transaction of their own, as a request's ----------- */

/* Claims as owner in a transaction of its own, leases of 60 s, with the
 * caps and the reserve given; returns how many jobs it leased (into *jobs,
 * arena a), or -1. */
static int claim_reserving(struct store *s, struct arena *a, const char *owner, int limit,
			   int reserve, int per_endpoint, int per_tenant,
			   struct webhook_job **jobs)
{
	struct err e;
	size_t n = 0;
	if (s->ops->tx_begin(s, true, &e) < 0)
		return -1;
	if (s->ops->webhook_claim(s, a, owner, 60, limit, reserve, per_endpoint, per_tenant,
				  jobs, &n, &e) < 0) {
		printf("    webhook_claim: %s\n", e.message);
		s->ops->tx_rollback(s);
		return -1;
	}
	return s->ops->tx_commit(s, &e) < 0 ? -1 : (int)n;
}

/* The same without a reserve. */
static int claim_as(struct store *s, struct arena *a, const char *owner, int limit,
		    int per_endpoint, int per_tenant, struct webhook_job **jobs)
{
	return claim_reserving(s, a, owner, limit, 0, per_endpoint, per_tenant, jobs);
}

/* The same with caps that never bind. */
static int claim(struct db *d, const char *owner, int limit, struct webhook_job **jobs)
{
	return claim_as(d->s, d->a, owner, limit, 100, 100, jobs);
}

/* Records owner's attempt d (its job becoming job_status) in a transaction
 * of its own; returns what webhook_record returned, or -1 when the
 * transaction failed. */
static int record_as(struct db *d, const char *owner, const struct webhook_delivery *sent,
		     const char *job_status, bool disable_endpoint)
{
	if (d->s->ops->tx_begin(d->s, true, &d->e) < 0)
		return -1;
	int rc = d->s->ops->webhook_record(d->s, owner, sent, job_status, disable_endpoint,
					   &d->e);
	if (rc < 0) {
		printf("    webhook_record: %s\n", d->e.message);
		d->s->ops->tx_rollback(d->s);
		return -1;
	}
	return d->s->ops->tx_commit(d->s, &d->e) < 0 ? -1 : rc;
}

/* Purges events created before `before` (up to limit) in a transaction of
 * its own; returns how many it purged, or -1. */
static int purge(struct db *d, int64_t before, int limit)
{
	int purged = -1;
	if (d->s->ops->tx_begin(d->s, true, &d->e) < 0)
		return -1;
	if (d->s->ops->event_purge(d->s, before, limit, &purged, &d->e) < 0) {
		printf("    event_purge: %s\n", d->e.message);
		d->s->ops->tx_rollback(d->s);
		return -1;
	}
	return d->s->ops->tx_commit(d->s, &d->e) < 0 ? -1 : purged;
}

/* --- opening ------------------------------------------------------------- */

TEST(store_reopens_an_existing_database_keeping_its_data)
{
	struct db d;
	if (!db_open(&d))
		goto out;
	partner_add(&d, "ptn_1", 100);
	if (!db_reopen(&d))
		goto out;
	struct partner p;
	CHECK_INT(d.s->ops->partner_get(d.s, d.a, "ptn_1", &p, &d.e), 0);
out:
	db_close(&d);
}

TEST(store_sqlite_open_refuses_a_path_it_cannot_create)
{
	if (sqlite_only())
		return;
	struct err e = {0};
	struct store *s = store_sqlite_open("/nonexistent-innbocks-dir/sub/test.db", &e);
	CHECK(s == NULL);
	CHECK_INT(e.status, 503);
	if (s)
		s->ops->close(s);
}

/* The migrations compiled into the binary (build/gen/sql_sqlite.c,
 * build/gen/sql_postgres.c). */
extern const char *const sqlite_migrations[];
extern const char *const pg_migrations[];

/* A database written by a newer binary (one migration more than the
 * backend's migrations hold) is refused: migrate() walks the array from the
 * database's schema version, so without the check it would read past its
 * end (a global-buffer-overflow under AddressSanitizer). */
TEST(store_open_refuses_a_database_newer_than_the_binary)
{
	struct db d;
	if (!db_open(&d))
		goto out;
	d.s->ops->close(d.s);
	d.s = NULL;
	const char *const *migrations = pg_admin() ? pg_migrations : sqlite_migrations;
	int known = 0;
	while (migrations[known])
		known++;
	char sql[96];
	snprintf(sql, sizeof(sql), "INSERT INTO schema_version VALUES (%d)", known + 1);
	CHECK(db_exec(&d, sql));
	d.s = db_store_open(&d);
	CHECK(d.s == NULL);
out:
	db_close(&d);
}

TEST(a_connection_postgres_dropped_is_reopened_with_its_statements_prepared_anew)
{
	if (pg_only("on sqlite: no server to lose the connection to"))
		return;
	struct db d;
	struct partner p;
	if (!db_open_partner(&d, "ptn_1") ||
	    !CHECK_INT(d.s->ops->partner_get(d.s, d.a, "ptn_1", &p, &d.e), 0))
		goto out;
	/* The server ends the session, and the statements prepared on it. */
	char sql[200];
	snprintf(sql, sizeof(sql),
		 "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
		 " WHERE datname = '%s' AND pid <> pg_backend_pid()",
		 d.dbname);
	if (!CHECK(db_count(&d, sql) >= 1))
		goto out;
	/* The first statement finds the session gone; the next one runs on a
	 * new session, where it is prepared again. */
	int rc = d.s->ops->partner_get(d.s, d.a, "ptn_1", &p, &d.e);
	if (rc < 0)
		CHECK_INT(d.e.status, 503);
	CHECK_INT(d.s->ops->partner_get(d.s, d.a, "ptn_1", &p, &d.e), 0);
	CHECK_STR(p.name, "Acme Mail");
	CHECK(partner_add(&d, "ptn_2", 101));
out:
	db_close(&d);
}

/* --- partners ------------------------------------------------------------ */

TEST(partner_get_returns_every_field_that_was_inserted)
{
	struct db d;
	if (!db_open(&d))
		goto out;
	struct partner in = {
		.id = "ptn_1",
		.name = "Acme Mail",
		.location = {.line1 = "1 Main St",
			     .line2 = "Suite 5",
			     .city = "Springfield",
			     .state = "IL",
			     .postal_code = "62701",
			     .country = "US"},
		.created_at = 1700000000,
	};
	CHECK_INT(d.s->ops->partner_insert(d.s, &in, &d.e), 0);
	struct partner out = {0};
	if (!CHECK_INT(d.s->ops->partner_get(d.s, d.a, "ptn_1", &out, &d.e), 0))
		goto out;
	CHECK_STR(out.id, "ptn_1");
	CHECK_STR(out.name, "Acme Mail");
	CHECK_STR(out.location.line1, "1 Main St");
	CHECK_STR(out.location.line2, "Suite 5");
	CHECK_STR(out.location.city, "Springfield");
	CHECK_STR(out.location.state, "IL");
	CHECK_STR(out.location.postal_code, "62701");
	CHECK_STR(out.location.country, "US");
	CHECK_INT(out.created_at, 1700000000);
out:
	db_close(&d);
}

TEST(partner_get_keeps_an_unset_line2_null)
{
	struct db d;
	if (!db_open(&d))
		goto out;
	partner_add(&d, "ptn_1", 100);
	struct partner out = {0};
	CHECK_INT(d.s->ops->partner_get(d.s, d.a, "ptn_1", &out, &d.e), 0);
	CHECK(out.location.line2 == NULL);
out:
	db_close(&d);
}

TEST(partner_get_of_an_unknown_id_is_not_found)
{
	struct db d;
	if (!db_open(&d))
		goto out;
	struct partner out;
	CHECK_INT(d.s->ops->partner_get(d.s, d.a, "ptn_nope", &out, &d.e), STORE_NOT_FOUND);
out:
	db_close(&d);
}

/* Inserts partners ptn_1 .. ptn_<n>, oldest first. */
static bool partners_add(struct db *d, int n)
{
	bool ok = true;
	for (int i = 1; i <= n; i++)
		ok = partner_add(d, arena_printf(d->a, "ptn_%d", i), 100 + i) && ok;
	return ok;
}

/* Lists one page of partners into ids (a space-separated list, "" when
 * empty); returns the store's result. */
static int partner_page(struct db *d, int limit, const char *after, const char *before,
			char *ids, size_t ids_size, bool *has_more)
{
	struct page pg = {.limit = limit, .starting_after = after, .ending_before = before};
	struct partner *items = NULL;
	size_t n = 0;
	int rc = d->s->ops->partner_list(d->s, d->a, &pg, &items, &n, has_more, &d->e);
	ids[0] = '\0';
	for (size_t i = 0; rc == 0 && i < n; i++) {
		size_t l = strlen(ids);
		snprintf(ids + l, ids_size - l, "%s%s", i ? " " : "", items[i].id);
	}
	return rc;
}

TEST(partner_list_is_newest_first)
{
	struct db d;
	char ids[256];
	bool more = true;
	if (!db_open(&d) || !partners_add(&d, 3))
		goto out;
	CHECK_INT(partner_page(&d, 10, NULL, NULL, ids, sizeof(ids), &more), 0);
	CHECK_STR(ids, "ptn_3 ptn_2 ptn_1");
	CHECK(!more);
out:
	db_close(&d);
}

TEST(partner_list_pages_forward_with_starting_after_without_gaps_or_duplicates)
{
	struct db d;
	char ids[256];
	bool more = false;
	if (!db_open(&d) || !partners_add(&d, 7))
		goto out;
	CHECK_INT(partner_page(&d, 3, NULL, NULL, ids, sizeof(ids), &more), 0);
	CHECK_STR(ids, "ptn_7 ptn_6 ptn_5");
	CHECK(more);
	CHECK_INT(partner_page(&d, 3, "ptn_5", NULL, ids, sizeof(ids), &more), 0);
	CHECK_STR(ids, "ptn_4 ptn_3 ptn_2");
	CHECK(more);
	CHECK_INT(partner_page(&d, 3, "ptn_2", NULL, ids, sizeof(ids), &more), 0);
	CHECK_STR(ids, "ptn_1");
	CHECK(!more);
	CHECK_INT(partner_page(&d, 3, "ptn_1", NULL, ids, sizeof(ids), &more), 0);
	CHECK_STR(ids, "");
	CHECK(!more);
out:
	db_close(&d);
}

TEST(partner_list_pages_backward_with_ending_before_without_gaps_or_duplicates)
{
	struct db d;
	char ids[256];
	bool more = false;
	if (!db_open(&d) || !partners_add(&d, 7))
		goto out;
	/* Walking back towards the newest; each page still lists newest first. */
	CHECK_INT(partner_page(&d, 3, NULL, "ptn_1", ids, sizeof(ids), &more), 0);
	CHECK_STR(ids, "ptn_4 ptn_3 ptn_2");
	CHECK(more);
	CHECK_INT(partner_page(&d, 3, NULL, "ptn_4", ids, sizeof(ids), &more), 0);
	CHECK_STR(ids, "ptn_7 ptn_6 ptn_5");
	CHECK(!more);
	CHECK_INT(partner_page(&d, 3, NULL, "ptn_7", ids, sizeof(ids), &more), 0);
	CHECK_STR(ids, "");
	CHECK(!more);
out:
	db_close(&d);
}

TEST(partner_list_with_an_unknown_cursor_is_a_400)
{
	struct db d;
	char ids[256];
	bool more = false;
	if (!db_open(&d) || !partners_add(&d, 2))
		goto out;
	CHECK_INT(partner_page(&d, 3, "ptn_nope", NULL, ids, sizeof(ids), &more), -1);
	CHECK_INT(d.e.status, 400);
	CHECK_STR(d.e.param, "starting_after");
	d.e = (struct err){0};
	CHECK_INT(partner_page(&d, 3, NULL, "ptn_nope", ids, sizeof(ids), &more), -1);
	CHECK_INT(d.e.status, 400);
	CHECK_STR(d.e.param, "ending_before");
out:
	db_close(&d);
}

/* A partner's test tenant is a row of the table but no partner of the list
 * (GET /admin/v1/partners/{its id} is 404): no cursor either. */
TEST(partner_list_refuses_a_test_tenant_as_a_cursor)
{
	struct db d;
	char ids[256];
	bool more = false;
	if (!db_open(&d) || !partners_add(&d, 2))
		goto out;
	const char *tenant = tenant_of(d.a, "ptn_1", false);
	CHECK_INT(partner_page(&d, 3, tenant, NULL, ids, sizeof(ids), &more), -1);
	CHECK_INT(d.e.status, 400);
	CHECK_STR(d.e.param, "starting_after");
	d.e = (struct err){0};
	CHECK_INT(partner_page(&d, 3, NULL, tenant, ids, sizeof(ids), &more), -1);
	CHECK_INT(d.e.status, 400);
	CHECK_STR(d.e.param, "ending_before");
out:
	db_close(&d);
}

/* --- customers ----------------------------------------------------------- */

TEST(customer_insert_numbers_mailboxes_1001_1002_1003)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_1"))
		goto out;
	CHECK_STR(customer_add(&d, "ptn_1", "a"), "1001");
	CHECK_STR(customer_add(&d, "ptn_1", "b"), "1002");
	CHECK_STR(customer_add(&d, "ptn_1", "c"), "1003");
out:
	db_close(&d);
}

TEST(customer_insert_numbers_each_partners_mailboxes_independently)
{
	struct db d;
	if (!db_open_partners(&d))
		goto out;
	CHECK_STR(customer_add(&d, "ptn_a", "a1"), "1001");
	CHECK_STR(customer_add(&d, "ptn_b", "b1"), "1001");
	CHECK_STR(customer_add(&d, "ptn_a", "a2"), "1002");
	CHECK_STR(customer_add(&d, "ptn_b", "b2"), "1002");
	CHECK_STR(customer_add(&d, "ptn_b", "b3"), "1003");
out:
	db_close(&d);
}

TEST(checkpoint_keeps_every_committed_write_readable)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_1"))
		goto out;
	CHECK_STR(customer_add(&d, "ptn_1", "a"), "1001");
	CHECK_INT(d.s->ops->checkpoint(d.s, &d.e), 0);
	CHECK_STR(customer_add(&d, "ptn_1", "b"), "1002");
	CHECK_INT(d.s->ops->checkpoint(d.s, &d.e), 0);
	struct customer c;
	CHECK_INT(d.s->ops->customer_get(d.s, d.a, "ptn_1", "cus_a", &c, &d.e), 0);
	CHECK_INT(d.s->ops->customer_get(d.s, d.a, "ptn_1", "cus_b", &c, &d.e), 0);
out:
	db_close(&d);
}

TEST(customer_mailbox_numbers_are_unique_per_partner_in_the_schema)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_1"))
		goto out;
	struct customer a = customer_new(&d, "ptn_1", "a");
	CHECK_INT(d.s->ops->customer_insert(d.s, d.a, &a, &d.e), 0);
	/* Even a writer that bypassed the counter could not hand a number out twice. */
	if (!db_exec(&d, "UPDATE partners SET next_mailbox_number = 1001"))
		goto out;
	struct customer b = customer_new(&d, "ptn_1", "b");
	CHECK_INT(d.s->ops->customer_insert(d.s, d.a, &b, &d.e), -1);
	/* Only a bug can cause this one: a 500, which a retry runs again. */
	CHECK_INT(d.e.status, 500);
out:
	db_close(&d);
}

TEST(customer_insert_for_an_unknown_partner_fails)
{
	struct db d;
	if (!db_open(&d))
		goto out;
	struct customer c = customer_new(&d, "ptn_nope", "a");
	CHECK_INT(d.s->ops->customer_insert(d.s, d.a, &c, &d.e), -1);
	struct customer out;
	CHECK_INT(d.s->ops->customer_get_any_partner(d.s, d.a, "cus_a", &out, &d.e),
		  STORE_NOT_FOUND);
out:
	db_close(&d);
}

TEST(customer_get_with_another_partners_id_is_not_found)
{
	struct db d;
	if (!db_open_partners(&d) || !customer_add(&d, "ptn_a", "a"))
		goto out;
	struct customer out = {0};
	CHECK_INT(d.s->ops->customer_get(d.s, d.a, "ptn_b", "cus_a", &out, &d.e),
		  STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->customer_get(d.s, d.a, "ptn_a", "cus_a", &out, &d.e), 0);
	CHECK_STR(out.partner_id, "ptn_a");
out:
	db_close(&d);
}

TEST(customer_get_any_partner_finds_the_customer_another_partner_cannot_see)
{
	struct db d;
	if (!db_open_partners(&d) || !customer_add(&d, "ptn_a", "a"))
		goto out;
	struct customer out = {0};
	CHECK_INT(d.s->ops->customer_get(d.s, d.a, "ptn_b", "cus_a", &out, &d.e),
		  STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->customer_get_any_partner(d.s, d.a, "cus_a", &out, &d.e), 0);
	CHECK_STR(out.id, "cus_a");
	CHECK_STR(out.partner_id, "ptn_a");
	CHECK_INT(d.s->ops->customer_get_any_partner(d.s, d.a, "cus_nope", &out, &d.e),
		  STORE_NOT_FOUND);
out:
	db_close(&d);
}

TEST(customer_get_returns_what_customer_insert_wrote)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_1"))
		goto out;
	struct customer in = customer_new(&d, "ptn_1", "a");
	in.external_id = "crm-7";
	in.phone = "+15555555555";
	in.prepay = true;
	in.metadata = "{\"crm\":\"7\"}";
	CHECK_INT(d.s->ops->customer_insert(d.s, d.a, &in, &d.e), 0);
	struct customer out = {0};
	if (!CHECK_INT(d.s->ops->customer_get(d.s, d.a, "ptn_1", "cus_a", &out, &d.e), 0))
		goto out;
	CHECK_STR(out.external_id, "crm-7");
	CHECK_STR(out.email, "a@example.com");
	CHECK_STR(out.name, "Jane Doe");
	CHECK_STR(out.phone, "+15555555555");
	CHECK(out.prepay);
	CHECK(!out.own_billing_active);
	CHECK_STR(out.status, "invited");
	CHECK_STR(out.form_status, "not_started");
	CHECK_STR(out.identity_status, "not_started");
	CHECK_STR(out.metadata, "{\"crm\":\"7\"}");
	CHECK_INT(out.created_at, 1000);
	CHECK_STR(out.mailbox.id, "mbx_a");
	CHECK_STR(out.mailbox.number, "1001");
	CHECK_STR(out.mailbox.status, "reserved");
	CHECK_INT(out.mailbox.reserved_at, 1000);
	CHECK_INT(out.mailbox.activated_at, 0);
out:
	db_close(&d);
}

TEST(customer_update_round_trips_every_field)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_1") || !customer_add(&d, "ptn_1", "a"))
		goto out;
	struct customer c = {0};
	if (!CHECK_INT(d.s->ops->customer_get(d.s, d.a, "ptn_1", "cus_a", &c, &d.e), 0))
		goto out;
	c.external_id = "crm-9";
	c.email = "jane.new@example.com";
	c.name = "Jane Q. Doe";
	c.phone = "+4915112345678";
	c.prepay = true;
	c.own_billing_active = true;
	c.status = "deactivated";
	c.form_status = "rejected";
	c.form_submitted_at = 2001;
	c.form_approved_at = 2002;
	c.form_rejection_reason = "illegible";
	c.identity_status = "failed";
	c.identity_verified_at = 2003;
	c.identity_failure_reason = "expired document";
	c.compliance_updated_at = 2004;
	c.metadata = "{\"tier\":\"gold\"}";
	c.updated_at = 2005;
	c.deactivated_at = 2006;
	c.deactivation_reason = "moved away";
	c.mailbox.status = "closed";
	c.mailbox.activated_at = 2007;
	c.mailbox.closed_at = 2008;
	CHECK_INT(d.s->ops->customer_update(d.s, &c, &d.e), 0);

	struct customer out = {0};
	if (!CHECK_INT(d.s->ops->customer_get(d.s, d.a, "ptn_1", "cus_a", &out, &d.e), 0))
		goto out;
	CHECK_STR(out.external_id, "crm-9");
	CHECK_STR(out.email, "jane.new@example.com");
	CHECK_STR(out.name, "Jane Q. Doe");
	CHECK_STR(out.phone, "+4915112345678");
	CHECK(out.prepay);
	CHECK(out.own_billing_active);
	CHECK_STR(out.status, "deactivated");
	CHECK_STR(out.form_status, "rejected");
	CHECK_INT(out.form_submitted_at, 2001);
	CHECK_INT(out.form_approved_at, 2002);
	CHECK_STR(out.form_rejection_reason, "illegible");
	CHECK_STR(out.identity_status, "failed");
	CHECK_INT(out.identity_verified_at, 2003);
	CHECK_STR(out.identity_failure_reason, "expired document");
	CHECK_INT(out.compliance_updated_at, 2004);
	CHECK_STR(out.metadata, "{\"tier\":\"gold\"}");
	CHECK_INT(out.created_at, 1000);
	CHECK_INT(out.updated_at, 2005);
	CHECK_INT(out.deactivated_at, 2006);
	CHECK_STR(out.deactivation_reason, "moved away");
	CHECK_STR(out.mailbox.number, "1001");
	CHECK_STR(out.mailbox.status, "closed");
	CHECK_INT(out.mailbox.reserved_at, 1000);
	CHECK_INT(out.mailbox.activated_at, 2007);
	CHECK_INT(out.mailbox.closed_at, 2008);
out:
	db_close(&d);
}

TEST(customer_update_clears_optional_fields_set_to_null)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_1"))
		goto out;
	struct customer c = customer_new(&d, "ptn_1", "a");
	c.external_id = "crm-7";
	c.phone = "+15555555555";
	c.form_rejection_reason = "blurry";
	CHECK_INT(d.s->ops->customer_insert(d.s, d.a, &c, &d.e), 0);
	c.external_id = NULL;
	c.phone = NULL;
	c.form_rejection_reason = NULL;
	CHECK_INT(d.s->ops->customer_update(d.s, &c, &d.e), 0);
	struct customer out = {0};
	if (!CHECK_INT(d.s->ops->customer_get(d.s, d.a, "ptn_1", "cus_a", &out, &d.e), 0))
		goto out;
	CHECK(out.external_id == NULL);
	CHECK(out.phone == NULL);
	CHECK(out.form_rejection_reason == NULL);
out:
	db_close(&d);
}

TEST(customer_update_leaves_other_customers_alone)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_1") || !customer_add(&d, "ptn_1", "a") ||
	    !customer_add(&d, "ptn_1", "b"))
		goto out;
	struct customer c = {0};
	if (!CHECK_INT(d.s->ops->customer_get(d.s, d.a, "ptn_1", "cus_a", &c, &d.e), 0))
		goto out;
	c.name = "Changed";
	c.mailbox.status = "active";
	c.mailbox.activated_at = 3000;
	CHECK_INT(d.s->ops->customer_update(d.s, &c, &d.e), 0);
	struct customer other = {0};
	if (!CHECK_INT(d.s->ops->customer_get(d.s, d.a, "ptn_1", "cus_b", &other, &d.e), 0))
		goto out;
	CHECK_STR(other.name, "Jane Doe");
	CHECK_STR(other.mailbox.status, "reserved");
	CHECK_INT(other.mailbox.activated_at, 0);
out:
	db_close(&d);
}

TEST(customer_external_id_find_sees_only_the_partners_other_customers)
{
	struct db d;
	if (!db_open_partners(&d))
		goto out;
	struct customer c = customer_new(&d, "ptn_a", "a");
	c.external_id = "crm-1";
	if (!CHECK_INT(d.s->ops->customer_insert(d.s, d.a, &c, &d.e), 0))
		goto out;
	CHECK_INT(d.s->ops->customer_external_id_find(d.s, "ptn_a", "crm-1", NULL, &d.e), 0);
	CHECK_INT(d.s->ops->customer_external_id_find(d.s, "ptn_a", "crm-1", "cus_other", &d.e),
		  0);
	/* The customer itself does not conflict with itself (a PATCH). */
	CHECK_INT(d.s->ops->customer_external_id_find(d.s, "ptn_a", "crm-1", "cus_a", &d.e),
		  STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->customer_external_id_find(d.s, "ptn_b", "crm-1", NULL, &d.e),
		  STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->customer_external_id_find(d.s, "ptn_a", "crm-2", NULL, &d.e),
		  STORE_NOT_FOUND);
out:
	db_close(&d);
}

/* --- conflicts: a unique value taken is the handler's 409, never a 500 --- */

/* Checks that rc and d->e are the 409 code (on param) a client is given for
 * a value another request took first. */
static bool conflict(struct db *d, int rc, const char *code, const char *param)
{
	bool ok = CHECK_INT(rc, -1) && CHECK_INT(d->e.status, 409) &&
		  CHECK_STR(d->e.code, code) && CHECK_STR(d->e.param, param);
	d->e = (struct err){0};
	return ok;
}

TEST(customer_insert_with_an_external_id_the_partner_has_is_a_409_external_id_conflict)
{
	struct db d;
	if (!db_open_partners(&d))
		goto out;
	struct customer a = customer_new(&d, "ptn_a", "a");
	a.external_id = "crm-1";
	if (!CHECK_INT(d.s->ops->customer_insert(d.s, d.a, &a, &d.e), 0))
		goto out;
	/* As when another instance's request took it after this one checked. */
	struct customer b = customer_new(&d, "ptn_a", "b");
	b.external_id = "crm-1";
	conflict(&d, d.s->ops->customer_insert(d.s, d.a, &b, &d.e), "external_id_conflict",
		 "external_customer_id");
	struct customer out;
	CHECK_INT(d.s->ops->customer_get(d.s, d.a, "ptn_a", "cus_b", &out, &d.e),
		  STORE_NOT_FOUND);
	/* Another partner's customers have external ids of their own. */
	struct customer other = customer_new(&d, "ptn_b", "c");
	other.external_id = "crm-1";
	CHECK_INT(d.s->ops->customer_insert(d.s, d.a, &other, &d.e), 0);
out:
	db_close(&d);
}

TEST(customer_update_to_an_external_id_the_partner_has_is_a_409_external_id_conflict)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_a"))
		goto out;
	struct customer a = customer_new(&d, "ptn_a", "a");
	a.external_id = "crm-1";
	struct customer b = customer_new(&d, "ptn_a", "b");
	if (!CHECK_INT(d.s->ops->customer_insert(d.s, d.a, &a, &d.e), 0) ||
	    !CHECK_INT(d.s->ops->customer_insert(d.s, d.a, &b, &d.e), 0))
		goto out;
	b.external_id = "crm-1";
	conflict(&d, d.s->ops->customer_update(d.s, &b, &d.e), "external_id_conflict",
		 "external_customer_id");
	struct customer out;
	if (CHECK_INT(d.s->ops->customer_get(d.s, d.a, "ptn_a", "cus_b", &out, &d.e), 0))
		CHECK(out.external_id == NULL);
out:
	db_close(&d);
}

TEST(customer_list_filters_by_email_case_insensitively)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_1") || !customer_add(&d, "ptn_1", "Jane") ||
	    !customer_add(&d, "ptn_1", "john"))
		goto out;
	struct customer_filter f = {.email = "JANE@example.COM"};
	struct page pg = {.limit = 10};
	struct customer *items = NULL;
	size_t n = 0;
	bool more = true;
	CHECK_INT(d.s->ops->customer_list(d.s, d.a, "ptn_1", &f, &pg, &items, &n, &more, &d.e),
		  0);
	if (CHECK_INT(n, 1))
		CHECK_STR(items[0].email, "Jane@example.com");
out:
	db_close(&d);
}

TEST(customer_list_does_not_accept_another_partners_customer_as_cursor)
{
	struct db d;
	if (!db_open_customers(&d))
		goto out;
	struct customer_filter f = {0};
	struct page pg = {.limit = 10, .starting_after = "cus_a"};
	struct customer *items = NULL;
	size_t n = 0;
	bool more = false;
	CHECK_INT(d.s->ops->customer_list(d.s, d.a, "ptn_b", &f, &pg, &items, &n, &more, &d.e),
		  -1);
	CHECK_INT(d.e.status, 400);
out:
	db_close(&d);
}

/* Inserts customers of ptn_1 with these mailbox spans (0: none). */
struct span_box {
	const char *tag;
	int64_t activated, closed;
};

static bool span_boxes_add(struct db *d, const struct span_box *boxes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct customer c = customer_new(d, "ptn_1", boxes[i].tag);
		c.mailbox.activated_at = boxes[i].activated;
		c.mailbox.closed_at = boxes[i].closed;
		c.mailbox.status = boxes[i].closed      ? "closed"
				   : boxes[i].activated ? "active"
							: "reserved";
		if (!CHECK_INT(d->s->ops->customer_insert(d->s, d->a, &c, &d->e), 0))
			return false;
	}
	return true;
}

/* The ids of a usage page of ptn_1 over [1000, 2000), joined by spaces,
 * with "+" after them when there are more; "400 <param>" for a refusal. */
static const char *usage_page(struct db *d, int limit, const char *after, const char *before)
{
	struct page pg = {.limit = limit, .starting_after = after, .ending_before = before};
	struct customer *items;
	size_t n;
	bool more;
	if (d->s->ops->usage_customers(d->s, d->a, "ptn_1", 1000, 2000, &pg, &items, &n, &more,
				       &d->e) < 0)
		return arena_printf(d->a, "%d %s", d->e.status, d->e.param);
	const char *out = "";
	for (size_t i = 0; i < n; i++)
		out = arena_printf(d->a, "%s%s%s", out, i ? " " : "", items[i].id);
	return arena_printf(d->a, "%s%s", out, more ? " +" : "");
}

TEST(usage_lists_mailboxes_active_in_the_period_by_activation)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_1"))
		goto out;
	/* The period is [1000, 2000). */
	const struct span_box boxes[] = {
		{"late", 1500, 0},       /* activated inside */
		{"early", 500, 0},       /* active throughout */
		{"closed", 400, 1200},   /* closed inside */
		{"gone", 300, 1000},     /* closed at the first instant */
		{"future", 2000, 0},     /* activated at the end */
		{"never", 0, 0},         /* reserved only */
		{"instant", 1000, 1000}, /* closed in its activation second, inside */
		{"before", 999, 999},    /* the same, before the period */
		{"twin", 1500, 1999},    /* activated with late: after it, by creation */
		{"odd", 1100, 1050},     /* closed before it was activated: never active */
	};
	/* 0 is no time, as the server writes none: only a hand-edited row
	 * holds it, and such a mailbox was never active. */
	if (!span_boxes_add(&d, boxes, sizeof(boxes) / sizeof(boxes[0])) ||
	    !db_exec(&d,
		     "UPDATE customers SET mailbox_activated_at = 0, mailbox_closed_at = 1500"
		     " WHERE id = 'cus_never'"))
		goto out;
	CHECK_STR(usage_page(&d, 10, NULL, NULL),
		  "cus_closed cus_early cus_instant cus_late cus_twin");
	struct usage_span *spans = NULL;
	size_t n = 0;
	CHECK_INT(d.s->ops->usage_spans(d.s, d.a, "ptn_1", 1000, 2000, &spans, &n, &d.e), 0);
	int64_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += spans[i].activated_at * 10000 + spans[i].closed_at;
	CHECK_INT(n, 5);
	CHECK_INT(sum, 4001200 + 5000000 + 10001000 + 15000000 + 15001999);
	/* Only the seconds before hi count: at 1400, late and twin are to come. */
	CHECK_INT(d.s->ops->usage_spans(d.s, d.a, "ptn_1", 1000, 1400, &spans, &n, &d.e), 0);
	CHECK_INT(n, 3);
	CHECK_INT(d.s->ops->usage_spans(d.s, d.a, "ptn_1", 2000, 2000, &spans, &n, &d.e), 0);
	CHECK_INT(n, 0);
out:
	db_close(&d);
}

TEST(usage_customers_pages_both_ways_from_a_customer_or_a_mailbox)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_1"))
		goto out;
	const struct span_box boxes[] = {
		{"a", 1200, 0},    {"b", 1100, 0},  {"c", 1200, 0},
		{"d", 1300, 1400}, {"e", 500, 900}, /* not in the period */
	};
	if (!span_boxes_add(&d, boxes, sizeof(boxes) / sizeof(boxes[0])))
		goto out;
	CHECK_STR(usage_page(&d, 2, NULL, NULL), "cus_b cus_a +");
	CHECK_STR(usage_page(&d, 2, "cus_a", NULL), "cus_c cus_d");
	CHECK_STR(usage_page(&d, 1, "mbx_a", NULL), "cus_c +");
	CHECK_STR(usage_page(&d, 2, "mbx_d", NULL), "");
	CHECK_STR(usage_page(&d, 2, NULL, "cus_d"), "cus_a cus_c +");
	CHECK_STR(usage_page(&d, 2, NULL, "mbx_c"), "cus_b cus_a");
	CHECK_STR(usage_page(&d, 5, NULL, "cus_b"), "");
	/* A cursor that is no line item of the period: the customer's own
	 * mailbox out of it, another id, the other kind's prefix. */
	CHECK_STR(usage_page(&d, 2, "cus_e", NULL), "400 starting_after");
	CHECK_STR(usage_page(&d, 2, NULL, "mbx_e"), "400 ending_before");
	CHECK_STR(usage_page(&d, 2, "cus_zz", NULL), "400 starting_after");
	CHECK_STR(usage_page(&d, 2, "mbx_cus_a", NULL), "400 starting_after");
out:
	db_close(&d);
}

/* The plan SQLite chose for the statement this thread's connection
 * prepared with the text needle in it (arena), or NULL. */
static const char *sqlite_plan_of(struct db *d, const char *needle)
{
	struct err e;
	struct conn *c = sq_conn_get(d->s, &e);
	for (sqlite3_stmt *st = c ? sqlite3_next_stmt(c->db, NULL) : NULL; st;
	     st = sqlite3_next_stmt(c->db, st)) {
		if (!strstr(sqlite3_sql(st), needle))
			continue;
		sqlite3_stmt *ex;
		const char *sql = arena_printf(d->a, "EXPLAIN QUERY PLAN %s", sqlite3_sql(st));
		if (sqlite3_prepare_v2(c->db, sql, -1, &ex, NULL) != SQLITE_OK)
			return NULL;
		const char *plan = "";
		for (int i = 1; i <= sqlite3_bind_parameter_count(st); i++)
			sqlite3_bind_int(ex, i, 1);
		while (sqlite3_step(ex) == SQLITE_ROW)
			plan = arena_printf(d->a, "%s%s\n", plan,
					    (const char *)sqlite3_column_text(ex, 3));
		sqlite3_finalize(ex);
		return plan;
	}
	return NULL;
}

/* A billing page after a mailbox finds that mailbox by its index, not by
 * reading every mailbox of the period (which SQLite chose when the two
 * were asked in one condition). */
TEST(usage_customers_finds_a_mailbox_cursor_by_its_index)
{
	if (sqlite_only())
		return;
	struct db d;
	if (!db_open_partner(&d, "ptn_1"))
		goto out;
	const struct span_box boxes[] = {{"a", 1200, 0}, {"b", 1300, 0}};
	if (!span_boxes_add(&d, boxes, 2))
		goto out;
	CHECK_STR(usage_page(&d, 1, "mbx_a", NULL), "cus_b");
	const char *plan = sqlite_plan_of(&d, "mailbox_id = ?4");
	if (CHECK(plan != NULL)) {
		CHECK(strstr(plan, "SEARCH c USING INTEGER PRIMARY KEY") != NULL);
		CHECK(strstr(plan, "customers_partner_activated_mailbox") != NULL);
	}
out:
	db_close(&d);
}

/* A number belongs to a customer once the customer is committed; an insert
 * that rolls back never gave its number to anyone, so the next customer
 * gets it and numbers stay gap-free among committed customers. */
TEST(customer_insert_rolled_back_takes_no_number)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_1"))
		goto out;
	CHECK_INT(d.s->ops->tx_begin(d.s, true, &d.e), 0);
	CHECK_STR(customer_add(&d, "ptn_1", "a"), "1001");
	d.s->ops->tx_rollback(d.s);
	struct customer c;
	CHECK_INT(d.s->ops->customer_get(d.s, d.a, "ptn_1", "a", &c, &d.e), STORE_NOT_FOUND);
	CHECK_STR(customer_add(&d, "ptn_1", "b"), "1001");
	CHECK_STR(customer_add(&d, "ptn_1", "c"), "1002");
out:
	db_close(&d);
}

/* --- keys ---------------------------------------------------------------- */

TEST(key_find_by_hash_finds_the_key_and_revoke_keeps_the_first_time)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_1"))
		goto out;
	key_add(&d, "key_1", "ptn_1", "feed");
	struct api_key out = {0};
	CHECK_INT(d.s->ops->key_find_by_hash(d.s, d.a, "beef", &out, &d.e), STORE_NOT_FOUND);
	if (!CHECK_INT(d.s->ops->key_find_by_hash(d.s, d.a, "feed", &out, &d.e), 0))
		goto out;
	CHECK_STR(out.id, "key_1");
	CHECK_STR(out.partner_id, "ptn_1");
	CHECK_INT(out.scopes, 5);
	CHECK_INT(out.revoked_at, 0);
	CHECK_INT(d.s->ops->key_revoke(d.s, "key_1", 200, &d.e), 0);
	CHECK_INT(d.s->ops->key_revoke(d.s, "key_1", 300, &d.e), 0);
	CHECK_INT(d.s->ops->key_find_by_hash(d.s, d.a, "feed", &out, &d.e), 0);
	CHECK_INT(out.revoked_at, 200);
out:
	db_close(&d);
}

/* A shared backend keeps the rate limits' buckets: full at first, one token
 * per request, then refused, each key on its own. One that is not shared
 * refuses the operation (its server keeps buckets in memory). */
TEST(rate_spend_spends_a_full_bucket_then_refuses_each_key_apart_and_gives_back)
{
	struct db d;
	if (!db_open(&d))
		goto out;
	double tokens = -1;
	bool allowed = false;
	if (!d.s->shared) {
		CHECK_INT(d.s->ops->rate_spend(d.s, "key_1", 1, 3, 1, &tokens, &allowed, &d.e),
			  -1);
		CHECK_INT(d.e.status, 500);
		goto out;
	}
	/* 1 token a second: the test's own milliseconds refill a little. */
	for (int i = 0; i < 3; i++) {
		CHECK_INT(d.s->ops->rate_spend(d.s, "key_1", 1, 3, 1, &tokens, &allowed, &d.e),
			  0);
		CHECK(allowed);
		CHECK(tokens >= 2 - i && tokens < 2 - i + 0.5);
	}
	CHECK_INT(d.s->ops->rate_spend(d.s, "key_1", 1, 3, 1, &tokens, &allowed, &d.e), 0);
	CHECK(!allowed);
	CHECK(tokens < 1);
	CHECK_INT(d.s->ops->rate_spend(d.s, "key_2", 1, 3, 1, &tokens, &allowed, &d.e), 0);
	CHECK(allowed);
	CHECK(tokens >= 2 && tokens < 2.5);
	/* A token given back (cost -1) can be spent again; given back to a
	 * full bucket, or a new one, it is not kept. */
	CHECK_INT(d.s->ops->rate_spend(d.s, "key_1", 1, 3, -1, &tokens, &allowed, &d.e), 0);
	CHECK(allowed);
	CHECK(tokens >= 1 && tokens < 1.5);
	CHECK_INT(d.s->ops->rate_spend(d.s, "key_1", 1, 3, 1, &tokens, &allowed, &d.e), 0);
	CHECK(allowed);
	CHECK_INT(d.s->ops->rate_spend(d.s, "key_3", 1, 3, -1, &tokens, &allowed, &d.e), 0);
	CHECK(allowed);
	CHECK(tokens == 3);
	CHECK_INT(d.s->ops->rate_spend(d.s, "key_3", 1, 3, -1, &tokens, &allowed, &d.e), 0);
	CHECK(tokens == 3);
out:
	db_close(&d);
}

/* A rolled key stops later (revoked_at in the future); revoking it then
 * stops it now. */
TEST(key_revoke_brings_a_later_stop_forward)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_1"))
		goto out;
	struct api_key k = {
		.id = "key_1",
		.partner_id = "ptn_1",
		.name = "CRM",
		.prefix = "ib_live_abcd",
		.hash = "feed",
		.scopes = 5,
		.created_at = 100,
		.revoked_at = 3700,
	};
	CHECK_INT(d.s->ops->key_insert(d.s, &k, &d.e), 0);
	CHECK_INT(d.s->ops->key_revoke(d.s, "key_1", 200, &d.e), 0);
	struct api_key out = {0};
	CHECK_INT(d.s->ops->key_get(d.s, d.a, "ptn_1", "key_1", &out, &d.e), 0);
	CHECK_INT(out.revoked_at, 200);
out:
	db_close(&d);
}

/* A write transaction's body for store_tx_write(), as a test writes it:
 * the test's struct db, and how often the body ran. */
struct db_work {
	struct db *d;
	int runs;
};

/* Runs body in a write transaction through store_tx_write(), which every
 * write must use: a first run that undid a savepoint after writing runs
 * again, with savepoints (struct conn, struct pg_conn). Returns the body's
 * runs, or 0 after a failed check. */
static int db_write(struct db *d, store_tx_body *body)
{
	struct db_work w = {.d = d};
	if (!CHECK_INT(store_tx_write(d->s, body, &w, &d->e), 0))
		return 0;
	return w.runs;
}

/* --- idempotency records -------------------------------------------------- */

/* Stores a record under scope and key with body text, created at now. */
static bool idem_add(struct db *d, const char *scope, const char *key, const char *body,
		     int64_t now)
{
	struct idem_record r = {
		.fingerprint = "fp1", .status = 201, .body = body, .body_len = strlen(body)};
	return CHECK_INT(d->s->ops->idem_put(d->s, scope, key, &r, now, &d->e), 0);
}

TEST(idem_get_returns_the_record_idem_put_stored)
{
	struct db d;
	if (!db_open(&d) || !idem_add(&d, "ptn_1", "k1", "{\"id\":\"cus_1\"}", 100))
		goto out;
	struct idem_record r = {0};
	if (!CHECK_INT(d.s->ops->idem_get(d.s, d.a, "ptn_1", "k1", &r, &d.e), 0))
		goto out;
	CHECK_STR(r.fingerprint, "fp1");
	CHECK_INT(r.status, 201);
	CHECK_INT(r.created_at, 100);
	CHECK_INT(r.body_len, strlen("{\"id\":\"cus_1\"}"));
	CHECK_STR(r.body, "{\"id\":\"cus_1\"}");
out:
	db_close(&d);
}

/* SQLite gives a zero-length blob as a NULL pointer, which idem_get()
 * passes to arena_strndup(): it must not memcpy from it (undefined even for
 * 0 bytes, so UBSan aborts where it does; the plain build would pass). */
TEST(idem_get_returns_an_empty_body_as_empty)
{
	struct db d;
	if (!db_open(&d) || !idem_add(&d, "ptn_1", "k1", "", 100))
		goto out;
	struct idem_record r = {0};
	if (!CHECK_INT(d.s->ops->idem_get(d.s, d.a, "ptn_1", "k1", &r, &d.e), 0))
		goto out;
	CHECK_INT(r.body_len, 0);
	CHECK_STR(r.body, "");
out:
	db_close(&d);
}

TEST(idem_get_keeps_each_scope_apart)
{
	struct db d;
	if (!db_open(&d) || !idem_add(&d, "ptn_1", "k1", "{}", 100))
		goto out;
	struct idem_record r = {0};
	CHECK_INT(d.s->ops->idem_get(d.s, d.a, "ptn_2", "k1", &r, &d.e), STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->idem_get(d.s, d.a, "ptn_1", "k2", &r, &d.e), STORE_NOT_FOUND);
out:
	db_close(&d);
}

/* Another thread's idem_get() of (ptn_1, new), on its own connection. */
static void *idem_get_elsewhere(void *arg)
{
	struct db *d = arg;
	struct arena *a = arena_new();
	struct idem_record r;
	struct err e = {0};
	intptr_t rc = d->s->ops->idem_get(d->s, a, "ptn_1", "new", &r, &e);
	if (rc < 0)
		rc = e.status;
	arena_free(a);
	return (void *)rc;
}

/* Another thread's idem_prefetch() of (ptn_1, new), in a write transaction
 * of its own: 1 when it says another transaction holds the key. */
static void *idem_prefetch_elsewhere(void *arg)
{
	struct db *d = arg;
	const char *scope = "ptn_1", *key = "new";
	bool in_use = false;
	struct err e = {0};
	intptr_t rc = -1;
	if (d->s->ops->tx_begin(d->s, true, &e) == 0) {
		rc = d->s->ops->idem_prefetch(d->s, 1, &scope, &key, &in_use, &e) < 0 ? -1
										      : in_use;
		d->s->ops->tx_rollback(d->s);
	}
	return (void *)rc;
}

static int prefetched_keys(struct store *s, void *arg, struct err *e)
{
	struct db_work *w = arg;
	struct db *d = w->d;
	w->runs++;
	const char *scopes[4] = {"ptn_1", "ptn_1", "ptn_1", "ptn_2"};
	const char *keys[4] = {"stored", "new", "new", "stored"};
	bool in_use[4] = {true, true, true, true};
	if (!CHECK_INT(s->ops->idem_prefetch(s, 4, scopes, keys, in_use, e), 0))
		return -1;
	/* No other transaction holds them; a key given twice is this one's. */
	for (int i = 0; i < 4; i++)
		CHECK(!in_use[i]);
	if (pg_admin()) {
		/* Read ahead is claimed, as idem_get() claims. */
		pthread_t t;
		void *other = NULL;
		if (CHECK_INT(pthread_create(&t, NULL, idem_get_elsewhere, d), 0) &&
		    CHECK_INT(pthread_join(t, &other), 0))
			CHECK_INT((intptr_t)other, 409);
		/* And another transaction's read ahead says so, before its
		 * idem_get(). */
		if (CHECK_INT(pthread_create(&t, NULL, idem_prefetch_elsewhere, d), 0) &&
		    CHECK_INT(pthread_join(t, &other), 0))
			CHECK_INT((intptr_t)other, 1);
	}
	struct idem_record r = {0};
	if (CHECK_INT(s->ops->idem_get(s, d->a, "ptn_1", "stored", &r, e), 0))
		CHECK_STR(r.body, "{\"id\":\"cus_1\"}");
	CHECK_INT(s->ops->idem_get(s, d->a, "ptn_2", "stored", &r, e), STORE_NOT_FOUND);
	CHECK_INT(s->ops->idem_get(s, d->a, "ptn_1", "new", &r, e), STORE_NOT_FOUND);
	struct idem_record put = {
		.fingerprint = "fp2", .status = 201, .body = "{}", .body_len = 2};
	CHECK_INT(s->ops->idem_put(s, "ptn_1", "new", &put, 200, e), 0);
	/* The key given twice: its second request finds the first's answer. */
	if (CHECK_INT(s->ops->idem_get(s, d->a, "ptn_1", "new", &r, e), 0))
		CHECK_STR(r.fingerprint, "fp2");
	return 0;
}

TEST(idem_get_answers_what_idem_prefetch_read_ahead_and_a_key_read_twice_sees_the_first_answer)
{
	struct db d;
	if (!db_open(&d) || !idem_add(&d, "ptn_1", "stored", "{\"id\":\"cus_1\"}", 100))
		goto out;
	CHECK_INT(db_write(&d, prefetched_keys), 1);
	struct idem_record r = {0};
	if (CHECK_INT(d.s->ops->idem_get(d.s, d.a, "ptn_1", "new", &r, &d.e), 0))
		CHECK_STR(r.fingerprint, "fp2");
out:
	db_close(&d);
}

TEST(idem_purge_deletes_only_records_created_before_the_cutoff)
{
	struct db d;
	if (!db_open(&d) || !idem_add(&d, "ptn_1", "old", "{}", 100) ||
	    !idem_add(&d, "ptn_1", "edge", "{}", 150) ||
	    !idem_add(&d, "ptn_1", "new", "{}", 200))
		goto out;
	CHECK_INT(d.s->ops->idem_purge(d.s, 150, &d.e), 0);
	struct idem_record r = {0};
	CHECK_INT(d.s->ops->idem_get(d.s, d.a, "ptn_1", "old", &r, &d.e), STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->idem_get(d.s, d.a, "ptn_1", "edge", &r, &d.e), 0);
	CHECK_INT(d.s->ops->idem_get(d.s, d.a, "ptn_1", "new", &r, &d.e), 0);
out:
	db_close(&d);
}

/* A record stored out of time order (the clock stepped back) stays until a
 * later purge; nothing created at or after the cutoff is ever deleted. */
TEST(idem_purge_keeps_everything_from_the_first_record_at_the_cutoff_on)
{
	struct db d;
	if (!db_open(&d) || !idem_add(&d, "ptn_1", "a", "{}", 100) ||
	    !idem_add(&d, "ptn_1", "b", "{}", 200) || !idem_add(&d, "ptn_1", "c", "{}", 120) ||
	    !idem_add(&d, "ptn_1", "d", "{}", 300))
		goto out;
	CHECK_INT(d.s->ops->idem_purge(d.s, 150, &d.e), 0);
	struct idem_record r = {0};
	CHECK_INT(d.s->ops->idem_get(d.s, d.a, "ptn_1", "a", &r, &d.e), STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->idem_get(d.s, d.a, "ptn_1", "b", &r, &d.e), 0);
	CHECK_INT(d.s->ops->idem_get(d.s, d.a, "ptn_1", "c", &r, &d.e), 0);
	CHECK_INT(d.s->ops->idem_get(d.s, d.a, "ptn_1", "d", &r, &d.e), 0);
	CHECK_INT(d.s->ops->idem_purge(d.s, 1000, &d.e), 0);
	CHECK_INT(d.s->ops->idem_get(d.s, d.a, "ptn_1", "d", &r, &d.e), STORE_NOT_FOUND);
out:
	db_close(&d);
}

/* A database made before idempotency records were stored by row keeps its
 * records through the migration. */
TEST(idempotency_records_survive_the_migration_to_rowid_order)
{
	if (sqlite_only())
		return;
	struct db d;
	memset(&d, 0, sizeof(d));
	snprintf(d.dir, sizeof(d.dir), "/tmp/innbocks-unit-XXXXXX");
	if (!CHECK(mkdtemp(d.dir) != NULL))
		return;
	snprintf(d.path, sizeof(d.path), "%s/test.db", d.dir);
	d.a = arena_new();
	/* The schema as it was before 0007, written directly. */
	int before = 0;
	while (sqlite_migrations[before] &&
	       !strstr(sqlite_migrations[before], "idempotency_by_row"))
		before++;
	sqlite3 *db = NULL;
	CHECK_INT(sqlite3_open(d.path, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, "CREATE TABLE schema_version (version INTEGER NOT NULL)",
			       NULL, NULL, NULL),
		  SQLITE_OK);
	for (int v = 0; v < before; v++) {
		char sql[80];
		snprintf(sql, sizeof(sql), "INSERT INTO schema_version VALUES (%d)", v + 1);
		CHECK_INT(sqlite3_exec(db, sqlite_migrations[v], NULL, NULL, NULL), SQLITE_OK);
		CHECK_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	}
	CHECK_INT(sqlite3_exec(db,
			       "INSERT INTO idempotency VALUES ('ptn_1', 'k', 'fp', 201,"
			       " '{\"id\":1}', 100)",
			       NULL, NULL, NULL),
		  SQLITE_OK);
	sqlite3_close(db);
	d.s = store_sqlite_open(d.path, &d.e);
	if (!CHECK(d.s != NULL))
		goto out;
	/* Kept under its key's digest since 0010 (the next test). */
	char digest[65];
	idem_key_digest("k", digest);
	struct idem_record r = {0};
	if (CHECK_INT(d.s->ops->idem_get(d.s, d.a, "ptn_1", digest, &r, &d.e), 0)) {
		CHECK_STR(r.fingerprint, "fp");
		CHECK_INT(r.status, 201);
		CHECK_STR(r.body, "{\"id\":1}");
	}
out:
	db_close(&d);
}

/* Events stored before test mode carry no livemode; the migration puts it
 * where the server writes it, in the event and in its object, and leaves
 * events that have it, and text that only looks like the members, alone. */
TEST(events_from_before_test_mode_get_livemode_in_the_migration)
{
	if (sqlite_only())
		return;
	static const char *const before[] = {
		"{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"customer.created\","
		"\"api_version\":\"v1\",\"created_at\":\"2026-11-27T12:00:00Z\",\"data\":"
		"{\"object\":{\"id\":\"cus_1\",\"object\":\"customer\",\"name\":\"A\","
		"\"metadata\":{\"note\":\"\\\"api_version\\\":\\\"v1\\\",\\\"object\\\":\\\"\"}}}}",
		"{\"id\":\"evt_2\",\"object\":\"event\",\"type\":\"compliance.updated\","
		"\"api_version\":\"v1\",\"created_at\":\"2026-11-27T12:00:00Z\",\"data\":"
		"{\"object\":{\"object\":\"compliance\",\"customer_id\":\"cus_1\"}}}",
		"{\"id\":\"evt_3\",\"object\":\"event\",\"type\":\"customer.created\","
		"\"api_version\":\"v1\",\"livemode\":false,\"created_at\":\"2026-11-28T12:00:00Z\","
		"\"data\":{\"object\":{\"id\":\"cus_2\",\"object\":\"customer\","
		"\"livemode\":false}}}",
	};
	static const char *const after[] = {
		"{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"customer.created\","
		"\"api_version\":\"v1\",\"livemode\":true,\"created_at\":\"2026-11-27T12:00:00Z\","
		"\"data\":{\"object\":{\"id\":\"cus_1\",\"object\":\"customer\","
		"\"livemode\":true,\"name\":\"A\",\"metadata\":{\"note\":"
		"\"\\\"api_version\\\":\\\"v1\\\",\\\"object\\\":\\\"\"}}}}",
		"{\"id\":\"evt_2\",\"object\":\"event\",\"type\":\"compliance.updated\","
		"\"api_version\":\"v1\",\"livemode\":true,\"created_at\":\"2026-11-27T12:00:00Z\","
		"\"data\":{\"object\":{\"object\":\"compliance\",\"livemode\":true,"
		"\"customer_id\":\"cus_1\"}}}",
		NULL, /* as it was */
	};
	char rows[2048] = "";
	size_t used = 0;
	for (int i = 0; i < 3; i++)
		used += (size_t)snprintf(
			rows + used, sizeof(rows) - used,
			"INSERT INTO events (id, partner_id, type, created_at, payload)"
			" VALUES ('evt_%d', 'ptn_1', 'customer.created', %d, '%s');",
			i + 1, 1700000000 + i, before[i]);
	struct db d;
	/* Back to the schema before the migration, with the events as they
	 * were stored then. */
	if (!CHECK(used < sizeof(rows)) || !db_open_partner(&d, "ptn_1") ||
	    !db_exec(&d, "DELETE FROM schema_version WHERE version >= 12") ||
	    !db_exec(&d, rows))
		goto out;
	d.s->ops->close(d.s);
	d.s = db_store_open(&d);
	if (!CHECK(d.s != NULL))
		goto out;
	for (int i = 0; i < 3; i++) {
		char id[16];
		snprintf(id, sizeof(id), "evt_%d", i + 1);
		struct event ev = {0};
		if (CHECK_INT(d.s->ops->event_get(d.s, d.a, "ptn_1", id, 0, &ev, &d.e), 0))
			CHECK_STR(ev.payload, after[i] ? after[i] : before[i]);
	}
out:
	db_close(&d);
}

/* A database made before stored Idempotency-Keys were digests (idem.h)
 * keeps its records through the migration, on both backends: each is found
 * under its key's digest, not under the key, and its answer, stored in the
 * clear, opens as it is. */
TEST(idempotency_keys_become_digests_in_the_migration_and_old_answers_still_replay)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_1"))
		goto out;
	/* Back to the schema before that migration (sqlite/0010, postgres/0006;
	 * the later ones run again as they are, IF NOT EXISTS), with a record
	 * as it was stored then. */
	bool pg = d.dbname[0] != '\0';
	if (!db_exec(&d, pg ? "DELETE FROM schema_version WHERE version >= 6"
			    : "DELETE FROM schema_version WHERE version >= 10") ||
	    !db_exec(&d, pg ? "INSERT INTO idempotency (scope, key, fingerprint, status, body,"
			      " created_at) VALUES ('ptn_1', 'order-42', 'fp', 201,"
			      " convert_to('{\"id\":1}', 'UTF8'), 100)"
			    : "INSERT INTO idempotency (scope, key, fingerprint, status, body,"
			      " created_at) VALUES ('ptn_1', 'order-42', 'fp', 201,"
			      " CAST('{\"id\":1}' AS BLOB), 100)"))
		goto out;
	d.s->ops->close(d.s);
	d.s = db_store_open(&d);
	if (!CHECK(d.s != NULL))
		goto out;
	char digest[65];
	idem_key_digest("order-42", digest);
	struct idem_record r = {0};
	CHECK_INT(d.s->ops->idem_get(d.s, d.a, "ptn_1", "order-42", &r, &d.e), STORE_NOT_FOUND);
	if (!CHECK_INT(d.s->ops->idem_get(d.s, d.a, "ptn_1", digest, &r, &d.e), 0))
		goto out;
	CHECK_STR(r.fingerprint, "fp");
	const char *body = NULL;
	size_t len = 0;
	if (CHECK_INT(
		    idem_open(d.a, "ptn_1", "order-42", r.body, r.body_len, &body, &len, &d.e),
		    0))
		CHECK_STR(body, "{\"id\":1}");
out:
	db_close(&d);
}

/* --- events --------------------------------------------------------------- */

/* Returns what event_insert answers for event evt_<n> of partner and type. */
static int event_insert_answer(struct db *d, int n, const char *partner_id, const char *type)
{
	struct event ev = {
		.id = arena_printf(d->a, "evt_%d", n),
		.partner_id = partner_id,
		.type = type,
		.created_at = 1000 + n,
		.payload = arena_printf(d->a, "{\"id\":\"evt_%d\"}", n),
	};
	return d->s->ops->event_insert(d->s, &ev, &d->e);
}

/* Inserts event evt_<n> of partner and type. */
static bool event_add(struct db *d, int n, const char *partner_id, const char *type)
{
	int rc = event_insert_answer(d, n, partner_id, type);
	return CHECK(rc == 0 || rc == STORE_NONE_QUEUED);
}

/* Lists events (limit 10) into ids as "evt_3 evt_1"; returns the result.
 * partner_id NULL lists every partner's, as the operator does
 * (event_list_any_partner). */
static int event_ids(struct db *d, const char *partner_id, const char *type, const char *after,
		     char *ids, size_t size)
{
	struct page pg = {.limit = 10, .starting_after = after};
	struct event *items = NULL;
	size_t n = 0;
	bool more = false;
	int rc = partner_id ? d->s->ops->event_list(d->s, d->a, partner_id, type, -1, &pg,
						    &items, &n, &more, &d->e)
			    : d->s->ops->event_list_any_partner(d->s, d->a, type, -1, &pg,
								&items, &n, &more, &d->e);
	ids[0] = '\0';
	for (size_t i = 0; rc == 0 && i < n; i++) {
		size_t l = strlen(ids);
		snprintf(ids + l, size - l, "%s%s", i ? " " : "", items[i].id);
	}
	return rc;
}

/* Adds evt_1..evt_4: two of ptn_a, two of ptn_b, of two types. */
static bool events_add(struct db *d)
{
	return event_add(d, 1, "ptn_a", "customer.created") &&
	       event_add(d, 2, "ptn_b", "customer.created") &&
	       event_add(d, 3, "ptn_a", "customer.updated") &&
	       event_add(d, 4, "ptn_b", "customer.updated");
}

TEST(event_list_returns_the_stored_event_unchanged)
{
	struct db d;
	if (!db_open(&d) || !event_add(&d, 1, "ptn_a", "customer.created"))
		goto out;
	struct page pg = {.limit = 10};
	struct event *items = NULL;
	size_t n = 0;
	bool more = true;
	CHECK_INT(d.s->ops->event_list_any_partner(d.s, d.a, NULL, -1, &pg, &items, &n, &more,
						   &d.e),
		  0);
	if (!CHECK_INT(n, 1))
		goto out;
	CHECK_STR(items[0].id, "evt_1");
	CHECK_STR(items[0].partner_id, "ptn_a");
	CHECK_STR(items[0].type, "customer.created");
	CHECK_INT(items[0].created_at, 1001);
	CHECK_STR(items[0].payload, "{\"id\":\"evt_1\"}");
	CHECK(!more);
out:
	db_close(&d);
}

TEST(event_list_without_filters_lists_everything_newest_first)
{
	struct db d;
	char ids[128];
	if (!db_open(&d) || !events_add(&d))
		goto out;
	CHECK_INT(event_ids(&d, NULL, NULL, NULL, ids, sizeof(ids)), 0);
	CHECK_STR(ids, "evt_4 evt_3 evt_2 evt_1");
out:
	db_close(&d);
}

TEST(event_list_filters_by_partner)
{
	struct db d;
	char ids[128];
	if (!db_open(&d) || !events_add(&d))
		goto out;
	CHECK_INT(event_ids(&d, "ptn_a", NULL, NULL, ids, sizeof(ids)), 0);
	CHECK_STR(ids, "evt_3 evt_1");
out:
	db_close(&d);
}

TEST(event_list_filters_by_type)
{
	struct db d;
	char ids[128];
	if (!db_open(&d) || !events_add(&d))
		goto out;
	CHECK_INT(event_ids(&d, NULL, "customer.created", NULL, ids, sizeof(ids)), 0);
	CHECK_STR(ids, "evt_2 evt_1");
	CHECK_INT(event_ids(&d, "ptn_b", "customer.updated", NULL, ids, sizeof(ids)), 0);
	CHECK_STR(ids, "evt_4");
out:
	db_close(&d);
}

TEST(event_list_pages_after_a_cursor_within_the_filter)
{
	struct db d;
	char ids[128];
	if (!db_open(&d) || !events_add(&d))
		goto out;
	CHECK_INT(event_ids(&d, "ptn_a", NULL, "evt_3", ids, sizeof(ids)), 0);
	CHECK_STR(ids, "evt_1");
out:
	db_close(&d);
}

TEST(event_list_refuses_another_partners_event_as_cursor)
{
	struct db d;
	char ids[128];
	if (!db_open(&d) || !events_add(&d))
		goto out;
	CHECK_INT(event_ids(&d, "ptn_a", NULL, "evt_2", ids, sizeof(ids)), -1);
	CHECK_INT(d.e.status, 400);
out:
	db_close(&d);
}

/* Lists the tenant's events (limit 10) matching f into ids; returns the result. */
static int tenant_event_ids(struct db *d, const char *tenant, const struct event_filter *f,
			    const char *after, char *ids, size_t size)
{
	struct page pg = {.limit = 10, .starting_after = after};
	struct event *items = NULL;
	size_t n = 0;
	bool more = false;
	int rc = d->s->ops->event_list_tenant(d->s, d->a, tenant, f, &pg, &items, &n, &more,
					      &d->e);
	ids[0] = '\0';
	for (size_t i = 0; rc == 0 && i < n; i++) {
		size_t l = strlen(ids);
		snprintf(ids + l, size - l, "%s%s", i ? " " : "", items[i].id);
	}
	return rc;
}

TEST(event_list_tenant_keeps_to_one_mode_and_filters_by_type_family_and_time)
{
	struct db d;
	char ids[128];
	/* Created at 1001..1005. */
	if (!db_open(&d) || !events_add(&d) || !event_add(&d, 5, "ptn_a", "mail.arrived") ||
	    !event_add(&d, 6, "ptn_a_test", "customer.created"))
		goto out;
	struct event_filter all = {.created_gte = INT64_MIN, .created_lt = INT64_MAX};
	struct event_filter f = all;
	CHECK_INT(tenant_event_ids(&d, "ptn_a", &f, NULL, ids, sizeof(ids)), 0);
	CHECK_STR(ids, "evt_5 evt_3 evt_1");
	CHECK_INT(tenant_event_ids(&d, "ptn_a_test", &f, NULL, ids, sizeof(ids)), 0);
	CHECK_STR(ids, "evt_6");
	f.type = "customer.updated";
	CHECK_INT(tenant_event_ids(&d, "ptn_a", &f, NULL, ids, sizeof(ids)), 0);
	CHECK_STR(ids, "evt_3");
	f = all;
	f.family = "customer.";
	CHECK_INT(tenant_event_ids(&d, "ptn_a", &f, NULL, ids, sizeof(ids)), 0);
	CHECK_STR(ids, "evt_3 evt_1");
	f = all;
	f.created_gte = 1003;
	f.created_lt = 1005;
	CHECK_INT(tenant_event_ids(&d, "ptn_a", &f, NULL, ids, sizeof(ids)), 0);
	CHECK_STR(ids, "evt_3");
	/* Expired events leave the list, and are no cursor. */
	f = all;
	f.not_before = 1003;
	CHECK_INT(tenant_event_ids(&d, "ptn_a", &f, NULL, ids, sizeof(ids)), 0);
	CHECK_STR(ids, "evt_5 evt_3");
	CHECK_INT(tenant_event_ids(&d, "ptn_a", &f, "evt_3", ids, sizeof(ids)), 0);
	CHECK_STR(ids, "");
	CHECK_INT(tenant_event_ids(&d, "ptn_a", &f, "evt_1", ids, sizeof(ids)), -1);
	CHECK_INT(d.e.status, 400);
	/* Another tenant's event is no cursor either. */
	CHECK_INT(tenant_event_ids(&d, "ptn_a", &all, "evt_6", ids, sizeof(ids)), -1);
	CHECK_INT(d.e.status, 400);
out:
	db_close(&d);
}

TEST(event_get_finds_the_tenants_unexpired_event_only)
{
	struct db d;
	if (!db_open(&d) || !events_add(&d))
		goto out;
	struct event ev;
	if (CHECK_INT(d.s->ops->event_get(d.s, d.a, "ptn_a", "evt_3", 0, &ev, &d.e), 0))
		CHECK_STR(ev.payload, "{\"id\":\"evt_3\"}");
	CHECK_INT(d.s->ops->event_get(d.s, d.a, "ptn_a_test", "evt_3", 0, &ev, &d.e),
		  STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->event_get(d.s, d.a, "ptn_b", "evt_3", 0, &ev, &d.e),
		  STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->event_get(d.s, d.a, "ptn_a", "evt_3", 1003, &ev, &d.e), 0);
	CHECK_INT(d.s->ops->event_get(d.s, d.a, "ptn_a", "evt_3", 1004, &ev, &d.e),
		  STORE_NOT_FOUND);
out:
	db_close(&d);
}

TEST(event_purge_keeps_events_a_pending_delivery_still_needs)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_a"))
		goto out;
	/* Old: evt_1 (its job finished), evt_2 (its job pending), evt_3 (no
	 * job at all). Recent: evt_9. */
	if (!endpoint_add(&d, "we_1", "ptn_a") ||
	    !event_add(&d, 1, "ptn_a", "customer.created") ||
	    !event_add(&d, 2, "ptn_a", "customer.created") ||
	    !event_add(&d, 9, "ptn_a", "customer.created") ||
	    !db_exec(&d,
		     "UPDATE webhook_jobs SET status = 'succeeded' WHERE event_id = 'evt_1';"
		     "INSERT INTO webhook_deliveries (id, partner_id, event_id, event_type,"
		     " endpoint_id, url, attempt, status, duration_ms, attempted_at) VALUES"
		     " ('whd_1', 'ptn_a', 'evt_1', 'customer.created', 'we_1', 'u', 1,"
		     " 'succeeded', 1, 1001), ('whd_2', 'ptn_a', 'evt_2', 'customer.created',"
		     " 'we_1', 'u', 1, 'failed', 1, 1002);"
		     "INSERT INTO events (id, partner_id, type, created_at, payload) VALUES"
		     " ('evt_3', 'ptn_a', 'customer.created', 1003, '{}')"))
		goto out;
	CHECK_INT(purge(&d, 1005, 100), 2);
	struct event ev;
	CHECK_INT(d.s->ops->event_get(d.s, d.a, "ptn_a", "evt_1", 0, &ev, &d.e),
		  STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->event_get(d.s, d.a, "ptn_a", "evt_3", 0, &ev, &d.e),
		  STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->event_get(d.s, d.a, "ptn_a", "evt_2", 0, &ev, &d.e), 0);
	CHECK_INT(d.s->ops->event_get(d.s, d.a, "ptn_a", "evt_9", 0, &ev, &d.e), 0);
	CHECK_INT(db_count(&d, "SELECT count(*) FROM webhook_jobs WHERE event_id = 'evt_1'"),
		  0);
	CHECK_INT(db_count(&d,
			   "SELECT count(*) FROM webhook_deliveries WHERE event_id = 'evt_1'"),
		  0);
	CHECK_INT(db_count(&d, "SELECT count(*) FROM webhook_jobs WHERE event_id = 'evt_2'"),
		  1);
	CHECK_INT(db_count(&d,
			   "SELECT count(*) FROM webhook_deliveries WHERE event_id = 'evt_2'"),
		  1);
	/* Once its job is finished, it goes too; evt_9's job is still pending. */
	CHECK(db_exec(&d,
		      "UPDATE webhook_jobs SET status = 'failed' WHERE event_id = 'evt_2'"));
	CHECK_INT(purge(&d, 1010, 1), 1);
	CHECK_INT(db_count(&d, "SELECT count(*) FROM events"), 1);
	CHECK_INT(db_count(&d, "SELECT count(*) FROM webhook_jobs"), 1);
out:
	db_close(&d);
}

TEST(webhook_record_keeps_the_bodies_and_delivery_get_reads_them)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_a"))
		goto out;
	if (!endpoint_add(&d, "we_1", "ptn_a") ||
	    !event_add(&d, 1, "ptn_a", "customer.created"))
		goto out;
	struct webhook_delivery sent = {
		.id = "whd_1",
		.partner_id = "ptn_a",
		.event_id = "evt_1",
		.event_type = "customer.created",
		.endpoint_id = "we_1",
		.url = "https://example.com/h",
		.attempt = 1,
		.status = "failed",
		.response_status = 500,
		.duration_ms = 12,
		.attempted_at = 1001,
		.request_body = "{\"id\":\"evt_1\"}",
		.response_body = "oops",
	};
	struct webhook_job *jobs;
	CHECK_INT(claim(&d, "w1", 10, &jobs), 1);
	CHECK_INT(record_as(&d, "w1", &sent, "failed", false), 0);
	struct webhook_delivery got;
	if (CHECK_INT(d.s->ops->delivery_get(d.s, d.a, "ptn_a", "we_1", "whd_1", &got, &d.e),
		      0)) {
		CHECK_STR(got.request_body, "{\"id\":\"evt_1\"}");
		CHECK_STR(got.response_body, "oops");
		CHECK_INT(got.response_status, 500);
		CHECK_INT(got.duration_ms, 12);
		CHECK_STR(got.endpoint_id, "we_1");
	}
	CHECK_INT(d.s->ops->delivery_get(d.s, d.a, "ptn_a", "we_1", "whd_2", &got, &d.e),
		  STORE_NOT_FOUND);
	/* The endpoint's log lists it; another endpoint's has nothing. */
	struct delivery_filter f = {.endpoint_id = "we_1"};
	struct page pg = {.limit = 10};
	struct webhook_delivery *items;
	size_t n;
	bool more;
	CHECK_INT(d.s->ops->delivery_list(d.s, d.a, "ptn_a", &f, &pg, &items, &n, &more, &d.e),
		  0);
	CHECK_INT(n, 1);
	f.endpoint_id = "we_2";
	CHECK_INT(d.s->ops->delivery_list(d.s, d.a, "ptn_a", &f, &pg, &items, &n, &more, &d.e),
		  0);
	CHECK_INT(n, 0);
	/* Its cursor is not one of we_2's deliveries: 400 on the parameter. */
	pg.starting_after = "whd_1";
	CHECK_INT(d.s->ops->delivery_list(d.s, d.a, "ptn_a", &f, &pg, &items, &n, &more, &d.e),
		  -1);
	CHECK_INT(d.e.status, 400);
	CHECK_STR(d.e.param, "starting_after");
	f.endpoint_id = "we_1";
	CHECK_INT(d.s->ops->delivery_list(d.s, d.a, "ptn_a", &f, &pg, &items, &n, &more, &d.e),
		  0);
	CHECK_INT(n, 0);
out:
	db_close(&d);
}

/* An event no endpoint wants says so (STORE_NONE_QUEUED), which spares the
 * delivery worker a claim; one that queued a job answers 0, and so may a
 * backend that cannot tell cheaply (PostgreSQL). */
TEST(event_insert_says_when_it_queued_no_job)
{
	struct db d;
	if (!db_open_partners(&d))
		goto out;
	int none = pg_admin() ? 0 : STORE_NONE_QUEUED;
	int rc = event_insert_answer(&d, 1, "ptn_a", "mail.arrived");
	CHECK(rc == STORE_NONE_QUEUED || rc == none);
	if (!endpoint_add_for(&d, "we_1", "ptn_a", "[\"mail.arrived\"]"))
		goto out;
	CHECK_INT(event_insert_answer(&d, 2, "ptn_a", "mail.arrived"), 0);
	/* Another type, another partner: no job. */
	rc = event_insert_answer(&d, 3, "ptn_a", "customer.created");
	CHECK(rc == STORE_NONE_QUEUED || rc == none);
	rc = event_insert_answer(&d, 4, "ptn_b", "mail.arrived");
	CHECK(rc == STORE_NONE_QUEUED || rc == none);
	CHECK_INT(db_count(&d, "SELECT count(*) FROM webhook_jobs"), 1);
	CHECK_INT(db_count(&d, "SELECT count(*) FROM webhook_jobs WHERE event_id = 'evt_2'"),
		  1);
out:
	db_close(&d);
}

TEST(webhook_resend_makes_the_job_due_again_from_its_first_attempt)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_a"))
		goto out;
	/* evt_1's job failed for good at 1001, evt_2's at 1002, evt_3's
	 * succeeded; evt_4 (another type) has no job. */
	if (!endpoint_add_for(&d, "we_1", "ptn_a", "[\"mail.arrived\"]") ||
	    !event_add(&d, 1, "ptn_a", "mail.arrived") ||
	    !event_add(&d, 2, "ptn_a", "mail.arrived") ||
	    !event_add(&d, 3, "ptn_a", "mail.arrived") ||
	    !event_add(&d, 4, "ptn_a", "customer.created") ||
	    !db_exec(&d,
		     "UPDATE webhook_jobs SET status = 'failed', attempts = 9"
		     " WHERE event_id IN ('evt_1', 'evt_2');"
		     "UPDATE webhook_jobs SET status = 'succeeded', attempts = 1"
		     " WHERE event_id = 'evt_3';"
		     "INSERT INTO webhook_deliveries (id, partner_id, event_id, event_type,"
		     " endpoint_id, url, attempt, status, duration_ms, attempted_at) VALUES"
		     " ('whd_1', 'ptn_a', 'evt_1', 'mail.arrived', 'we_1', 'u', 9, 'failed', 1,"
		     " 1001), ('whd_2', 'ptn_a', 'evt_2', 'mail.arrived', 'we_1', 'u', 9,"
		     " 'failed', 1, 1002), ('whd_3', 'ptn_a', 'evt_3', 'mail.arrived', 'we_1',"
		     " 'u', 1, 'succeeded', 1, 1003)"))
		goto out;
	int resent = -1;
	CHECK_INT(d.s->ops->tx_begin(d.s, true, &d.e), 0);
	CHECK_INT(d.s->ops->webhook_resend_failed(d.s, "we_1", 1002, 2000, &resent, &d.e), 0);
	CHECK_INT(d.s->ops->tx_commit(d.s, &d.e), 0);
	CHECK_INT(resent, 1);
	CHECK_INT(
		db_count(&d,
			 "SELECT count(*) FROM webhook_jobs WHERE event_id = 'evt_2'"
			 " AND status = 'pending' AND attempts = 0 AND next_attempt_at = 2000"),
		1);
	CHECK_INT(db_count(&d, "SELECT count(*) FROM webhook_jobs WHERE event_id = 'evt_1'"
			       " AND status = 'failed'"),
		  1);
	/* One event: its job again, or a new one for an event it never had. */
	CHECK_INT(d.s->ops->tx_begin(d.s, true, &d.e), 0);
	CHECK_INT(d.s->ops->webhook_resend(d.s, "evt_3", "we_1", 2001, &d.e), 0);
	CHECK_INT(d.s->ops->webhook_resend(d.s, "evt_4", "we_1", 2002, &d.e), 0);
	CHECK_INT(d.s->ops->tx_commit(d.s, &d.e), 0);
	CHECK_INT(
		db_count(&d,
			 "SELECT count(*) FROM webhook_jobs WHERE event_id = 'evt_3'"
			 " AND status = 'pending' AND attempts = 0 AND next_attempt_at = 2001"),
		1);
	CHECK_INT(
		db_count(&d,
			 "SELECT count(*) FROM webhook_jobs WHERE event_id = 'evt_4'"
			 " AND status = 'pending' AND attempts = 0 AND next_attempt_at = 2002"),
		1);
	/* The jobs are claimed as any other. */
	struct webhook_job *jobs;
	CHECK_INT(claim(&d, "w1", 10, &jobs), 3);
out:
	db_close(&d);
}

/* --- webhook leases ---------------------------------------------------------- */

/* A failed attempt of evt_<n> to endpoint_id with a retry at 9000. */
static struct webhook_delivery attempt_failed(struct db *d, int n, const char *endpoint_id)
{
	return (struct webhook_delivery){
		.id = arena_printf(d->a, "whd_%d_%s", n, endpoint_id),
		.partner_id = "ptn_a",
		.event_id = arena_printf(d->a, "evt_%d", n),
		.event_type = "customer.created",
		.endpoint_id = endpoint_id,
		.url = "https://example.com/h",
		.attempt = 1,
		.status = "failed",
		.response_status = 410,
		.duration_ms = 5,
		.attempted_at = 2000,
		.next_attempt_at = 9000,
	};
}

TEST(webhook_claim_leases_due_jobs_to_their_owner_on_the_databases_clock)
{
	struct db d;
	struct webhook_job *jobs;
	if (!db_open_partner(&d, "ptn_a") || !endpoint_add(&d, "we_1", "ptn_a") ||
	    !event_add(&d, 1, "ptn_a", "customer.created") ||
	    !event_add(&d, 2, "ptn_a", "customer.created") ||
	    !event_add(&d, 3, "ptn_a", "customer.created") ||
	    /* Due in the year 2100 by any clock. */
	    !db_exec(&d, "UPDATE webhook_jobs SET next_attempt_at = 4102444800"
			 " WHERE event_id = 'evt_3'"))
		goto out;
	int64_t before = now_seconds();
	if (!CHECK_INT(claim(&d, "w1", 10, &jobs), 2))
		goto out;
	int64_t after = now_seconds();
	CHECK_STR(jobs[0].event_id, "evt_1");
	CHECK_STR(jobs[1].event_id, "evt_2");
	CHECK_STR(jobs[0].endpoint_id, "we_1");
	CHECK_STR(jobs[0].url, "https://example.com/h");
	CHECK_STR(jobs[0].payload, "{\"id\":\"evt_1\"}");
	CHECK_INT(jobs[0].attempts, 0);
	/* The lease ends lease_s after the claim (this host is the database's). */
	char sql[200];
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM webhook_jobs WHERE locked_by = 'w1'"
		 " AND locked_until BETWEEN %lld AND %lld",
		 (long long)before + 60 - 1, (long long)after + 60 + 1);
	CHECK_INT(db_count(&d, sql), 2);
	/* Leased jobs are nobody else's; the one not due is no one's. */
	CHECK_INT(claim(&d, "w2", 10, &jobs), 0);
	CHECK_INT(db_count(&d, "SELECT count(*) FROM webhook_jobs WHERE locked_by IS NULL"), 1);
out:
	db_close(&d);
}

/* What a claimer on another thread (its own connection, as another
 * instance would have) did. */
struct claimer {
	struct store *s;
	struct arena *a;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool claimed;
	int n;
	struct webhook_job *jobs;
};

/* Leases 2 jobs as w1, says so, and commits only a second later. */
static void *claim_and_hold(void *arg)
{
	struct claimer *cl = arg;
	struct err e;
	size_t n = 0;
	cl->n = -1;
	if (cl->s->ops->tx_begin(cl->s, true, &e) == 0 &&
	    cl->s->ops->webhook_claim(cl->s, cl->a, "w1", 60, 2, 0, 100, 100, &cl->jobs, &n,
				      &e) == 0)
		cl->n = (int)n;
	pthread_mutex_lock(&cl->mu);
	cl->claimed = true;
	pthread_cond_signal(&cl->cond);
	pthread_mutex_unlock(&cl->mu);
	nanosleep(&(struct timespec){.tv_sec = 1}, NULL);
	if (cl->n < 0 || cl->s->ops->tx_commit(cl->s, &e) < 0) {
		cl->s->ops->tx_rollback(cl->s);
		cl->n = -1;
	}
	return NULL;
}

TEST(two_claimers_never_lease_the_same_job)
{
	struct db d;
	struct claimer cl = {0};
	pthread_t t;
	if (!db_open_partner(&d, "ptn_a") || !endpoint_add(&d, "we_1", "ptn_a"))
		goto out;
	for (int i = 1; i <= 5; i++)
		if (!event_add(&d, i, "ptn_a", "customer.created"))
			goto out;
	/* w1 leases two jobs and holds its transaction open while w2 claims:
	 * on PostgreSQL w2 skips the rows w1 is locking (no wait); on SQLite
	 * it waits for the one writer. Either way it gets the other three. */
	cl.s = d.s;
	cl.a = arena_new();
	pthread_mutex_init(&cl.mu, NULL);
	pthread_cond_init(&cl.cond, NULL);
	if (!CHECK_INT(pthread_create(&t, NULL, claim_and_hold, &cl), 0))
		goto done;
	pthread_mutex_lock(&cl.mu);
	while (!cl.claimed)
		pthread_cond_wait(&cl.cond, &cl.mu);
	pthread_mutex_unlock(&cl.mu);
	struct webhook_job *jobs;
	double t0 = monotonic_seconds();
	int n = claim(&d, "w2", 10, &jobs);
	double waited = monotonic_seconds() - t0;
	pthread_join(t, NULL);
	if (!CHECK_INT(cl.n, 2) || !CHECK_INT(n, 3))
		goto done;
	CHECK_STR(cl.jobs[0].event_id, "evt_1");
	CHECK_STR(cl.jobs[1].event_id, "evt_2");
	CHECK_STR(jobs[0].event_id, "evt_3");
	CHECK_STR(jobs[1].event_id, "evt_4");
	CHECK_STR(jobs[2].event_id, "evt_5");
	if (pg_admin())
		CHECK(waited < 0.9);
	CHECK_INT(db_count(&d, "SELECT count(*) FROM webhook_jobs WHERE locked_by = 'w1'"), 2);
	CHECK_INT(db_count(&d, "SELECT count(*) FROM webhook_jobs WHERE locked_by = 'w2'"), 3);
done:
	pthread_mutex_destroy(&cl.mu);
	pthread_cond_destroy(&cl.cond);
	arena_free(cl.a);
out:
	db_close(&d);
}

#define RACE_JOBS 40
#define RACE_CLAIMERS 4

/* Claimers racing for RACE_JOBS jobs: how often each event was leased. */
struct race {
	struct store *s;
	pthread_mutex_t mu;
	int leased[RACE_JOBS + 1]; /* by event number */
	int total;
	bool failed;
};

/* Claims 3 at a time as its own owner until every job is leased. */
static void *race_claim(void *arg)
{
	struct race *r = arg;
	struct arena *a = arena_new();
	char owner[32];
	snprintf(owner, sizeof(owner), "w%lu", (unsigned long)pthread_self());
	for (int round = 0; round < 1000; round++) {
		pthread_mutex_lock(&r->mu);
		bool done = r->total >= RACE_JOBS || r->failed;
		pthread_mutex_unlock(&r->mu);
		if (done)
			break;
		struct webhook_job *jobs;
		int n = claim_as(r->s, a, owner, 3, 100, 100, &jobs);
		pthread_mutex_lock(&r->mu);
		if (n < 0)
			r->failed = true;
		for (int i = 0; i < n; i++) {
			int ev = atoi(jobs[i].event_id + strlen("evt_"));
			if (ev >= 1 && ev <= RACE_JOBS)
				r->leased[ev]++;
			r->total++;
		}
		pthread_mutex_unlock(&r->mu);
	}
	arena_free(a);
	return NULL;
}

TEST(claimers_racing_lease_each_job_exactly_once)
{
	struct db d;
	struct race r = {0};
	pthread_mutex_init(&r.mu, NULL);
	if (!db_open_partner(&d, "ptn_a") || !endpoint_add(&d, "we_1", "ptn_a"))
		goto out;
	for (int i = 1; i <= RACE_JOBS; i++)
		if (!event_add(&d, i, "ptn_a", "customer.created"))
			goto out;
	r.s = d.s;
	pthread_t t[RACE_CLAIMERS];
	int started = 0;
	while (started < RACE_CLAIMERS &&
	       pthread_create(&t[started], NULL, race_claim, &r) == 0)
		started++;
	for (int i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	CHECK_INT(started, RACE_CLAIMERS);
	CHECK(!r.failed);
	CHECK_INT(r.total, RACE_JOBS);
	int twice = 0, never = 0;
	for (int i = 1; i <= RACE_JOBS; i++) {
		twice += r.leased[i] > 1;
		never += r.leased[i] == 0;
	}
	CHECK_INT(twice, 0);
	CHECK_INT(never, 0);
out:
	pthread_mutex_destroy(&r.mu);
	db_close(&d);
}

TEST(webhook_claim_takes_over_an_expired_lease)
{
	struct db d;
	struct webhook_job *jobs;
	if (!db_open_partner(&d, "ptn_a") || !endpoint_add(&d, "we_1", "ptn_a") ||
	    !event_add(&d, 1, "ptn_a", "customer.created") ||
	    !CHECK_INT(claim(&d, "w1", 10, &jobs), 1) ||
	    /* w1 made an attempt that failed and is retried later... */
	    !db_exec(&d, "UPDATE webhook_jobs SET attempts = 2"))
		goto out;
	CHECK_INT(claim(&d, "w2", 10, &jobs), 0);
	/* ... then crashed: its lease ends unrecorded (ended 2 minutes ago
	 * by the database's clock). */
	if (!db_exec(&d, "UPDATE webhook_jobs SET locked_until = locked_until - 180"))
		goto out;
	if (CHECK_INT(claim(&d, "w2", 10, &jobs), 1)) {
		CHECK_STR(jobs[0].event_id, "evt_1");
		CHECK_INT(jobs[0].attempts, 2);
	}
	CHECK_INT(db_count(&d, "SELECT count(*) FROM webhook_jobs WHERE locked_by = 'w2'"), 1);
	CHECK_INT(claim(&d, "w3", 10, &jobs), 0);
out:
	db_close(&d);
}

TEST(a_lost_lease_owners_record_changes_nothing_of_the_new_owners_lease)
{
	struct db d;
	struct webhook_job *jobs;
	if (!db_open_partner(&d, "ptn_a") || !endpoint_add(&d, "we_1", "ptn_a") ||
	    !event_add(&d, 1, "ptn_a", "customer.created") ||
	    !CHECK_INT(claim(&d, "w1", 10, &jobs), 1) ||
	    !db_exec(&d, "UPDATE webhook_jobs SET locked_until = locked_until - 180") ||
	    !CHECK_INT(claim(&d, "w2", 10, &jobs), 1))
		goto out;
	int64_t lease = db_count(&d, "SELECT locked_until FROM webhook_jobs");
	/* w1's attempt finishes late: the receiver answered 410. */
	struct webhook_delivery late = attempt_failed(&d, 1, "we_1");
	CHECK_INT(record_as(&d, "w1", &late, "pending", true), STORE_NOT_FOUND);
	/* The attempt is in the log, without the retry w1 planned (the job is
	 * w2's); w2's lease, the job and the endpoint are as they were. */
	CHECK_INT(db_count(&d, "SELECT count(*) FROM webhook_deliveries WHERE attempt = 1"), 1);
	CHECK_INT(db_count(&d, "SELECT count(*) FROM webhook_deliveries WHERE id = 'whd_1_we_1'"
			       " AND next_attempt_at IS NULL AND status = 'failed'"),
		  1);
	char sql[200];
	snprintf(
		sql, sizeof(sql),
		"SELECT count(*) FROM webhook_jobs WHERE locked_by = 'w2' AND locked_until = %lld"
		" AND status = 'pending' AND attempts = 0 AND next_attempt_at = 1001",
		(long long)lease);
	CHECK_INT(db_count(&d, sql), 1);
	CHECK_INT(
		db_count(&d, "SELECT count(*) FROM webhook_endpoints WHERE status = 'enabled'"),
		1);
	/* w2, the owner, records its own attempt: the job moves on. */
	struct webhook_delivery own = attempt_failed(&d, 1, "we_1");
	own.id = "whd_own";
	own.response_status = 500;
	CHECK_INT(record_as(&d, "w2", &own, "pending", false), 0);
	CHECK_INT(db_count(&d,
			   "SELECT count(*) FROM webhook_jobs WHERE locked_by IS NULL"
			   " AND locked_until = 0 AND attempts = 1 AND next_attempt_at = 9000"),
		  1);
out:
	db_close(&d);
}

TEST(a_resend_while_an_attempt_runs_starts_the_job_over_once_it_ends)
{
	struct db d;
	struct webhook_job *jobs;
	if (!db_open_partner(&d, "ptn_a") || !endpoint_add(&d, "we_1", "ptn_a") ||
	    !event_add(&d, 1, "ptn_a", "customer.created") ||
	    !db_exec(&d, "UPDATE webhook_jobs SET attempts = 3") ||
	    !CHECK_INT(claim(&d, "w1", 10, &jobs), 1))
		goto out;
	/* Resent twice while w1's fourth attempt runs: the lease stays, so no
	 * one else starts the job meanwhile. */
	for (int i = 0; i < 2; i++) {
		CHECK_INT(d.s->ops->tx_begin(d.s, true, &d.e), 0);
		CHECK_INT(d.s->ops->webhook_resend(d.s, "evt_1", "we_1", 2000, &d.e), 0);
		CHECK_INT(d.s->ops->tx_commit(d.s, &d.e), 0);
	}
	CHECK_INT(claim(&d, "w2", 10, &jobs), 0);
	/* The attempt succeeds: logged, without a retry, and the job starts
	 * over instead of ending as succeeded. */
	struct webhook_delivery done = attempt_failed(&d, 1, "we_1");
	done.attempt = 4;
	done.status = "succeeded";
	done.response_status = 200;
	CHECK_INT(record_as(&d, "w1", &done, "succeeded", false), 0);
	CHECK_INT(db_count(&d, "SELECT count(*) FROM webhook_deliveries WHERE attempt = 4"
			       " AND status = 'succeeded' AND next_attempt_at IS NULL"),
		  1);
	CHECK_INT(db_count(&d, "SELECT count(*) FROM webhook_jobs WHERE status = 'pending'"
			       " AND attempts = 0 AND next_attempt_at = 2000"
			       " AND locked_until = 0 AND locked_by IS NULL"),
		  1);
	if (CHECK_INT(claim(&d, "w2", 10, &jobs), 1))
		CHECK_INT(jobs[0].attempts, 0);
	/* w2's own outcome moves the job on as usual. */
	struct webhook_delivery again = attempt_failed(&d, 1, "we_1");
	again.id = "whd_again";
	CHECK_INT(record_as(&d, "w2", &again, "pending", false), 0);
	CHECK_INT(db_count(&d, "SELECT count(*) FROM webhook_jobs WHERE attempts = 1"
			       " AND next_attempt_at = 9000 AND locked_by IS NULL"),
		  1);
out:
	db_close(&d);
}

TEST(webhook_claim_keeps_each_endpoint_and_tenant_within_its_share)
{
	struct db d;
	struct webhook_job *jobs;
	if (!db_open_partners(&d) || !endpoint_add(&d, "we_a", "ptn_a") ||
	    !endpoint_add(&d, "we_b", "ptn_b"))
		goto out;
	for (int i = 1; i <= 6; i++)
		if (!event_add(&d, i, "ptn_a", "customer.created"))
			goto out;
	if (!event_add(&d, 7, "ptn_b", "customer.created") ||
	    !event_add(&d, 8, "ptn_b", "customer.created"))
		goto out;
	/* 4 per endpoint, 3 per tenant: ptn_a gets 3, ptn_b both of its own. */
	CHECK_INT(claim_as(d.s, d.a, "w1", 20, 4, 3, &jobs), 5);
	CHECK_INT(db_count(&d, "SELECT count(*) FROM webhook_jobs WHERE locked_by = 'w1'"
			       " AND endpoint_id = 'we_a'"),
		  3);
	/* The live leases count, whoever holds them: ptn_a is at its share. */
	CHECK_INT(claim_as(d.s, d.a, "w2", 20, 4, 3, &jobs), 0);
	/* With room per tenant, we_a gets one more: 4 leased at once. */
	if (CHECK_INT(claim_as(d.s, d.a, "w2", 20, 4, 100, &jobs), 1))
		CHECK_STR(jobs[0].event_id, "evt_4");
out:
	db_close(&d);
}

/* The event ids of jobs, in the order given, as "evt_1 evt_7". */
static const char *job_ids(struct db *d, const struct webhook_job *jobs, int n)
{
	const char *ids = "";
	for (int i = 0; i < n; i++)
		ids = arena_printf(d->a, "%s%s%s", ids, i ? " " : "", jobs[i].event_id);
	return ids;
}

TEST(a_claim_serves_the_tenants_and_endpoints_with_the_fewest_in_flight_first)
{
	struct db d;
	struct webhook_job *jobs;
	int n;
	/* ptn_a: we_a1 with six jobs due first, we_a2 with one; ptn_b: we_b
	 * with one due after them; the test tenant ptn_b_test: we_t. */
	if (!db_open_partners(&d) ||
	    !endpoint_add_for(&d, "we_a1", "ptn_a", "[\"customer.created\"]") ||
	    !endpoint_add_for(&d, "we_a2", "ptn_a", "[\"mail.arrived\"]") ||
	    !endpoint_add(&d, "we_b", "ptn_b") || !endpoint_add(&d, "we_t", "ptn_b_test"))
		goto out;
	for (int i = 1; i <= 6; i++)
		if (!event_add(&d, i, "ptn_a", "customer.created"))
			goto out;
	if (!event_add(&d, 7, "ptn_a", "mail.arrived") ||
	    !event_add(&d, 8, "ptn_b", "customer.created"))
		goto out;
	/* Oldest due first would be evt_1 to evt_3, all we_a1's: each tenant's
	 * and each endpoint's first job comes before anyone's second. */
	n = claim_as(d.s, d.a, "w1", 3, 4, 16, &jobs);
	CHECK_STR(job_ids(&d, jobs, n), "evt_1 evt_7 evt_8");
	/* A freed slot: ptn_b (1 leased) before ptn_a (2), however older
	 * ptn_a's backlog is. */
	if (!event_add(&d, 9, "ptn_b", "customer.created"))
		goto out;
	n = claim_as(d.s, d.a, "w1", 1, 4, 16, &jobs);
	CHECK_STR(job_ids(&d, jobs, n), "evt_9");
	/* With the last 2 of the limit reserved, only a tenant with nothing
	 * leased gets them: ptn_b_test's first job, then no one. */
	if (!event_add(&d, 10, "ptn_b_test", "customer.created") ||
	    !event_add(&d, 11, "ptn_b_test", "customer.created"))
		goto out;
	n = claim_reserving(d.s, d.a, "w1", 2, 2, 4, 16, &jobs);
	CHECK_STR(job_ids(&d, jobs, n), "evt_10");
	CHECK_INT(claim_reserving(d.s, d.a, "w1", 2, 2, 4, 16, &jobs), 0);
	/* Past the reserve, the fewest in flight first again: ptn_b_test (1). */
	n = claim_reserving(d.s, d.a, "w1", 3, 2, 4, 16, &jobs);
	CHECK_STR(job_ids(&d, jobs, n), "evt_11");
	n = claim_as(d.s, d.a, "w1", 10, 4, 16, &jobs);
	CHECK_STR(job_ids(&d, jobs, n), "evt_2 evt_3 evt_4");
out:
	db_close(&d);
}

/* Virtual machine steps the statements of the calling thread's SQLite
 * connection have run since the last call, or -1: their work, counted
 * exactly where time is not. */
static long vm_steps(struct db *d)
{
	struct conn *c = sq_conn_get(d->s, &d->e);
	if (!c)
		return -1;
	long steps = 0;
	for (sqlite3_stmt *st = sqlite3_next_stmt(c->db, NULL); st;
	     st = sqlite3_next_stmt(c->db, st))
		steps += sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 1);
	return steps;
}

TEST(a_claim_reads_the_jobs_it_can_take_not_the_backlog)
{
	struct db d;
	struct webhook_job *jobs;
	if (!db_open_partners(&d) || !endpoint_add(&d, "we_a", "ptn_a") ||
	    !endpoint_add(&d, "we_b", "ptn_b"))
		goto out;
	/* 5 000 jobs due on we_a, as when its receiver has been down a while. */
	const char *backlog =
		pg_admin()
			? "INSERT INTO events (id, partner_id, type, created_at, payload)"
			  " SELECT 'evt_' || i, 'ptn_a', 'customer.created', 1000 + i, '{}'"
			  " FROM generate_series(1, 5000) i"
			: "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
			  " WHERE i < 5000)"
			  " INSERT INTO events (id, partner_id, type, created_at, payload)"
			  " SELECT 'evt_' || i, 'ptn_a', 'customer.created', 1000 + i, '{}' FROM n";
	if (!db_exec(&d, backlog) ||
	    !db_exec(&d,
		     "INSERT INTO webhook_jobs (event_id, endpoint_id, status, next_attempt_at)"
		     " SELECT id, 'we_a', 'pending', created_at FROM events ORDER BY seq") ||
	    !event_add(&d, 5001, "ptn_b", "customer.created"))
		goto out;
	if (!pg_admin())
		vm_steps(&d);
	/* we_a's first four (its cap) and we_b's one, oldest due first. */
	if (CHECK_INT(claim_as(d.s, d.a, "w1", 16, 4, 16, &jobs), 5)) {
		CHECK_STR(jobs[0].event_id, "evt_1");
		CHECK_STR(jobs[3].event_id, "evt_4");
		CHECK_STR(jobs[4].event_id, "evt_5001");
	}
	/* SQLite counts the work: some steps per job it can take, not per job
	 * of the backlog. (PostgreSQL shows no such count to its client: there
	 * the test checks the choice only, and decisions.md gives the timing.) */
	if (!pg_admin()) {
		long steps = vm_steps(&d);
		if (!CHECK(steps >= 0 && steps <= 2000))
			printf("    the claim ran %ld steps\n", steps);
	}
out:
	db_close(&d);
}

/* --- test mode: each partner's shadow tenant ------------------------------ */

TEST(partner_insert_adds_the_test_tenant_which_lists_leave_out)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_1"))
		goto out;
	struct partner t;
	if (!CHECK_INT(d.s->ops->partner_get(d.s, d.a, "ptn_1_test", &t, &d.e), 0))
		goto out;
	CHECK_STR(t.name, "Acme Mail");
	CHECK_STR(t.location.city, "Springfield");
	CHECK_INT(t.created_at, 100);
	struct page pg = {.limit = 10};
	struct partner *items = NULL;
	size_t n = 0;
	bool more = true;
	CHECK_INT(d.s->ops->partner_list(d.s, d.a, &pg, &items, &n, &more, &d.e), 0);
	CHECK_INT(n, 1);
	CHECK(n == 1 && strcmp(items[0].id, "ptn_1") == 0);
out:
	db_close(&d);
}

TEST(customer_insert_numbers_test_mailboxes_T1001_apart_from_live_ones)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_1"))
		goto out;
	CHECK_STR(customer_add(&d, "ptn_1_test", "t1"), "T1001");
	CHECK_STR(customer_add(&d, "ptn_1", "l1"), "1001");
	CHECK_STR(customer_add(&d, "ptn_1_test", "t2"), "T1002");
	CHECK_STR(customer_add(&d, "ptn_1", "l2"), "1002");
	struct customer c;
	CHECK_INT(d.s->ops->customer_get(d.s, d.a, "ptn_1", "cus_t1", &c, &d.e),
		  STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->customer_get(d.s, d.a, "ptn_1_test", "cus_l1", &c, &d.e),
		  STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->customer_get(d.s, d.a, "ptn_1_test", "cus_t1", &c, &d.e), 0);
out:
	db_close(&d);
}

TEST(key_list_holds_both_modes_of_the_partner_or_one_tenant)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_1") || !partner_add(&d, "ptn_2", 100))
		goto out;
	const char *owners[] = {"ptn_1", "ptn_1_test", "ptn_2", "ptn_2_test"};
	for (int i = 0; i < 4; i++) {
		struct api_key k = {
			.id = arena_printf(d.a, "key_%d", i),
			.partner_id = owners[i],
			.name = "k",
			.prefix = "ib_live_abcd",
			.hash = arena_printf(d.a, "hash%d", i),
			.scopes = 1,
			.created_at = 100 + i,
		};
		CHECK_INT(d.s->ops->key_insert(d.s, &k, &d.e), 0);
	}
	struct page pg = {.limit = 10};
	struct api_key *items = NULL;
	size_t n = 0;
	bool more = true;
	if (!CHECK_INT(
		    d.s->ops->key_list(d.s, d.a, "ptn_1", true, &pg, &items, &n, &more, &d.e),
		    0))
		goto out;
	CHECK_INT(n, 2);
	CHECK(n == 2 && strcmp(items[0].id, "key_1") == 0 && strcmp(items[1].id, "key_0") == 0);
	/* Another partner's key is no cursor; the partner's own test key is. */
	pg.starting_after = "key_2";
	CHECK_INT(d.s->ops->key_list(d.s, d.a, "ptn_1", true, &pg, &items, &n, &more, &d.e),
		  -1);
	pg.starting_after = "key_1";
	CHECK_INT(d.s->ops->key_list(d.s, d.a, "ptn_1", true, &pg, &items, &n, &more, &d.e), 0);
	CHECK(n == 1 && strcmp(items[0].id, "key_0") == 0);
	/* One mode: the tenant's keys only, and only they are cursors. */
	pg.starting_after = NULL;
	CHECK_INT(d.s->ops->key_list(d.s, d.a, "ptn_1", false, &pg, &items, &n, &more, &d.e),
		  0);
	CHECK(n == 1 && strcmp(items[0].id, "key_0") == 0);
	CHECK_INT(
		d.s->ops->key_list(d.s, d.a, "ptn_1_test", false, &pg, &items, &n, &more, &d.e),
		0);
	CHECK(n == 1 && strcmp(items[0].id, "key_1") == 0);
	pg.starting_after = "key_1";
	CHECK_INT(d.s->ops->key_list(d.s, d.a, "ptn_1", false, &pg, &items, &n, &more, &d.e),
		  -1);
	CHECK_INT(d.e.status, 400);
out:
	db_close(&d);
}

TEST(event_list_covers_both_modes_of_a_partner_and_filters_by_mode)
{
	struct db d;
	if (!db_open(&d) || !event_add(&d, 1, "ptn_a", "customer.created") ||
	    !event_add(&d, 2, "ptn_a_test", "customer.created") ||
	    !event_add(&d, 3, "ptn_b_test", "customer.created"))
		goto out;
	const char *want[][2] = {{"ptn_a", "evt_2 evt_1"}, {NULL, "evt_3 evt_2 evt_1"}};
	for (int i = 0; i < 2; i++) {
		char ids[128];
		CHECK_INT(event_ids(&d, want[i][0], NULL, NULL, ids, sizeof(ids)), 0);
		CHECK_STR(ids, want[i][1]);
	}
	struct page pg = {.limit = 10};
	struct event *items = NULL;
	size_t n = 0;
	bool more = true;
	CHECK_INT(
		d.s->ops->event_list(d.s, d.a, "ptn_a", NULL, 0, &pg, &items, &n, &more, &d.e),
		0);
	CHECK(n == 1 && strcmp(items[0].id, "evt_2") == 0);
	CHECK_INT(d.s->ops->event_list_any_partner(d.s, d.a, NULL, 1, &pg, &items, &n, &more,
						   &d.e),
		  0);
	CHECK(n == 1 && strcmp(items[0].id, "evt_1") == 0);
	CHECK_INT(d.s->ops->event_list_any_partner(d.s, d.a, NULL, 0, &pg, &items, &n, &more,
						   &d.e),
		  0);
	CHECK_INT(n, 2);
out:
	db_close(&d);
}

/* --- tenancy fails closed -------------------------------------------------- */

/* Inserts mail mail_<tag> for customer cus_<customer> (of partner_id, with
 * mailbox mbx_<customer>), and its open scan request act_<tag>. */
static bool mail_and_action_add(struct db *d, const char *partner_id, const char *customer,
				const char *tag)
{
	struct mail m = {
		.id = arena_printf(d->a, "mail_%s", tag),
		.partner_id = partner_id,
		.customer_id = arena_printf(d->a, "cus_%s", customer),
		.mailbox_id = arena_printf(d->a, "mbx_%s", customer),
		.type = "letter",
		.status = "in_storage",
		.source = "partner",
		.photos = "[\"https://example.com/1.jpg\"]",
		.performed_by = "clerk",
		.metadata = "{}",
		.received_at = 1000,
		.created_at = 1000,
		.updated_at = 1000,
	};
	struct mail_action act = {
		.id = arena_printf(d->a, "act_%s", tag),
		.partner_id = partner_id,
		.mail_id = m.id,
		.customer_id = m.customer_id,
		.type = "scan",
		.status = "requested",
		.requested_at = 1000,
	};
	return CHECK_INT(d->s->ops->mail_insert(d->s, &m, &d->e), 0) &&
	       CHECK_INT(d->s->ops->action_insert(d->s, &act, &d->e), 0);
}

/* Checks that rc and d->e are the refusal of the partner-scoped operation
 * op given no partner: -1 with 500 internal_error, never a widened read. */
static bool refused_without_partner(struct db *d, const char *op, int rc)
{
	bool ok = CHECK_INT(rc, -1) && CHECK_INT(d->e.status, 500) &&
		  CHECK_STR(d->e.code, "internal_error");
	if (!ok)
		printf("    %s was not refused\n", op);
	d->e = (struct err){0};
	return ok;
}

TEST(mail_get_with_another_partners_id_is_not_found_and_the_operator_read_finds_it)
{
	struct db d;
	if (!db_open_partners(&d) || !customer_add(&d, "ptn_a", "a") ||
	    !mail_and_action_add(&d, "ptn_a", "a", "1"))
		goto out;
	struct mail m = {0};
	CHECK_INT(d.s->ops->mail_get(d.s, d.a, "ptn_b", "mail_1", &m, &d.e), STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->mail_get(d.s, d.a, "ptn_a_test", "mail_1", &m, &d.e),
		  STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->mail_get(d.s, d.a, "ptn_a", "mail_1", &m, &d.e), 0);
	m = (struct mail){0};
	CHECK_INT(d.s->ops->mail_get_any_partner(d.s, d.a, "mail_1", &m, &d.e), 0);
	CHECK_STR(m.id, "mail_1");
	CHECK_STR(m.partner_id, "ptn_a");
	CHECK_INT(d.s->ops->mail_get_any_partner(d.s, d.a, "mail_nope", &m, &d.e),
		  STORE_NOT_FOUND);
out:
	db_close(&d);
}

TEST(mail_get_any_partner_still_hides_deleted_mail)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_a") || !customer_add(&d, "ptn_a", "a") ||
	    !mail_and_action_add(&d, "ptn_a", "a", "1"))
		goto out;
	struct mail m;
	if (!CHECK_INT(d.s->ops->mail_get(d.s, d.a, "ptn_a", "mail_1", &m, &d.e), 0))
		goto out;
	m.deleted_at = 2000;
	CHECK_INT(d.s->ops->mail_update(d.s, &m, &d.e), 0);
	CHECK_INT(d.s->ops->mail_get_any_partner(d.s, d.a, "mail_1", &m, &d.e),
		  STORE_NOT_FOUND);
out:
	db_close(&d);
}

TEST(action_get_with_another_partners_id_is_not_found_and_the_operator_read_finds_it)
{
	struct db d;
	if (!db_open_partners(&d) || !customer_add(&d, "ptn_a", "a") ||
	    !mail_and_action_add(&d, "ptn_a", "a", "1"))
		goto out;
	struct mail_action act = {0};
	CHECK_INT(d.s->ops->action_get(d.s, d.a, "ptn_b", "act_1", &act, &d.e),
		  STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->action_get(d.s, d.a, "ptn_a", "act_1", &act, &d.e), 0);
	act = (struct mail_action){0};
	CHECK_INT(d.s->ops->action_get_any_partner(d.s, d.a, "act_1", &act, &d.e), 0);
	CHECK_STR(act.id, "act_1");
	CHECK_STR(act.partner_id, "ptn_a");
	CHECK_STR(act.mail_id, "mail_1");
	CHECK_INT(d.s->ops->action_get_any_partner(d.s, d.a, "act_nope", &act, &d.e),
		  STORE_NOT_FOUND);
out:
	db_close(&d);
}

TEST(action_list_any_partner_is_every_partners_work_queue_of_either_mode_or_both)
{
	struct db d;
	if (!db_open_customers(&d) || !mail_and_action_add(&d, "ptn_a", "a", "1") ||
	    !mail_and_action_add(&d, "ptn_b", "b", "2") ||
	    !mail_and_action_add(&d, "ptn_a_test", "a", "3"))
		goto out;
	struct page pg = {.limit = 10};
	/* Both modes, live only, test only: the ids newest first. */
	static const struct {
		int livemode;
		const char *ids[3];
	} cases[] = {
		{-1, {"act_3", "act_2", "act_1"}},
		{1, {"act_2", "act_1", NULL}},
		{0, {"act_3", NULL, NULL}},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct mail_action *items = NULL;
		size_t n = 0, want = 0;
		bool more = true;
		CHECK_INT(d.s->ops->action_list_any_partner(d.s, d.a, "requested",
							    cases[k].livemode, &pg, &items, &n,
							    &more, &d.e),
			  0);
		while (want < 3 && cases[k].ids[want])
			want++;
		if (CHECK_INT(n, want))
			for (size_t i = 0; i < n; i++)
				CHECK_STR(items[i].id, cases[k].ids[i]);
		CHECK(!more);
	}
out:
	db_close(&d);
}

TEST(event_list_without_a_partner_is_refused_and_the_operator_list_has_every_partners)
{
	struct db d;
	if (!db_open(&d) || !events_add(&d))
		goto out;
	struct page pg = {.limit = 10};
	struct event *items = NULL;
	size_t n = 0;
	bool more = false;
	refused_without_partner(
		&d, "event_list",
		d.s->ops->event_list(d.s, d.a, NULL, NULL, -1, &pg, &items, &n, &more, &d.e));
	CHECK_INT(d.s->ops->event_list_any_partner(d.s, d.a, NULL, -1, &pg, &items, &n, &more,
						   &d.e),
		  0);
	CHECK_INT(n, 4);
out:
	db_close(&d);
}

/* Every operation scoped to a partner or a tenant answers a NULL id with
 * the refusal, on a database where reading every partner's rows would find
 * something (ptn_a's customer, mail, action and event). */
TEST(every_partner_scoped_operation_refuses_a_null_partner_instead_of_reading_all)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_a") || !customer_add(&d, "ptn_a", "a") ||
	    !mail_and_action_add(&d, "ptn_a", "a", "1") || !event_add(&d, 1, "ptn_a", "x.y") ||
	    !key_add(&d, "key_1", "ptn_a", "feed") || !endpoint_add(&d, "we_1", "ptn_a") ||
	    !user_add(&d, "usr_1", "ptn_a", "ann@example.com", 200))
		goto out;
	struct store *s = d.s;
	const struct store_ops *o = s->ops;
	struct arena *a = d.a;
	struct err *e = &d.e;
	struct page pg = {.limit = 10};
	bool more;
	size_t n;
	struct customer cu = customer_new(&d, NULL, "z"), *cus;
	struct customer_filter cf = {0};
	struct mail m;
	struct mail_action act;
	struct event ev, *evs;
	struct event_filter ef = {0};
	struct api_key *keys;
	struct webhook_endpoint *eps;
	struct delivery_filter df = {0};
	struct webhook_delivery *dels;
	struct user *users;
	struct audit_entry *audit;
	refused_without_partner(&d, "customer_insert", o->customer_insert(s, a, &cu, e));
	refused_without_partner(&d, "customer_get",
				o->customer_get(s, a, NULL, "cus_a", &cu, e));
	refused_without_partner(&d, "customer_list",
				o->customer_list(s, a, NULL, &cf, &pg, &cus, &n, &more, e));
	refused_without_partner(&d, "customer_external_id_find",
				o->customer_external_id_find(s, NULL, "x", NULL, e));
	struct usage_span *spans;
	refused_without_partner(&d, "usage_spans",
				o->usage_spans(s, a, NULL, 0, 1 << 30, &spans, &n, e));
	refused_without_partner(
		&d, "usage_customers",
		o->usage_customers(s, a, NULL, 0, 1 << 30, &pg, &cus, &n, &more, e));
	refused_without_partner(&d, "mail_get", o->mail_get(s, a, NULL, "mail_1", &m, e));
	refused_without_partner(&d, "action_get", o->action_get(s, a, NULL, "act_1", &act, e));
	refused_without_partner(&d, "event_list",
				o->event_list(s, a, NULL, NULL, -1, &pg, &evs, &n, &more, e));
	refused_without_partner(&d, "event_list_tenant",
				o->event_list_tenant(s, a, NULL, &ef, &pg, &evs, &n, &more, e));
	refused_without_partner(&d, "event_get", o->event_get(s, a, NULL, "evt_1", 0, &ev, e));
	refused_without_partner(&d, "key_list",
				o->key_list(s, a, NULL, true, &pg, &keys, &n, &more, e));
	refused_without_partner(&d, "endpoint_list",
				o->endpoint_list(s, a, NULL, true, &pg, &eps, &n, &more, e));
	refused_without_partner(&d, "delivery_list",
				o->delivery_list(s, a, NULL, &df, &pg, &dels, &n, &more, e));
	refused_without_partner(&d, "user_list",
				o->user_list(s, a, NULL, &pg, &users, &n, &more, e));
	refused_without_partner(&d, "audit_list",
				o->audit_list(s, a, NULL, &pg, &audit, &n, &more, e));
	struct api_key k;
	struct webhook_endpoint w;
	struct webhook_delivery del;
	struct user u;
	refused_without_partner(&d, "key_get", o->key_get(s, a, NULL, "key_1", &k, e));
	refused_without_partner(&d, "endpoint_get", o->endpoint_get(s, a, NULL, "we_1", &w, e));
	refused_without_partner(&d, "delivery_get",
				o->delivery_get(s, a, NULL, "we_1", "whd_1", &del, e));
	refused_without_partner(&d, "user_get", o->user_get(s, a, NULL, "usr_1", &u, e));
out:
	db_close(&d);
}

/* --- transactions ---------------------------------------------------------- */

TEST(a_rolled_back_transaction_leaves_nothing)
{
	struct db d;
	char ids[128];
	if (!db_open(&d))
		goto out;
	CHECK_INT(d.s->ops->tx_begin(d.s, true, &d.e), 0);
	partner_add(&d, "ptn_1", 100);
	customer_add(&d, "ptn_1", "a");
	event_add(&d, 1, "ptn_1", "customer.created");
	idem_add(&d, "ptn_1", "k1", "{}", 100);
	d.s->ops->tx_rollback(d.s);

	struct partner p;
	struct customer c;
	struct idem_record r;
	CHECK_INT(d.s->ops->partner_get(d.s, d.a, "ptn_1", &p, &d.e), STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->customer_get_any_partner(d.s, d.a, "cus_a", &c, &d.e),
		  STORE_NOT_FOUND);
	CHECK_INT(event_ids(&d, NULL, NULL, NULL, ids, sizeof(ids)), 0);
	CHECK_STR(ids, "");
	CHECK_INT(d.s->ops->idem_get(d.s, d.a, "ptn_1", "k1", &r, &d.e), STORE_NOT_FOUND);
out:
	db_close(&d);
}

TEST(a_committed_transaction_survives_a_restart)
{
	struct db d;
	if (!db_open(&d))
		goto out;
	CHECK_INT(d.s->ops->tx_begin(d.s, true, &d.e), 0);
	partner_add(&d, "ptn_1", 100);
	customer_add(&d, "ptn_1", "a");
	CHECK_INT(d.s->ops->tx_commit(d.s, &d.e), 0);
	if (!db_reopen(&d))
		goto out;
	struct customer c = {0};
	CHECK_INT(d.s->ops->customer_get(d.s, d.a, "ptn_1", "cus_a", &c, &d.e), 0);
	CHECK_STR(c.mailbox.number, "1001");
out:
	db_close(&d);
}

static int undo_after_savepoint(struct store *s, void *arg, struct err *e)
{
	(void)e;
	struct db_work *w = arg;
	w->runs++;
	partner_add(w->d, "ptn_1", 100);
	CHECK_INT(s->ops->tx_savepoint(s, &w->d->e), 0);
	partner_add(w->d, "ptn_2", 100);
	customer_add(w->d, "ptn_1", "a");
	event_add(w->d, 1, "ptn_1", "customer.created");
	s->ops->tx_undo(s);
	return 0;
}

TEST(tx_undo_undoes_only_what_came_after_the_savepoint)
{
	struct db d;
	char ids[128];
	if (!db_open(&d))
		goto out;
	/* The first run (no savepoints sent) cannot undo what it wrote: it
	 * runs again, with them. */
	CHECK_INT(db_write(&d, undo_after_savepoint), 2);

	struct partner p;
	struct customer c;
	CHECK_INT(d.s->ops->partner_get(d.s, d.a, "ptn_1", &p, &d.e), 0);
	CHECK_INT(d.s->ops->partner_get(d.s, d.a, "ptn_2", &p, &d.e), STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->customer_get_any_partner(d.s, d.a, "cus_a", &c, &d.e),
		  STORE_NOT_FOUND);
	CHECK_INT(event_ids(&d, NULL, NULL, NULL, ids, sizeof(ids)), 0);
	CHECK_STR(ids, "");
out:
	db_close(&d);
}

static int write_after_undo(struct store *s, void *arg, struct err *e)
{
	struct db_work *w = arg;
	struct partner p1 = partner_new("ptn_1"), p2 = partner_new("ptn_2");
	w->runs++;
	if (s->ops->tx_savepoint(s, e) < 0 || s->ops->partner_insert(s, &p1, e) < 0)
		return -1;
	s->ops->tx_undo(s);
	/* On PostgreSQL's first run this fails for another run (e->retry);
	 * on SQLite's the commit does. */
	return s->ops->partner_insert(s, &p2, e);
}

TEST(tx_undo_keeps_the_transaction_open_for_more_writes)
{
	struct db d;
	if (!db_open(&d))
		goto out;
	CHECK(db_write(&d, write_after_undo) > 0);
	struct partner p;
	CHECK_INT(d.s->ops->partner_get(d.s, d.a, "ptn_1", &p, &d.e), STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->partner_get(d.s, d.a, "ptn_2", &p, &d.e), 0);
out:
	db_close(&d);
}

static int refusal_without_writes(struct store *s, void *arg, struct err *e)
{
	(void)e;
	struct db_work *w = arg;
	struct partner p;
	w->runs++;
	partner_add(w->d, "ptn_1", 100);
	/* A request that only read, then was refused, as most refusals are. */
	CHECK_INT(s->ops->tx_savepoint(s, &w->d->e), 0);
	CHECK_INT(s->ops->partner_get(s, w->d->a, "ptn_1", &p, &w->d->e), 0);
	s->ops->tx_undo(s);
	return 0;
}

TEST(undoing_a_savepoint_that_only_read_keeps_the_first_run)
{
	struct db d;
	if (!db_open(&d))
		goto out;
	CHECK_INT(db_write(&d, refusal_without_writes), 1);
	CHECK_INT(db_count(&d, "SELECT count(*) FROM partners WHERE id = 'ptn_1'"), 1);
out:
	db_close(&d);
}

/* --- every slot ------------------------------------------------------------ */

/* Each compiled backend's table is const data: both are checked on every
 * run, whichever backend the run opens. */
/* A body for store_tx_write(): inserts partner arg, or fails as told. */
struct tx_work {
	const char *partner; /* to insert */
	int runs;
	bool fail; /* fail after inserting (a 422's kind: not retried) */
};

static int tx_work_body(struct store *s, void *arg, struct err *e)
{
	struct tx_work *w = arg;
	w->runs++;
	struct partner p = {
		.id = w->partner,
		.name = "Acme",
		.location = {.line1 = "1",
			     .city = "c",
			     .state = "s",
			     .postal_code = "p",
			     .country = "US"},
		.created_at = 100,
	};
	if (s->ops->partner_insert(s, &p, e) < 0)
		return -1;
	return w->fail ? error(e, 422, "validation_failed", NULL, "refused") : 0;
}

TEST(store_tx_write_commits_a_body_once_and_rolls_back_a_failing_one)
{
	struct db d;
	if (!db_open(&d))
		goto out;
	struct tx_work ok = {.partner = "ptn_ok"},
		       refused = {.partner = "ptn_no", .fail = true};
	CHECK_INT(store_tx_write(d.s, tx_work_body, &ok, &d.e), 0);
	CHECK_INT(ok.runs, 1);
	CHECK_INT(store_tx_write(d.s, tx_work_body, &refused, &d.e), -1);
	CHECK_INT(d.e.status, 422);
	CHECK_INT(refused.runs, 1);
	CHECK_INT(db_count(&d, "SELECT count(*) FROM partners WHERE id = 'ptn_ok'"), 1);
	CHECK_INT(db_count(&d, "SELECT count(*) FROM partners WHERE id = 'ptn_no'"), 0);
out:
	db_close(&d);
}

/* One of two requests that lock two customers in opposite orders, as the
 * dispatcher runs a request: in a savepoint, its failure undone and
 * answered, the transaction then committed. */
struct swapper {
	struct store *s;
	pthread_barrier_t *both_locked_one;
	const char *first, *second; /* customer ids, locked in this order */
	const char *name;           /* written into the second */
	int runs;
	struct err failure; /* of the run that failed, if one did */
	int result;         /* of store_tx_write */
};

static int swap_body(struct store *s, void *arg, struct err *e)
{
	struct swapper *w = arg;
	struct arena *a = arena_new();
	struct customer one, two;
	w->runs++;
	if (s->ops->tx_savepoint(s, e) < 0)
		goto out;
	if (s->ops->customer_get(s, a, "ptn_a", w->first, &one, e) != 0)
		goto undo;
	/* The first run waits until both hold their first row: each then
	 * asks for the row the other holds, and one of them is chosen as the
	 * deadlock's victim. */
	if (w->runs == 1)
		pthread_barrier_wait(w->both_locked_one);
	if (s->ops->customer_get(s, a, "ptn_a", w->second, &two, e) != 0)
		goto undo;
	two.name = w->name;
	if (s->ops->customer_update(s, &two, e) < 0 || s->ops->tx_release(s, e) < 0)
		goto undo;
	goto out;
undo:
	w->failure = *e;
	s->ops->tx_undo(s);
out:
	arena_free(a);
	return 0;
}

static void *swap_run(void *arg)
{
	struct swapper *w = arg;
	struct err e;
	w->result = store_tx_write(w->s, swap_body, w, &e);
	return NULL;
}

TEST(a_write_that_loses_a_deadlock_is_run_again_and_both_commit)
{
	if (pg_only("on sqlite: one writer at a time never deadlocks"))
		return;
	struct db d;
	pthread_barrier_t barrier;
	pthread_barrier_init(&barrier, NULL, 2);
	if (!db_open_partner(&d, "ptn_a") || !customer_add(&d, "ptn_a", "x") ||
	    !customer_add(&d, "ptn_a", "y"))
		goto out;
	/* Deadlocks are looked for after deadlock_timeout (1 s by default);
	 * the threads' connections are new, so they take this. */
	char sql[160];
	snprintf(sql, sizeof(sql), "ALTER DATABASE %s SET deadlock_timeout = '100ms'",
		 d.dbname);
	if (!CHECK(pg_admin_exec(sql)))
		goto out;
	struct swapper a = {.s = d.s,
			    .both_locked_one = &barrier,
			    .first = "cus_x",
			    .second = "cus_y",
			    .name = "Written by A",
			    .result = -2};
	struct swapper b = {.s = d.s,
			    .both_locked_one = &barrier,
			    .first = "cus_y",
			    .second = "cus_x",
			    .name = "Written by B",
			    .result = -2};
	pthread_t ta, tb;
	if (!CHECK_INT(pthread_create(&ta, NULL, swap_run, &a), 0))
		goto out;
	if (!CHECK_INT(pthread_create(&tb, NULL, swap_run, &b), 0)) {
		/* a waits at the barrier for a partner that never comes. */
		abort();
	}
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	/* One was the victim: its first run failed on the deadlock with a
	 * retryable 503, its transaction did not commit although the failure
	 * was undone to its savepoint, and a later run committed. (Its second
	 * run can lock the row the other is waiting for first and deadlock
	 * again; the runs then add up to more than three.) */
	CHECK_INT(a.result, 0);
	CHECK_INT(b.result, 0);
	CHECK(a.runs + b.runs >= 3);
	struct swapper *victim = a.runs > 1 ? &a : &b;
	CHECK_INT(victim->failure.status, 503);
	CHECK(victim->failure.retry);
	CHECK_INT(db_count(&d, "SELECT count(*) FROM customers WHERE id = 'cus_y'"
			       " AND name = 'Written by A'"),
		  1);
	CHECK_INT(db_count(&d, "SELECT count(*) FROM customers WHERE id = 'cus_x'"
			       " AND name = 'Written by B'"),
		  1);
out:
	pthread_barrier_destroy(&barrier);
	db_close(&d);
}

/* Inserts evt_1, then again in a savepoint of its own: what the second
 * insert and its release answered. */
struct duplicate_event {
	struct db *d;
	int runs;
	int rc;
	struct err failure;
};

static int insert_event_twice(struct store *s, void *arg, struct err *e)
{
	(void)e;
	struct duplicate_event *w = arg;
	struct event ev = {.id = "evt_1",
			   .partner_id = "ptn_a",
			   .type = "customer.created",
			   .created_at = 1001,
			   .payload = "{}"};
	w->runs++;
	w->failure = (struct err){0};
	if (!CHECK_INT(s->ops->tx_savepoint(s, &w->d->e), 0) ||
	    !CHECK(s->ops->event_insert(s, &ev, &w->d->e) >= 0) ||
	    !CHECK_INT(s->ops->tx_release(s, &w->d->e), 0) ||
	    !CHECK_INT(s->ops->tx_savepoint(s, &w->d->e), 0))
		return 0;
	w->rc = s->ops->event_insert(s, &ev, &w->failure) < 0 ? -1 : 0;
	if (w->rc == 0)
		w->rc = s->ops->tx_release(s, &w->failure);
	if (w->rc < 0)
		s->ops->tx_undo(s);
	return 0;
}

TEST(a_failed_write_is_reported_by_its_savepoints_release_at_the_latest_and_undone_alone)
{
	struct db d;
	struct duplicate_event w = {.d = &d};
	if (!db_open_partner(&d, "ptn_a"))
		goto out;
	/* SQLite refuses the second insert itself; PostgreSQL sends it with
	 * the next statement, so its first run (no savepoints) finds out only
	 * at the commit, and its second the release reports it. Either way it
	 * is undone alone, and what the first savepoint kept commits. */
	CHECK_INT(store_tx_write(d.s, insert_event_twice, &w, &d.e), 0);
	CHECK_INT(w.runs, pg_admin() ? 2 : 1);
	CHECK_INT(w.rc, -1);
	CHECK_INT(w.failure.status, 500);
	CHECK_INT(db_count(&d, "SELECT count(*) FROM events WHERE id = 'evt_1'"), 1);
out:
	db_close(&d);
}

/* The mailbox numbers a batch's creates got: ptn_a's three (the second
 * undone), then ptn_b's one. */
struct numbered {
	struct db *d;
	int runs;
	const char *number[4];
};

static int numbers_in_a_batch(struct store *s, void *arg, struct err *e)
{
	struct numbered *w = arg;
	static const struct {
		const char *tenant, *tag;
		bool keep;
	} creates[4] = {{"ptn_a", "a1", true},
			{"ptn_a", "a2", false},
			{"ptn_a", "a3", true},
			{"ptn_b", "b1", true}};
	w->runs++;
	/* As group commit runs a batch: each tenant held, then its requests. */
	for (int i = 0; i < 4; i++) {
		if ((i == 0 || strcmp(creates[i].tenant, creates[i - 1].tenant) != 0) &&
		    s->ops->tx_lock_tenant(s, creates[i].tenant, false, e) < 0)
			return -1;
		struct customer c = customer_new(w->d, creates[i].tenant, creates[i].tag);
		if (s->ops->tx_savepoint(s, e) < 0 ||
		    s->ops->customer_insert(s, w->d->a, &c, e) < 0)
			return -1;
		w->number[i] = c.mailbox.number;
		if (!creates[i].keep)
			s->ops->tx_undo(s);
		else if (s->ops->tx_release(s, e) < 0)
			return -1;
	}
	return 0;
}

TEST(numbers_of_held_tenants_stay_gap_free_through_undone_savepoints)
{
	struct db d;
	struct numbered w = {.d = &d};
	if (!db_open_partners(&d))
		goto out;
	if (!CHECK_INT(store_tx_write(d.s, numbers_in_a_batch, &w, &d.e), 0))
		goto out;
	CHECK_STR(w.number[0], "1001");
	CHECK_STR(w.number[1], "1002");
	CHECK_STR(w.number[2], "1002"); /* given back by the undone one */
	CHECK_STR(w.number[3], "1001");
	/* The counters went on from there, for a write that holds nothing. */
	CHECK_STR(customer_add(&d, "ptn_a", "a4"), "1003");
	CHECK_STR(customer_add(&d, "ptn_b", "b2"), "1002");
	CHECK_INT(db_count(&d, "SELECT count(*) FROM customers WHERE partner_id = 'ptn_a'"), 3);
out:
	db_close(&d);
}

/* A write transaction on another thread (its own connection, as another
 * instance would have) that takes a row (take: tenant ptn_a, or endpoint
 * we_1 read as a handler about to change it reads it) and holds it for a
 * moment (hold_ms, 200 when 0). */
struct row_holder {
	struct store *s;
	int (*take)(struct store *s, struct arena *a, struct err *e);
	long hold_ms;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool holding;  /* it has the row */
	bool released; /* it is about to commit */
	int rc;
};

static int take_tenant(struct store *s, struct arena *a, struct err *e)
{
	(void)a;
	return s->ops->tx_lock_tenant(s, "ptn_a", false, e);
}

static int take_endpoint(struct store *s, struct arena *a, struct err *e)
{
	struct webhook_endpoint w;
	return s->ops->endpoint_get(s, a, "ptn_a", "we_1", &w, e);
}

static void *hold_row(void *arg)
{
	struct row_holder *h = arg;
	struct err e;
	struct arena *a = arena_new();
	h->rc = -1;
	bool held = h->s->ops->tx_begin(h->s, true, &e) == 0 && h->take(h->s, a, &e) == 0;
	pthread_mutex_lock(&h->mu);
	h->holding = true;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->mu);
	long ms = h->hold_ms ? h->hold_ms : 200;
	nanosleep(&(struct timespec){ms / 1000, ms % 1000 * 1000 * 1000}, NULL);
	pthread_mutex_lock(&h->mu);
	h->released = true;
	pthread_mutex_unlock(&h->mu);
	if (held && h->s->ops->tx_commit(h->s, &e) == 0)
		h->rc = 0;
	else
		h->s->ops->tx_rollback(h->s);
	arena_free(a);
	return NULL;
}

/* Starts h's thread and returns once it holds its row; false when the
 * thread could not start (then nothing is left to finish). */
static bool holder_start(struct row_holder *h, struct db *d)
{
	h->s = d->s;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cond, NULL);
	if (!CHECK_INT(pthread_create(&h->thread, NULL, hold_row, h), 0)) {
		pthread_mutex_destroy(&h->mu);
		pthread_cond_destroy(&h->cond);
		return false;
	}
	pthread_mutex_lock(&h->mu);
	while (!h->holding)
		pthread_cond_wait(&h->cond, &h->mu);
	pthread_mutex_unlock(&h->mu);
	return true;
}

/* Whether h has let go of its row (it is committing or has committed). */
static bool holder_released(struct row_holder *h)
{
	pthread_mutex_lock(&h->mu);
	bool released = h->released;
	pthread_mutex_unlock(&h->mu);
	return released;
}

/* Waits for h's thread; checks that its transaction committed. */
static void holder_finish(struct row_holder *h)
{
	pthread_join(h->thread, NULL);
	CHECK_INT(h->rc, 0);
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cond);
}

TEST(a_tenant_held_by_a_write_transaction_makes_another_wait_for_its_end)
{
	struct db d;
	struct row_holder h = {.take = take_tenant};
	if (!db_open_partner(&d, "ptn_a") || !holder_start(&h, &d))
		goto out;
	/* On PostgreSQL the lock waits for the holder; on SQLite the write
	 * transaction itself does. Either way the holder has let go first. */
	bool locked = CHECK_INT(d.s->ops->tx_begin(d.s, true, &d.e), 0) &&
		      CHECK_INT(d.s->ops->tx_lock_tenant(d.s, "ptn_a", false, &d.e), 0);
	CHECK(holder_released(&h));
	/* A tenant that does not exist holds nothing back. */
	if (locked)
		CHECK_INT(d.s->ops->tx_lock_tenant(d.s, "ptn_none", false, &d.e), 0);
	if (!locked || !CHECK_INT(d.s->ops->tx_commit(d.s, &d.e), 0))
		d.s->ops->tx_rollback(d.s);
	holder_finish(&h);
out:
	db_close(&d);
}

/* A brief wait for a tenant (a batch that already waited out a held one)
 * gives up while the holder still holds it: 503, the tenant's own failure
 * (no retry), and the transaction can only be rolled back. */
TEST(a_brief_wait_for_a_held_tenant_gives_up_before_the_holder_lets_go)
{
	if (pg_only("on sqlite: one writer at a time, no row locks"))
		return;
	struct db d;
	struct row_holder h = {.take = take_tenant, .hold_ms = 2000};
	if (!db_open_partner(&d, "ptn_a") || !holder_start(&h, &d))
		goto out;
	if (CHECK_INT(d.s->ops->tx_begin(d.s, true, &d.e), 0)) {
		CHECK_INT(d.s->ops->tx_lock_tenant(d.s, "ptn_a", true, &d.e), -1);
		CHECK_INT(d.e.status, 503);
		CHECK(!d.e.retry);
		d.s->ops->tx_rollback(d.s);
	}
	CHECK(!holder_released(&h));
	holder_finish(&h);
out:
	db_close(&d);
}

/* The lock of a read before an update is FOR NO KEY UPDATE: an event whose
 * delivery job refers to the endpoint (its foreign key's check) goes in
 * while another transaction holds the endpoint. With FOR UPDATE it waited
 * for that transaction, on any instance: one stopped with an endpoint held
 * held up every event for it. */
TEST(an_endpoint_read_for_update_leaves_events_for_it_free_to_go_in)
{
	if (pg_only("on sqlite: one writer at a time, no row locks"))
		return;
	struct db d;
	struct row_holder h = {.take = take_endpoint, .hold_ms = 1000};
	if (!db_open_partner(&d, "ptn_a") || !endpoint_add(&d, "we_1", "ptn_a") ||
	    !holder_start(&h, &d))
		goto out;
	if (CHECK_INT(d.s->ops->tx_begin(d.s, true, &d.e), 0)) {
		bool queued = CHECK_INT(event_insert_answer(&d, 1, "ptn_a", "customer.created"),
					0);
		if (!queued || !CHECK_INT(d.s->ops->tx_commit(d.s, &d.e), 0))
			d.s->ops->tx_rollback(d.s);
	}
	CHECK(!holder_released(&h));
	holder_finish(&h);
out:
	db_close(&d);
}

static int take_new_customer(struct store *s, struct arena *a, struct err *e)
{
	struct customer c = customer_in(a, "ptn_a", "late");
	return s->ops->customer_insert(s, a, &c, e);
}

/* A read transaction sees one snapshot: what another transaction commits
 * meanwhile is not in its later reads, so a GET's statements agree (a
 * billing page and its totals, mail and its actions). */
TEST(a_read_transaction_sees_one_snapshot)
{
	struct db d;
	struct row_holder h = {.take = take_new_customer, .hold_ms = 1};
	if (!db_open_partner(&d, "ptn_a") || !customer_add(&d, "ptn_a", "early"))
		goto out;
	struct customer c;
	if (!CHECK_INT(d.s->ops->tx_begin(d.s, false, &d.e), 0))
		goto out;
	CHECK_INT(d.s->ops->customer_get(d.s, d.a, "ptn_a", "cus_early", &c, &d.e), 0);
	if (holder_start(&h, &d))
		holder_finish(&h); /* committed */
	CHECK_INT(d.s->ops->customer_get(d.s, d.a, "ptn_a", "cus_late", &c, &d.e),
		  STORE_NOT_FOUND);
	d.s->ops->tx_rollback(d.s);
	CHECK_INT(d.s->ops->customer_get(d.s, d.a, "ptn_a", "cus_late", &c, &d.e), 0);
out:
	db_close(&d);
}

TEST(each_backends_table_fills_every_slot_of_struct_store_ops)
{
#define SLOT_FILLED(name) \
	CHECK(store_sqlite_ops.name != NULL); \
	CHECK(store_pg_ops.name != NULL);
	STORE_SLOTS(SLOT_FILLED)
#undef SLOT_FILLED
	CHECK(store_slot_missing(&store_sqlite_ops) == NULL);
	CHECK(store_slot_missing(&store_pg_ops) == NULL);
}

TEST(store_open_points_the_store_at_its_backends_table)
{
	struct db d;
	if (!db_open(&d))
		goto out;
	CHECK(d.s->ops == (pg_admin() ? &store_pg_ops : &store_sqlite_ops));
out:
	db_close(&d);
}

TEST(store_slot_missing_names_a_slot_left_null)
{
	struct store_ops copy = store_pg_ops;
	copy.audit_list = NULL;
	CHECK_STR(store_slot_missing(&copy), "audit_list");
	copy.tx_begin = NULL;
	CHECK_STR(store_slot_missing(&copy), "tx_begin");
}

/* --- dashboard users, setup links, sessions, audit log -------------------- */

/* Inserts a session of user_id whose token hash is hash. */
static bool session_add(struct db *d, const char *hash, const char *user_id, int64_t now)
{
	struct user_session ss = {.hash = hash,
				  .csrf_token = "csrf_1",
				  .created_at = now,
				  .last_seen_at = now,
				  .user = {.id = user_id}};
	return CHECK_INT(d->s->ops->session_insert(d->s, &ss, &d->e), 0);
}

/* Lists one page of partner_id's users into ids (space-separated). */
static int user_page(struct db *d, const char *partner_id, int limit, const char *after,
		     char *ids, size_t ids_size, bool *has_more)
{
	struct page pg = {.limit = limit, .starting_after = after};
	struct user *items = NULL;
	size_t n = 0;
	int rc = d->s->ops->user_list(d->s, d->a, partner_id, &pg, &items, &n, has_more, &d->e);
	ids[0] = '\0';
	for (size_t i = 0; rc == 0 && i < n; i++) {
		size_t len = strlen(ids);
		snprintf(ids + len, ids_size - len, "%s%s", i ? " " : "", items[i].id);
	}
	return rc;
}

TEST(user_get_returns_every_field_that_was_inserted)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_1"))
		goto out;
	struct user in = {.id = "usr_1",
			  .partner_id = "ptn_1",
			  .email = "Ann@Example.com",
			  .role = "owner",
			  .password_hash = "$argon2id$x",
			  .created_at = 200,
			  .password_changed_at = 300};
	CHECK_INT(d.s->ops->user_insert(d.s, &in, &d.e), 0);
	struct user out = {0};
	if (!CHECK_INT(d.s->ops->user_get(d.s, d.a, "ptn_1", "usr_1", &out, &d.e), 0))
		goto out;
	CHECK_STR(out.id, "usr_1");
	CHECK_STR(out.partner_id, "ptn_1");
	CHECK_STR(out.email, "Ann@Example.com");
	CHECK_STR(out.role, "owner");
	CHECK_STR(out.password_hash, "$argon2id$x");
	CHECK_INT(out.created_at, 200);
	CHECK_INT(out.password_changed_at, 300);
	CHECK_INT(d.s->ops->user_get(d.s, d.a, "ptn_1", "usr_nope", &out, &d.e),
		  STORE_NOT_FOUND);
out:
	db_close(&d);
}

TEST(user_without_a_password_reads_back_null_and_zero)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_1") ||
	    !user_add(&d, "usr_1", "ptn_1", "ann@example.com", 200))
		goto out;
	struct user out = {.password_hash = "x", .password_changed_at = 1};
	CHECK_INT(d.s->ops->user_get(d.s, d.a, "ptn_1", "usr_1", &out, &d.e), 0);
	CHECK(out.password_hash == NULL);
	CHECK_INT(out.password_changed_at, 0);
out:
	db_close(&d);
}

TEST(user_find_by_email_ignores_case_and_misses_unknown_emails)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_1") ||
	    !user_add(&d, "usr_1", "ptn_1", "Ann@Example.com", 200))
		goto out;
	struct user out = {0};
	CHECK_INT(d.s->ops->user_find_by_email(d.s, d.a, "ann@EXAMPLE.com", &out, &d.e), 0);
	CHECK_STR(out.id, "usr_1");
	CHECK_STR(out.email, "Ann@Example.com");
	CHECK_INT(d.s->ops->user_find_by_email(d.s, d.a, "bob@example.com", &out, &d.e),
		  STORE_NOT_FOUND);
out:
	db_close(&d);
}

TEST(user_insert_refuses_an_email_taken_in_any_case_by_any_partner)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_1") || !partner_add(&d, "ptn_2", 100) ||
	    !user_add(&d, "usr_1", "ptn_1", "ann@example.com", 200))
		goto out;
	struct user dup = {.id = "usr_2",
			   .partner_id = "ptn_2",
			   .email = "ANN@example.com",
			   .role = "viewer",
			   .created_at = 300};
	conflict(&d, d.s->ops->user_insert(d.s, &dup, &d.e), "user_exists", "email");
	struct user out;
	CHECK_INT(d.s->ops->user_get(d.s, d.a, "ptn_1", "usr_2", &out, &d.e), STORE_NOT_FOUND);
out:
	db_close(&d);
}

TEST(user_insert_refuses_an_unknown_role)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_1"))
		goto out;
	struct user u = {.id = "usr_1",
			 .partner_id = "ptn_1",
			 .email = "ann@example.com",
			 .role = "admin",
			 .created_at = 200};
	CHECK_INT(d.s->ops->user_insert(d.s, &u, &d.e), -1);
out:
	db_close(&d);
}

TEST(user_list_pages_a_partners_users_newest_first)
{
	struct db d;
	char ids[256];
	bool more = false;
	if (!db_open_partner(&d, "ptn_1") || !partner_add(&d, "ptn_2", 100))
		goto out;
	user_add(&d, "usr_1", "ptn_1", "a@example.com", 201);
	user_add(&d, "usr_2", "ptn_2", "b@example.com", 202);
	user_add(&d, "usr_3", "ptn_1", "c@example.com", 203);
	user_add(&d, "usr_4", "ptn_1", "d@example.com", 204);
	CHECK_INT(user_page(&d, "ptn_1", 2, NULL, ids, sizeof(ids), &more), 0);
	CHECK_STR(ids, "usr_4 usr_3");
	CHECK(more);
	CHECK_INT(user_page(&d, "ptn_1", 2, "usr_3", ids, sizeof(ids), &more), 0);
	CHECK_STR(ids, "usr_1");
	CHECK(!more);
	CHECK_INT(user_page(&d, "ptn_2", 10, NULL, ids, sizeof(ids), &more), 0);
	CHECK_STR(ids, "usr_2");
	/* Another partner's user is no cursor of this list. */
	CHECK_INT(user_page(&d, "ptn_1", 2, "usr_2", ids, sizeof(ids), &more), -1);
	CHECK_INT(d.e.status, 400);
out:
	db_close(&d);
}

TEST(user_role_set_changes_only_the_role)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_1") ||
	    !user_add(&d, "usr_1", "ptn_1", "ann@example.com", 200))
		goto out;
	CHECK_INT(d.s->ops->user_role_set(d.s, "usr_1", "viewer", &d.e), 0);
	struct user out = {0};
	CHECK_INT(d.s->ops->user_get(d.s, d.a, "ptn_1", "usr_1", &out, &d.e), 0);
	CHECK_STR(out.role, "viewer");
	CHECK_STR(out.email, "ann@example.com");
out:
	db_close(&d);
}

TEST(user_password_set_stores_the_hash_and_ends_every_session)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_1") ||
	    !user_add(&d, "usr_1", "ptn_1", "ann@example.com", 200) ||
	    !user_add(&d, "usr_2", "ptn_1", "bob@example.com", 200))
		goto out;
	session_add(&d, "sh_1", "usr_1", 300);
	session_add(&d, "sh_2", "usr_1", 300);
	session_add(&d, "sh_3", "usr_2", 300);
	CHECK_INT(d.s->ops->user_password_set(d.s, "usr_1", "$argon2id$new", 400, &d.e), 0);
	struct user u = {0};
	CHECK_INT(d.s->ops->user_get(d.s, d.a, "ptn_1", "usr_1", &u, &d.e), 0);
	CHECK_STR(u.password_hash, "$argon2id$new");
	CHECK_INT(u.password_changed_at, 400);
	struct user_session ss;
	CHECK_INT(d.s->ops->session_find(d.s, d.a, "sh_1", &ss, &d.e), STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->session_find(d.s, d.a, "sh_2", &ss, &d.e), STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->session_find(d.s, d.a, "sh_3", &ss, &d.e), 0);
out:
	db_close(&d);
}

TEST(user_setup_use_works_once_and_never_after_expiry_and_find_uses_nothing)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_1") ||
	    !user_add(&d, "usr_1", "ptn_1", "ann@example.com", 200) ||
	    !user_add(&d, "usr_2", "ptn_1", "bob@example.com", 200))
		goto out;
	CHECK_INT(d.s->ops->user_setup_insert(d.s, "tok_1", "usr_1", 200, 1000, &d.e), 0);
	CHECK_INT(d.s->ops->user_setup_insert(d.s, "tok_2", "usr_2", 200, 1000, &d.e), 0);
	const char *user_id = NULL;
	/* Finding a link uses nothing: twice, then the link is used. */
	for (int i = 0; i < 2; i++) {
		CHECK_INT(d.s->ops->user_setup_find(d.s, d.a, "tok_1", 999, &user_id, &d.e), 0);
		CHECK_STR(user_id, "usr_1");
	}
	CHECK_INT(d.s->ops->user_setup_find(d.s, d.a, "tok_2", 1000, &user_id, &d.e),
		  STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->user_setup_use(d.s, d.a, "tok_1", 999, &user_id, &d.e), 0);
	CHECK_INT(d.s->ops->user_setup_find(d.s, d.a, "tok_1", 999, &user_id, &d.e),
		  STORE_NOT_FOUND);
	CHECK_STR(user_id, "usr_1");
	CHECK_INT(d.s->ops->user_setup_use(d.s, d.a, "tok_1", 999, &user_id, &d.e),
		  STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->user_setup_use(d.s, d.a, "tok_2", 1000, &user_id, &d.e),
		  STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->user_setup_use(d.s, d.a, "tok_nope", 300, &user_id, &d.e),
		  STORE_NOT_FOUND);
out:
	db_close(&d);
}

TEST(a_new_setup_link_or_password_ends_the_links_not_used_yet)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_1") ||
	    !user_add(&d, "usr_1", "ptn_1", "ann@example.com", 200) ||
	    !user_add(&d, "usr_2", "ptn_1", "bob@example.com", 200))
		goto out;
	CHECK_INT(d.s->ops->user_setup_insert(d.s, "tok_1", "usr_1", 200, 1000, &d.e), 0);
	CHECK_INT(d.s->ops->user_setup_insert(d.s, "tok_b", "usr_2", 200, 1000, &d.e), 0);
	CHECK_INT(d.s->ops->user_setup_insert(d.s, "tok_2", "usr_1", 210, 1000, &d.e), 0);
	const char *user_id = NULL;
	CHECK_INT(d.s->ops->user_setup_use(d.s, d.a, "tok_1", 300, &user_id, &d.e),
		  STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->user_setup_use(d.s, d.a, "tok_2", 300, &user_id, &d.e), 0);
	/* A used link stays used; another user's link is not touched. */
	CHECK_INT(d.s->ops->user_setup_insert(d.s, "tok_3", "usr_1", 400, 1000, &d.e), 0);
	CHECK_INT(d.s->ops->user_setup_use(d.s, d.a, "tok_2", 500, &user_id, &d.e),
		  STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->user_password_set(d.s, "usr_1", "$argon2id$x", 500, &d.e), 0);
	CHECK_INT(d.s->ops->user_setup_use(d.s, d.a, "tok_3", 500, &user_id, &d.e),
		  STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->user_setup_use(d.s, d.a, "tok_b", 500, &user_id, &d.e), 0);
	CHECK_STR(user_id, "usr_2");
out:
	db_close(&d);
}

TEST(user_setup_void_partner_ends_the_partners_links_not_used_yet_only)
{
	struct db d;
	if (!db_open_partners(&d) || !user_add(&d, "usr_1", "ptn_a", "ann@example.com", 200) ||
	    !user_add(&d, "usr_2", "ptn_a", "bob@example.com", 200) ||
	    !user_add(&d, "usr_3", "ptn_b", "cy@example.com", 200))
		goto out;
	CHECK_INT(d.s->ops->user_setup_insert(d.s, "tok_1", "usr_1", 200, 1000, &d.e), 0);
	CHECK_INT(d.s->ops->user_setup_insert(d.s, "tok_2", "usr_2", 200, 1000, &d.e), 0);
	CHECK_INT(d.s->ops->user_setup_insert(d.s, "tok_3", "usr_3", 200, 1000, &d.e), 0);
	const char *user_id = NULL;
	CHECK_INT(d.s->ops->user_setup_use(d.s, d.a, "tok_2", 300, &user_id, &d.e), 0);
	CHECK_INT(d.s->ops->user_setup_void_partner(d.s, "ptn_a", &d.e), 0);
	CHECK_INT(d.s->ops->user_setup_use(d.s, d.a, "tok_1", 300, &user_id, &d.e),
		  STORE_NOT_FOUND);
	/* The other partner's link still works. */
	CHECK_INT(d.s->ops->user_setup_use(d.s, d.a, "tok_3", 300, &user_id, &d.e), 0);
	CHECK_STR(user_id, "usr_3");
	CHECK_INT(d.s->ops->user_setup_void_partner(d.s, NULL, &d.e), -1);
out:
	db_close(&d);
}

TEST(session_find_returns_the_session_with_its_user)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_1"))
		goto out;
	struct user u = {.id = "usr_1",
			 .partner_id = "ptn_1",
			 .email = "ann@example.com",
			 .role = "owner",
			 .password_hash = "$argon2id$x",
			 .created_at = 200,
			 .password_changed_at = 250};
	CHECK_INT(d.s->ops->user_insert(d.s, &u, &d.e), 0);
	struct user_session in = {.hash = "sh_1",
				  .csrf_token = "csrf_1",
				  .created_at = 300,
				  .last_seen_at = 310,
				  .user = {.id = "usr_1"}};
	CHECK_INT(d.s->ops->session_insert(d.s, &in, &d.e), 0);
	struct user_session out = {0};
	if (!CHECK_INT(d.s->ops->session_find(d.s, d.a, "sh_1", &out, &d.e), 0))
		goto out;
	CHECK_STR(out.hash, "sh_1");
	CHECK_STR(out.csrf_token, "csrf_1");
	CHECK_INT(out.created_at, 300);
	CHECK_INT(out.last_seen_at, 310);
	CHECK_STR(out.user.id, "usr_1");
	CHECK_STR(out.user.partner_id, "ptn_1");
	CHECK_STR(out.user.email, "ann@example.com");
	CHECK_STR(out.user.role, "owner");
	CHECK_STR(out.user.password_hash, "$argon2id$x");
	CHECK_INT(out.user.created_at, 200);
	CHECK_INT(out.user.password_changed_at, 250);
	CHECK_INT(d.s->ops->session_find(d.s, d.a, "sh_nope", &out, &d.e), STORE_NOT_FOUND);
out:
	db_close(&d);
}

TEST(session_touch_moves_last_seen_and_session_delete_ends_it)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_1") ||
	    !user_add(&d, "usr_1", "ptn_1", "ann@example.com", 200))
		goto out;
	session_add(&d, "sh_1", "usr_1", 300);
	session_add(&d, "sh_2", "usr_1", 300);
	CHECK_INT(d.s->ops->session_touch(d.s, "sh_1", 500, &d.e), 0);
	struct user_session out = {0};
	CHECK_INT(d.s->ops->session_find(d.s, d.a, "sh_1", &out, &d.e), 0);
	CHECK_INT(out.last_seen_at, 500);
	CHECK_INT(out.created_at, 300);
	CHECK_INT(d.s->ops->session_delete(d.s, "sh_1", &d.e), 0);
	CHECK_INT(d.s->ops->session_find(d.s, d.a, "sh_1", &out, &d.e), STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->session_find(d.s, d.a, "sh_2", &out, &d.e), 0);
out:
	db_close(&d);
}

/* Inserts an audit row of partner_id (NULL: none) with action "a<id>". */
static bool audit_add(struct db *d, const char *id, const char *partner_id, int64_t at)
{
	struct audit_entry ae = {.id = id,
				 .partner_id = partner_id,
				 .actor = "operator",
				 .action = arena_printf(d->a, "a%s", id),
				 .created_at = at};
	return CHECK_INT(d->s->ops->audit_insert(d->s, &ae, &d->e), 0);
}

TEST(audit_list_pages_a_partners_rows_newest_first_with_every_field)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_1"))
		goto out;
	struct audit_entry in = {.id = "aud_1",
				 .partner_id = "ptn_1",
				 .user_id = "usr_1",
				 .actor = "ann@example.com",
				 .action = "POST /dashboard/api/keys",
				 .target = "key_1",
				 .mode = "test",
				 .client_addr = "192.0.2.1",
				 .created_at = 500};
	CHECK_INT(d.s->ops->audit_insert(d.s, &in, &d.e), 0);
	audit_add(&d, "aud_2", NULL, 501);
	audit_add(&d, "aud_3", "ptn_2", 502);
	audit_add(&d, "aud_4", "ptn_1", 503);
	struct page pg = {.limit = 1};
	struct audit_entry *items = NULL;
	size_t n = 0;
	bool more = false;
	CHECK_INT(d.s->ops->audit_list(d.s, d.a, "ptn_1", &pg, &items, &n, &more, &d.e), 0);
	if (!CHECK_INT(n, 1))
		goto out;
	CHECK_STR(items[0].id, "aud_4");
	CHECK(items[0].user_id == NULL && items[0].target == NULL && items[0].mode == NULL &&
	      items[0].client_addr == NULL);
	CHECK(more);
	pg.starting_after = "aud_4";
	CHECK_INT(d.s->ops->audit_list(d.s, d.a, "ptn_1", &pg, &items, &n, &more, &d.e), 0);
	if (!CHECK_INT(n, 1))
		goto out;
	CHECK(!more);
	CHECK_STR(items[0].id, "aud_1");
	CHECK_STR(items[0].partner_id, "ptn_1");
	CHECK_STR(items[0].user_id, "usr_1");
	CHECK_STR(items[0].actor, "ann@example.com");
	CHECK_STR(items[0].action, "POST /dashboard/api/keys");
	CHECK_STR(items[0].target, "key_1");
	CHECK_STR(items[0].mode, "test");
	CHECK_STR(items[0].client_addr, "192.0.2.1");
	CHECK_INT(items[0].created_at, 500);
	pg.starting_after = "aud_3";
	CHECK_INT(d.s->ops->audit_list(d.s, d.a, "ptn_1", &pg, &items, &n, &more, &d.e), -1);
	CHECK_INT(d.e.status, 400);
out:
	db_close(&d);
}

TEST(user_delete_takes_its_sessions_and_setup_links_but_keeps_its_audit_rows)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_1") ||
	    !user_add(&d, "usr_1", "ptn_1", "ann@example.com", 200) ||
	    !user_add(&d, "usr_2", "ptn_1", "bob@example.com", 200))
		goto out;
	session_add(&d, "sh_1", "usr_1", 300);
	session_add(&d, "sh_2", "usr_2", 300);
	CHECK_INT(d.s->ops->user_setup_insert(d.s, "tok_1", "usr_1", 200, 1000, &d.e), 0);
	struct audit_entry ae = {.id = "aud_1",
				 .partner_id = "ptn_1",
				 .user_id = "usr_1",
				 .actor = "ann@example.com",
				 .action = "signin.succeeded",
				 .created_at = 300};
	CHECK_INT(d.s->ops->audit_insert(d.s, &ae, &d.e), 0);
	CHECK_INT(d.s->ops->user_delete(d.s, "usr_1", &d.e), 0);

	struct user u;
	struct user_session ss;
	const char *user_id = NULL;
	CHECK_INT(d.s->ops->user_get(d.s, d.a, "ptn_1", "usr_1", &u, &d.e), STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->session_find(d.s, d.a, "sh_1", &ss, &d.e), STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->session_find(d.s, d.a, "sh_2", &ss, &d.e), 0);
	CHECK_INT(d.s->ops->user_setup_use(d.s, d.a, "tok_1", 300, &user_id, &d.e),
		  STORE_NOT_FOUND);
	CHECK_INT(db_count(&d, "SELECT count(*) FROM audit_log WHERE user_id = 'usr_1'"), 1);
	/* The email is free again. */
	user_add(&d, "usr_3", "ptn_1", "ann@example.com", 400);
out:
	db_close(&d);
}

/* --- the slots no other test reaches -------------------------------------- */

TEST(key_get_reads_a_key_and_key_touch_records_its_last_use)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_a") || !key_add(&d, "key_1", "ptn_a", "feed"))
		goto out;
	struct api_key k = {0};
	CHECK_INT(d.s->ops->key_get(d.s, d.a, "ptn_a", "key_nope", &k, &d.e), STORE_NOT_FOUND);
	if (!CHECK_INT(d.s->ops->key_get(d.s, d.a, "ptn_a", "key_1", &k, &d.e), 0))
		goto out;
	CHECK_STR(k.partner_id, "ptn_a");
	CHECK_STR(k.name, "CRM");
	CHECK_STR(k.prefix, "ib_live_abcd");
	CHECK_STR(k.hash, "feed");
	CHECK_INT(k.scopes, 5);
	CHECK_INT(k.created_at, 100);
	CHECK_INT(k.last_used_at, 0);
	CHECK_INT(d.s->ops->key_touch(d.s, "key_1", 500, &d.e), 0);
	CHECK_INT(d.s->ops->key_touch(d.s, "key_nope", 500, &d.e), 0);
	CHECK_INT(d.s->ops->key_get(d.s, d.a, "ptn_a", "key_1", &k, &d.e), 0);
	CHECK_INT(k.last_used_at, 500);
out:
	db_close(&d);
}

TEST(operator_token_find_finds_only_a_stored_hash)
{
	struct db d;
	if (!db_open(&d))
		goto out;
	CHECK_INT(d.s->ops->operator_token_find(d.s, "feed", &d.e), STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->operator_token_insert(d.s, "opt_1", "feed", 100, &d.e), 0);
	CHECK_INT(d.s->ops->operator_token_find(d.s, "feed", &d.e), 0);
	CHECK_INT(d.s->ops->operator_token_find(d.s, "beef", &d.e), STORE_NOT_FOUND);
	/* The row holds the hash, never anything else of the token. */
	CHECK_INT(db_count(&d, "SELECT count(*) FROM operator_tokens WHERE hash = 'feed'"), 1);
out:
	db_close(&d);
}

/* Inserts mail_<tag> of the given type for cus_<customer> of partner_id,
 * received at `at`. */
static bool mail_add(struct db *d, const char *partner_id, const char *customer,
		     const char *tag, const char *type, int64_t at)
{
	struct mail m = {
		.id = arena_printf(d->a, "mail_%s", tag),
		.partner_id = partner_id,
		.customer_id = arena_printf(d->a, "cus_%s", customer),
		.mailbox_id = arena_printf(d->a, "mbx_%s", customer),
		.type = type,
		.status = "in_storage",
		.source = "partner",
		.photos = "[]",
		.performed_by = "clerk",
		.sender = "IRS",
		.metadata = "{}",
		.received_at = at,
		.created_at = at,
		.updated_at = at,
	};
	return CHECK_INT(d->s->ops->mail_insert(d->s, &m, &d->e), 0);
}

/* Lists one page of cus_a's mail into ids (space-separated); returns the
 * store's result. */
static int mail_page(struct db *d, const struct mail_filter *f, int limit, const char *after,
		     char *ids, size_t ids_size, bool *more)
{
	struct page pg = {.limit = limit, .starting_after = after};
	struct mail *items = NULL;
	size_t n = 0;
	ids[0] = '\0';
	int rc = d->s->ops->mail_list(d->s, d->a, "cus_a", f, &pg, &items, &n, more, &d->e);
	for (size_t i = 0; rc == 0 && i < n; i++)
		snprintf(ids + strlen(ids), ids_size - strlen(ids), "%s%s", i ? " " : "",
			 items[i].id);
	return rc;
}

TEST(mail_list_is_a_customers_undeleted_mail_newest_first_filtered_and_paged)
{
	struct db d;
	char ids[256];
	bool more = false;
	if (!db_open_customers(&d) || !mail_add(&d, "ptn_a", "a", "1", "letter", 1001) ||
	    !mail_add(&d, "ptn_a", "a", "2", "package", 1002) ||
	    !mail_add(&d, "ptn_a", "a", "3", "letter", 1003) ||
	    !mail_add(&d, "ptn_a", "a", "4", "letter", 1004) ||
	    !mail_add(&d, "ptn_b", "b", "5", "letter", 1005))
		goto out;
	struct mail m;
	if (!CHECK_INT(d.s->ops->mail_get(d.s, d.a, "ptn_a", "mail_4", &m, &d.e), 0))
		goto out;
	m.status = "shredded";
	m.deleted_at = 2000;
	m.updated_at = 2000;
	CHECK_INT(d.s->ops->mail_update(d.s, &m, &d.e), 0);

	struct mail_filter all = {0}, letters = {.type = "letter"};
	CHECK_INT(mail_page(&d, &all, 10, NULL, ids, sizeof(ids), &more), 0);
	CHECK_STR(ids, "mail_3 mail_2 mail_1");
	CHECK(!more);
	CHECK_INT(mail_page(&d, &letters, 1, NULL, ids, sizeof(ids), &more), 0);
	CHECK_STR(ids, "mail_3");
	CHECK(more);
	CHECK_INT(mail_page(&d, &letters, 1, "mail_3", ids, sizeof(ids), &more), 0);
	CHECK_STR(ids, "mail_1");
	CHECK(!more);
	struct mail_filter shredded = {.status = "shredded"};
	CHECK_INT(mail_page(&d, &shredded, 10, NULL, ids, sizeof(ids), &more), 0);
	CHECK_STR(ids, "");
	/* Neither another customer's mail nor a deleted one is a cursor. */
	CHECK_INT(mail_page(&d, &all, 10, "mail_5", ids, sizeof(ids), &more), -1);
	CHECK_INT(d.e.status, 400);
	CHECK_INT(mail_page(&d, &all, 10, "mail_4", ids, sizeof(ids), &more), -1);
	CHECK_INT(d.e.status, 400);
out:
	db_close(&d);
}

TEST(action_update_records_the_outcome_and_action_list_for_mail_lists_oldest_first)
{
	struct db d;
	if (!db_open_customers(&d) || !mail_and_action_add(&d, "ptn_a", "a", "1"))
		goto out;
	struct mail_action fwd = {
		.id = "act_2",
		.partner_id = "ptn_a",
		.mail_id = "mail_1",
		.customer_id = "cus_a",
		.type = "forward",
		.status = "requested",
		.forward_address = "{\"city\":\"Springfield\"}",
		.shipping_speed = "standard",
		.requested_at = 1001,
	};
	if (!CHECK_INT(d.s->ops->action_insert(d.s, &fwd, &d.e), 0))
		goto out;
	struct mail_action act;
	if (!CHECK_INT(d.s->ops->action_get(d.s, d.a, "ptn_a", "act_1", &act, &d.e), 0))
		goto out;
	act.status = "completed";
	act.result = "{\"pages\":2}";
	act.completed_at = 1500;
	CHECK_INT(d.s->ops->action_update(d.s, &act, &d.e), 0);
	fwd.status = "failed";
	fwd.failure_reason = "address_undeliverable";
	fwd.completed_at = 1600;
	CHECK_INT(d.s->ops->action_update(d.s, &fwd, &d.e), 0);

	struct mail_action *items = NULL;
	size_t n = 0;
	if (!CHECK_INT(d.s->ops->action_list_for_mail(d.s, d.a, "mail_1", &items, &n, &d.e),
		       0) ||
	    !CHECK_INT(n, 2))
		goto out;
	CHECK_STR(items[0].id, "act_1");
	CHECK_STR(items[0].status, "completed");
	CHECK_STR(items[0].result, "{\"pages\":2}");
	CHECK_INT(items[0].completed_at, 1500);
	CHECK(items[0].failure_reason == NULL);
	CHECK_STR(items[1].id, "act_2");
	CHECK_STR(items[1].type, "forward");
	CHECK_STR(items[1].status, "failed");
	CHECK_STR(items[1].failure_reason, "address_undeliverable");
	CHECK_STR(items[1].forward_address, "{\"city\":\"Springfield\"}");
	CHECK_STR(items[1].shipping_speed, "standard");
	CHECK(items[1].result == NULL);
	CHECK_INT(d.s->ops->action_list_for_mail(d.s, d.a, "mail_nope", &items, &n, &d.e), 0);
	CHECK_INT(n, 0);
out:
	db_close(&d);
}

TEST(endpoint_get_reads_what_endpoint_update_wrote_and_endpoint_list_pages_both_modes)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_a") || !partner_add(&d, "ptn_b", 100) ||
	    !endpoint_add(&d, "we_1", "ptn_a") || !endpoint_add(&d, "we_2", "ptn_a_test") ||
	    !endpoint_add(&d, "we_3", "ptn_a") || !endpoint_add(&d, "we_4", "ptn_b"))
		goto out;
	struct webhook_endpoint w = {0};
	CHECK_INT(d.s->ops->endpoint_get(d.s, d.a, "ptn_a", "we_nope", &w, &d.e),
		  STORE_NOT_FOUND);
	if (!CHECK_INT(d.s->ops->endpoint_get(d.s, d.a, "ptn_a", "we_1", &w, &d.e), 0))
		goto out;
	CHECK_STR(w.partner_id, "ptn_a");
	CHECK_STR(w.url, "https://example.com/h");
	CHECK_STR(w.secret, "whsec_x");
	CHECK(w.previous_secret == NULL);
	w.url = "https://example.com/new";
	w.enabled_events = "[\"mail.received\"]";
	w.status = "disabled";
	w.previous_secret = "whsec_x";
	w.secret = "whsec_y";
	w.previous_secret_expires_at = 9000;
	w.updated_at = 700;
	CHECK_INT(d.s->ops->endpoint_update(d.s, &w, &d.e), 0);
	w = (struct webhook_endpoint){0};
	if (!CHECK_INT(d.s->ops->endpoint_get(d.s, d.a, "ptn_a", "we_1", &w, &d.e), 0))
		goto out;
	CHECK_STR(w.url, "https://example.com/new");
	CHECK_STR(w.enabled_events, "[\"mail.received\"]");
	CHECK_STR(w.status, "disabled");
	CHECK_STR(w.secret, "whsec_y");
	CHECK_STR(w.previous_secret, "whsec_x");
	CHECK_INT(w.previous_secret_expires_at, 9000);
	CHECK_INT(w.created_at, 100);
	CHECK_INT(w.updated_at, 700);

	struct page pg = {.limit = 10};
	struct webhook_endpoint *items = NULL;
	size_t n = 0;
	bool more = true;
	CHECK_INT(
		d.s->ops->endpoint_list(d.s, d.a, "ptn_a", false, &pg, &items, &n, &more, &d.e),
		0);
	if (CHECK_INT(n, 2)) {
		CHECK_STR(items[0].id, "we_3");
		CHECK_STR(items[1].id, "we_1");
	}
	CHECK(!more);
	pg.limit = 2;
	CHECK_INT(
		d.s->ops->endpoint_list(d.s, d.a, "ptn_a", true, &pg, &items, &n, &more, &d.e),
		0);
	if (CHECK_INT(n, 2)) {
		CHECK_STR(items[0].id, "we_3");
		CHECK_STR(items[1].id, "we_2");
	}
	CHECK(more);
	pg.starting_after = "we_2";
	CHECK_INT(
		d.s->ops->endpoint_list(d.s, d.a, "ptn_a", true, &pg, &items, &n, &more, &d.e),
		0);
	if (CHECK_INT(n, 1))
		CHECK_STR(items[0].id, "we_1");
	CHECK(!more);
	/* Another partner's endpoint is not a cursor. */
	pg.starting_after = "we_4";
	CHECK_INT(
		d.s->ops->endpoint_list(d.s, d.a, "ptn_a", true, &pg, &items, &n, &more, &d.e),
		-1);
	CHECK_INT(d.e.status, 400);
out:
	db_close(&d);
}

TEST(stats_count_the_pending_deliveries_and_their_oldest_due_time)
{
	struct db d;
	struct store_stats st = {0};
	if (!db_open_partner(&d, "ptn_a") ||
	    !CHECK_INT(d.s->ops->tx_begin(d.s, false, &d.e), 0))
		goto out;
	CHECK_INT(d.s->ops->stats(d.s, &st, &d.e), 0);
	d.s->ops->tx_rollback(d.s);
	CHECK(st.database_bytes > 0);
	CHECK_INT(st.webhook_pending, 0);
	CHECK_INT(st.webhook_oldest_due, 0);
	if (!endpoint_add(&d, "we_1", "ptn_a") ||
	    !event_add(&d, 1, "ptn_a", "customer.created") ||
	    !event_add(&d, 2, "ptn_a", "customer.created") ||
	    !db_exec(&d, "UPDATE webhook_jobs SET next_attempt_at = 1234"
			 " WHERE event_id = 'evt_1'") ||
	    !db_exec(&d, "UPDATE webhook_jobs SET next_attempt_at = 5678"
			 " WHERE event_id = 'evt_2'") ||
	    !CHECK_INT(d.s->ops->tx_begin(d.s, false, &d.e), 0))
		goto out;
	CHECK_INT(d.s->ops->stats(d.s, &st, &d.e), 0);
	d.s->ops->tx_rollback(d.s);
	CHECK_INT(st.webhook_pending, 2);
	CHECK_INT(st.webhook_oldest_due, 1234);
out:
	db_close(&d);
}

/* A disabled endpoint's deliveries are paused, not behind: counted, they
 * aged the oldest due one forever and fired the queue alert for a partner
 * who only turned an endpoint off. */
TEST(stats_leave_out_the_deliveries_of_a_disabled_endpoint)
{
	struct db d = {0}; /* closed after a failed open too */
	struct store_stats st = {0};
	if (!db_open_partner(&d, "ptn_a") || !endpoint_add(&d, "we_on", "ptn_a") ||
	    !endpoint_add(&d, "we_off", "ptn_a") ||
	    !event_add(&d, 1, "ptn_a", "customer.created") ||
	    !db_exec(&d, "UPDATE webhook_jobs SET next_attempt_at = 1234"
			 " WHERE endpoint_id = 'we_off'") ||
	    !db_exec(&d, "UPDATE webhook_jobs SET next_attempt_at = 5678"
			 " WHERE endpoint_id = 'we_on'") ||
	    !db_exec(&d, "UPDATE webhook_endpoints SET status = 'disabled'"
			 " WHERE id = 'we_off'") ||
	    !CHECK_INT(d.s->ops->tx_begin(d.s, false, &d.e), 0))
		goto out;
	CHECK_INT(d.s->ops->stats(d.s, &st, &d.e), 0);
	d.s->ops->tx_rollback(d.s);
	CHECK_INT(st.webhook_pending, 1);
	CHECK_INT(st.webhook_oldest_due, 5678);
out:
	db_close(&d);
}

TEST(a_store_opens_writable_and_its_probe_write_and_wal_bound_keep_it_so)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_a"))
		goto out;
	CHECK(d.s->ops->writable(d.s));
	CHECK_INT(d.s->ops->probe_write(d.s, &d.e), 0);
	CHECK_INT(d.s->ops->wal_bound(d.s, &d.e), 0);
	CHECK_INT(d.s->ops->checkpoint(d.s, &d.e), 0);
	CHECK(d.s->ops->writable(d.s));
	CHECK(partner_add(&d, "ptn_b", 101));
out:
	db_close(&d);
}

/* A WAL restart that a reader kept busy is tried again soon after that
 * reader ends, not a second later: under sustained writes a second is tens
 * of megabytes of WAL, and the WAL once passed twice its limit that way. */
TEST(the_wal_restarts_soon_after_a_reader_that_kept_it_from_restarting_ends)
{
	struct db d = {0}; /* closed after a skip too */
	sqlite3 *other = NULL, *reader = NULL;
	if (sqlite_only() || !db_open_partner(&d, "ptn_a"))
		goto out;
	/* Past the limit (64 MiB) through a connection of another program
	 * that never checkpoints; a write of the store's then counts it. */
	if (!CHECK_INT(sqlite3_open(d.path, &other), SQLITE_OK) ||
	    !CHECK_INT(sqlite3_exec(other,
				    "PRAGMA wal_autocheckpoint=0; CREATE TABLE pad(b);"
				    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1"
				    " FROM n WHERE i < 72) INSERT INTO pad"
				    " SELECT randomblob(1048576) FROM n;",
				    NULL, NULL, NULL),
		       SQLITE_OK) ||
	    !partner_add(&d, "ptn_b", 100))
		goto out;
	/* A reader holds a snapshot: the restart is refused, though it
	 * copies every frame back. More frames come meanwhile. */
	if (!CHECK_INT(sqlite3_open(d.path, &reader), SQLITE_OK) ||
	    !CHECK_INT(
		    sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM pad;", NULL, NULL, NULL),
		    SQLITE_OK))
		goto out;
	CHECK_INT(d.s->ops->wal_bound(d.s, &d.e), 1); /* asks for the copy first */
	CHECK_INT(d.s->ops->checkpoint(d.s, &d.e), 0);
	CHECK_INT(d.s->ops->wal_bound(d.s, &d.e), 0);
	CHECK_INT(sqlite3_exec(other, "INSERT INTO pad VALUES (randomblob(1048576))", NULL,
			       NULL, NULL),
		  SQLITE_OK);
	CHECK_INT(sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	/* 50 ms after the reader is gone, the next pass restarts the WAL:
	 * the store's next write starts it from its beginning and cuts the
	 * file back to the limit. */
	nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
	CHECK_INT(d.s->ops->wal_bound(d.s, &d.e), 0);
	CHECK(partner_add(&d, "ptn_c", 100));
	char wal[320];
	struct stat st;
	snprintf(wal, sizeof(wal), "%s-wal", d.path);
	if (CHECK_INT(stat(wal, &st), 0) && !CHECK(st.st_size <= 64 * 1024 * 1024))
		printf("    the WAL is %lld bytes\n", (long long)st.st_size);
out:
	sqlite3_close(reader);
	sqlite3_close(other);
	db_close(&d);
}

/* Adds mib MiB to the WAL through a connection that never checkpoints,
 * then commits through the store, which counts the WAL's frames. */
static bool wal_grow(struct db *d, sqlite3 *other, int mib, const char *partner)
{
	char sql[200];
	snprintf(sql, sizeof(sql),
		 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)"
		 " INSERT INTO pad SELECT randomblob(1048576) FROM n",
		 mib);
	return CHECK_INT(sqlite3_exec(other, sql, NULL, NULL, NULL), SQLITE_OK) &&
	       partner_add(d, partner, 100);
}

static long long wal_size(const struct db *d)
{
	char wal[320];
	struct stat st;
	snprintf(wal, sizeof(wal), "%s-wal", d->path);
	return stat(wal, &st) == 0 ? (long long)st.st_size : -1;
}

/* The WAL's restart copies little with the write lock held: from half the
 * limit (64 MiB) the store asks for checkpoints on another thread, and past
 * the limit restarts only once one has copied all but a quarter of it back,
 * or by itself past half the limit more, so the bound holds when no
 * checkpoint comes. */
TEST(the_wal_restarts_once_a_checkpoint_has_copied_it_back)
{
	struct db d = {0}; /* closed after a skip too */
	sqlite3 *other = NULL;
	if (sqlite_only() || !db_open_partner(&d, "ptn_a"))
		goto out;
	if (!CHECK_INT(sqlite3_open(d.path, &other), SQLITE_OK) ||
	    !CHECK_INT(sqlite3_exec(other, "PRAGMA wal_autocheckpoint=0; CREATE TABLE pad(b);",
				    NULL, NULL, NULL),
		       SQLITE_OK))
		goto out;
	/* Below half the limit: nothing to do. */
	if (!wal_grow(&d, other, 20, "ptn_b"))
		goto out;
	CHECK_INT(d.s->ops->wal_bound(d.s, &d.e), 0);
	/* Past it: asked once, and not again for the next few commits. */
	if (!wal_grow(&d, other, 20, "ptn_c"))
		goto out;
	CHECK_INT(d.s->ops->wal_bound(d.s, &d.e), 1);
	CHECK_INT(d.s->ops->wal_bound(d.s, &d.e), 0);
	/* Near the limit, an eighth of it later: asked again. (A checkpoint
	 * here would copy all of it, and SQLite would restart the WAL at the
	 * next commit by itself: no other connection reads.) */
	if (!wal_grow(&d, other, 18, "ptn_d"))
		goto out;
	CHECK_INT(d.s->ops->wal_bound(d.s, &d.e), 1);
	/* Past the limit with a third of it not copied: no restart. */
	if (!wal_grow(&d, other, 10, "ptn_e"))
		goto out;
	CHECK_INT(d.s->ops->wal_bound(d.s, &d.e), 1);
	long long before = wal_size(&d);
	if (!CHECK(partner_add(&d, "ptn_f", 100)) || !CHECK(wal_size(&d) > before))
		goto out;
	/* A checkpoint copies it back; the next pass restarts it, and the next
	 * commit writes from its beginning (the file cut back to the limit). */
	CHECK_INT(d.s->ops->checkpoint(d.s, &d.e), 0);
	CHECK_INT(d.s->ops->wal_bound(d.s, &d.e), 0);
	CHECK(partner_add(&d, "ptn_g", 100));
	if (!CHECK(wal_size(&d) <= 64ll * 1024 * 1024))
		printf("    the WAL is %lld bytes\n", wal_size(&d));
	/* Past half the limit more with no checkpoint: restarted all the same. */
	if (!wal_grow(&d, other, 100, "ptn_h"))
		goto out;
	CHECK_INT(d.s->ops->wal_bound(d.s, &d.e), 0);
	CHECK(partner_add(&d, "ptn_i", 100));
	if (!CHECK(wal_size(&d) <= 64ll * 1024 * 1024))
		printf("    the WAL is %lld bytes\n", wal_size(&d));
out:
	sqlite3_close(other);
	db_close(&d);
}

/* The calling thread's SQLite connection's mmap_size, or -1. */
static long long thread_mmap_size(struct db *d)
{
	struct conn *c = sq_conn_get(d->s, &d->e);
	sqlite3_stmt *st;
	long long size = -1;
	if (c && sqlite3_prepare_v2(c->db, "PRAGMA mmap_size", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			size = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	return size;
}

static void read_tx(struct db *d)
{
	if (CHECK_INT(d->s->ops->tx_begin(d->s, false, &d->e), 0))
		d->s->ops->tx_rollback(d->s);
}

static void *commit_on_another_connection(void *arg)
{
	partner_add(arg, "ptn_other", 100);
	return NULL;
}

/* SQLite unmaps a connection's whole memory map when another connection
 * has committed, so a connection reads without one after such commits, and
 * maps the database again after 64 read transactions that followed none. */
TEST(a_connection_reads_without_the_memory_map_while_another_commits)
{
	struct db d = {0}; /* closed after a skip too */
	if (sqlite_only() || !db_open_partner(&d, "ptn_a"))
		goto out;
	for (int i = 0; i < 64; i++)
		read_tx(&d);
	CHECK(thread_mmap_size(&d) > 0);
	/* Its own commits leave its pages and its map alone. */
	partner_add(&d, "ptn_b", 100);
	read_tx(&d);
	CHECK(thread_mmap_size(&d) > 0);
	pthread_t other;
	if (!CHECK_INT(pthread_create(&other, NULL, commit_on_another_connection, &d), 0))
		goto out;
	pthread_join(other, NULL);
	read_tx(&d);
	CHECK_INT(thread_mmap_size(&d), 0);
	for (int i = 0; i < 63; i++)
		read_tx(&d);
	CHECK_INT(thread_mmap_size(&d), 0);
	read_tx(&d);
	CHECK(thread_mmap_size(&d) > 0);
out:
	db_close(&d);
}

TEST(backup_writes_a_copy_that_opens_and_refuses_a_path_that_exists)
{
	struct db d;
	if (!db_open_partner(&d, "ptn_a"))
		goto out;
	if (pg_admin()) {
		/* PostgreSQL's copies are pg_dump's: refused, naming it. */
		CHECK_INT(d.s->ops->backup(d.s, "/tmp/innbocks-unit-backup.db", &d.e), -1);
		CHECK_INT(d.e.status, 400);
		CHECK(strstr(d.e.message, "pg_dump") != NULL);
		goto out;
	}
	char copy[300];
	snprintf(copy, sizeof(copy), "%s/copy.db", d.dir);
	if (!CHECK_INT(d.s->ops->backup(d.s, copy, &d.e), 0))
		goto out;
	CHECK_INT(d.s->ops->backup(d.s, copy, &d.e), -1);
	CHECK_INT(d.e.status, 409);
	struct err e = {0};
	struct store *s = store_sqlite_open(copy, &e);
	struct partner p;
	if (CHECK(s != NULL)) {
		CHECK_INT(s->ops->partner_get(s, d.a, "ptn_a", &p, &e), 0);
		s->ops->close(s);
	}
	char p2[320];
	const char *suffixes[] = {"", "-wal", "-shm"};
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(p2, sizeof(p2), "%s%s", copy, suffixes[i]);
		unlink(p2);
	}
out:
	db_close(&d);
}

/* --- reads by id keep to their partner ------------------------------------- */

TEST(key_get_finds_only_its_tenants_keys_and_the_operator_read_any)
{
	struct db d;
	struct api_key k = {0};
	if (!db_open_customers(&d) || !key_add(&d, "key_live", "ptn_a", "feed") ||
	    !key_add(&d, "key_test", "ptn_a_test", "beef"))
		goto out;
	CHECK_INT(d.s->ops->key_get(d.s, d.a, "ptn_a", "key_live", &k, &d.e), 0);
	CHECK_INT(d.s->ops->key_get(d.s, d.a, "ptn_a_test", "key_test", &k, &d.e), 0);
	CHECK_STR(k.partner_id, "ptn_a_test");
	/* The partner's other mode is another tenant. */
	CHECK_INT(d.s->ops->key_get(d.s, d.a, "ptn_a", "key_test", &k, &d.e), STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->key_get(d.s, d.a, "ptn_a_test", "key_live", &k, &d.e),
		  STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->key_get(d.s, d.a, "ptn_b", "key_live", &k, &d.e), STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->key_get(d.s, d.a, "ptn_b", "key_test", &k, &d.e), STORE_NOT_FOUND);
	k = (struct api_key){0};
	CHECK_INT(d.s->ops->key_get_any_partner(d.s, d.a, "key_test", &k, &d.e), 0);
	CHECK_STR(k.hash, "beef");
	CHECK_INT(d.s->ops->key_get_any_partner(d.s, d.a, "key_nope", &k, &d.e),
		  STORE_NOT_FOUND);
out:
	db_close(&d);
}

TEST(endpoint_get_finds_only_its_tenants_endpoints_and_the_operator_read_any)
{
	struct db d;
	struct webhook_endpoint w = {0};
	if (!db_open_customers(&d) || !endpoint_add(&d, "we_1", "ptn_a") ||
	    !endpoint_add(&d, "we_2", "ptn_a_test"))
		goto out;
	CHECK_INT(d.s->ops->endpoint_get(d.s, d.a, "ptn_a_test", "we_2", &w, &d.e), 0);
	CHECK_STR(w.partner_id, "ptn_a_test");
	/* The partner's other mode is another tenant. */
	CHECK_INT(d.s->ops->endpoint_get(d.s, d.a, "ptn_a", "we_2", &w, &d.e), STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->endpoint_get(d.s, d.a, "ptn_a_test", "we_1", &w, &d.e),
		  STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->endpoint_get(d.s, d.a, "ptn_b", "we_1", &w, &d.e), STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->endpoint_get(d.s, d.a, "ptn_b", "we_2", &w, &d.e), STORE_NOT_FOUND);
	/* In a write transaction too (PostgreSQL locks the row it finds). */
	if (CHECK_INT(d.s->ops->tx_begin(d.s, true, &d.e), 0)) {
		CHECK_INT(d.s->ops->endpoint_get(d.s, d.a, "ptn_b", "we_1", &w, &d.e),
			  STORE_NOT_FOUND);
		CHECK_INT(d.s->ops->endpoint_get(d.s, d.a, "ptn_a", "we_1", &w, &d.e), 0);
		d.s->ops->tx_rollback(d.s);
	}
	w = (struct webhook_endpoint){0};
	CHECK_INT(d.s->ops->endpoint_get_any_partner(d.s, d.a, "we_1", &w, &d.e), 0);
	CHECK_STR(w.partner_id, "ptn_a");
	CHECK_INT(d.s->ops->endpoint_get_any_partner(d.s, d.a, "we_nope", &w, &d.e),
		  STORE_NOT_FOUND);
out:
	db_close(&d);
}

TEST(delivery_get_finds_an_attempt_only_through_its_endpoint_and_partner)
{
	struct db d;
	struct webhook_job *jobs;
	if (!db_open_customers(&d) || !endpoint_add(&d, "we_1", "ptn_a") ||
	    !event_add(&d, 1, "ptn_a", "customer.created") ||
	    !endpoint_add(&d, "we_2", "ptn_a") || !endpoint_add(&d, "we_b", "ptn_b") ||
	    !CHECK_INT(claim(&d, "w1", 1, &jobs), 1))
		goto out;
	struct webhook_delivery sent = attempt_failed(&d, 1, jobs[0].endpoint_id);
	CHECK_INT(record_as(&d, "w1", &sent, "failed", false), 0);
	const char *ep = sent.endpoint_id, *other = strcmp(ep, "we_1") == 0 ? "we_2" : "we_1";
	struct webhook_delivery got;
	CHECK_INT(d.s->ops->delivery_get(d.s, d.a, "ptn_a", ep, sent.id, &got, &d.e), 0);
	CHECK_STR(got.event_id, "evt_1");
	CHECK_INT(d.s->ops->delivery_get(d.s, d.a, "ptn_a", other, sent.id, &got, &d.e),
		  STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->delivery_get(d.s, d.a, "ptn_b", ep, sent.id, &got, &d.e),
		  STORE_NOT_FOUND);
	CHECK_INT(d.s->ops->delivery_get(d.s, d.a, "ptn_b", "we_b", sent.id, &got, &d.e),
		  STORE_NOT_FOUND);
out:
	db_close(&d);
}

TEST(user_get_finds_only_its_partners_users_and_sign_ins_read_any)
{
	struct db d;
	struct user u = {0};
	if (!db_open_customers(&d) || !user_add(&d, "usr_a", "ptn_a", "ann@example.com", 200))
		goto out;
	CHECK_INT(d.s->ops->user_get(d.s, d.a, "ptn_a", "usr_a", &u, &d.e), 0);
	CHECK_INT(d.s->ops->user_get(d.s, d.a, "ptn_b", "usr_a", &u, &d.e), STORE_NOT_FOUND);
	/* Users are a partner's, not a tenant's. */
	CHECK_INT(d.s->ops->user_get(d.s, d.a, "ptn_a_test", "usr_a", &u, &d.e),
		  STORE_NOT_FOUND);
	u = (struct user){0};
	CHECK_INT(d.s->ops->user_get_any_partner(d.s, d.a, "usr_a", &u, &d.e), 0);
	CHECK_STR(u.partner_id, "ptn_a");
	CHECK_STR(u.email, "ann@example.com");
	CHECK_INT(d.s->ops->user_get_any_partner(d.s, d.a, "usr_nope", &u, &d.e),
		  STORE_NOT_FOUND);
out:
	db_close(&d);
}

/* Whether another connection finds the row of table with this id locked:
 * SELECT ... FOR UPDATE NOWAIT fails at once with lock_not_available
 * rather than waiting (PostgreSQL only). */
static bool row_locked(struct db *d, const char *table, const char *id)
{
	char sql[160];
	snprintf(sql, sizeof(sql), "SELECT 1 FROM %s WHERE id = '%s' FOR UPDATE NOWAIT", table,
		 id);
	PGconn *pc = PQconnectdb(d->conninfo);
	PGresult *r = PQstatus(pc) == CONNECTION_OK ? PQexec(pc, sql) : NULL;
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	bool locked = state && strcmp(state, "55P03") == 0;
	if (!locked && (!r || PQresultStatus(r) != PGRES_TUPLES_OK))
		printf("    %s: %s", sql, r ? PQresultErrorMessage(r) : PQerrorMessage(pc));
	PQclear(r);
	PQfinish(pc);
	return locked;
}

/* On PostgreSQL a read by id that an update may follow locks its row in a
 * write transaction (FOR NO KEY UPDATE), so a concurrent request waits for the
 * commit and then reads the new state; in a read transaction, and for the
 * reads no update follows, nothing is locked. */
TEST(reads_by_id_lock_their_row_in_a_write_transaction_on_postgres)
{
	if (pg_only("on sqlite: one writer at a time, no row locks"))
		return;
	struct db d;
	struct api_key k;
	struct user u;
	struct webhook_endpoint w;
	struct partner p;
	if (!db_open_partner(&d, "ptn_a") || !key_add(&d, "key_1", "ptn_a", "feed") ||
	    !user_add(&d, "usr_1", "ptn_a", "ann@example.com", 100) ||
	    !endpoint_add(&d, "we_1", "ptn_a"))
		goto out;
	const struct store_ops *ops = d.s->ops;
	struct store *s = d.s;
	/* Each read in a transaction of its own, then whether it left a lock. */
#define READ_IN_TX(write, read, table, id, locks) \
	if (CHECK_INT(ops->tx_begin(s, write, &d.e), 0)) { \
		CHECK_INT(read, 0); \
		if (!CHECK(row_locked(&d, table, id) == locks)) \
			printf("    %s %s locked: expected %d\n", #read, id, locks); \
		ops->tx_rollback(s); \
	}
	READ_IN_TX(true, ops->key_get(s, d.a, "ptn_a", "key_1", &k, &d.e), "api_keys", "key_1",
		   true);
	READ_IN_TX(true, ops->key_get_any_partner(s, d.a, "key_1", &k, &d.e), "api_keys",
		   "key_1", true);
	READ_IN_TX(true, ops->user_get(s, d.a, "ptn_a", "usr_1", &u, &d.e), "users", "usr_1",
		   true);
	READ_IN_TX(true, ops->user_get_any_partner(s, d.a, "usr_1", &u, &d.e), "users", "usr_1",
		   true);
	READ_IN_TX(true, ops->user_find_by_email(s, d.a, "Ann@example.com", &u, &d.e), "users",
		   "usr_1", true);
	READ_IN_TX(true, ops->endpoint_get(s, d.a, "ptn_a", "we_1", &w, &d.e),
		   "webhook_endpoints", "we_1", true);
	READ_IN_TX(true, ops->endpoint_get_any_partner(s, d.a, "we_1", &w, &d.e),
		   "webhook_endpoints", "we_1", true);
	/* A key found by its secret's hash is used, not changed; a partner
	 * is read for its name and location. */
	READ_IN_TX(true, ops->key_find_by_hash(s, d.a, "feed", &k, &d.e), "api_keys", "key_1",
		   false);
	READ_IN_TX(true, ops->partner_get(s, d.a, "ptn_a", &p, &d.e), "partners", "ptn_a",
		   false);
	/* A read transaction locks nothing. */
	READ_IN_TX(false, ops->key_get(s, d.a, "ptn_a", "key_1", &k, &d.e), "api_keys", "key_1",
		   false);
	READ_IN_TX(false, ops->user_get(s, d.a, "ptn_a", "usr_1", &u, &d.e), "users", "usr_1",
		   false);
#undef READ_IN_TX
out:
	db_close(&d);
}

/* A slot a new operation adds to struct store_ops needs its contract test
 * here: every slot named in STORE_SLOTS must be called as ops->name( in
 * this file (run from the repository's root, as make unit does). */
TEST(every_slot_of_struct_store_ops_is_called_by_a_contract_test)
{
	static char text[400000];
	size_t len = 0;
	FILE *f = fopen(__FILE__, "r");
	if (f) {
		len = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
	}
	if (!CHECK(len > 0 && len < sizeof(text) - 1))
		return;
	text[len] = '\0';
	char call[64];
#define SLOT_CALLED(name) \
	snprintf(call, sizeof(call), "ops->%s(", #name); \
	if (!CHECK(strstr(text, call) != NULL)) \
		printf("    no test calls %s\n", call);
	STORE_SLOTS(SLOT_CALLED)
#undef SLOT_CALLED
}
