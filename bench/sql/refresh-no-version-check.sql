-- bench/sql/refresh-locked.sql without the version check, to price it (bench/version-check.ts):
-- no security_config read or share lock, no share lock on the user (it is still read,
-- for the disabled flag and the role), and the successor's stamps are those of the
-- presented token rather than the versions current now. No production path runs this.
-- Token :n is seeded by bench/support/seed.ts (refresh-throughput.ts seeds a fresh range
-- :base+1 .. :base+:ntokens before each run); each client takes the next token of its own
-- stride, so no token is drawn twice while the range lasts (-D i=0 base=… ntokens=… clients=…).
\set i :i + 1
\set n :base + 1 + (:client_id + :clients * (:i - 1)) % :ntokens
\set r random(1, 1000000000000)
BEGIN;
SELECT t.id, t.session_id, t.user_id, t.user_version, t.global_version, t.created_at, t.expires_at,
    t.used_at, t.revoked_at, t.successor_id, t.successor_sealed,
    u.email, u.password_hash, u.role, u.min_token_version, u.disabled_at, u.created_at AS u_created_at,
    s.created_at AS s_created_at, s.last_used_at, s.expires_at AS s_expires_at, s.revoked_at AS s_revoked_at,
    s.user_agent, s.ip
  FROM refresh_tokens t
    JOIN users u ON u.id = t.user_id
    JOIN sessions s ON s.id = t.session_id
  WHERE t.token_hash = md5(:n::text) || md5((:n + 1)::text)
  FOR UPDATE OF t;
-- The write is the same statement as refresh-locked.sql's: the stamps are parameters either way
-- (here the seeded token's 1, 1, copied).
WITH successor AS (
  INSERT INTO refresh_tokens (id, session_id, user_id, token_hash, user_version, global_version, created_at, expires_at, parent_id)
  VALUES (md5(:client_id || '-' || :r)::uuid, md5('s' || :n)::uuid, md5('u' || ((:n + 9) / 10))::uuid,
          md5(:client_id || 'a' || :r) || md5(:client_id || 'b' || :r), 1, 1, now(), now() + interval '14 days',
          md5('t' || :n)::uuid)
), parent AS (
  UPDATE refresh_tokens SET used_at = now(), successor_id = md5(:client_id || '-' || :r)::uuid,
    successor_sealed = 'v1.AAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB'
  WHERE id = md5('t' || :n)::uuid
)
UPDATE sessions SET last_used_at = now() WHERE id = md5('s' || :n)::uuid;
COMMIT;
