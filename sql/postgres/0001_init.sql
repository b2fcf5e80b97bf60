-- 0001_init.sql - the schema on PostgreSQL: the tables and columns of
-- sql/sqlite/ 0001 to 0005 and 0007 (the dashboard's are 0002 here, the kept
-- delivery bodies 0003), so the two backends' SQL reads alike. Times are Unix seconds (BIGINT), flags are
-- INTEGER 0/1, JSON is kept as text exactly as written. Every table has a
-- seq: lists are ordered by it (newest first), cursors (ids) become a bound.

CREATE TABLE partners (
	seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL,
	line1 TEXT NOT NULL,
	line2 TEXT,
	city TEXT NOT NULL,
	state TEXT NOT NULL,
	postal_code TEXT NOT NULL,
	country TEXT NOT NULL,
	next_mailbox_number BIGINT NOT NULL DEFAULT 1001,
	created_at BIGINT NOT NULL,
	livemode INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE api_keys (
	seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	partner_id TEXT NOT NULL REFERENCES partners(id),
	name TEXT NOT NULL,
	prefix TEXT NOT NULL,
	hash TEXT NOT NULL UNIQUE,
	scopes BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	last_used_at BIGINT,
	revoked_at BIGINT
);
CREATE INDEX api_keys_partner ON api_keys(partner_id, seq);

CREATE TABLE operator_tokens (
	seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	hash TEXT NOT NULL UNIQUE,
	created_at BIGINT NOT NULL
);

-- A customer and its mailbox are one row, as on SQLite. Mailbox numbers are
-- unique per partner and never reused: the partner row's counter hands them
-- out under its row lock, so they stay gap-free across instances.
CREATE TABLE customers (
	seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
	form_submitted_at BIGINT,
	form_approved_at BIGINT,
	form_rejection_reason TEXT,
	identity_status TEXT NOT NULL,
	identity_verified_at BIGINT,
	identity_failure_reason TEXT,
	compliance_updated_at BIGINT NOT NULL,
	metadata TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	deactivated_at BIGINT,
	deactivation_reason TEXT,
	mailbox_id TEXT NOT NULL,
	mailbox_number TEXT NOT NULL,
	mailbox_status TEXT NOT NULL,
	mailbox_reserved_at BIGINT NOT NULL,
	mailbox_activated_at BIGINT,
	mailbox_closed_at BIGINT,
	UNIQUE (partner_id, mailbox_number)
);
CREATE INDEX customers_partner ON customers(partner_id, seq);
-- SQLite's COLLATE NOCASE folds ASCII only; lower() in the C collation too.
CREATE INDEX customers_partner_email ON customers(partner_id, lower(email));
CREATE UNIQUE INDEX customers_partner_external ON customers(partner_id, external_customer_id)
	WHERE external_customer_id IS NOT NULL;
CREATE INDEX customers_partner_activated ON customers(partner_id, mailbox_activated_at)
	WHERE mailbox_activated_at IS NOT NULL;

CREATE TABLE events (
	seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	partner_id TEXT NOT NULL,
	type TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	payload TEXT NOT NULL
);
CREATE INDEX events_partner ON events(partner_id, seq);
CREATE INDEX events_created ON events(created_at);

CREATE TABLE idempotency (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	scope TEXT NOT NULL,
	key TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	status INTEGER NOT NULL,
	body BYTEA NOT NULL,
	created_at BIGINT NOT NULL,
	UNIQUE (scope, key)
);

CREATE TABLE mail (
	seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	partner_id TEXT NOT NULL REFERENCES partners(id),
	customer_id TEXT NOT NULL REFERENCES customers(id),
	mailbox_id TEXT NOT NULL,
	type TEXT NOT NULL,
	status TEXT NOT NULL,
	source TEXT NOT NULL,
	photos TEXT NOT NULL,
	performed_by TEXT NOT NULL,
	tracking_number TEXT,
	carrier TEXT,
	sender TEXT,
	notes TEXT,
	metadata TEXT NOT NULL,
	received_at BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	deleted_at BIGINT
);
CREATE INDEX mail_customer ON mail(customer_id, seq);

CREATE TABLE mail_actions (
	seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	partner_id TEXT NOT NULL REFERENCES partners(id),
	mail_id TEXT NOT NULL REFERENCES mail(id),
	customer_id TEXT NOT NULL,
	type TEXT NOT NULL,
	status TEXT NOT NULL,
	forward_address TEXT,
	shipping_speed TEXT,
	notes TEXT,
	result TEXT,
	failure_reason TEXT,
	requested_at BIGINT NOT NULL,
	completed_at BIGINT
);
CREATE INDEX mail_actions_mail ON mail_actions(mail_id, seq);
CREATE INDEX mail_actions_status ON mail_actions(status, seq);

CREATE TABLE webhook_endpoints (
	seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	partner_id TEXT NOT NULL REFERENCES partners(id),
	url TEXT NOT NULL,
	enabled_events TEXT NOT NULL,          -- JSON array of types, or ["*"]
	status TEXT NOT NULL,                  -- enabled | disabled
	secret TEXT NOT NULL,
	previous_secret TEXT,
	previous_secret_expires_at BIGINT,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_partner ON webhook_endpoints(partner_id, seq);

CREATE TABLE webhook_jobs (
	seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	event_id TEXT NOT NULL REFERENCES events(id),
	endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id),
	attempts INTEGER NOT NULL DEFAULT 0,
	status TEXT NOT NULL,                  -- pending | succeeded | failed
	next_attempt_at BIGINT NOT NULL,
	locked_until BIGINT NOT NULL DEFAULT 0,
	UNIQUE (event_id, endpoint_id)
);
CREATE INDEX webhook_jobs_due ON webhook_jobs(status, next_attempt_at);

CREATE TABLE webhook_deliveries (
	seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	partner_id TEXT NOT NULL,
	event_id TEXT NOT NULL,
	event_type TEXT NOT NULL,
	endpoint_id TEXT NOT NULL,
	url TEXT NOT NULL,
	attempt INTEGER NOT NULL,
	status TEXT NOT NULL,                  -- succeeded | failed
	response_status INTEGER,
	error TEXT,
	duration_ms BIGINT NOT NULL,
	attempted_at BIGINT NOT NULL,
	next_attempt_at BIGINT
);
CREATE INDEX webhook_deliveries_partner ON webhook_deliveries(partner_id, seq);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries(event_id);
