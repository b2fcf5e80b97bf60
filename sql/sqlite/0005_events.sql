-- 0005_events.sql - events are readable for 30 days (GET /api/v1/events),
-- then purged with their finished delivery jobs and their delivery attempts.
-- The purge finds expired events by their age, and their attempts by event.

CREATE INDEX IF NOT EXISTS events_created ON events(created_at);
CREATE INDEX IF NOT EXISTS webhook_deliveries_event ON webhook_deliveries(event_id);
