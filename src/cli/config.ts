import { type Command, InvalidArgumentError } from 'commander';
import { UpdateSecurityConfig } from '../application/commands/update-security-config/command.js';
import {
  formatDuration,
  noticeAt,
  parseDuration,
  type RotationScheduleInput,
  type SecurityConfigView,
  scheduleSummary,
} from '../domain/rotation-schedule.js';
import { MAX_GRACE_PERIOD_SECONDS } from '../domain/versions.js';
import { type CommonOptions, jsonOption, outputFor, unwrap } from './command-kit.js';
import { type CliIo, cliActor, withCore } from './context.js';
import { usageError } from './errors.js';
import { fields, when } from './output.js';
import { integerIn } from './parsers.js';

/** The config as `--json` prints it: the schedule with its interval spelled out and its notice time. */
const jsonView = (config: SecurityConfigView) => {
  const schedule = config.rotationSchedule;
  return {
    ...config,
    rotationSchedule:
      schedule === null
        ? null
        : {
            ...scheduleSummary(schedule),
            noticeAt: noticeAt(schedule),
            noticeSent: schedule.noticeSentFor?.getTime() === schedule.nextDueAt.getTime(),
            lastDueAt: schedule.lastDueAt,
          },
  };
};

const describe = (config: SecurityConfigView): string => {
  const schedule = config.rotationSchedule;
  return fields([
    ['global version', String(config.globalMinTokenVersion)],
    ['grace period', `${config.gracePeriodSeconds} s`],
    ['last rotation', when(config.lastRotationAt)],
    ['last reason', config.lastRotationReason ?? '-'],
    ['grace until', when(config.graceUntil)],
    ['updated at', when(config.updatedAt)],
    ['rotation schedule', schedule === null ? 'off' : `every ${formatDuration(schedule.intervalSeconds)}`],
    ...(schedule === null
      ? []
      : ([
          ['next rotation due', when(schedule.nextDueAt)],
          [
            'notice',
            `${formatDuration(schedule.noticeLeadSeconds)} ahead, at ${when(noticeAt(schedule))}${
              schedule.noticeSentFor?.getTime() === schedule.nextDueAt.getTime() ? ' (sent)' : ''
            }`,
          ],
          [
            'rotation grace',
            schedule.gracePeriodSeconds === null
              ? 'the grace period above'
              : `${schedule.gracePeriodSeconds} s`,
          ],
          ['rotation reason', schedule.reason],
          ['last scheduled', when(schedule.lastDueAt)],
        ] as const)),
  ]);
};

/** A duration option (`90d`, `12h`, `30m`, seconds): a bad one is a usage error before the database is opened. */
function duration(raw: string): string {
  const parsed = parseDuration(raw);
  if (!parsed.ok) throw new InvalidArgumentError(`${parsed.error}, got ${JSON.stringify(raw)}`);
  return raw;
}

/**
 * `--rotation-grace`: seconds, or `default` for the configured grace period at rotation
 * time. Commander turns a parser's null into '', so `default` stays a word until {@link scheduleChange}.
 */
function scheduleGrace(raw: string): number | 'default' {
  return raw.trim() === 'default' ? 'default' : integerIn(0, MAX_GRACE_PERIOD_SECONDS)(raw);
}

interface SetOptions extends CommonOptions {
  readonly grace?: number;
  readonly rotationEvery?: string;
  readonly rotationGrace?: number | 'default';
  readonly rotationReason?: string;
  readonly rotationNotice?: string;
  readonly rotationOff?: boolean;
}

/** The schedule change the options ask for: undefined for none, null to turn it off. */
function scheduleChange(options: SetOptions): RotationScheduleInput | null | undefined {
  const change: RotationScheduleInput = {
    ...(options.rotationEvery === undefined ? {} : { interval: options.rotationEvery }),
    ...(options.rotationGrace === undefined
      ? {}
      : { gracePeriodSeconds: options.rotationGrace === 'default' ? null : options.rotationGrace }),
    ...(options.rotationReason === undefined ? {} : { reason: options.rotationReason }),
    ...(options.rotationNotice === undefined ? {} : { noticeLead: options.rotationNotice }),
  };
  if (options.rotationOff === true) {
    if (Object.keys(change).length > 0)
      throw usageError('--rotation-off cannot be combined with other --rotation-* options');
    return null;
  }
  return Object.keys(change).length === 0 ? undefined : change;
}

/** `tokenwarden config get|set`: the security config singleton (docs/DESIGN.md §1) and the rotation schedule. */
export function registerConfig(program: Command, io: CliIo): void {
  const config = program.command('config').description('show or change the security configuration');

  jsonOption(
    config
      .command('get')
      .description('show the global token version, grace period, last rotation and the rotation schedule'),
  ).action(async (options: CommonOptions) => {
    await withCore(io, async (core) => {
      const current = unwrap(await core.services.getSecurityConfig.execute());
      outputFor(io, options).result(jsonView(current), () => `Security configuration:\n${describe(current)}`);
    });
  });

  jsonOption(
    config
      .command('set')
      .description(
        'change the default grace period of future global rotations and/or the rotation schedule (audited)',
      )
      .option(
        '--grace <seconds>',
        `grace period for one-behind tokens after a global rotation (0-${MAX_GRACE_PERIOD_SECONDS})`,
        integerIn(0, MAX_GRACE_PERIOD_SECONDS),
      )
      .option(
        '--rotation-every <duration>',
        'rotate globally on a schedule: 90d, 12h, 90m or seconds (at least 1h); a new interval counts from now',
        duration,
      )
      .option(
        '--rotation-grace <seconds>',
        `grace period of each scheduled rotation (0-${MAX_GRACE_PERIOD_SECONDS}), or "default" for --grace's value then`,
        scheduleGrace,
      )
      .option('--rotation-reason <text>', 'reason recorded for each scheduled rotation')
      .option(
        '--rotation-notice <duration>',
        'write the GlobalTokenRotationScheduled notice this long before each rotation (default 7d, or half the interval when shorter; less than the interval)',
        duration,
      )
      .option('--rotation-off', 'stop scheduled rotations'),
  ).action(async (options: SetOptions) => {
    const rotationSchedule = scheduleChange(options);
    if (options.grace === undefined && rotationSchedule === undefined) {
      throw usageError(
        'nothing to change: give --grace and/or --rotation-every, --rotation-* or --rotation-off',
      );
    }
    await withCore(io, async (core) => {
      const updated = unwrap(
        await core.services.updateSecurityConfig.handle(
          UpdateSecurityConfig({
            ...(options.grace === undefined ? {} : { gracePeriodSeconds: options.grace }),
            ...(rotationSchedule === undefined ? {} : { rotationSchedule }),
            actor: cliActor(io),
          }),
        ),
      );
      outputFor(io, options).result(
        jsonView(updated),
        () => `Security configuration updated:\n${describe(updated)}`,
      );
    });
  });
}
