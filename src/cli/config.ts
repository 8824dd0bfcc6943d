import type { Command } from 'commander';
import { UpdateSecurityConfig } from '../application/commands/update-security-config/command.js';
import { MAX_GRACE_PERIOD_SECONDS, type SecurityConfig } from '../domain/versions.js';
import { type CommonOptions, jsonOption, outputFor, unwrap } from './command-kit.js';
import { type CliIo, cliActor, withCore } from './context.js';
import { fields, when } from './output.js';
import { integerIn } from './parsers.js';

const describe = (config: SecurityConfig): string =>
  fields([
    ['global version', String(config.globalMinTokenVersion)],
    ['grace period', `${config.gracePeriodSeconds} s`],
    ['last rotation', when(config.lastRotationAt)],
    ['last reason', config.lastRotationReason ?? '-'],
    ['grace until', when(config.graceUntil)],
    ['updated at', when(config.updatedAt)],
  ]);

/** `tokenwarden config get|set`: the security config singleton (CONTRACT §1). */
export function registerConfig(program: Command, io: CliIo): void {
  const config = program.command('config').description('show or change the security configuration');

  jsonOption(
    config.command('get').description('show the global token version, grace period and last rotation'),
  ).action(async (options: CommonOptions) => {
    await withCore(io, async (core) => {
      const current = unwrap(await core.services.getSecurityConfig.execute());
      outputFor(io, options).result(current, () => `Security configuration:\n${describe(current)}`);
    });
  });

  jsonOption(
    config
      .command('set')
      .description('change the default grace period of future global rotations (audited)')
      .requiredOption(
        '--grace <seconds>',
        `grace period for one-behind tokens after a global rotation (0-${MAX_GRACE_PERIOD_SECONDS})`,
        integerIn(0, MAX_GRACE_PERIOD_SECONDS),
      ),
  ).action(async (options: CommonOptions & { readonly grace: number }) => {
    await withCore(io, async (core) => {
      const updated = unwrap(
        await core.services.updateSecurityConfig.handle(
          UpdateSecurityConfig({ gracePeriodSeconds: options.grace, actor: cliActor(io.env) }),
        ),
      );
      outputFor(io, options).result(updated, () => `Security configuration updated:\n${describe(updated)}`);
    });
  });
}
