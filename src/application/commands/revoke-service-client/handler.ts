import { err, ok, type Result } from '../../../domain/result.js';
import {
  type ServiceClientView,
  serviceClientNotFound,
  toServiceClientView,
} from '../../../domain/service-client.js';
import type { AppContext } from '../../context.js';
import { AuditAction, EventType, recordChange } from '../../events.js';
import { optionalReason } from '../../signing-keys-changed.js';
import type { RevokeServiceClient } from './command.js';

export interface RevokedServiceClient {
  readonly client: ServiceClientView;
  /** False when the client was already revoked: nothing was written. */
  readonly changed: boolean;
}

/**
 * Sets `revoked_at` with its audit row and outbox event in one transaction; from then on
 * the client's secret authenticates nothing and the revocation streams it holds open end.
 * Revoking again changes and writes nothing.
 */
export class RevokeServiceClientHandler {
  constructor(private readonly ctx: AppContext) {}

  async handle(command: RevokeServiceClient): Promise<Result<RevokedServiceClient>> {
    const reason = optionalReason(command.reason);
    if (!reason.ok) return reason;
    const result = await this.ctx.uow.run(async (repos) => {
      const client = await repos.serviceClients.findById(command.clientId, 'update');
      if (client === null) return err(serviceClientNotFound(command.clientId));
      if (client.revokedAt !== null) return ok({ client: toServiceClientView(client), changed: false });
      const now = this.ctx.clock.now();
      await repos.serviceClients.revoke(client.id, now, command.actor);
      await recordChange(this.ctx, repos, EventType.ServiceClientRevoked, {
        occurredAt: now,
        actor: command.actor,
        action: AuditAction.ServiceClientRevoked,
        userId: null,
        reason: reason.value,
        details: { clientId: client.id, name: client.name },
      });
      return ok({
        client: toServiceClientView({ ...client, revokedAt: now, revokedBy: command.actor }),
        changed: true,
      });
    });
    // After the commit: its open revocation streams end on every instance (they were
    // authenticated once, when they opened).
    if (result.ok && result.value.changed) this.ctx.versionListener.serviceClientRevoked(command.clientId);
    return result;
  }
}
