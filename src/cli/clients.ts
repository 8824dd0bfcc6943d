import type { Command } from 'commander';
import { CreateServiceClient } from '../application/commands/create-service-client/command.js';
import { RevokeServiceClient } from '../application/commands/revoke-service-client/command.js';
import type { CommonOptions, Paging } from './command-kit.js';
import { jsonOption, listPage, outputFor, paging, unwrap } from './command-kit.js';
import { type CliIo, cliActor, withCore } from './context.js';
import { fields, when } from './output.js';

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
    paging(
      clients
        .command('list')
        .description('service clients, oldest first, revoked ones included (never a secret)'),
      'clients',
      100,
    ),
  ).action((options: CommonOptions & Paging) =>
    listPage(io, options, (core, paging) => core.services.listServiceClients.execute(paging), {
      noun: 'clients',
      header: ['ID', 'NAME', 'CREATED', 'CREATED BY', 'REVOKED', 'REVOKED BY'],
      row: (c) => [c.id, c.name, when(c.createdAt), c.createdBy, when(c.revokedAt), c.revokedBy ?? '-'],
      empty: 'No service clients.',
    }),
  );

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
