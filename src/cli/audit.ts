import type { Command } from 'commander';
import { AuditAction } from '../application/events.js';
import { type CommonOptions, jsonOption, listPage, type Paging, paging } from './command-kit.js';
import { type CliIo, resolveUser } from './context.js';
import { when } from './output.js';
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
  ).action((options: AuditListOptions) =>
    listPage(
      io,
      options,
      async (core, paging) =>
        core.services.listAuditEvents.execute({
          action: options.action,
          userId: options.user === undefined ? undefined : (await resolveUser(core, options.user)).id,
          since: options.since,
          ...paging,
        }),
      {
        noun: 'events',
        header: ['TIME', 'ACTOR', 'ACTION', 'USER', 'REASON', 'DETAILS'],
        row: (e) => [
          when(e.occurredAt),
          e.actor,
          e.action,
          e.userId ?? '-',
          e.reason ?? '-',
          Object.keys(e.details).length === 0 ? '-' : JSON.stringify(e.details),
        ],
        empty: 'No audit events match.',
      },
    ),
  );
}
