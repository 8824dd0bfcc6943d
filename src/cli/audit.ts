import type { Command } from 'commander';
import { AuditAction } from '../application/events.js';
import { type CommonOptions, jsonOption, outputFor, type Paging, paging, unwrap } from './command-kit.js';
import { type CliIo, resolveUser, withCore } from './context.js';
import { table, when } from './output.js';
import { isoTimestamp, oneOf } from './parsers.js';

interface AuditListOptions extends CommonOptions, Paging {
  readonly action?: string;
  readonly user?: string;
  readonly since?: Date;
}

/** `tokenwarden audit list`: the audit log, newest first. */
export function registerAudit(program: Command, io: CliIo): void {
  const audit = program.command('audit').description('read the audit log');

  jsonOption(
    paging(
      audit
        .command('list')
        .description('audit events, newest first')
        .option(
          '--action <action>',
          'only this action, e.g. token_rotation.global or user.disabled',
          oneOf(Object.values(AuditAction)),
        )
        .option('--user <user>', 'only events about this user (id or email)')
        .option(
          '--since <iso>',
          'only events at or after this time (ISO-8601; UTC unless a zone is given)',
          isoTimestamp,
        ),
      'events',
      50,
    ),
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
      out.nextPage('events', page.nextCursor);
    });
  });
}
