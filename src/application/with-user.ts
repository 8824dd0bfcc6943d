import { userNotFound } from '../domain/errors.js';
import { isUuid } from '../domain/ids.js';
import { err, ok, type Result } from '../domain/result.js';
import type { UserRecord } from '../domain/user.js';
import type { AppContext } from './context.js';
import { lockForTokenWrite } from './lock-order.js';
import type { Repositories } from './ports/repositories.js';

/**
 * Runs `work` on the user `userId` names; an id that is not a UUID, or names no user, is
 * `user_not_found`. `change`: in one transaction, the user row locked for update in the
 * lock order ({@link lockForTokenWrite}). `read`: no transaction, no lock.
 *
 * @example
 * const outcome = await withUser(ctx, userId, 'change', (repos, user) => repos.users.setDisabled(user.id, now, now));
 */
export async function withUser<T>(
  ctx: Pick<AppContext, 'uow'>,
  userId: string,
  access: 'change' | 'read',
  work: (repos: Repositories, user: UserRecord) => Promise<T>,
): Promise<Result<T>> {
  if (!isUuid(userId)) return err(userNotFound(userId));
  const onUser = async (repos: Repositories): Promise<Result<T>> => {
    const user =
      access === 'change'
        ? (await lockForTokenWrite(repos, { user: { id: userId, lock: 'update' } })).user
        : await repos.users.findById(userId);
    return user === null ? err(userNotFound(userId)) : ok(await work(repos, user));
  };
  return access === 'change' ? ctx.uow.run(onUser) : ctx.uow.read(onUser);
}
