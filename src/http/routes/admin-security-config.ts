import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { UpdateSecurityConfig } from '../../application/commands/update-security-config/command.js';
import type { Services } from '../../application/services.js';
import {
  formatDuration,
  noticeAt,
  type RotationSchedule,
  type SecurityConfigView,
} from '../../domain/rotation-schedule.js';
import { MAX_GRACE_PERIOD_SECONDS } from '../../domain/versions.js';
import { principalOf } from '../auth.js';
import { iso, isoOrNull, unwrap } from '../route-kit.js';
import { DateTime, NullableDateTime, problemResponses, Reason } from '../schemas.js';

// Loose on purpose: the domain says what a duration is (90d, 12h, 30m, seconds) and its range, with one message.
const Duration = Type.Union([Type.String({ maxLength: 32 }), Type.Integer()], {
  description: 'A duration: `90d`, `12h`, `30m`, `45s`, or whole seconds (an interval: at least 1 h)',
});

const RotationSchedulePatch = Type.Object(
  {
    interval: Type.Optional(Duration),
    gracePeriodSeconds: Type.Optional(
      Type.Union([Type.Integer({ minimum: 0, maximum: MAX_GRACE_PERIOD_SECONDS }), Type.Null()], {
        description: 'Grace period of each scheduled rotation; null = the default grace period at that time',
      }),
    ),
    reason: Type.Optional(Reason),
    noticeLead: Type.Optional(Duration),
  },
  {
    additionalProperties: false,
    description: 'Fields left out keep their values; `interval` is required to turn the schedule on',
  },
);

const SecurityConfigPatch = Type.Object(
  {
    gracePeriodSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_GRACE_PERIOD_SECONDS })),
    rotationSchedule: Type.Optional(
      Type.Union([RotationSchedulePatch, Type.Null()], { description: 'null turns the schedule off' }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);

const RotationScheduleSchema = Type.Union([
  Type.Object({
    interval: Type.String({
      description: 'The interval in its shortest spelling, such as `90d` or `12h` (at least 1 h)',
    }),
    intervalSeconds: Type.Integer(),
    gracePeriodSeconds: Type.Union([Type.Integer(), Type.Null()]),
    reason: Type.String(),
    noticeLeadSeconds: Type.Integer(),
    nextDueAt: DateTime,
    noticeAt: Type.String({
      format: 'date-time',
      description: 'When the advance notice for nextDueAt is written',
    }),
    noticeSent: Type.Boolean(),
    lastDueAt: NullableDateTime,
  }),
  Type.Null(),
]);

export const SecurityConfigSchema = Type.Object({
  globalMinTokenVersion: Type.Integer(),
  gracePeriodSeconds: Type.Integer(),
  lastRotationAt: NullableDateTime,
  lastRotationReason: Type.Union([Type.String(), Type.Null()]),
  graceUntil: NullableDateTime,
  updatedAt: DateTime,
  rotationSchedule: RotationScheduleSchema,
});

const scheduleView = (s: RotationSchedule | null) =>
  s === null
    ? null
    : {
        interval: formatDuration(s.intervalSeconds),
        intervalSeconds: s.intervalSeconds,
        gracePeriodSeconds: s.gracePeriodSeconds,
        reason: s.reason,
        noticeLeadSeconds: s.noticeLeadSeconds,
        nextDueAt: iso(s.nextDueAt),
        noticeAt: iso(noticeAt(s)),
        noticeSent: s.noticeSentFor?.getTime() === s.nextDueAt.getTime(),
        lastDueAt: isoOrNull(s.lastDueAt),
      };

const configView = (c: SecurityConfigView) => ({
  globalMinTokenVersion: c.globalMinTokenVersion,
  gracePeriodSeconds: c.gracePeriodSeconds,
  lastRotationAt: isoOrNull(c.lastRotationAt),
  lastRotationReason: c.lastRotationReason,
  graceUntil: isoOrNull(c.graceUntil),
  updatedAt: iso(c.updatedAt),
  rotationSchedule: scheduleView(c.rotationSchedule),
});

/** The security config: current versions, the grace period of future global rotations, the rotation schedule. Admin only. */
export const adminSecurityConfigRoutes =
  (services: Services): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/security/config',
      {
        schema: {
          operationId: 'getSecurityConfig',
          summary: 'Current versions, grace period and rotation schedule (with its next due time)',
          response: { 200: SecurityConfigSchema, ...problemResponses(401, 403) },
        },
      },
      async () => configView(unwrap(await services.getSecurityConfig.execute())),
    );

    app.patch(
      '/security/config',
      {
        schema: {
          operationId: 'updateSecurityConfig',
          summary: 'Change the default grace period of future global rotations and/or the rotation schedule',
          body: SecurityConfigPatch,
          response: { 200: SecurityConfigSchema, ...problemResponses(422) },
        },
      },
      async (request) =>
        configView(
          unwrap(
            await services.updateSecurityConfig.handle(
              UpdateSecurityConfig({
                ...(request.body.gracePeriodSeconds === undefined
                  ? {}
                  : { gracePeriodSeconds: request.body.gracePeriodSeconds }),
                ...(request.body.rotationSchedule === undefined
                  ? {}
                  : { rotationSchedule: request.body.rotationSchedule }),
                actor: principalOf(request).userId,
              }),
            ),
          ),
        ),
    );
  };
