import type { Command } from 'commander';
import { RevokeSession } from '../application/commands/revoke-session/command.js';
import { type CommonOptions, jsonOption, outputFor, type Paging, paging, unwrap } from './command-kit.js';
import { type CliIo, cliActor, resolveUser, withCore } from './context.js';
import { when } from './output.js';

/** `tokenwarden sessions list|revoke`. */
export function registerSessions(program: Command, io: CliIo): void {
  const sessions = program.command('sessions').description('list and revoke login sessions');

  jsonOption(
    paging(
      sessions
        .command('list')
        .description("a user's active sessions, newest first")
        .argument('<user>', 'user id or email'),
      'sessions',
      100,
    ),
  ).action(async (userRef: string, options: CommonOptions & Paging) => {
    await withCore(io, async (core) => {
      const user = await resolveUser(core, userRef);
      const page = unwrap(
        await core.services.listSessions.execute({
          userId: user.id,
          currentSessionId: null,
          limit: options.limit,
          cursor: options.cursor,
        }),
      );
      const items = page.items.map(({ current: _current, ...session }) => session);
      const listed = { userId: user.id, email: user.email, items, nextCursor: page.nextCursor };
      outputFor(io, options).page(listed, {
        noun: 'sessions',
        header: ['ID', 'CREATED', 'LAST USED', 'IP', 'USER AGENT'],
        row: (s) => [s.id, when(s.createdAt), when(s.lastUsedAt), s.ip ?? '-', s.userAgent ?? '-'],
        empty: `${user.email} has no active sessions.`,
      });
    });
  });

  jsonOption(
    sessions
      .command('revoke')
      .description('log one session out: it and every refresh token in it stop working (audited)')
      .argument('<session>', 'session id')
      .option('--reason <text>', 'why, for the audit log', 'revoked_by_operator'),
  ).action(async (sessionId: string, options: CommonOptions & { readonly reason: string }) => {
    await withCore(io, async (core) => {
      const result = unwrap(
        await core.services.revokeSession.handle(
          RevokeSession({ sessionId, ownerId: null, actor: cliActor(io), reason: options.reason }),
        ),
      );
      outputFor(io, options).result(
        { sessionId, ...result },
        () => `Revoked session ${sessionId} (${result.revokedTokens} refresh tokens).`,
      );
    });
  });
}
