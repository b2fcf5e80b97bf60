-- 0013_usage_indexes.sql - billing usage reads a page, not every mailbox
-- (store_sqlite_customers.c, usage_spans and usage_customers). Its totals
-- read each mailbox's active span from an index that holds it, without the
-- table; a page that starts from a line item named by its mailbox id (as
-- the dashboard's download does) finds that mailbox by its index. Only
-- mailboxes that have been active are in them, so creating a customer
-- writes neither. As sql/postgres/0009. IF NOT EXISTS: running it twice
-- changes nothing.

CREATE INDEX IF NOT EXISTS customers_partner_activated_span
	ON customers(partner_id, mailbox_activated_at, mailbox_closed_at)
	WHERE mailbox_activated_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS customers_partner_activated_mailbox
	ON customers(partner_id, mailbox_id) WHERE mailbox_activated_at IS NOT NULL;
