import type { Page } from '../../../domain/page.js';
import { ok, type Result } from '../../../domain/result.js';
import type { UserRecord } from '../../../domain/user.js';
import { asResult } from '../../as-result.js';
import type { AppContext } from '../../context.js';

export type UserView = Omit<UserRecord, 'passwordHash'>;

export function toUserView(user: UserRecord): UserView {
  const { passwordHash: _hidden, ...view } = user;
  return view;
}

export class ListUsersQuery {
  constructor(private readonly ctx: AppContext) {}

  /** Fails (`validation_failed`) on a cursor this list did not issue. */
  async execute(filter: {
    readonly email?: string;
    readonly ids?: readonly string[];
    readonly limit: number;
    readonly cursor?: string;
  }): Promise<Result<Page<UserView>>> {
    const page = await asResult(() => this.ctx.uow.read((repos) => repos.users.list(filter)));
    if (!page.ok) return page;
    return ok({ items: page.value.items.map(toUserView), nextCursor: page.value.nextCursor });
  }
}
