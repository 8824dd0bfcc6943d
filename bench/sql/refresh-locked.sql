-- What one refresh committed before the two-statement path (tree 16e73dc), and what it still commits when
-- the two-statement path falls back (a used token, a change since the read): two
-- statements in a transaction, KyselyRefreshTokenRepository.findForRefresh and .rotate
-- (BEGIN, SELECT … FOR SHARE/UPDATE, WITH … UPDATE, COMMIT: 4 round trips).
-- Token :n is seeded by bench/support/seed.ts (refresh-throughput.ts seeds a fresh range
-- :base+1 .. :base+:ntokens before each run); each client takes the next token of its own
-- stride, so no token is drawn twice while the range lasts (-D i=0 base=… ntokens=… clients=…).
\set i :i + 1
\set n :base + 1 + (:client_id + :clients * (:i - 1)) % :ntokens
\set r random(1, 1000000000000)
BEGIN;
SELECT c.global_min_token_version, c.grace_period_seconds, c.last_rotation_at, c.last_rotation_reason,
    c.grace_until, c.updated_at AS c_updated_at,
    t.id, t.session_id, t.user_id, t.user_version, t.global_version, t.created_at, t.expires_at,
    t.used_at, t.revoked_at, t.successor_id, t.successor_sealed,
    u.email, u.password_hash, u.role, u.min_token_version, u.disabled_at, u.created_at AS u_created_at,
    s.created_at AS s_created_at, s.last_used_at, s.expires_at AS s_expires_at, s.revoked_at AS s_revoked_at,
    s.user_agent, s.ip
  FROM security_config c CROSS JOIN refresh_tokens t
    JOIN users u ON u.id = t.user_id
    JOIN sessions s ON s.id = t.session_id
  WHERE c.id = 1 AND t.token_hash = md5(:n::text) || md5((:n + 1)::text)
  FOR SHARE OF c FOR UPDATE OF t FOR SHARE OF u;
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
