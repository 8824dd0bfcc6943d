import { normaliseEmail } from '../../../domain/credentials.js';
import { TokenwardenError } from '../../../domain/errors.js';
import { err, ok, type Result } from '../../../domain/result.js';
import type { AppContext } from '../../context.js';
import { AuditAction, EventType, recordChange } from '../../events.js';
import { startSession } from '../../start-session.js';
import { buildTokenPair, type TokenPair } from '../../token-pair.js';
import type { CreateSession } from './command.js';

const invalidCredentials = () =>
  new TokenwardenError('invalid_credentials', 'Email or password is incorrect');

export class CreateSessionHandler {
  constructor(private readonly ctx: AppContext) {}

  async handle(command: CreateSession): Promise<Result<TokenPair>> {
    const user = await this.ctx.uow.read((repos) => repos.users.findByEmail(normaliseEmail(command.email)));
    if (user === null) {
      // Same work as a wrong password, so timing does not reveal which emails exist.
      await this.ctx.hasher.verifyDummy(command.password);
      this.ctx.metrics.login('failed');
      return err(invalidCredentials());
    }
    const passwordOk = await this.ctx.hasher.verify(user.passwordHash, command.password);
    if (!passwordOk || user.disabledAt !== null) {
      this.ctx.metrics.login('failed');
      return err(invalidCredentials());
    }

    const started = await this.ctx.uow.run(async (repos) => {
      const session = await startSession(this.ctx, repos, {
        userId: user.id,
        userAgent: command.userAgent,
        ip: command.ip,
      });
      if (session === null) return null;
      await recordChange(this.ctx, repos, EventType.SessionCreated, {
        occurredAt: session.now,
        actor: user.id,
        action: AuditAction.SessionCreated,
        userId: user.id,
        reason: null,
        details: {
          sessionId: session.sessionId,
          userAgent: command.userAgent,
          ip: command.ip,
          revokedSessionIds: session.revokedSessionIds,
        },
      });
      return session;
    });
    // Sessions revoked to keep the user within the cap end like a logout, on every instance.
    for (const id of started?.revokedSessionIds ?? []) this.ctx.versionListener.sessionRevoked(id);
    // The user was deleted or disabled between the password check and the transaction.
    if (started === null) {
      this.ctx.metrics.login('failed');
      return err(invalidCredentials());
    }
    this.ctx.metrics.login('succeeded');
    return ok(
      await buildTokenPair(this.ctx, {
        userId: user.id,
        role: started.role,
        sessionId: started.sessionId,
        stamp: started.stamp,
        refreshToken: started.refreshToken.token,
        refreshExpiresAt: started.refreshToken.expiresAt,
        sessionExpiresAt: started.sessionExpiresAt,
        now: started.now,
      }),
    );
  }
}
