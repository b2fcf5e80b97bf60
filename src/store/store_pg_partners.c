/* store_pg_partners.c - the PostgreSQL backend: partners, their API keys and
 * operator tokens, and the API keys' rate-limit buckets every instance
 * shares. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_pg.h"
#include "banned.h"

/* --- partners --- */

#define PARTNER_COLS "id, name, line1, line2, city, state, postal_code, country, created_at"

static void read_partner(struct arena *a, const PGresult *r, int row, void *item)
{
	struct partner *p = item;
	p->id = pgs_col_text(a, r, row, 0);
	p->name = pgs_col_text(a, r, row, 1);
	p->location.line1 = pgs_col_text(a, r, row, 2);
	p->location.line2 = pgs_col_text(a, r, row, 3);
	p->location.city = pgs_col_text(a, r, row, 4);
	p->location.state = pgs_col_text(a, r, row, 5);
	p->location.postal_code = pgs_col_text(a, r, row, 6);
	p->location.country = pgs_col_text(a, r, row, 7);
	p->created_at = pgs_col_i64(r, row, 8);
}

/* Inserts one partners row: the partner itself, or its test tenant. */
static int tenant_insert(struct pg_conn *c, const struct partner *p, const char *id,
			 struct err *e)
{
	struct pgs_params q = {0};
	pgs_text(&q, id);
	pgs_text(&q, p->name);
	pgs_text(&q, p->location.line1);
	pgs_text(&q, p->location.line2);
	pgs_text(&q, p->location.city);
	pgs_text(&q, p->location.state);
	pgs_text(&q, p->location.postal_code);
	pgs_text(&q, p->location.country);
	pgs_num(&q, p->created_at);
	pgs_num(&q, tenant_livemode(id) ? 1 : 0);
	return pgs_run(c,
		       "INSERT INTO partners (" PARTNER_COLS ", livemode)"
		       " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
		       &q, e);
}

int store_pg_partner_insert(struct store *s, const struct partner *p, struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	char test_id[128];
	snprintf(test_id, sizeof(test_id), "%s" TENANT_TEST_SUFFIX, p->id);
	if (tenant_insert(c, p, p->id, e) < 0)
		return -1;
	return tenant_insert(c, p, test_id, e);
}

int store_pg_partner_get(struct store *s, struct arena *a, const char *id, struct partner *out,
			 struct err *e)
{
	return pgs_get_one_by(s, a, PGS_NO_LOCK,
			      "SELECT " PARTNER_COLS " FROM partners WHERE id = $1",
			      PGS_TEXTS(id), read_partner, out, e);
}

int store_pg_partner_list(struct store *s, struct arena *a, const struct page *pg,
			  struct partner **items, size_t *n, bool *has_more, struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_query q = {0};
	pgs_q_add(&q, "SELECT " PARTNER_COLS " FROM partners WHERE livemode = 1");
	return pgs_run_list(c, a, &q, "seq",
			    "SELECT seq FROM partners WHERE id = $1 AND livemode = 1", NULL, pg,
			    read_partner, sizeof(**items), (void **)items, n, has_more, e);
}

/* --- keys and operator tokens --- */

#define KEY_COLS \
	"id, partner_id, name, prefix, hash, scopes, created_at, last_used_at, revoked_at"

static void read_key(struct arena *a, const PGresult *r, int row, void *item)
{
	struct api_key *k = item;
	k->id = pgs_col_text(a, r, row, 0);
	k->partner_id = pgs_col_text(a, r, row, 1);
	k->name = pgs_col_text(a, r, row, 2);
	k->prefix = pgs_col_text(a, r, row, 3);
	k->hash = pgs_col_text(a, r, row, 4);
	k->scopes = (unsigned)pgs_col_i64(r, row, 5);
	k->created_at = pgs_col_i64(r, row, 6);
	k->last_used_at = pgs_col_i64(r, row, 7);
	k->revoked_at = pgs_col_i64(r, row, 8);
}

int store_pg_partner_key_insert(struct store *s, const struct api_key *k, struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_params q = {0};
	pgs_text(&q, k->id);
	pgs_text(&q, k->partner_id);
	pgs_text(&q, k->name);
	pgs_text(&q, k->prefix);
	pgs_text(&q, k->hash);
	pgs_num(&q, k->scopes);
	pgs_num(&q, k->created_at);
	pgs_time(&q, k->last_used_at);
	pgs_time(&q, k->revoked_at);
	return pgs_run(c,
		       "INSERT INTO api_keys (" KEY_COLS ")"
		       " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
		       &q, e);
}

int store_pg_partner_key_get(struct store *s, struct arena *a, const char *tenant_id,
			     const char *id, struct api_key *out, struct err *e)
{
	if (store_partner_required(tenant_id, "key_get", e) < 0)
		return -1;
	return pgs_get_one_by(s, a, PGS_LOCK_IN_WRITE,
			      "SELECT " KEY_COLS
			      " FROM api_keys WHERE id = $1 AND partner_id = $2",
			      PGS_TEXTS(id, tenant_id), read_key, out, e);
}

int store_pg_partner_key_get_any_partner(struct store *s, struct arena *a, const char *id,
					 struct api_key *out, struct err *e)
{
	return pgs_get_one_by(s, a, PGS_LOCK_IN_WRITE,
			      "SELECT " KEY_COLS " FROM api_keys WHERE id = $1", PGS_TEXTS(id),
			      read_key, out, e);
}

int store_pg_partner_key_find_by_hash(struct store *s, struct arena *a, const char *hash,
				      struct api_key *out, struct err *e)
{
	return pgs_get_one_by(s, a, PGS_NO_LOCK,
			      "SELECT " KEY_COLS " FROM api_keys WHERE hash = $1",
			      PGS_TEXTS(hash), read_key, out, e);
}

int store_pg_partner_key_list(struct store *s, struct arena *a, const char *tenant_id,
			      bool both_modes, const struct page *pg, struct api_key **items,
			      size_t *n, bool *has_more, struct err *e)
{
	if (store_partner_required(tenant_id, "key_list", e) < 0)
		return -1;
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_query q = {0};
	pgs_q_text(&q,
		   both_modes ? "SELECT " KEY_COLS
				" FROM api_keys WHERE " PGS_BOTH_TENANTS("$1")
			      : "SELECT " KEY_COLS " FROM api_keys WHERE partner_id = $1",
		   tenant_id);
	return pgs_run_list(
		c, a, &q, "seq",
		both_modes
			? "SELECT seq FROM api_keys WHERE id = $1 AND " PGS_BOTH_TENANTS("$2")
			: "SELECT seq FROM api_keys WHERE id = $1 AND partner_id = $2",
		tenant_id, pg, read_key, sizeof(**items), (void **)items, n, has_more, e);
}

static int update_by_id(struct store *s, const char *sql, const char *id, int64_t now,
			struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_params q = {0};
	pgs_num(&q, now);
	pgs_text(&q, id);
	return pgs_run(c, sql, &q, e);
}

int store_pg_partner_key_revoke(struct store *s, const char *id, int64_t now, struct err *e)
{
	return update_by_id(s,
			    "UPDATE api_keys SET revoked_at = $1"
			    " WHERE id = $2 AND (revoked_at IS NULL OR revoked_at > $1)",
			    id, now, e);
}

int store_pg_partner_key_touch(struct store *s, const char *id, int64_t now, struct err *e)
{
	return update_by_id(s, "UPDATE api_keys SET last_used_at = $1 WHERE id = $2", id, now,
			    e);
}

/* The bucket's tokens after refilling at $2 a second up to $3, from the
 * row's last update to now (the inserted row's updated_at); a clock that
 * stepped back refills nothing. */
#define REFILLED \
	"least($3::float8, b.tokens + greatest(excluded.updated_at - b.updated_at, 0) * $2::float8)"

int store_pg_partner_rate_spend(struct store *s, const char *key_id, double rate, double burst,
				double cost, double *tokens, bool *allowed, struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	char rate_s[32], burst_s[32], cost_s[32];
	snprintf(rate_s, sizeof(rate_s), "%.17g", rate);
	snprintf(burst_s, sizeof(burst_s), "%.17g", burst);
	snprintf(cost_s, sizeof(cost_s), "%.17g", cost);
	struct pgs_params q = {0};
	pgs_text(&q, key_id);
	pgs_text(&q, rate_s);
	pgs_text(&q, burst_s);
	pgs_text(&q, cost_s);
	/* One statement, so concurrent requests on any instance queue on the
	 * row's lock and each sees the others' spending; the database's clock,
	 * so instances whose clocks differ agree. A cost below 0 (a token given
	 * back) is always allowed, and never fills past the burst. The row's
	 * lock is waited for PGS_LOCK_BRIEF at most: set_config(..., true)
	 * lasts as long as the statement's own transaction, and runs before
	 * the row is locked. Peers hold it for a moment; a session that holds
	 * it longer (an operator's psql left in a transaction) would otherwise
	 * keep an HTTP thread for the whole lock timeout per request. */
	PGresult *r = pgs_exec(
		c,
		"INSERT INTO rate_buckets AS b (key_id, tokens, allowed, updated_at)"
		" SELECT $1, least($3::float8, $3::float8 - $4::float8), true,"
		" extract(epoch FROM clock_timestamp())"
		" FROM (SELECT set_config('lock_timeout', '" PGS_LOCK_BRIEF "', true)) brief"
		" ON CONFLICT (key_id) DO UPDATE SET allowed = " REFILLED " >= $4::float8,"
		" tokens = least($3::float8, " REFILLED " - CASE WHEN " REFILLED
		" >= $4::float8 THEN $4::float8 ELSE 0 END),"
		" updated_at = greatest(b.updated_at, excluded.updated_at)"
		" RETURNING tokens, allowed",
		&q, e);
	if (!r)
		return -1;
	*tokens = strtod(PQgetvalue(r, 0, 0), NULL);
	*allowed = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
	PQclear(r);
	return 0;
}

int store_pg_partner_operator_token_insert(struct store *s, const char *id, const char *hash,
					   int64_t now, struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_params q = {0};
	pgs_text(&q, id);
	pgs_text(&q, hash);
	pgs_num(&q, now);
	return pgs_run(c,
		       "INSERT INTO operator_tokens (id, hash, created_at)"
		       " VALUES ($1, $2, $3)",
		       &q, e);
}

int store_pg_partner_operator_token_find(struct store *s, const char *hash, struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_params q = {0};
	pgs_text(&q, hash);
	return pgs_exists(c, "SELECT 1 FROM operator_tokens WHERE hash = $1", &q, e);
}
