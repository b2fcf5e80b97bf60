-- 0007_idempotency_rowid.sql - stored idempotent answers shaped for appends.
-- The old table was keyed by (scope, key) WITHOUT ROWID, so every record,
-- with its ~600-byte answer, landed on a random page of the b-tree (page
-- splits, several dirty pages per request) and had a created_at index too.
-- Now records append in rowid order; the unique (scope, key) index holds only
-- the short keys; the hourly purge deletes a prefix of rowids (see
-- store_sqlite_events.c), so no created_at index is needed.

CREATE TABLE idempotency_by_row (
	id INTEGER PRIMARY KEY,
	scope TEXT NOT NULL,
	key TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	status INTEGER NOT NULL,
	body BLOB NOT NULL,
	created_at INTEGER NOT NULL
);
INSERT INTO idempotency_by_row (scope, key, fingerprint, status, body, created_at)
	SELECT scope, key, fingerprint, status, body, created_at FROM idempotency
	ORDER BY created_at;
DROP TABLE idempotency;
ALTER TABLE idempotency_by_row RENAME TO idempotency;
CREATE UNIQUE INDEX idempotency_scope_key ON idempotency(scope, key);
