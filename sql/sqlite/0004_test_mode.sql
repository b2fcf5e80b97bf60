-- 0004_test_mode.sql - test mode. Every partner gets a shadow tenant for its
-- test data: a partners row whose id is the partner's id followed by "_test"
-- (tenant.h), with the same name and location, livemode = 0 and a mailbox
-- sequence of its own. Test keys and test webhook endpoints belong to that
-- row, and so does everything made through them, so the partner_id filters
-- that keep partners apart keep the two modes apart as well.

ALTER TABLE partners ADD COLUMN livemode INTEGER NOT NULL DEFAULT 1;

INSERT INTO partners (id, name, line1, line2, city, state, postal_code, country,
		      created_at, livemode)
	SELECT id || '_test', name, line1, line2, city, state, postal_code, country,
	       created_at, 0
	FROM partners WHERE livemode = 1;
