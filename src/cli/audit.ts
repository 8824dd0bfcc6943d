import type { Command } from 'commander';
import { type CommonOptions, jsonOption, outputFor, unwrap } from './command-kit.js';
import { type CliIo, resolveUser, withCore } from './context.js';
import { table, when } from './output.js';
import { integerIn, isoTimestamp } from './parsers.js';

interface AuditListOptions extends CommonOptions {
  readonly action?: string;
  readonly user?: string;
  readonly since?: Date;
  readonly limit: number;
  readonly cursor?: string;
}

/** `tokenwarden audit list`: the audit log, newest first. */
export function registerAudit(program: Command, io: CliIo): void {
  const audit = program.command('audit').description('read the audit log');

  jsonOption(
    audit
      .command('list')
      .description('audit events, newest first')
      .option('--action <action>', 'only this action, e.g. token_rotation.global or user.disabled')
      .option('--user <user>', 'only events about this user (id or email)')
      .option(
        '--since <iso>',
        'only events at or after this time (ISO-8601; UTC unless a zone is given)',
        isoTimestamp,
      )
      .option('--limit <n>', 'at most this many events (1-1000)', integerIn(1, 1000), 50)
      .option('--cursor <cursor>', 'continue from the cursor a previous page printed'),
  ).action(async (options: AuditListOptions) => {
    const out = outputFor(io, options);
    await withCore(io, async (core) => {
      const userId = options.user === undefined ? undefined : (await resolveUser(core, options.user)).id;
      const page = unwrap(
        await core.services.listAuditEvents.execute({
          action: options.action,
          userId,
          since: options.since,
          limit: options.limit,
          cursor: options.cursor,
        }),
      );
      out.result(page, () =>
        table(
          ['TIME', 'ACTOR', 'ACTION', 'USER', 'REASON', 'DETAILS'],
          page.items.map((e) => [
            when(e.occurredAt),
            e.actor,
            e.action,
            e.userId ?? '-',
            e.reason ?? '-',
            Object.keys(e.details).length === 0 ? '-' : JSON.stringify(e.details),
          ]),
          'No audit events match.',
        ),
      );
      if (!out.json && page.nextCursor !== null) out.note(`More events: add --cursor ${page.nextCursor}`);
    });
  });
}
