/* store_sqlite_users.c - the SQLite backend: dashboard users, their setup
 * links and sessions, and the audit log. */
#include "store_sqlite.h"
#include "banned.h"

#define USER_COLS "id, partner_id, email, role, password_hash, created_at, password_changed_at"

static void read_user_at(struct arena *a, sqlite3_stmt *st, int i, struct user *u)
{
	u->id = sq_col_text(a, st, i);
	u->partner_id = sq_col_text(a, st, i + 1);
	u->email = sq_col_text(a, st, i + 2);
	u->role = sq_col_text(a, st, i + 3);
	u->password_hash = sq_col_text(a, st, i + 4);
	u->created_at = sq_col_i64(st, i + 5);
	u->password_changed_at = sq_col_i64(st, i + 6);
}

static void read_user(struct arena *a, sqlite3_stmt *st, void *item)
{
	read_user_at(a, st, 0, item);
}

int store_sqlite_user_insert(struct store *s, const struct user *u, struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = sq_prep(
		c, "INSERT INTO users (" USER_COLS ") VALUES (?,?,?,?,?,?,?)", e);
	if (!st)
		return -1;
	sq_bind_text(st, 1, u->id);
	sq_bind_text(st, 2, u->partner_id);
	sq_bind_text(st, 3, u->email);
	sq_bind_text(st, 4, u->role);
	sq_bind_text(st, 5, u->password_hash);
	sqlite3_bind_int64(st, 6, u->created_at);
	sq_bind_time(st, 7, u->password_changed_at);
	return sq_step_done(c, st, e);
}

int store_sqlite_user_get(struct store *s, struct arena *a, const char *partner_id,
			  const char *id, struct user *out, struct err *e)
{
	if (store_partner_required(partner_id, "user_get", e) < 0)
		return -1;
	return sq_get_one_by(
		s, a, "SELECT " USER_COLS " FROM users WHERE id = ?1 AND partner_id = ?2",
		SQ_TEXTS(id, partner_id), read_user, out, e);
}

int store_sqlite_user_get_any_partner(struct store *s, struct arena *a, const char *id,
				      struct user *out, struct err *e)
{
	return sq_get_one_by(s, a, "SELECT " USER_COLS " FROM users WHERE id = ?", SQ_TEXTS(id),
			     read_user, out, e);
}

int store_sqlite_user_find_by_email(struct store *s, struct arena *a, const char *email,
				    struct user *out, struct err *e)
{
	return sq_get_one_by(s, a, "SELECT " USER_COLS " FROM users WHERE email = ?",
			     SQ_TEXTS(email), read_user, out, e);
}

int store_sqlite_user_list(struct store *s, struct arena *a, const char *partner_id,
			   const struct page *pg, struct user **items, size_t *n,
			   bool *has_more, struct err *e)
{
	if (store_partner_required(partner_id, "user_list", e) < 0)
		return -1;
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	struct query q = {0};
	sq_q_text(&q, "SELECT " USER_COLS " FROM users WHERE partner_id = ?1", partner_id);
	return sq_run_list(
		c, a, &q, "seq", "SELECT seq FROM users WHERE id = ?1 AND partner_id = ?2",
		partner_id, pg, read_user, sizeof(**items), (void **)items, n, has_more, e);
}

int store_sqlite_user_role_set(struct store *s, const char *id, const char *role, struct err *e)
{
	struct conn *c;
	sqlite3_stmt *st = sq_stmt(s, "UPDATE users SET role = ? WHERE id = ?", &c, e);
	if (!st)
		return -1;
	sq_bind_text(st, 1, role);
	sq_bind_text(st, 2, id);
	return sq_step_done(c, st, e);
}

int store_sqlite_user_delete(struct store *s, const char *id, struct err *e)
{
	static const char *const sql[] = {
		"DELETE FROM sessions WHERE user_id = ?",
		"DELETE FROM user_setup_tokens WHERE user_id = ?",
		"DELETE FROM users WHERE id = ?",
	};
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		sqlite3_stmt *st = sq_prep(c, sql[i], e);
		if (!st)
			return -1;
		sq_bind_text(st, 1, id);
		if (sq_step_done(c, st, e) < 0)
			return -1;
	}
	return 0;
}

int store_sqlite_user_password_set(struct store *s, const char *id, const char *hash,
				   int64_t now, struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = sq_prep(c,
				   "UPDATE users SET password_hash = ?, "
				   "password_changed_at = ? WHERE id = ?",
				   e);
	if (!st)
		return -1;
	sq_bind_text(st, 1, hash);
	sqlite3_bind_int64(st, 2, now);
	sq_bind_text(st, 3, id);
	if (sq_step_done(c, st, e) < 0)
		return -1;
	static const char *const ended[] = {
		"DELETE FROM sessions WHERE user_id = ?",
		"DELETE FROM user_setup_tokens WHERE user_id = ? AND used_at IS NULL",
	};
	for (size_t i = 0; i < sizeof(ended) / sizeof(ended[0]); i++) {
		st = sq_prep(c, ended[i], e);
		if (!st)
			return -1;
		sq_bind_text(st, 1, id);
		if (sq_step_done(c, st, e) < 0)
			return -1;
	}
	return 0;
}

int store_sqlite_user_setup_insert(struct store *s, const char *hash, const char *user_id,
				   int64_t now, int64_t expires_at, struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = sq_prep(
		c, "DELETE FROM user_setup_tokens WHERE user_id = ? AND used_at IS NULL", e);
	if (!st)
		return -1;
	sq_bind_text(st, 1, user_id);
	if (sq_step_done(c, st, e) < 0)
		return -1;
	st = sq_prep(c,
		     "INSERT INTO user_setup_tokens "
		     "(hash, user_id, created_at, expires_at) VALUES (?,?,?,?)",
		     e);
	if (!st)
		return -1;
	sq_bind_text(st, 1, hash);
	sq_bind_text(st, 2, user_id);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, expires_at);
	return sq_step_done(c, st, e);
}

int store_sqlite_user_setup_void_partner(struct store *s, const char *partner_id, struct err *e)
{
	if (store_partner_required(partner_id, "user_setup_void_partner", e) < 0)
		return -1;
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = sq_prep(
		c,
		"DELETE FROM user_setup_tokens WHERE used_at IS NULL"
		" AND user_id IN (SELECT id FROM users WHERE partner_id = ?)",
		e);
	if (!st)
		return -1;
	sq_bind_text(st, 1, partner_id);
	return sq_step_done(c, st, e);
}

static void read_text0(struct arena *a, sqlite3_stmt *st, void *item)
{
	*(const char **)item = sq_col_text(a, st, 0);
}

/* Runs sql (?1 now, ?2 the token's hash), which answers the user id of a
 * link not used yet and not expired. */
static int setup_link_user(struct store *s, struct arena *a, const char *sql, const char *hash,
			   int64_t now, const char **user_id, struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = sq_prep(c, sql, e);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	sq_bind_text(st, 2, hash);
	return sq_get_one(c, a, st, read_text0, user_id, e);
}

int store_sqlite_user_setup_use(struct store *s, struct arena *a, const char *hash, int64_t now,
				const char **user_id, struct err *e)
{
	return setup_link_user(s, a,
			       "UPDATE user_setup_tokens SET used_at = ?1 "
			       "WHERE hash = ?2 AND used_at IS NULL AND expires_at > ?1 "
			       "RETURNING user_id",
			       hash, now, user_id, e);
}

int store_sqlite_user_setup_find(struct store *s, struct arena *a, const char *hash,
				 int64_t now, const char **user_id, struct err *e)
{
	return setup_link_user(s, a,
			       "SELECT user_id FROM user_setup_tokens "
			       "WHERE hash = ?2 AND used_at IS NULL AND expires_at > ?1",
			       hash, now, user_id, e);
}

int store_sqlite_user_session_insert(struct store *s, const struct user_session *ss,
				     struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = sq_prep(c,
				   "INSERT INTO sessions (hash, user_id, csrf_token, "
				   "created_at, last_seen_at) VALUES (?,?,?,?,?)",
				   e);
	if (!st)
		return -1;
	sq_bind_text(st, 1, ss->hash);
	sq_bind_text(st, 2, ss->user.id);
	sq_bind_text(st, 3, ss->csrf_token);
	sqlite3_bind_int64(st, 4, ss->created_at);
	sqlite3_bind_int64(st, 5, ss->last_seen_at);
	return sq_step_done(c, st, e);
}

static void read_session(struct arena *a, sqlite3_stmt *st, void *item)
{
	struct user_session *ss = item;
	ss->hash = sq_col_text(a, st, 0);
	ss->csrf_token = sq_col_text(a, st, 1);
	ss->created_at = sq_col_i64(st, 2);
	ss->last_seen_at = sq_col_i64(st, 3);
	read_user_at(a, st, 4, &ss->user);
}

int store_sqlite_user_session_find(struct store *s, struct arena *a, const char *hash,
				   struct user_session *out, struct err *e)
{
	return sq_get_one_by(s, a,
			     "SELECT s.hash, s.csrf_token, s.created_at, "
			     "s.last_seen_at, u.id, u.partner_id, u.email, u.role, "
			     "u.password_hash, u.created_at, u.password_changed_at "
			     "FROM sessions s JOIN users u ON u.id = s.user_id "
			     "WHERE s.hash = ?",
			     SQ_TEXTS(hash), read_session, out, e);
}

static int session_write(struct store *s, const char *sql, const char *hash, int64_t now,
			 bool with_now, struct err *e)
{
	struct conn *c;
	sqlite3_stmt *st = sq_stmt(s, sql, &c, e);
	if (!st)
		return -1;
	sq_bind_text(st, 1, hash);
	if (with_now)
		sqlite3_bind_int64(st, 2, now);
	return sq_step_done(c, st, e);
}

int store_sqlite_user_session_touch(struct store *s, const char *hash, int64_t now,
				    struct err *e)
{
	return session_write(s, "UPDATE sessions SET last_seen_at = ?2 WHERE hash = ?1", hash,
			     now, true, e);
}

int store_sqlite_user_session_delete(struct store *s, const char *hash, struct err *e)
{
	return session_write(s, "DELETE FROM sessions WHERE hash = ?1", hash, 0, false, e);
}

int store_sqlite_user_audit_insert(struct store *s, const struct audit_entry *ae, struct err *e)
{
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	sqlite3_stmt *st = sq_prep(c,
				   "INSERT INTO audit_log (id, partner_id, user_id, actor, "
				   "action, target, mode, client_addr, created_at) "
				   "VALUES (?,?,?,?,?,?,?,?,?)",
				   e);
	if (!st)
		return -1;
	sq_bind_text(st, 1, ae->id);
	sq_bind_text(st, 2, ae->partner_id);
	sq_bind_text(st, 3, ae->user_id);
	sq_bind_text(st, 4, ae->actor);
	sq_bind_text(st, 5, ae->action);
	sq_bind_text(st, 6, ae->target);
	sq_bind_text(st, 7, ae->mode);
	sq_bind_text(st, 8, ae->client_addr);
	sqlite3_bind_int64(st, 9, ae->created_at);
	return sq_step_done(c, st, e);
}

#define AUDIT_COLS \
	"id, partner_id, user_id, actor, action, target, mode, client_addr, created_at"

static void read_audit(struct arena *a, sqlite3_stmt *st, void *item)
{
	struct audit_entry *ae = item;
	ae->id = sq_col_text(a, st, 0);
	ae->partner_id = sq_col_text(a, st, 1);
	ae->user_id = sq_col_text(a, st, 2);
	ae->actor = sq_col_text(a, st, 3);
	ae->action = sq_col_text(a, st, 4);
	ae->target = sq_col_text(a, st, 5);
	ae->mode = sq_col_text(a, st, 6);
	ae->client_addr = sq_col_text(a, st, 7);
	ae->created_at = sq_col_i64(st, 8);
}

int store_sqlite_user_audit_list(struct store *s, struct arena *a, const char *partner_id,
				 const struct page *pg, struct audit_entry **items, size_t *n,
				 bool *has_more, struct err *e)
{
	if (store_partner_required(partner_id, "audit_list", e) < 0)
		return -1;
	struct conn *c = sq_conn_get(s, e);
	if (!c)
		return -1;
	struct query q = {0};
	sq_q_text(&q, "SELECT " AUDIT_COLS " FROM audit_log WHERE partner_id = ?1", partner_id);
	return sq_run_list(
		c, a, &q, "seq", "SELECT seq FROM audit_log WHERE id = ?1 AND partner_id = ?2",
		partner_id, pg, read_audit, sizeof(**items), (void **)items, n, has_more, e);
}
