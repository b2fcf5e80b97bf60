/* store_pg_users.c - the PostgreSQL backend: dashboard users, their setup
 * links and sessions, and the audit log (store_sqlite_users.c on SQLite).
 * Emails compare case-insensitively through lower(email), which the unique
 * index users_email covers (sql/postgres/0002_dashboard.sql). */
#include "store_pg.h"
#include "banned.h"

#define USER_COLS "id, partner_id, email, role, password_hash, created_at, password_changed_at"

static void read_user_at(struct arena *a, const PGresult *r, int row, int col, struct user *u)
{
	u->id = pgs_col_text(a, r, row, col);
	u->partner_id = pgs_col_text(a, r, row, col + 1);
	u->email = pgs_col_text(a, r, row, col + 2);
	u->role = pgs_col_text(a, r, row, col + 3);
	u->password_hash = pgs_col_text(a, r, row, col + 4);
	u->created_at = pgs_col_i64(r, row, col + 5);
	u->password_changed_at = pgs_col_i64(r, row, col + 6);
}

static void read_user(struct arena *a, const PGresult *r, int row, void *item)
{
	read_user_at(a, r, row, 0, item);
}

int store_pg_user_insert(struct store *s, const struct user *u, struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_params q = {0};
	pgs_text(&q, u->id);
	pgs_text(&q, u->partner_id);
	pgs_text(&q, u->email);
	pgs_text(&q, u->role);
	pgs_text(&q, u->password_hash);
	pgs_num(&q, u->created_at);
	pgs_time(&q, u->password_changed_at);
	return pgs_run(c,
		       "INSERT INTO users (" USER_COLS ")"
		       " VALUES ($1, $2, $3, $4, $5, $6, $7)",
		       &q, e);
}

int store_pg_user_get(struct store *s, struct arena *a, const char *partner_id, const char *id,
		      struct user *out, struct err *e)
{
	if (store_partner_required(partner_id, "user_get", e) < 0)
		return -1;
	return pgs_get_one_by(s, a, PGS_LOCK_IN_WRITE,
			      "SELECT " USER_COLS
			      " FROM users WHERE id = $1 AND partner_id = $2",
			      PGS_TEXTS(id, partner_id), read_user, out, e);
}

int store_pg_user_get_any_partner(struct store *s, struct arena *a, const char *id,
				  struct user *out, struct err *e)
{
	return pgs_get_one_by(s, a, PGS_LOCK_IN_WRITE,
			      "SELECT " USER_COLS " FROM users WHERE id = $1", PGS_TEXTS(id),
			      read_user, out, e);
}

int store_pg_user_find_by_email(struct store *s, struct arena *a, const char *email,
				struct user *out, struct err *e)
{
	return pgs_get_one_by(s, a, PGS_LOCK_IN_WRITE,
			      "SELECT " USER_COLS
			      " FROM users WHERE lower(email) = lower($1 COLLATE \"C\")",
			      PGS_TEXTS(email), read_user, out, e);
}

int store_pg_user_list(struct store *s, struct arena *a, const char *partner_id,
		       const struct page *pg, struct user **items, size_t *n, bool *has_more,
		       struct err *e)
{
	if (store_partner_required(partner_id, "user_list", e) < 0)
		return -1;
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_query q = {0};
	pgs_q_text(&q, "SELECT " USER_COLS " FROM users WHERE partner_id = ?", partner_id);
	return pgs_run_list(
		c, a, &q, "seq", "SELECT seq FROM users WHERE id = $1 AND partner_id = $2",
		partner_id, pg, read_user, sizeof(**items), (void **)items, n, has_more, e);
}

/* Runs sql with the two text parameters $1 and $2 (v2 may be NULL: none). */
static int run_texts(struct store *s, const char *sql, const char *v1, const char *v2,
		     struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_params q = {0};
	pgs_text(&q, v1);
	if (v2)
		pgs_text(&q, v2);
	return pgs_run(c, sql, &q, e);
}

int store_pg_user_role_set(struct store *s, const char *id, const char *role, struct err *e)
{
	return run_texts(s, "UPDATE users SET role = $2 WHERE id = $1", id, role, e);
}

int store_pg_user_delete(struct store *s, const char *id, struct err *e)
{
	static const char *const sql[] = {
		"DELETE FROM sessions WHERE user_id = $1",
		"DELETE FROM user_setup_tokens WHERE user_id = $1",
		"DELETE FROM users WHERE id = $1",
	};
	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++)
		if (run_texts(s, sql[i], id, NULL, e) < 0)
			return -1;
	return 0;
}

int store_pg_user_password_set(struct store *s, const char *id, const char *hash, int64_t now,
			       struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_params q = {0};
	pgs_text(&q, hash);
	pgs_num(&q, now);
	pgs_text(&q, id);
	if (pgs_run(c,
		    "UPDATE users SET password_hash = $1, password_changed_at = $2"
		    " WHERE id = $3",
		    &q, e) < 0)
		return -1;
	if (run_texts(s, "DELETE FROM sessions WHERE user_id = $1", id, NULL, e) < 0)
		return -1;
	return run_texts(s,
			 "DELETE FROM user_setup_tokens WHERE user_id = $1 AND used_at IS NULL",
			 id, NULL, e);
}

int store_pg_user_setup_insert(struct store *s, const char *hash, const char *user_id,
			       int64_t now, int64_t expires_at, struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	if (run_texts(s, "DELETE FROM user_setup_tokens WHERE user_id = $1 AND used_at IS NULL",
		      user_id, NULL, e) < 0)
		return -1;
	struct pgs_params q = {0};
	pgs_text(&q, hash);
	pgs_text(&q, user_id);
	pgs_num(&q, now);
	pgs_num(&q, expires_at);
	return pgs_run(c,
		       "INSERT INTO user_setup_tokens (hash, user_id, created_at, expires_at)"
		       " VALUES ($1, $2, $3, $4)",
		       &q, e);
}

int store_pg_user_setup_void_partner(struct store *s, const char *partner_id, struct err *e)
{
	if (store_partner_required(partner_id, "user_setup_void_partner", e) < 0)
		return -1;
	return run_texts(s,
			 "DELETE FROM user_setup_tokens WHERE used_at IS NULL"
			 " AND user_id IN (SELECT id FROM users WHERE partner_id = $1)",
			 partner_id, NULL, e);
}

static void read_text0(struct arena *a, const PGresult *r, int row, void *item)
{
	*(const char **)item = pgs_col_text(a, r, row, 0);
}

/* Runs sql ($1 now, $2 the token's hash), which answers the user id of a
 * link not used yet and not expired. */
static int setup_link_user(struct store *s, struct arena *a, const char *sql, const char *hash,
			   int64_t now, const char **user_id, struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_params q = {0};
	pgs_num(&q, now);
	pgs_text(&q, hash);
	return pgs_get_one(c, a, sql, &q, read_text0, user_id, e);
}

/* One UPDATE both checks and uses the token: of two concurrent uses, the
 * second waits for the first's row lock, then finds used_at set. */
int store_pg_user_setup_use(struct store *s, struct arena *a, const char *hash, int64_t now,
			    const char **user_id, struct err *e)
{
	return setup_link_user(s, a,
			       "UPDATE user_setup_tokens SET used_at = $1"
			       " WHERE hash = $2 AND used_at IS NULL AND expires_at > $1"
			       " RETURNING user_id",
			       hash, now, user_id, e);
}

int store_pg_user_setup_find(struct store *s, struct arena *a, const char *hash, int64_t now,
			     const char **user_id, struct err *e)
{
	return setup_link_user(s, a,
			       "SELECT user_id FROM user_setup_tokens"
			       " WHERE hash = $2 AND used_at IS NULL AND expires_at > $1",
			       hash, now, user_id, e);
}

int store_pg_user_session_insert(struct store *s, const struct user_session *ss, struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_params q = {0};
	pgs_text(&q, ss->hash);
	pgs_text(&q, ss->user.id);
	pgs_text(&q, ss->csrf_token);
	pgs_num(&q, ss->created_at);
	pgs_num(&q, ss->last_seen_at);
	return pgs_run(c,
		       "INSERT INTO sessions (hash, user_id, csrf_token, created_at,"
		       " last_seen_at) VALUES ($1, $2, $3, $4, $5)",
		       &q, e);
}

static void read_session(struct arena *a, const PGresult *r, int row, void *item)
{
	struct user_session *ss = item;
	ss->hash = pgs_col_text(a, r, row, 0);
	ss->csrf_token = pgs_col_text(a, r, row, 1);
	ss->created_at = pgs_col_i64(r, row, 2);
	ss->last_seen_at = pgs_col_i64(r, row, 3);
	read_user_at(a, r, row, 4, &ss->user);
}

int store_pg_user_session_find(struct store *s, struct arena *a, const char *hash,
			       struct user_session *out, struct err *e)
{
	return pgs_get_one_by(s, a, PGS_NO_LOCK,
			      "SELECT s.hash, s.csrf_token, s.created_at, s.last_seen_at,"
			      " u.id, u.partner_id, u.email, u.role, u.password_hash,"
			      " u.created_at, u.password_changed_at"
			      " FROM sessions s JOIN users u ON u.id = s.user_id"
			      " WHERE s.hash = $1",
			      PGS_TEXTS(hash), read_session, out, e);
}

int store_pg_user_session_touch(struct store *s, const char *hash, int64_t now, struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_params q = {0};
	pgs_text(&q, hash);
	pgs_num(&q, now);
	return pgs_run(c, "UPDATE sessions SET last_seen_at = $2 WHERE hash = $1", &q, e);
}

int store_pg_user_session_delete(struct store *s, const char *hash, struct err *e)
{
	return run_texts(s, "DELETE FROM sessions WHERE hash = $1", hash, NULL, e);
}

int store_pg_user_audit_insert(struct store *s, const struct audit_entry *ae, struct err *e)
{
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_params q = {0};
	pgs_text(&q, ae->id);
	pgs_text(&q, ae->partner_id);
	pgs_text(&q, ae->user_id);
	pgs_text(&q, ae->actor);
	pgs_text(&q, ae->action);
	pgs_text(&q, ae->target);
	pgs_text(&q, ae->mode);
	pgs_text(&q, ae->client_addr);
	pgs_num(&q, ae->created_at);
	return pgs_run(c,
		       "INSERT INTO audit_log (id, partner_id, user_id, actor, action,"
		       " target, mode, client_addr, created_at)"
		       " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
		       &q, e);
}

#define AUDIT_COLS \
	"id, partner_id, user_id, actor, action, target, mode, client_addr, created_at"

static void read_audit(struct arena *a, const PGresult *r, int row, void *item)
{
	struct audit_entry *ae = item;
	ae->id = pgs_col_text(a, r, row, 0);
	ae->partner_id = pgs_col_text(a, r, row, 1);
	ae->user_id = pgs_col_text(a, r, row, 2);
	ae->actor = pgs_col_text(a, r, row, 3);
	ae->action = pgs_col_text(a, r, row, 4);
	ae->target = pgs_col_text(a, r, row, 5);
	ae->mode = pgs_col_text(a, r, row, 6);
	ae->client_addr = pgs_col_text(a, r, row, 7);
	ae->created_at = pgs_col_i64(r, row, 8);
}

int store_pg_user_audit_list(struct store *s, struct arena *a, const char *partner_id,
			     const struct page *pg, struct audit_entry **items, size_t *n,
			     bool *has_more, struct err *e)
{
	if (store_partner_required(partner_id, "audit_list", e) < 0)
		return -1;
	struct pg_conn *c = pgs_conn_get(s, e);
	if (!c)
		return -1;
	struct pgs_query q = {0};
	pgs_q_text(&q, "SELECT " AUDIT_COLS " FROM audit_log WHERE partner_id = ?", partner_id);
	return pgs_run_list(
		c, a, &q, "seq", "SELECT seq FROM audit_log WHERE id = $1 AND partner_id = $2",
		partner_id, pg, read_audit, sizeof(**items), (void **)items, n, has_more, e);
}
