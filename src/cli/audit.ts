import type { Command } from 'commander';
import { AuditAction } from '../application/events.js';
import type { Core } from '../composition-root.js';
import { isUuid } from '../domain/ids.js';
import { registerAuditTrail } from './audit-trail.js';
import { type CommonOptions, jsonOption, listPage, type Paging, paging } from './command-kit.js';
import { type CliIo, resolveUser } from './context.js';
import { when } from './output.js';
import { isoTimestamp, oneOf } from './parsers.js';

interface AuditListOptions extends CommonOptions, Paging {
  readonly action?: string;
  readonly user?: string;
  readonly since?: Date;
}

/** `tokenwarden audit list`: the audit log, newest first; `audit export` and `audit verify`: its hash chain. */
export function registerAudit(program: Command, io: CliIo): void {
  const audit = program.command('audit').description('read, export and verify the audit log');
  registerAuditTrail(audit, io);

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
      async (core, paging) => {
        const page = await core.services.listAuditEvents.execute({
          action: options.action,
          userId: options.user === undefined ? undefined : (await resolveUser(core, options.user)).id,
          since: options.since,
          ...paging,
        });
        if (!page.ok) return page;
        // Users and admin actors by email, as the console shows them (ids stay in --json).
        const emails = await emailsOf(
          core,
          page.value.items.flatMap((e) => [e.actor, e.userId ?? '']),
        );
        const items = page.value.items.map((e) => ({
          ...e,
          actorEmail: emails.get(e.actor) ?? null,
          userEmail: e.userId === null ? null : (emails.get(e.userId) ?? null),
        }));
        return { ok: true as const, value: { ...page.value, items } };
      },
      {
        noun: 'events',
        header: ['TIME', 'ACTOR', 'ACTION', 'USER', 'REASON', 'DETAILS'],
        row: (e) => [
          when(e.occurredAt),
          e.actorEmail ?? e.actor,
          e.action,
          e.userEmail ?? e.userId ?? '-',
          e.reason ?? '-',
          Object.keys(e.details).length === 0 ? '-' : JSON.stringify(e.details),
        ],
        empty: 'No audit events match.',
      },
    ),
  );
}

/** The emails of those of `ids` that are users' ids (actors such as `system` or `cli:…` are not). */
async function emailsOf(core: Core, ids: readonly string[]): Promise<ReadonlyMap<string, string>> {
  const wanted = [...new Set(ids.filter(isUuid))];
  const emails = new Map<string, string>();
  // In pages of 100, as the admin API takes them.
  for (let at = 0; at < wanted.length; at += 100) {
    const chunk = wanted.slice(at, at + 100);
    const users = await core.services.listUsers.execute({ ids: chunk, limit: chunk.length });
    if (users.ok) for (const u of users.value.items) emails.set(u.id, u.email);
  }
  return emails;
}
