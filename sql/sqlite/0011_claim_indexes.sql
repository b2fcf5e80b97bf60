-- 0011_claim_indexes.sql - a delivery claim reads what it can take, not the
-- whole backlog (store_sqlite_webhooks.c, webhook_claim): each endpoint's
-- due jobs in the order they are taken (pending jobs only), and the live
-- leases. Without them a claim ranked every due job of every endpoint
-- inside its write transaction: about 1 s at 200 000 due jobs (one
-- partner's receiver down for a day), with every API write waiting on it.
-- As sql/postgres/0007. IF NOT EXISTS: running it twice changes nothing.

CREATE INDEX IF NOT EXISTS webhook_jobs_endpoint_due
	ON webhook_jobs(endpoint_id, next_attempt_at, seq) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS webhook_jobs_leased ON webhook_jobs(status, locked_until);
