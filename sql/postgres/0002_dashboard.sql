-- 0002_dashboard.sql - the partner dashboard on PostgreSQL: its users, their
-- one-time setup links, their sessions and the audit log; the same tables,
-- constraints and indexes as sql/sqlite/0006_dashboard.sql. Secrets are
-- stored only as hashes: Argon2id for passwords (libsodium's string format),
-- SHA-256 for setup tokens and session tokens.

CREATE TABLE users (
	seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	partner_id TEXT NOT NULL REFERENCES partners(id),
	email TEXT NOT NULL,
	role TEXT NOT NULL CHECK (role IN ('owner', 'developer', 'viewer')),
	password_hash TEXT,               -- NULL until the setup link is used
	created_at BIGINT NOT NULL,
	password_changed_at BIGINT
);
-- SQLite's UNIQUE ... COLLATE NOCASE: one user per email, ASCII case
-- folded (lower() in the C collation folds ASCII only, as NOCASE does).
CREATE UNIQUE INDEX users_email ON users (lower(email));
CREATE INDEX users_partner ON users (partner_id, seq);

CREATE TABLE user_setup_tokens (
	hash TEXT PRIMARY KEY,
	user_id TEXT NOT NULL REFERENCES users(id),
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	used_at BIGINT
);

CREATE TABLE sessions (
	hash TEXT PRIMARY KEY,
	user_id TEXT NOT NULL REFERENCES users(id),
	csrf_token TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	last_seen_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE audit_log (
	seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	partner_id TEXT,                  -- NULL: a failed sign-in of an unknown email
	user_id TEXT,                     -- NULL: an operator, or an unknown email
	actor TEXT NOT NULL,              -- the user's email, or "operator"
	action TEXT NOT NULL,             -- "signin.succeeded", "POST /dashboard/api/keys", ...
	target TEXT,                      -- the id acted on, when there is one
	mode TEXT,                        -- live | test, for changes made in a mode
	client_addr TEXT,
	created_at BIGINT NOT NULL
);
CREATE INDEX audit_log_partner ON audit_log (partner_id, seq);
