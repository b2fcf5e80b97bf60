-- 0003_delivery_bodies.sql - what each webhook attempt sent and the first
-- 4 KiB of what the receiver answered, for the dashboard's delivery log.

ALTER TABLE webhook_deliveries ADD COLUMN request_body TEXT;
ALTER TABLE webhook_deliveries ADD COLUMN response_body TEXT;
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, seq);
