import { parseEmail, parseNewPassword } from '../../../domain/credentials.js';
import { TokenwardenError } from '../../../domain/errors.js';
import { err, ok, type Result } from '../../../domain/result.js';
import type { Role } from '../../../domain/user.js';
import type { AppContext } from '../../context.js';
import { AuditAction, EventType, recordChange } from '../../events.js';
import type { RegisterUser } from './command.js';

export interface RegisteredUser {
  readonly id: string;
  readonly email: string;
  readonly role: Role;
  readonly createdAt: Date;
}

export class RegisterUserHandler {
  constructor(private readonly ctx: AppContext) {}

  async handle(command: RegisterUser): Promise<Result<RegisteredUser>> {
    const email = parseEmail(command.email);
    if (!email.ok) return email;
    const password = parseNewPassword(command.password);
    if (!password.ok) return password;

    // Hash before the transaction: argon2 is slow on purpose and must not hold a connection.
    const passwordHash = await this.ctx.hasher.hash(password.value);
    const now = this.ctx.clock.now();
    const id = this.ctx.tokens.id();
    return this.ctx.uow.run(async (repos) => {
      const outcome = await repos.users.insert({
        id,
        email: email.value,
        passwordHash,
        role: command.role,
        createdAt: now,
      });
      if (outcome === 'email_taken') {
        return err(new TokenwardenError('email_taken', 'An account with this email already exists'));
      }
      await recordChange(this.ctx, repos, EventType.UserRegistered, {
        occurredAt: now,
        actor: command.actor === 'self' ? id : command.actor,
        action: AuditAction.UserRegistered,
        userId: id,
        reason: null,
        details: { role: command.role },
      });
      return ok({ id, email: email.value, role: command.role, createdAt: now });
    });
  }
}
