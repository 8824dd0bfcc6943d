import type { Command } from 'commander';
import { RetireSigningKey } from '../application/commands/retire-signing-key/command.js';
import { RotateSigningKey } from '../application/commands/rotate-signing-key/command.js';
import { type CommonOptions, jsonOption, outputFor, unwrap } from './command-kit.js';
import { type CliIo, cliActor, withCore } from './context.js';
import { table, when } from './output.js';

/** `tokenwarden keys list|rotate|retire`: the access-token signing keys (JWKS). */
export function registerKeys(program: Command, io: CliIo): void {
  const keys = program.command('keys').description('list, rotate and retire access-token signing keys');

  jsonOption(keys.command('list').description('every signing key, newest first, with its status')).action(
    async (options: CommonOptions) => {
      await withCore(io, async (core) => {
        const items = unwrap(await core.services.listSigningKeys.execute());
        outputFor(io, options).result({ items }, () =>
          table(
            ['KID', 'ALG', 'STATUS', 'CREATED', 'STOPPED SIGNING', 'VERIFIES UNTIL', 'RETIRED'],
            items.map((k) => [
              k.kid,
              k.algorithm,
              k.status,
              when(k.createdAt),
              when(k.deactivatedAt),
              when(k.verifiesUntil),
              when(k.retiredAt),
            ]),
            'No signing keys.',
          ),
        );
      });
    },
  );

  jsonOption(
    keys
      .command('rotate')
      .description(
        'make a new key active; the old one keeps verifying until the access tokens it signed expire',
      )
      .option('--reason <text>', 'why, for the audit log'),
  ).action(async (options: CommonOptions & { readonly reason?: string }) => {
    await withCore(io, async (core) => {
      const result = unwrap(
        await core.services.rotateSigningKey.handle(
          RotateSigningKey({ actor: cliActor(io), reason: options.reason }),
        ),
      );
      outputFor(io, options).result(result, () =>
        result.previousKid === null
          ? `New active signing key ${result.newKid}.`
          : `New active signing key ${result.newKid}; ${result.previousKid} keeps verifying until its tokens expire.`,
      );
    });
  });

  jsonOption(
    keys
      .command('retire')
      .description('stop a key at once: access tokens it signed are refused from now on')
      .argument('<kid>', 'the key id (see keys list)')
      .option('--reason <text>', 'why, for the audit log')
      .option('--replace', 'allow retiring the active key: a new active key replaces it in the same step'),
  ).action(
    async (
      kid: string,
      options: CommonOptions & { readonly reason?: string; readonly replace?: boolean },
    ) => {
      await withCore(io, async (core) => {
        const result = unwrap(
          await core.services.retireSigningKey.handle(
            RetireSigningKey({
              kid,
              actor: cliActor(io),
              reason: options.reason,
              replace: options.replace === true,
            }),
          ),
        );
        outputFor(io, options).result(result, () =>
          result.previousStatus === 'retired'
            ? `Signing key ${result.kid} was already retired (since ${when(result.retiredAt)}).`
            : `Retired signing key ${result.kid} (was ${result.previousStatus}): tokens it signed are refused.` +
              (result.newKid === null ? '' : ` New active key: ${result.newKid}.`),
        );
      });
    },
  );
}
