-- What one refresh committed in tree 4b64cda, before it was cut to two statements: seven statements in a transaction
-- (the order of src/application/commands/refresh-tokens/handler.ts then).
-- Token :n is seeded by bench/support/seed.ts; pgbench -D ntokens=N.
\set n random(1, :ntokens)
\set r random(1, 1000000000000)
BEGIN;
SELECT * FROM security_config WHERE id = 1 FOR SHARE;
SELECT * FROM refresh_tokens WHERE token_hash = md5(:n::text) || md5((:n + 1)::text) FOR UPDATE;
SELECT * FROM users WHERE id = md5('u' || ((:n + 9) / 10))::uuid FOR SHARE;
SELECT * FROM sessions WHERE id = md5('s' || :n)::uuid;
INSERT INTO refresh_tokens (id, session_id, user_id, token_hash, user_version, global_version, created_at, expires_at, parent_id, successor_id, successor_sealed)
  VALUES (md5(:client_id || '-' || :r)::uuid, md5('s' || :n)::uuid, md5('u' || ((:n + 9) / 10))::uuid,
          md5(:client_id || 'a' || :r) || md5(:client_id || 'b' || :r), 1, 1, now(), now() + interval '14 days',
          md5('t' || :n)::uuid, NULL, NULL);
UPDATE refresh_tokens SET used_at = now(), successor_id = md5(:client_id || '-' || :r)::uuid,
  successor_sealed = 'v1.AAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB'
  WHERE id = md5('t' || :n)::uuid;
UPDATE sessions SET last_used_at = now() WHERE id = md5('s' || :n)::uuid;
COMMIT;
