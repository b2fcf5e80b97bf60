-- 0009_lease_owner.sql - who holds a delivery job's lease: the worker id of
-- the process that claimed it (webhook_worker.c), NULL when no one does; as
-- sql/postgres/0005, so both backends keep one contract (store.h,
-- webhook_claim) although one SQLite database has one server.

ALTER TABLE webhook_jobs ADD COLUMN locked_by TEXT;
