-- 0001_init.sql - partners, keys, operator tokens, customers with their mailboxes,
-- the event outbox and stored idempotent responses.
-- Every table has an integer seq: lists are ordered by it (newest first),
-- and cursors (ids) are turned into a seq bound.

CREATE TABLE partners (
	seq INTEGER PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL,
	line1 TEXT NOT NULL,
	line2 TEXT,
	city TEXT NOT NULL,
	state TEXT NOT NULL,
	postal_code TEXT NOT NULL,
	country TEXT NOT NULL,
	next_mailbox_number INTEGER NOT NULL DEFAULT 1001,
	created_at INTEGER NOT NULL
);

CREATE TABLE api_keys (
	seq INTEGER PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	partner_id TEXT NOT NULL REFERENCES partners(id),
	name TEXT NOT NULL,
	prefix TEXT NOT NULL,
	hash TEXT NOT NULL UNIQUE,
	scopes INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	last_used_at INTEGER,
	revoked_at INTEGER
);
CREATE INDEX api_keys_partner ON api_keys(partner_id, seq);

CREATE TABLE operator_tokens (
	seq INTEGER PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	hash TEXT NOT NULL UNIQUE,
	created_at INTEGER NOT NULL
);

-- A customer and its mailbox are one row: they are created together, the
-- mailbox belongs to exactly one customer, and reading a customer then costs
-- one lookup. Mailbox numbers are unique per partner and never reused.
-- Every index costs each create a b-tree insert inside the one writer's
-- transaction, so the optional columns are indexed only where set.
CREATE TABLE customers (
	seq INTEGER PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	partner_id TEXT NOT NULL REFERENCES partners(id),
	external_customer_id TEXT,
	email TEXT NOT NULL,
	name TEXT NOT NULL,
	phone TEXT,
	prepay INTEGER NOT NULL,
	own_billing_active INTEGER NOT NULL,
	status TEXT NOT NULL,
	form_status TEXT NOT NULL,
	form_submitted_at INTEGER,
	form_approved_at INTEGER,
	form_rejection_reason TEXT,
	identity_status TEXT NOT NULL,
	identity_verified_at INTEGER,
	identity_failure_reason TEXT,
	compliance_updated_at INTEGER NOT NULL,
	metadata TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	deactivated_at INTEGER,
	deactivation_reason TEXT,
	mailbox_id TEXT NOT NULL,              -- random like every id; never looked up alone
	mailbox_number TEXT NOT NULL,
	mailbox_status TEXT NOT NULL,
	mailbox_reserved_at INTEGER NOT NULL,
	mailbox_activated_at INTEGER,
	mailbox_closed_at INTEGER,
	UNIQUE (partner_id, mailbox_number)
);
CREATE INDEX customers_partner ON customers(partner_id, seq);
CREATE INDEX customers_partner_email ON customers(partner_id, email COLLATE NOCASE);
CREATE UNIQUE INDEX customers_partner_external ON customers(partner_id, external_customer_id)
	WHERE external_customer_id IS NOT NULL;
CREATE INDEX customers_partner_activated ON customers(partner_id, mailbox_activated_at)
	WHERE mailbox_activated_at IS NOT NULL;

CREATE TABLE events (
	seq INTEGER PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	partner_id TEXT NOT NULL,
	type TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	payload TEXT NOT NULL
);
CREATE INDEX events_partner ON events(partner_id, seq);

CREATE TABLE idempotency (
	scope TEXT NOT NULL,
	key TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	status INTEGER NOT NULL,
	body BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (scope, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_created ON idempotency(created_at);
