-- What one refresh commits on its common path: two statements, each its own transaction (no
-- BEGIN/COMMIT), the SQL of KyselyRefreshTokenRepository.findFacts (no locks) and
-- .rotateIfUnchanged (re-checks under the lock order's row locks, then writes): 2 round trips.
-- The seeded rows carry versions 1/1, no grace, role user. bench/support/floor-statements.ts
-- sends the same two statements with parameters: change both together.
-- Token :n is seeded by bench/support/seed.ts (refresh-throughput.ts seeds a fresh range
-- :base+1 .. :base+:ntokens before each run); each client takes the next token of its own
-- stride, so no token is drawn twice while the range lasts (-D i=0 base=… ntokens=… clients=…).
\set i :i + 1
\set n :base + 1 + (:client_id + :clients * (:i - 1)) % :ntokens
\set r random(1, 1000000000000)
SELECT clock_timestamp() AS db_now, c.global_min_token_version, c.grace_period_seconds, c.last_rotation_at,
    c.last_rotation_reason,
    c.grace_until, c.updated_at AS c_updated_at,
    t.id, t.session_id, t.user_id, t.user_version, t.global_version, t.created_at, t.expires_at,
    t.used_at, t.revoked_at, t.successor_id, t.successor_sealed,
    u.email, u.password_hash, u.role, u.min_token_version, u.disabled_at, u.created_at AS u_created_at,
    s.created_at AS s_created_at, s.last_used_at, s.expires_at AS s_expires_at, s.revoked_at AS s_revoked_at,
    s.user_agent, s.ip
  FROM security_config c CROSS JOIN refresh_tokens t
    JOIN users u ON u.id = t.user_id
    JOIN sessions s ON s.id = t.session_id
  WHERE c.id = 1 AND t.token_hash = md5(:n::text) || md5((:n + 1)::text);
WITH facts AS (
  SELECT t.id FROM security_config c CROSS JOIN refresh_tokens t
    JOIN users u ON u.id = t.user_id
    JOIN sessions s ON s.id = t.session_id
  WHERE c.id = 1 AND t.id = md5('t' || :n)::uuid AND clock_timestamp() < now() + interval '9500 milliseconds'
    AND c.global_min_token_version = 1 AND c.grace_until IS NOT DISTINCT FROM NULL
    AND t.used_at IS NULL AND t.revoked_at IS NULL
    AND u.min_token_version = 1 AND u.role = 'user' AND u.disabled_at IS NULL
    AND s.revoked_at IS NULL
  FOR SHARE OF c FOR UPDATE OF t FOR SHARE OF u
), successor AS (
  INSERT INTO refresh_tokens (id, session_id, user_id, token_hash, user_version, global_version, created_at, expires_at, parent_id)
  SELECT md5(:client_id || '-' || :r)::uuid, md5('s' || :n)::uuid, md5('u' || ((:n + 9) / 10))::uuid,
         md5(:client_id || 'a' || :r) || md5(:client_id || 'b' || :r), 1, 1, now(), now() + interval '14 days',
         facts.id
  FROM facts
), parent AS (
  UPDATE refresh_tokens SET used_at = now(), successor_id = md5(:client_id || '-' || :r)::uuid,
    successor_sealed = 'v1.AAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB'
  FROM facts WHERE refresh_tokens.id = facts.id
), touched AS (
  UPDATE sessions SET last_used_at = now() FROM facts WHERE sessions.id = md5('s' || :n)::uuid
)
SELECT count(*)::int AS written FROM facts;
