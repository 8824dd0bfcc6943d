import { userNotFound } from '../../../domain/errors.js';
import { isUuid } from '../../../domain/ids.js';
import { err, ok, type Result } from '../../../domain/result.js';
import type { AppContext } from '../../context.js';
import { toUserView, type UserView } from '../list-users/query.js';

/** One user named by id or by (exact, case-insensitive) email, as operators name them. */
export class FindUserQuery {
  constructor(private readonly ctx: AppContext) {}

  async execute(idOrEmail: string): Promise<Result<UserView>> {
    const key = idOrEmail.trim();
    const user = await this.ctx.uow.read((repos) =>
      isUuid(key) ? repos.users.findById(key) : repos.users.findByEmail(key),
    );
    return user === null ? err(userNotFound(idOrEmail, 'id or email')) : ok(toUserView(user));
  }
}
