-- The smallest refresh any implementation could commit: look the token up by
-- its hash (the columns a validity decision needs, no join, no lock), then one statement
-- that marks it used (if it still is unused), inserts the successor and touches the
-- session. Two round trips, each statement its own transaction; no version check, no
-- sealed successor for retries, no user or config read.
-- Token :n is seeded by bench/support/seed.ts (refresh-throughput.ts seeds a fresh range
-- :base+1 .. :base+:ntokens before each run); each client takes the next token of its own
-- stride, so no token is drawn twice while the range lasts (-D i=0 base=… ntokens=… clients=…).
\set i :i + 1
\set n :base + 1 + (:client_id + :clients * (:i - 1)) % :ntokens
\set r random(1, 1000000000000)
SELECT id, session_id, user_id, expires_at, used_at, revoked_at
  FROM refresh_tokens WHERE token_hash = md5(:n::text) || md5((:n + 1)::text);
WITH parent AS (
  UPDATE refresh_tokens SET used_at = now()
  WHERE id = md5('t' || :n)::uuid AND used_at IS NULL
  RETURNING id, session_id, user_id
), successor AS (
  INSERT INTO refresh_tokens (id, session_id, user_id, token_hash, user_version, global_version, created_at, expires_at, parent_id)
  SELECT md5(:client_id || '-' || :r)::uuid, session_id, user_id,
         md5(:client_id || 'a' || :r) || md5(:client_id || 'b' || :r), 1, 1, now(), now() + interval '14 days', id
  FROM parent
)
UPDATE sessions SET last_used_at = now() FROM parent WHERE sessions.id = parent.session_id;
