-- 0004_rate_buckets.sql - the rate limits' token buckets (API keys', and the
-- dashboard's sign-in attempts' per account and per address), shared by
-- every instance on this database (docs/api.md#rate-limits), on the
-- database's clock (store.h: rate_spend). UNLOGGED: a bucket is not worth a
-- WAL record and its flush on every request; after a crash the table is
-- empty and every bucket starts full again.

CREATE UNLOGGED TABLE rate_buckets (
	key_id TEXT PRIMARY KEY,                -- the limiter's name, ':', its key
	tokens DOUBLE PRECISION NOT NULL,
	allowed BOOLEAN NOT NULL,               -- whether the last request spent a token
	updated_at DOUBLE PRECISION NOT NULL    -- seconds since the epoch
);
