import { parseEmail } from '../../../domain/credentials.js';
import { ok, type Result } from '../../../domain/result.js';
import type { AppContext } from '../../context.js';
import { AuditAction, EventType, recordChange } from '../../events.js';
import { RegisterUser } from '../register-user/command.js';
import { RegisterUserHandler } from '../register-user/handler.js';
import type { EnsureAdmin } from './command.js';

export type EnsureAdminOutcome = 'created' | 'promoted' | 'unchanged';

/**
 * Creates the admin on first start, promotes an existing account of that email, and
 * otherwise does nothing: restarting with the same variables never resets a password
 * an admin has since changed.
 */
export class EnsureAdminHandler {
  private readonly register: RegisterUserHandler;

  constructor(private readonly ctx: AppContext) {
    this.register = new RegisterUserHandler(ctx);
  }

  async handle(command: EnsureAdmin): Promise<Result<EnsureAdminOutcome>> {
    const email = parseEmail(command.email);
    if (!email.ok) return email;
    const existing = await this.ctx.uow.read((repos) => repos.users.findByEmail(email.value));
    if (existing === null) {
      const created = await this.register.handle(
        RegisterUser({ email: email.value, password: command.password, role: 'admin', actor: command.actor }),
      );
      // A concurrent start created it first: that is the idempotent outcome too.
      if (!created.ok) return created.error.code === 'email_taken' ? ok('unchanged') : created;
      return ok('created');
    }
    if (existing.role === 'admin') return ok('unchanged');
    await this.ctx.uow.run(async (repos) => {
      const now = this.ctx.clock.now();
      await repos.users.setRole(existing.id, 'admin', now);
      await recordChange(this.ctx, repos, EventType.UserPromoted, {
        occurredAt: now,
        actor: command.actor,
        action: AuditAction.UserPromoted,
        userId: existing.id,
        reason: 'TOKENWARDEN_ADMIN_EMAIL at start-up',
        details: { role: { from: existing.role, to: 'admin' } },
      });
    });
    // Running instances may hold the old role in their access-state cache.
    this.ctx.versionListener.userChanged(existing.id);
    return ok('promoted');
  }
}
