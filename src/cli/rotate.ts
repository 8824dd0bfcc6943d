import type { Command } from 'commander';
import { TriggerGlobalTokenRotation } from '../application/commands/trigger-global-token-rotation/command.js';
import { TriggerUserTokenRotation } from '../application/commands/trigger-user-token-rotation/command.js';
import { MAX_GRACE_PERIOD_SECONDS } from '../domain/versions.js';
import { type CommonOptions, jsonOption, outputFor, unwrap } from './command-kit.js';
import { type CliIo, cliActor, resolveUser, withCore } from './context.js';
import { fields, when } from './output.js';
import { integerIn } from './parsers.js';

interface GlobalOptions extends CommonOptions {
  readonly reason: string;
  readonly grace?: number;
  readonly dryRun?: boolean;
  readonly rotateSigningKey?: boolean;
}

interface UserOptions extends CommonOptions {
  readonly reason: string;
  readonly dryRun?: boolean;
}

/** `tokenwarden rotate global|user`: breach rotation (docs/DESIGN.md §2). */
export function registerRotate(program: Command, io: CliIo): void {
  const rotate = program
    .command('rotate')
    .description("invalidate refresh and access tokens: every one (global) or one user's");

  jsonOption(
    rotate
      .command('global')
      .description('invalidate every refresh and access token in the system (O(1), audited)')
      .requiredOption('--reason <text>', 'why, for the audit log (1-500 characters)')
      .option(
        '--grace <seconds>',
        `keep one-behind tokens working this long (0-${MAX_GRACE_PERIOD_SECONDS}; default: the configured grace period)`,
        integerIn(0, MAX_GRACE_PERIOD_SECONDS),
      )
      .option('--dry-run', 'change nothing; count the sessions and tokens that would stop working')
      .option(
        '--rotate-signing-key',
        'also retire the current signing key in the same transaction, so every access token dies at once',
      ),
  ).action(async (options: GlobalOptions) => {
    const out = outputFor(io, options);
    await withCore(io, async (core) => {
      const input = {
        reason: options.reason,
        gracePeriodSeconds: options.grace,
        rotateSigningKey: options.rotateSigningKey === true,
      };
      if (options.dryRun === true) {
        const result = unwrap(await core.services.previewGlobalRotation.execute(input));
        out.result(result, () =>
          [
            'Dry run: nothing was changed. A global rotation now would:',
            fields([
              ['version', `${result.currentVersion} -> ${result.newVersion}`],
              ['grace period', `${result.gracePeriodSeconds} s`],
              ['stop sessions', String(result.activeSessions)],
              ['stop tokens', `${result.activeRefreshTokens} refresh tokens`],
              ...(options.rotateSigningKey === true
                ? ([['retire key', result.retiredSigningKeyId ?? '-']] as const)
                : []),
            ]),
          ].join('\n'),
        );
        return;
      }
      const result = unwrap(
        await core.services.triggerGlobalTokenRotation.handle(
          TriggerGlobalTokenRotation({ triggeredBy: cliActor(io), ...input }),
        ),
      );
      out.result(result, () =>
        [
          `Global rotation done: every token issued before ${when(result.rotatedAt)} is invalid.`,
          fields([
            ['version', `${result.previousVersion} -> ${result.newVersion}`],
            [
              'grace period',
              result.gracePeriodSeconds === 0
                ? 'none: one-behind tokens are refused now'
                : `${result.gracePeriodSeconds} s (one-behind tokens accepted until ${when(result.graceUntil)})`,
            ],
            ...(result.newSigningKeyId === undefined
              ? []
              : ([
                  ['retired key', result.retiredSigningKeyId ?? '-'],
                  ['new key', `${result.newSigningKeyId} (every access token is refused now)`],
                ] as const)),
            ['reason', options.reason.trim()],
            ['actor', cliActor(io)],
          ]),
        ].join('\n'),
      );
    });
  });

  jsonOption(
    rotate
      .command('user')
      .description('invalidate every token of one user at once (no grace); they can log in again')
      .argument('<user>', 'user id or email')
      .requiredOption('--reason <text>', 'why, for the audit log (1-500 characters)')
      .option('--dry-run', 'change nothing; count the sessions and tokens that would stop working'),
  ).action(async (userRef: string, options: UserOptions) => {
    const out = outputFor(io, options);
    await withCore(io, async (core) => {
      const user = await resolveUser(core, userRef);
      if (options.dryRun === true) {
        const result = unwrap(
          await core.services.previewUserRotation.execute({ userId: user.id, reason: options.reason }),
        );
        out.result({ ...result, email: user.email }, () =>
          [
            `Dry run: nothing was changed. Rotating ${user.email} now would:`,
            fields([
              ['version', `${result.currentVersion} -> ${result.newVersion}`],
              ['stop sessions', String(result.activeSessions)],
              ['stop tokens', `${result.activeRefreshTokens} refresh tokens`],
            ]),
          ].join('\n'),
        );
        return;
      }
      const result = unwrap(
        await core.services.triggerUserTokenRotation.handle(
          TriggerUserTokenRotation({
            userId: user.id,
            triggeredBy: cliActor(io),
            reason: options.reason,
          }),
        ),
      );
      out.result({ ...result, email: user.email }, () =>
        [
          `User rotation done: every token of ${user.email} is invalid.`,
          fields([
            ['user', user.id],
            ['version', `${result.previousVersion} -> ${result.newVersion}`],
            ['rotated at', when(result.rotatedAt)],
            ['reason', options.reason.trim()],
            ['actor', cliActor(io)],
          ]),
        ].join('\n'),
      );
    });
  });
}
