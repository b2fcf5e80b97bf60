-- 0005_lease_owner.sql - who holds a delivery job's lease. locked_by is the
-- worker id of the process that claimed the job (webhook_worker.c: one per
-- process), NULL when no one does; locked_until is the lease's end on the
-- database's clock. Several instances claim from one table: a worker that
-- lost its lease (it expired and another took the job over) finds its
-- attempt's outcome refused by the owner check, so it cannot overwrite the
-- new owner's job (docs/decisions.md, "Webhook leases across instances").

ALTER TABLE webhook_jobs ADD COLUMN locked_by TEXT;
