import { type Kysely, sql } from 'kysely';
import type { Database } from './schema.js';

/**
 * Refresh tokens that would be accepted now: unused, unrevoked, unexpired, in a
 * live session of an enabled user, with version stamps that pass docs/DESIGN.md §1
 * (user stamp current; global stamp current, or one behind inside the grace
 * window). It is the SQL twin of `checkRefreshToken`, used only for counting and
 * listing (dry runs, session lists); accept/reject decisions stay in the domain
 * function. A property test holds the two to the same answers.
 */
export function liveTokens(db: Kysely<Database>, now: Date) {
  return db
    .selectFrom('refresh_tokens as token')
    .innerJoin('sessions as session', 'session.id', 'token.session_id')
    .innerJoin('users as user', 'user.id', 'token.user_id')
    .crossJoin('security_config as config')
    .where('token.used_at', 'is', null)
    .where('token.revoked_at', 'is', null)
    .where('token.expires_at', '>', now)
    .where('session.revoked_at', 'is', null)
    .where('session.expires_at', '>', now)
    .where('user.disabled_at', 'is', null)
    .whereRef('token.user_version', '>=', 'user.min_token_version')
    .where((eb) =>
      eb.or([
        eb('token.global_version', '>=', eb.ref('config.global_min_token_version')),
        eb.and([
          eb('token.global_version', '=', sql<number>`${eb.ref('config.global_min_token_version')} - 1`),
          eb('config.grace_until', '>', now),
        ]),
      ]),
    );
}
