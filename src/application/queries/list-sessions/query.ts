import type { Page } from '../../../domain/page.js';
import type { AppContext } from '../../context.js';

export interface SessionView {
  readonly id: string;
  readonly createdAt: Date;
  readonly lastUsedAt: Date;
  readonly userAgent: string | null;
  readonly ip: string | null;
  readonly current: boolean;
}

/** A user's active sessions, newest first, a page at a time; `current` marks the caller's own. */
export class ListSessionsQuery {
  constructor(private readonly ctx: AppContext) {}

  async execute(input: {
    readonly userId: string;
    readonly currentSessionId: string | null;
    readonly limit: number;
    readonly cursor?: string;
  }): Promise<Page<SessionView>> {
    const page = await this.ctx.uow.read((repos) =>
      repos.sessions.listActiveByUser(input.userId, this.ctx.clock.now(), {
        limit: input.limit,
        cursor: input.cursor,
      }),
    );
    return {
      items: page.items.map((s) => ({
        id: s.id,
        createdAt: s.createdAt,
        lastUsedAt: s.lastUsedAt,
        userAgent: s.userAgent,
        ip: s.ip,
        current: s.id === input.currentSessionId,
      })),
      nextCursor: page.nextCursor,
    };
  }
}
