import type { Page } from '../../../domain/page.js';
import { ok, type Result } from '../../../domain/result.js';
import { type ServiceClientView, toServiceClientView } from '../../../domain/service-client.js';
import { asResult } from '../../as-result.js';
import type { AppContext } from '../../context.js';

/** Service clients, oldest first, revoked ones included; never a secret or its hash. */
export class ListServiceClientsQuery {
  constructor(private readonly ctx: AppContext) {}

  /** Fails (`validation_failed`) on a cursor this list did not issue. */
  async execute(filter: {
    readonly limit: number;
    readonly cursor?: string;
  }): Promise<Result<Page<ServiceClientView>>> {
    const page = await asResult(() => this.ctx.uow.read((repos) => repos.serviceClients.list(filter)));
    if (!page.ok) return page;
    return ok({ items: page.value.items.map(toServiceClientView), nextCursor: page.value.nextCursor });
  }
}
