import { userNotFound } from '../../../domain/errors.js';
import { isUuid } from '../../../domain/ids.js';
import { err, ok, type Result } from '../../../domain/result.js';
import type { AppContext } from '../../context.js';
import { toUserView, type UserView } from '../list-users/query.js';

export class GetUserQuery {
  constructor(private readonly ctx: AppContext) {}

  async execute(userId: string): Promise<Result<UserView>> {
    if (!isUuid(userId)) return err(userNotFound(userId));
    const user = await this.ctx.uow.read((repos) => repos.users.findById(userId));
    return user === null ? err(userNotFound(userId)) : ok(toUserView(user));
  }
}
