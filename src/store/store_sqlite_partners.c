/* store_sqlite_partners.c - the SQLite backend: partners, their API keys and operator tokens. */
#include <stdio.h>
#include <string.h>

#include "store_sqlite.h"
#include "banned.h"

/* --- partners --- */

#define PARTNER_COLS "id, name, line1, line2, city, state, postal_code, country, created_at"

static void read_partner(struct arena *a, sqlite3_stmt *st, void *item)
{
	struct partner *p = item;
	p->id = sq_col_text(a, st, 0);
	p->name = sq_col_text(a, st, 1);
	p->location.line1 = sq_col_text(a, st, 2);
	p->location.line2 = sq_col_text(a, st, 3);
	p->location.city = sq_col_text(a, st, 4);
	p->location.state = sq_col_text(a, st, 5);
	p->location.postal_code = sq_col_text(a, st, 6);
	p->location.country = sq_col_text(a, st, 7);
	p->created_at = sq_col_i64(st, 8);
}

/* Inserts one partners row: the partner itself, or its test tenant. */
static int tenant_insert(struct conn *c, const struct partner *p, const char *id, struct err *e)
{
	sqlite3_stmt *st = sq_prep(c,
				   "INSERT INTO partners (" PARTNER_COLS ", livemode) "
				   "VALUES (?,?,?,?,?,?,?,?,?,?)",
				   e);
	if (!st)
		return -1;
	sq_bind_text(st, 1, id);
	sq_bind_text(st, 2, p->name);
	sq_bind_text(st, 3, p->location.line1);
	sq_bind_text(st, 4, p->location.line2);
	sq_bind_text(st, 5, p->location.city);
	sq_bind_text(st, 6, p->location.state);
	sq_bind_text(st, 7, p->location.postal_code);
	sq_bind_text(st, 8, p->location.country);
	sqlite3_bind_int64(st, 9, p->created_at);
	sqlite3_bind_int(st, 10, tenant_livemode(id) ? 1 : 0);
	return sq_step_done(c, st, e);
}

int store_sqlite_partner_insert(struct store *s, const struct partner *p, struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	char test_id[128];
	snprintf(test_id, sizeof(test_id), "%s" TENANT_TEST_SUFFIX, p->id);
	if (tenant_insert(c, p, p->id, e) < 0)
		return -1;
	return tenant_insert(c, p, test_id, e);
}

int store_sqlite_partner_get(struct store *s, struct arena *a, const char *id,
			     struct partner *out, struct err *e)
{
	return sq_get_one_by(s, a, "SELECT " PARTNER_COLS " FROM partners WHERE id = ?",
			     SQ_TEXTS(id), read_partner, out, e);
}

int store_sqlite_partner_list(struct store *s, struct arena *a, const struct page *pg,
			      struct partner **items, size_t *n, bool *has_more, struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	struct query q = {0};
	sq_q_add(&q, "SELECT " PARTNER_COLS " FROM partners WHERE livemode = 1");
	return sq_run_list(c, a, &q, "seq",
			   "SELECT seq FROM partners WHERE id = ? AND livemode = 1", NULL, pg,
			   read_partner, sizeof(**items), (void **)items, n, has_more, e);
}

/* --- keys and operator tokens --- */

#define KEY_COLS \
	"id, partner_id, name, prefix, hash, scopes, created_at, last_used_at, revoked_at"

static void read_key(struct arena *a, sqlite3_stmt *st, void *item)
{
	struct api_key *k = item;
	k->id = sq_col_text(a, st, 0);
	k->partner_id = sq_col_text(a, st, 1);
	k->name = sq_col_text(a, st, 2);
	k->prefix = sq_col_text(a, st, 3);
	k->hash = sq_col_text(a, st, 4);
	k->scopes = (unsigned)sq_col_i64(st, 5);
	k->created_at = sq_col_i64(st, 6);
	k->last_used_at = sq_col_i64(st, 7);
	k->revoked_at = sq_col_i64(st, 8);
}

int store_sqlite_partner_key_insert(struct store *s, const struct api_key *k, struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = sq_prep(c,
				   "INSERT INTO api_keys (" KEY_COLS ") "
				   "VALUES (?,?,?,?,?,?,?,?,?)",
				   e);
	if (!st)
		return -1;
	sq_bind_text(st, 1, k->id);
	sq_bind_text(st, 2, k->partner_id);
	sq_bind_text(st, 3, k->name);
	sq_bind_text(st, 4, k->prefix);
	sq_bind_text(st, 5, k->hash);
	sqlite3_bind_int64(st, 6, k->scopes);
	sqlite3_bind_int64(st, 7, k->created_at);
	sq_bind_time(st, 8, k->last_used_at);
	sq_bind_time(st, 9, k->revoked_at);
	return sq_step_done(c, st, e);
}

int store_sqlite_partner_key_get(struct store *s, struct arena *a, const char *tenant_id,
				 const char *id, struct api_key *out, struct err *e)
{
	if (store_partner_required(tenant_id, "key_get", e) < 0)
		return -1;
	return sq_get_one_by(
		s, a, "SELECT " KEY_COLS " FROM api_keys WHERE id = ?1 AND partner_id = ?2",
		SQ_TEXTS(id, tenant_id), read_key, out, e);
}

int store_sqlite_partner_key_get_any_partner(struct store *s, struct arena *a, const char *id,
					     struct api_key *out, struct err *e)
{
	return sq_get_one_by(s, a, "SELECT " KEY_COLS " FROM api_keys WHERE id = ?",
			     SQ_TEXTS(id), read_key, out, e);
}

int store_sqlite_partner_key_find_by_hash(struct store *s, struct arena *a, const char *hash,
					  struct api_key *out, struct err *e)
{
	return sq_get_one_by(s, a, "SELECT " KEY_COLS " FROM api_keys WHERE hash = ?",
			     SQ_TEXTS(hash), read_key, out, e);
}

int store_sqlite_partner_key_list(struct store *s, struct arena *a, const char *tenant_id,
				  bool both_modes, const struct page *pg,
				  struct api_key **items, size_t *n, bool *has_more,
				  struct err *e)
{
	if (store_partner_required(tenant_id, "key_list", e) < 0)
		return -1;
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	struct query q = {0};
	sq_q_text(&q,
		  both_modes ? "SELECT " KEY_COLS " FROM api_keys WHERE " SQ_BOTH_TENANTS("?1")
			     : "SELECT " KEY_COLS " FROM api_keys WHERE partner_id = ?1",
		  tenant_id);
	return sq_run_list(
		c, a, &q, "seq",
		both_modes ? "SELECT seq FROM api_keys WHERE id = ?1 AND " SQ_BOTH_TENANTS("?2")
			   : "SELECT seq FROM api_keys WHERE id = ?1 AND partner_id = ?2",
		tenant_id, pg, read_key, sizeof(**items), (void **)items, n, has_more, e);
}

static int update_by_id(struct store *s, const char *sql, const char *id, int64_t now,
			struct err *e)
{
	struct conn *c;
	sqlite3_stmt *st = sq_stmt(s, sql, &c, e);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	sq_bind_text(st, 2, id);
	return sq_step_done(c, st, e);
}

int store_sqlite_partner_key_revoke(struct store *s, const char *id, int64_t at, struct err *e)
{
	return update_by_id(s,
			    "UPDATE api_keys SET revoked_at = ?1 "
			    "WHERE id = ?2 AND (revoked_at IS NULL OR revoked_at > ?1)",
			    id, at, e);
}

int store_sqlite_partner_key_touch(struct store *s, const char *id, int64_t now, struct err *e)
{
	return update_by_id(s, "UPDATE api_keys SET last_used_at = ? WHERE id = ?", id, now, e);
}

/* One process owns an SQLite database: its buckets stay in its memory. */
int store_sqlite_partner_rate_spend(struct store *s, const char *key_id, double rate,
				    double burst, double cost, double *tokens, bool *allowed,
				    struct err *e)
{
	(void)s, (void)key_id, (void)rate, (void)burst, (void)cost, (void)tokens, (void)allowed;
	return error(e, 500, "internal_error", NULL,
		     "rate limits are kept in memory on SQLite, not in the database");
}

int store_sqlite_partner_operator_token_insert(struct store *s, const char *id,
					       const char *hash, int64_t now, struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = sq_prep(c,
				   "INSERT INTO operator_tokens (id, hash, created_at) "
				   "VALUES (?,?,?)",
				   e);
	if (!st)
		return -1;
	sq_bind_text(st, 1, id);
	sq_bind_text(st, 2, hash);
	sqlite3_bind_int64(st, 3, now);
	return sq_step_done(c, st, e);
}

int store_sqlite_partner_operator_token_find(struct store *s, const char *hash, struct err *e)
{
	struct conn *c;
	sqlite3_stmt *st = sq_stmt(s, "SELECT 1 FROM operator_tokens WHERE hash = ?", &c, e);
	if (!st)
		return -1;
	sq_bind_text(st, 1, hash);
	int rc = sqlite3_step(st);
	sq_done(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? STORE_NOT_FOUND : sq_db_error(c, rc, e);
}
