import type { Result } from '../../../domain/result.js';
import type { AppContext } from '../../context.js';
import { withUser } from '../../with-user.js';
import { toUserView, type UserView } from '../list-users/query.js';

export class GetUserQuery {
  constructor(private readonly ctx: AppContext) {}

  execute(userId: string): Promise<Result<UserView>> {
    return withUser(this.ctx, userId, 'read', async (_repos, user) => toUserView(user));
  }
}
