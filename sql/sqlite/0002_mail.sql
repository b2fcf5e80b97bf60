-- 0002_mail.sql - inbound mail items and the actions requested on them.
-- Deleted mail keeps its row (deleted_at set) for the audit trail; every read
-- filters it out.

CREATE TABLE mail (
	seq INTEGER PRIMARY KEY,
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
	received_at INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	deleted_at INTEGER
);
CREATE INDEX mail_customer ON mail(customer_id, seq);

CREATE TABLE mail_actions (
	seq INTEGER PRIMARY KEY,
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
	requested_at INTEGER NOT NULL,
	completed_at INTEGER
);
CREATE INDEX mail_actions_mail ON mail_actions(mail_id, seq);
CREATE INDEX mail_actions_status ON mail_actions(status, seq);
