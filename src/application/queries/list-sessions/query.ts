import type { Page } from '../../../domain/page.js';
import { ok, type Result } from '../../../domain/result.js';
import { asResult } from '../../as-result.js';
import type { AppContext } from '../../context.js';

export interface SessionView {
  readonly id: string;
  readonly createdAt: Date;
  readonly lastUsedAt: Date;
  readonly userAgent: string | null;
  readonly ip: string | null;
  readonly current: boolean;
}

/**
 * A user's active sessions, newest first, a page at a time; `current` marks the caller's
 * own. Fails (`validation_failed`) on a cursor this list did not issue.
 */
export class ListSessionsQuery {
  constructor(private readonly ctx: AppContext) {}

  async execute(input: {
    readonly userId: string;
    readonly currentSessionId: string | null;
    readonly limit: number;
    readonly cursor?: string;
  }): Promise<Result<Page<SessionView>>> {
    const page = await asResult(() =>
      this.ctx.uow.read((repos) =>
        repos.sessions.listActiveByUser(input.userId, this.ctx.clock.now(), {
          limit: input.limit,
          cursor: input.cursor,
        }),
      ),
    );
    if (!page.ok) return page;
    return ok({
      items: page.value.items.map((s) => ({
        id: s.id,
        createdAt: s.createdAt,
        lastUsedAt: s.lastUsedAt,
        userAgent: s.userAgent,
        ip: s.ip,
        current: s.id === input.currentSessionId,
      })),
      nextCursor: page.value.nextCursor,
    });
  }
}
