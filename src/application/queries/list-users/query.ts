import type { Page } from '../../../domain/page.js';
import type { UserRecord } from '../../../domain/user.js';
import type { AppContext } from '../../context.js';

export type UserView = Omit<UserRecord, 'passwordHash'>;

export function toUserView(user: UserRecord): UserView {
  const { passwordHash: _hidden, ...view } = user;
  return view;
}

export class ListUsersQuery {
  constructor(private readonly ctx: AppContext) {}

  async execute(filter: {
    readonly email?: string;
    readonly limit: number;
    readonly cursor?: string;
  }): Promise<Page<UserView>> {
    const page = await this.ctx.uow.read((repos) => repos.users.list(filter));
    return { items: page.items.map(toUserView), nextCursor: page.nextCursor };
  }
}
