import type { Command } from 'commander';
import { CreateServiceClient } from '../application/commands/create-service-client/command.js';
import { RevokeServiceClient } from '../application/commands/revoke-service-client/command.js';
import { type CommonOptions, jsonOption, outputFor, unwrap } from './command-kit.js';
import { type CliIo, cliActor, withCore } from './context.js';
import { fields, table, when } from './output.js';
import { integerIn } from './parsers.js';

/** `tokenwarden clients create|list|revoke`: the credentials services present to the revocation feed. */
export function registerClients(program: Command, io: CliIo): void {
  const clients = program
    .command('clients')
    .description('create, list and revoke service clients (credentials for the revocation feed)');

  jsonOption(
    clients
      .command('create')
      .description('create a service client; its id and secret are printed once (only a hash is stored)')
      .requiredOption('--name <name>', 'a label for people, e.g. orders-api (1-100 characters)'),
  ).action(async (options: CommonOptions & { readonly name: string }) => {
    await withCore(io, async (core) => {
      const created = unwrap(
        await core.services.createServiceClient.handle(
          CreateServiceClient({ name: options.name, actor: cliActor(io) }),
        ),
      );
      const out = outputFor(io, options);
      out.result(
        created,
        () =>
          `Created service client ${created.name}:\n` +
          fields([
            ['id', created.id],
            ['secret', created.secret],
          ]),
      );
      out.note('Store the secret now: it is not shown again.');
    });
  });

  jsonOption(
    clients
      .command('list')
      .description('service clients, oldest first, revoked ones included (never a secret)')
      .option('--limit <n>', 'at most this many (1-1000)', integerIn(1, 1000), 100)
      .option('--cursor <cursor>', 'continue from the cursor a previous page printed'),
  ).action(async (options: CommonOptions & { readonly limit: number; readonly cursor?: string }) => {
    const out = outputFor(io, options);
    await withCore(io, async (core) => {
      const page = unwrap(
        await core.services.listServiceClients.execute({ limit: options.limit, cursor: options.cursor }),
      );
      out.result(page, () =>
        table(
          ['ID', 'NAME', 'CREATED', 'CREATED BY', 'REVOKED', 'REVOKED BY'],
          page.items.map((c) => [
            c.id,
            c.name,
            when(c.createdAt),
            c.createdBy,
            when(c.revokedAt),
            c.revokedBy ?? '-',
          ]),
          'No service clients.',
        ),
      );
      if (!out.json && page.nextCursor !== null) out.note(`More clients: add --cursor ${page.nextCursor}`);
    });
  });

  jsonOption(
    clients
      .command('revoke')
      .description('revoke a service client: its secret stops working at once (audited)')
      .argument('<id>', 'the client id (see clients list)')
      .option('--reason <text>', 'why, for the audit log'),
  ).action(async (clientId: string, options: CommonOptions & { readonly reason?: string }) => {
    await withCore(io, async (core) => {
      const result = unwrap(
        await core.services.revokeServiceClient.handle(
          RevokeServiceClient({ clientId, actor: cliActor(io), reason: options.reason }),
        ),
      );
      const who = `${result.client.name} (id ${result.client.id})`;
      outputFor(io, options).result(result, () =>
        result.changed
          ? `Revoked service client ${who}: its secret no longer authenticates.`
          : `Service client ${who} was already revoked, since ${when(result.client.revokedAt)}.`,
      );
    });
  });
}
