/**
 * The two statements of bench/sql/refresh.sql (what one refresh commits), with the values
 * pgbench computes passed as parameters, for the floors of bench/refresh-floor.ts. A copy
 * kept in step by hand (deriving it would mean rewriting pgbench syntax): change both together.
 */
import { createHash } from 'node:crypto';

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/** The token hash bench/support/seed.ts gives token `n`: `md5(n) || md5(n+1)` (any string key for successors). */
export function seededHash(n: number | string): string {
  return typeof n === 'number' ? md5(String(n)) + md5(String(n + 1)) : md5(`${n}a`) + md5(`${n}b`);
}

export const FIND = {
  name: 'floor_find',
  text: `SELECT clock_timestamp() AS db_now, c.global_min_token_version, c.grace_period_seconds, c.last_rotation_at,
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
  WHERE c.id = 1 AND t.token_hash = $1`,
};
export const ROTATE = {
  name: 'floor_rotate',
  text: `WITH facts AS (
  SELECT t.id FROM security_config c CROSS JOIN refresh_tokens t
    JOIN users u ON u.id = t.user_id
    JOIN sessions s ON s.id = t.session_id
  WHERE c.id = 1 AND t.id = $1 AND clock_timestamp() < now() + interval '9500 milliseconds'
    AND c.global_min_token_version = 1 AND c.grace_until IS NOT DISTINCT FROM NULL
    AND t.used_at IS NULL AND t.revoked_at IS NULL
    AND u.min_token_version = 1 AND u.role = 'user' AND u.disabled_at IS NULL
    AND s.revoked_at IS NULL
  FOR SHARE OF c FOR UPDATE OF t FOR SHARE OF u
), successor AS (
  INSERT INTO refresh_tokens (id, session_id, user_id, token_hash, user_version, global_version, created_at, expires_at, parent_id)
  SELECT $2, $3, $4, $5, 1, 1, now(), now() + interval '14 days', facts.id FROM facts
), parent AS (
  UPDATE refresh_tokens SET used_at = now(), successor_id = $2, successor_sealed = $6
  FROM facts WHERE refresh_tokens.id = facts.id
), touched AS (
  UPDATE sessions SET last_used_at = now() FROM facts WHERE sessions.id = $3
)
SELECT count(*)::int AS written FROM facts`,
};
