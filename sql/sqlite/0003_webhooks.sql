-- 0003_webhooks.sql - webhook endpoints, one delivery job per (event,
-- endpoint) made in the event's own transaction, and the log of attempts.

CREATE TABLE webhook_endpoints (
	seq INTEGER PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	partner_id TEXT NOT NULL REFERENCES partners(id),
	url TEXT NOT NULL,
	enabled_events TEXT NOT NULL,          -- JSON array of types, or ["*"]
	status TEXT NOT NULL,                  -- enabled | disabled
	secret TEXT NOT NULL,
	previous_secret TEXT,                  -- still signed with until it expires
	previous_secret_expires_at INTEGER,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX webhook_endpoints_partner ON webhook_endpoints(partner_id, seq);

CREATE TABLE webhook_jobs (
	seq INTEGER PRIMARY KEY,
	event_id TEXT NOT NULL REFERENCES events(id),
	endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id),
	attempts INTEGER NOT NULL DEFAULT 0,
	status TEXT NOT NULL,                  -- pending | succeeded | failed
	next_attempt_at INTEGER NOT NULL,
	locked_until INTEGER NOT NULL DEFAULT 0, -- a worker's lease on an attempt
	UNIQUE (event_id, endpoint_id)
);
CREATE INDEX webhook_jobs_due ON webhook_jobs(status, next_attempt_at);

CREATE TABLE webhook_deliveries (
	seq INTEGER PRIMARY KEY,
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
	duration_ms INTEGER NOT NULL,
	attempted_at INTEGER NOT NULL,
	next_attempt_at INTEGER
);
CREATE INDEX webhook_deliveries_partner ON webhook_deliveries(partner_id, seq);
