-- The locked refresh's read without the version check, to price it (bench/version-check.ts):
-- no security_config read or share lock, no share lock on the user (it is still read,
-- for the disabled flag and the role). No production path runs this. The rest of the
-- script (header, BEGIN, the repository's write, COMMIT) is added by
-- bench/support/refresh-statements.ts, which runs it as `refresh-no-version-check.sql`.
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
