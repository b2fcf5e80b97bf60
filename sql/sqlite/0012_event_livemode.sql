-- 0012_event_livemode.sql - livemode in the events stored before test mode.
-- An event is served (GET /api/v1/events) and delivered as the bytes stored
-- when it happened. Those of the first versions, before test mode (0004),
-- carry no livemode, which every event and every object in one has had
-- since (docs/api.md); they were all live. The member goes where the server
-- writes it: after the event's api_version, and after its object's own
-- "object" member (the object's first or, after its id, second member; ids
-- and object names hold no quote, so the first "object":" after the object's
-- opening brace is its own). A row is changed only when the result has the
-- member where it belongs. PostgreSQL databases began with test mode.
-- Running it twice changes nothing. Idempotent answers stay as they were
-- sent: a replay is byte for byte the first answer.

UPDATE events
SET payload = substr(payload, 1, instr(payload, '"api_version":"v1",') + 18)
	|| '"livemode":true,'
	|| substr(payload, instr(payload, '"api_version":"v1",') + 19)
WHERE json_extract(payload, '$.livemode') IS NULL
	AND instr(payload, '"api_version":"v1",') > 0
	AND json_extract(substr(payload, 1, instr(payload, '"api_version":"v1",') + 18)
		|| '"livemode":true,'
		|| substr(payload, instr(payload, '"api_version":"v1",') + 19), '$.livemode') = 1;

WITH object_start AS (
	SELECT seq, payload, instr(payload, '"data":{"object":{') + 18 AS at
	FROM events
	WHERE json_extract(payload, '$.data.object.livemode') IS NULL
		AND json_type(payload, '$.data.object') = 'object'
		AND instr(payload, '"data":{"object":{') > 0
), name_start AS (
	-- Where the value of the object's "object" member begins.
	SELECT seq, payload, at + instr(substr(payload, at), '"object":"') + 9 AS at
	FROM object_start
	WHERE instr(substr(payload, at), '"object":"') > 0
), changed AS (
	-- The value's closing quote and comma; the member goes after them.
	SELECT seq, substr(payload, 1, at + instr(substr(payload, at), '",'))
		|| '"livemode":true,'
		|| substr(payload, at + instr(substr(payload, at), '",') + 1) AS payload
	FROM name_start
	WHERE instr(substr(payload, at), '",') > 0
)
UPDATE events SET payload = changed.payload
FROM changed
WHERE events.seq = changed.seq
	AND json_extract(changed.payload, '$.data.object.livemode') = 1;
