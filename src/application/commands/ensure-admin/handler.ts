import { parseEmail } from '../../../domain/credentials.js';
import { TokenwardenError } from '../../../domain/errors.js';
import { err, ok, type Result } from '../../../domain/result.js';
import type { UserRecord } from '../../../domain/user.js';
import type { AppContext } from '../../context.js';
import { AuditAction } from '../../events.js';
import { lockForTokenWrite } from '../../lock-order.js';
import { announceVersionChange, versionUnchanged } from '../../user-version-change.js';
import { promoteUserInTransaction } from '../promote-user/handler.js';
import { RegisterUser } from '../register-user/command.js';
import { RegisterUserHandler } from '../register-user/handler.js';
import type { EnsureAdmin } from './command.js';

type EnsureAdminOutcome = 'created' | 'promoted' | 'unchanged';

export interface EnsureAdminReport {
  readonly outcome: EnsureAdminOutcome;
  readonly userId: string;
  /** False only for an existing admin whose password was changed since it was bootstrapped. */
  readonly passwordMatches: boolean;
}

/** The reason audited with a bootstrap's rows. */
export const BOOTSTRAP_REASON = 'TOKENWARDEN_ADMIN_EMAIL at start-up';

const refusal = (detail: string) =>
  new TokenwardenError(
    'forbidden',
    `TOKENWARDEN_ADMIN_EMAIL names an existing account that ${detail}, so start-up will not make it ` +
      "an admin. Set TOKENWARDEN_ADMIN_PASSWORD to that account's password, or choose another " +
      'TOKENWARDEN_ADMIN_EMAIL (or unset both), or promote the account on purpose with ' +
      '`tokenwarden users promote <user> --reason …`.',
  );

/**
 * Start-up bootstrap of the first admin:
 * - no account with that email: create it as admin;
 * - an admin already: leave it alone (restarting never resets a password the admin has
 *   since changed);
 * - a user whose password verifies against the configured one: promote it (audited,
 *   the user is rotated);
 * - a user whose password does not verify, or a disabled user: refuse, since whoever
 *   registered that email first is not necessarily the operator.
 * Every outcome, refusals included, leaves an audit row.
 */
export class EnsureAdminHandler {
  private readonly register: RegisterUserHandler;

  constructor(private readonly ctx: AppContext) {
    this.register = new RegisterUserHandler(ctx);
  }

  async handle(command: EnsureAdmin): Promise<Result<EnsureAdminReport>> {
    const email = parseEmail(command.email);
    if (!email.ok) return email;
    let existing = await this.ctx.uow.read((repos) => repos.users.findByEmail(email.value));
    if (existing === null) {
      const created = await this.register.handle(
        RegisterUser({ email: email.value, password: command.password, role: 'admin', actor: command.actor }),
      );
      if (created.ok) return ok({ outcome: 'created', userId: created.value.id, passwordMatches: true });
      if (created.error.code !== 'email_taken') return created;
      // A concurrent start (or a registration) took the email first: judge that account.
      existing = await this.ctx.uow.read((repos) => repos.users.findByEmail(email.value));
      if (existing === null) return created;
    }
    const passwordMatches = await this.ctx.hasher.verify(existing.passwordHash, command.password);
    if (existing.role === 'admin') {
      await this.audit(existing, command.actor, { outcome: 'unchanged', passwordMatches });
      return ok({ outcome: 'unchanged', userId: existing.id, passwordMatches });
    }
    if (!passwordMatches) {
      await this.audit(existing, command.actor, { outcome: 'refused', why: 'password_mismatch' });
      return err(refusal('does not have the password TOKENWARDEN_ADMIN_PASSWORD gives'));
    }
    if (existing.disabledAt !== null) {
      await this.audit(existing, command.actor, { outcome: 'refused', why: 'user_disabled' });
      return err(refusal('is disabled'));
    }
    return this.promote(existing, command.actor);
  }

  private async promote(user: UserRecord, actor: string): Promise<Result<EnsureAdminReport>> {
    const promoted = await this.ctx.uow.run(async (repos) => {
      const { user: locked } = await lockForTokenWrite(repos, { user: { id: user.id, lock: 'update' } });
      // Checked again under the lock: the account may have changed since it was read.
      if (locked === null || locked.passwordHash !== user.passwordHash || locked.disabledAt !== null) {
        return null;
      }
      if (locked.role === 'admin') return versionUnchanged(locked);
      return promoteUserInTransaction(this.ctx, repos, locked, { actor, reason: BOOTSTRAP_REASON });
    });
    if (promoted === null) return err(refusal('changed while start-up checked it'));
    announceVersionChange(this.ctx, promoted);
    return ok({
      outcome: promoted.changed ? 'promoted' : 'unchanged',
      userId: user.id,
      passwordMatches: true,
    });
  }

  /** An outcome that changed nothing still leaves a row, so the audit log shows every start's decision. */
  private async audit(user: UserRecord, actor: string, details: Readonly<Record<string, unknown>>) {
    await this.ctx.uow.run((repos) =>
      repos.audit.append({
        occurredAt: this.ctx.clock.now(),
        actor,
        action: AuditAction.AdminBootstrap,
        userId: user.id,
        reason: BOOTSTRAP_REASON,
        details,
      }),
    );
  }
}
