import type { AppContext } from '../../context.js';
import { AuditAction, EventType, recordChange } from '../../events.js';
import { signingKeysChanged } from '../../signing-keys-changed.js';
import type { AdoptSigningAlgorithm } from './command.js';

export interface SigningAlgorithmAdoption {
  readonly previousKid: string;
  readonly previousAlgorithm: string;
  readonly newKid: string;
  readonly algorithm: string;
  readonly rotatedAt: Date;
}

/**
 * One transaction, under the signing-key lock: if the active key is of another algorithm
 * than the configured one, a new key of the configured one becomes active and the old one
 * turns `verifying`, with the audit row and outbox event a rotation writes. Instances that
 * start together take turns on the lock; the first rotates, the others find its key and
 * write nothing but load the keys again. A pinned key (TOKENWARDEN_SIGNING_KEY) is never rotated: nothing to do.
 *
 * @returns the rotation, or null when the active key already is of the configured algorithm
 */
export class AdoptSigningAlgorithmHandler {
  constructor(private readonly ctx: AppContext) {}

  async handle(command: AdoptSigningAlgorithm): Promise<SigningAlgorithmAdoption | null> {
    if (this.ctx.keys.pinned) return null;
    const result = await this.ctx.uow.run(async (repos) => {
      const rotatedAt = this.ctx.clock.now();
      const rotation = await repos.signingKeys.rotateToConfiguredAlgorithm(rotatedAt);
      if (rotation === null || rotation.previousKid === null) return null;
      const { previousKid, newKid, previousAlgorithm, algorithm } = rotation;
      await recordChange(this.ctx, repos, EventType.SigningKeyRotated, {
        occurredAt: rotatedAt,
        actor: command.actor,
        action: AuditAction.SigningKeyRotated,
        userId: null,
        reason: `signing algorithm changed from ${previousAlgorithm} to ${algorithm} (TOKENWARDEN_SIGNING_ALG)`,
        details: { previousKid, newKid, previousStatus: 'verifying', previousAlgorithm, algorithm },
      });
      return { previousKid, previousAlgorithm, newKid, algorithm, rotatedAt };
    });
    if (result !== null) {
      await signingKeysChanged(this.ctx);
    } else {
      // Another instance may have rotated after this one loaded its keys at start: load them
      // again, so this one signs with that key from its first token.
      await this.ctx.keys.reload();
    }
    return result;
  }
}
