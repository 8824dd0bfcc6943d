import { TokenwardenError } from '../../../domain/errors.js';
import { err, ok, type Result } from '../../../domain/result.js';
import type { SigningKeyStatus } from '../../../domain/signing-key.js';
import type { AppContext } from '../../context.js';
import { AuditAction, EventType, recordChange } from '../../events.js';
import { optionalReason, pinnedSigningKeyError, signingKeysChanged } from '../../signing-keys-changed.js';
import type { RetireSigningKey } from './command.js';

export interface SigningKeyRetirementResult {
  readonly kid: string;
  /** `retired` when it already was (nothing changed, nothing audited). */
  readonly previousStatus: SigningKeyStatus;
  /** The key made active in its place, when the active key was retired with `replace`. */
  readonly newKid: string | null;
  readonly retiredAt: Date | null;
}

const MAX_KID_LENGTH = 256;

/**
 * One transaction: the key turns `retired` (and, with `replace`, a new key becomes
 * active), with the audit row and outbox event; then this instance reloads its keys
 * and the others are told to, so tokens the key signed are refused at once.
 */
export class RetireSigningKeyHandler {
  constructor(private readonly ctx: AppContext) {}

  async handle(command: RetireSigningKey): Promise<Result<SigningKeyRetirementResult>> {
    const kid = command.kid.trim();
    const notFound = () =>
      err(new TokenwardenError('signing_key_not_found', `No signing key with kid ${kid}`));
    if (kid === '' || kid.length > MAX_KID_LENGTH) return notFound();
    const reason = optionalReason(command.reason);
    if (!reason.ok) return reason;
    if (command.replace === true && this.ctx.keys.pinned) return err(pinnedSigningKeyError());

    const outcome = await this.ctx.uow.run(async (repos) => {
      const retiredAt = this.ctx.clock.now();
      const retirement = await repos.signingKeys.retire(kid, retiredAt, {
        replace: command.replace === true,
      });
      switch (retirement.outcome) {
        case 'not_found':
          return notFound();
        case 'active_key':
          return err(
            new TokenwardenError(
              'signing_key_active',
              `Signing key ${kid} is the active signing key and retiring it would leave none: rotate first (keys rotate), then retire it, or retire it with a replacement (replace: true) to do both at once`,
            ),
          );
        case 'already_retired':
          return ok({
            kid,
            previousStatus: 'retired' as const,
            newKid: null,
            retiredAt: retirement.retiredAt,
          });
        case 'retired': {
          await recordChange(this.ctx, repos, EventType.SigningKeyRetired, {
            occurredAt: retiredAt,
            actor: command.actor,
            action: AuditAction.SigningKeyRetired,
            userId: null,
            reason: reason.value,
            details: { kid, previousStatus: retirement.previousStatus, newKid: retirement.newKid },
          });
          return ok({ kid, previousStatus: retirement.previousStatus, newKid: retirement.newKid, retiredAt });
        }
      }
    });
    if (outcome.ok && outcome.value.previousStatus !== 'retired') await signingKeysChanged(this.ctx);
    return outcome;
  }
}
