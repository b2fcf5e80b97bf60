-- 0010_idempotency_key_digests.sql - the database keeps no Idempotency-Key
-- in the clear (src/idem.h): a stored key becomes its digest, computed by
-- the function every connection of the server registers (store_sqlite_sql.c).
-- Answers stored before stay as they are until they expire (24 hours);
-- from now on, those that hold a secret are sealed under the raw key.
UPDATE idempotency SET key = innbocks_idempotency_key_digest(key);
