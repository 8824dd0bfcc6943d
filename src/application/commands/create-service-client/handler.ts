import { ok, type Result } from '../../../domain/result.js';
import { parseServiceClientName } from '../../../domain/service-client.js';
import type { AppContext } from '../../context.js';
import { AuditAction, EventType, recordChange } from '../../events.js';
import type { CreateServiceClient } from './command.js';

export interface CreatedServiceClient {
  readonly id: string;
  readonly name: string;
  /** `twc_…`: shown this once; only its SHA-256 is stored. */
  readonly secret: string;
  readonly createdAt: Date;
}

/** Inserts the client (its secret's hash only) with its audit row and outbox event in one transaction. */
export class CreateServiceClientHandler {
  constructor(private readonly ctx: AppContext) {}

  async handle(command: CreateServiceClient): Promise<Result<CreatedServiceClient>> {
    const name = parseServiceClientName(command.name);
    if (!name.ok) return name;
    const id = this.ctx.tokens.id();
    const secret = this.ctx.tokens.serviceClientSecret();
    const now = this.ctx.clock.now();
    await this.ctx.uow.run(async (repos) => {
      await repos.serviceClients.insert({
        id,
        name: name.value,
        secretHash: this.ctx.tokens.hashServiceClientSecret(secret),
        createdAt: now,
        createdBy: command.actor,
      });
      await recordChange(this.ctx, repos, EventType.ServiceClientCreated, {
        occurredAt: now,
        actor: command.actor,
        action: AuditAction.ServiceClientCreated,
        userId: null,
        reason: null,
        details: { clientId: id, name: name.value },
      });
    });
    return ok({ id, name: name.value, secret, createdAt: now });
  }
}
