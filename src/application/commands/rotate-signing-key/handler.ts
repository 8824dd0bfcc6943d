import { err, ok, type Result } from '../../../domain/result.js';
import type { AppContext } from '../../context.js';
import { AuditAction, EventType, recordChange } from '../../events.js';
import { optionalReason, pinnedSigningKeyError, signingKeysChanged } from '../../signing-keys-changed.js';
import type { RotateSigningKey } from './command.js';

export interface SigningKeyRotationResult {
  /** The key that signed until now; it keeps verifying for one access-token TTL. */
  readonly previousKid: string | null;
  readonly newKid: string;
  readonly rotatedAt: Date;
}

/**
 * One transaction: a new Ed25519 key becomes active, the old one turns `verifying`,
 * with the audit row and outbox event. Then this instance reloads its keys and the
 * others are told to.
 */
export class RotateSigningKeyHandler {
  constructor(private readonly ctx: AppContext) {}

  async handle(command: RotateSigningKey): Promise<Result<SigningKeyRotationResult>> {
    if (this.ctx.keys.pinned) return err(pinnedSigningKeyError());
    const reason = optionalReason(command.reason);
    if (!reason.ok) return reason;
    const result = await this.ctx.uow.run(async (repos) => {
      const rotatedAt = this.ctx.clock.now();
      const { previousKid, newKid } = await repos.signingKeys.rotate(rotatedAt);
      await recordChange(this.ctx, repos, EventType.SigningKeyRotated, {
        occurredAt: rotatedAt,
        actor: command.actor,
        action: AuditAction.SigningKeyRotated,
        userId: null,
        reason: reason.value,
        details: { previousKid, newKid, previousStatus: previousKid === null ? null : 'verifying' },
      });
      return { previousKid, newKid, rotatedAt };
    });
    await signingKeysChanged(this.ctx);
    return ok(result);
  }
}
