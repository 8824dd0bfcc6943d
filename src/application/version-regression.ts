import { ServiceUnavailableError, type TokenwardenError } from '../domain/errors.js';
import { err, ok, type Result } from '../domain/result.js';
import { REGRESSION_ACTOR, regressionReason } from '../domain/version-regression.js';
import type { SecurityConfig } from '../domain/versions.js';
import {
  afterGlobalRotation,
  rotateGlobalInTransaction,
} from './commands/trigger-global-token-rotation/rotate-global.js';
import { rotateUserInTransaction } from './commands/trigger-user-token-rotation/rotate-user.js';
import type { AppContext } from './context.js';
import { lockForTokenWrite } from './lock-order.js';

/**
 * What a check of the versions just read found: `current` (at or above everything this
 * instance knows: go on), `raised` (they were below, and the automatic rotation has
 * committed: read them again before judging anything).
 */
export type VersionCheck = 'current' | 'raised';

/** The answer while the versions are known to have gone back and could not be raised yet. */
export const regressionUnavailable = (): TokenwardenError =>
  new ServiceUnavailableError(
    null,
    'The token versions went back (a failover or restore); try again shortly',
  );

/** One raise in flight per instance and scope: concurrent requests that detect it wait on the same one. */
const inflight = new WeakMap<object, Map<string, Promise<void>>>();

function once(ctx: AppContext, key: string, run: () => Promise<void>): Promise<void> {
  let running = inflight.get(ctx.versionMarks);
  if (running === undefined) {
    running = new Map();
    inflight.set(ctx.versionMarks, running);
  }
  const existing = running.get(key);
  if (existing !== undefined) return existing;
  const started = run().finally(() => running.delete(key));
  running.set(key, started);
  return started;
}

/**
 * Holds the global version just read from the database against the highest this
 * instance knows was in force (docs/DESIGN.md §7). Below it, the database lost writes
 * (a failover, a restore): it is raised past the highest seen by an audited global
 * rotation with no grace, so every token from before the loss is refused, then
 * `raised` is answered. The raise happens once however many instances detect it: it
 * re-reads the version under the row lock and does nothing when another got there first.
 * Refuses with `service_unavailable` while the raise cannot commit.
 *
 * @example
 * const check = await checkGlobalVersion(ctx, config);
 * if (!check.ok) return check;
 * if (check.value === 'raised') config = await readAgain();
 */
export async function checkGlobalVersion(
  ctx: AppContext,
  config: Pick<SecurityConfig, 'globalMinTokenVersion'>,
): Promise<Result<VersionCheck>> {
  const marks = ctx.versionMarks;
  await marks.reconcile(config.globalMinTokenVersion);
  if (config.globalMinTokenVersion >= marks.global()) {
    marks.observeGlobal(config.globalMinTokenVersion);
    return ok('current');
  }
  try {
    await once(ctx, 'global', () => raiseGlobal(ctx));
  } catch {
    return err(regressionUnavailable());
  }
  return ok('raised');
}

async function raiseGlobal(ctx: AppContext): Promise<void> {
  const seen = ctx.versionMarks.global();
  const result = await ctx.uow.run(async (repos) => {
    // Under the lock a global rotation takes: a second detector waits here, then finds it raised.
    const current = await repos.securityConfig.get('update');
    if (current.globalMinTokenVersion >= seen) return null;
    return rotateGlobalInTransaction(ctx, repos, {
      triggeredBy: REGRESSION_ACTOR,
      reason: regressionReason('global', seen, current.globalMinTokenVersion),
      gracePeriodSeconds: 0,
      atLeast: seen + 1,
      details: { regression: { seen, databaseHad: current.globalMinTokenVersion } },
    });
  });
  if (result !== null) await afterGlobalRotation(ctx, result);
}

/**
 * The same for one user's minimum version: below the highest remembered for that user,
 * an audited user rotation raises it past it (tokens of that user from before the loss
 * are refused; the user logs in again).
 *
 * @example
 * const check = await checkUserVersion(ctx, user.id, user.minTokenVersion);
 */
export async function checkUserVersion(
  ctx: AppContext,
  userId: string,
  minTokenVersion: number,
): Promise<Result<VersionCheck>> {
  const marks = ctx.versionMarks;
  if (minTokenVersion >= marks.user(userId)) {
    marks.observeUser(userId, minTokenVersion);
    return ok('current');
  }
  try {
    await once(ctx, `u:${userId}`, () => raiseUser(ctx, userId));
  } catch {
    return err(regressionUnavailable());
  }
  return ok('raised');
}

async function raiseUser(ctx: AppContext, userId: string): Promise<void> {
  const seen = ctx.versionMarks.user(userId);
  const result = await ctx.uow.run(async (repos) => {
    const { user } = await lockForTokenWrite(repos, { user: { id: userId, lock: 'update' } });
    if (user === null || user.minTokenVersion >= seen) return null;
    return rotateUserInTransaction(ctx, repos, {
      userId,
      triggeredBy: REGRESSION_ACTOR,
      reason: regressionReason('user', seen, user.minTokenVersion),
      atLeast: seen + 1,
    });
  });
  if (result === null) return;
  ctx.versionMarks.observeUser(userId, result.newVersion);
  ctx.metrics.rotation('user', 'succeeded');
  ctx.versionListener.userVersionChanged(userId, result.newVersion);
}

/**
 * One pass of the background watch: the global version read and checked with no request
 * in flight, so a regression is raised (and the revocation feed carries the raise to
 * verifiers) even on an instance nobody is calling. Throws when the database cannot be
 * read or the raise cannot commit, for the loop to log and back off.
 *
 * @example
 * new PeriodicTask({ intervalSeconds: 5, pass: () => watchGlobalVersion(ctx) }).start();
 */
export async function watchGlobalVersion(ctx: AppContext): Promise<void> {
  const config = await ctx.uow.read((repos) => repos.securityConfig.get());
  const checked = await checkGlobalVersion(ctx, config);
  if (!checked.ok) throw checked.error;
}
