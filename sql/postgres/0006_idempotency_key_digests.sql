-- 0006_idempotency_key_digests.sql - the database keeps no Idempotency-Key
-- in the clear (src/idem.h): a stored key becomes its digest, the SHA-256 of
-- IDEM_KEY_DIGEST_LABEL and the key, as idem_key_digest() computes it.
-- Answers stored before stay as they are until they expire (24 hours);
-- from now on, those that hold a secret are sealed under the raw key.
UPDATE idempotency
	SET key = encode(sha256(convert_to('innbocks-idempotency-key-v1:' || key, 'UTF8')), 'hex');
