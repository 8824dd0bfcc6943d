import { isUuid } from '../../../domain/ids.js';
import type { AppContext } from '../../context.js';
import { toUserView, type UserView } from '../list-users/query.js';

export class GetUserQuery {
  constructor(private readonly ctx: AppContext) {}

  async execute(userId: string): Promise<UserView | null> {
    if (!isUuid(userId)) return null;
    const user = await this.ctx.uow.read((repos) => repos.users.findById(userId));
    return user === null ? null : toUserView(user);
  }
}
