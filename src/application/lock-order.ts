import type { UserRecord } from '../domain/user.js';
import type { SecurityConfig } from '../domain/versions.js';
import type { Repositories } from './ports/repositories.js';
import type { RowLock } from './ports/row-lock.js';

export interface TokenWriteLocks<T> {
  readonly config: SecurityConfig;
  /** What the `tokens` step returned. */
  readonly tokens: T;
  /** The user row, when the `user` step was asked for; null when there is no such user. */
  readonly user: UserRecord | null;
}

/**
 * Takes the row locks of a transaction that stamps, writes or revokes tokens, or
 * changes a user, in the one order every such transaction keeps:
 *
 *   security config FOR SHARE → refresh token rows → the user row → session rows
 *
 * Because everyone goes in this order, no two of them wait on each other in a cycle
 * (no deadlock). The share lock on the config row is what orders a writer against a
 * global rotation (which takes that row FOR UPDATE): one waits for the other to
 * commit, so a token stamped by a transaction that commits after a rotation committed
 * always read the new version. The user row does the same against a user rotation.
 *
 * The refresh, the hot path, reads its facts without locks and then writes in one
 * statement that takes the first three in this order and re-checks under them what it
 * read (`RefreshTokenRepository.rotate` with an expectation): a lock that waited re-reads the
 * newest row, so a rotation or a use that committed after the unlocked read makes the
 * statement write nothing, and the refresh falls back to a transaction that takes the
 * same three in one locking SELECT first (`findForRefresh`). Every other writer calls
 * this. test/http/refresh.test.ts holds both interleavings deterministically.
 *
 * @example
 * const { user } = await lockForTokenWrite(repos, { user: { id: userId, lock: 'update' } });
 */
export async function lockForTokenWrite<T = undefined>(
  repos: Pick<Repositories, 'securityConfig' | 'users'>,
  steps: {
    /** After the config, before the user: the token rows this transaction writes. */
    readonly tokens?: () => Promise<T>;
    /** The user row, read under `lock`. Without it, the caller's own UPDATE of the user comes next. */
    readonly user?: { readonly id: string; readonly lock: RowLock };
  } = {},
): Promise<TokenWriteLocks<T>> {
  const config = await repos.securityConfig.get('share');
  const tokens = (steps.tokens === undefined ? undefined : await steps.tokens()) as T;
  const user = steps.user === undefined ? null : await repos.users.findById(steps.user.id, steps.user.lock);
  return { config, tokens, user };
}
