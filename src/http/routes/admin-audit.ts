import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AuditAction } from '../../application/events.js';
import {
  MAX_ACTIVITY_BUCKETS,
  MIN_ACTIVITY_BUCKET_SECONDS,
} from '../../application/queries/get-rotation-activity/query.js';
import type { Services } from '../../application/services.js';
import { withIsoDates } from '../iso-dates.js';
import { iso, unwrap } from '../route-kit.js';
import { Cursor, DateTime, defaulted, Limit, pageOf, problemResponses, Uuid } from '../schemas.js';

const AuditQuery = Type.Object(
  {
    action: Type.Optional(Type.String({ maxLength: 100 })),
    userId: Type.Optional(Uuid),
    since: Type.Optional(DateTime),
    until: Type.Optional(DateTime),
    limit: Limit,
    cursor: Type.Optional(Cursor),
  },
  { additionalProperties: false },
);

export const AuditEventSchema = Type.Object({
  id: Type.String(),
  occurredAt: DateTime,
  actor: Type.String(),
  action: Type.String(),
  userId: Type.Union([Uuid, Type.Null()]),
  reason: Type.Union([Type.String(), Type.Null()]),
  details: Type.Record(Type.String(), Type.Unknown()),
});

const ActivityQuery = Type.Object(
  {
    since: Type.Optional(DateTime),
    until: Type.Optional(DateTime),
    bucketSeconds: defaulted(
      Type.Integer({
        minimum: MIN_ACTIVITY_BUCKET_SECONDS,
        maximum: 31 * 86_400,
        default: 3600,
      }),
    ),
  },
  { additionalProperties: false },
);

export const ActivitySchema = Type.Object({
  since: DateTime,
  until: DateTime,
  bucketSeconds: Type.Integer(),
  buckets: Type.Array(
    Type.Object({
      start: DateTime,
      globalRotations: Type.Integer(),
      userRotations: Type.Integer(),
      rejectedGlobal: Type.Integer({ description: 'Requests refused because of a global rotation' }),
      rejectedUser: Type.Integer({ description: 'Requests refused because of a user rotation' }),
    }),
  ),
});

export const AuditActionsSchema = Type.Object({ items: Type.Array(Type.String()) });

const ChainPointSchema = Type.Object({ seq: Type.Integer({ minimum: 0 }), hash: Type.String() });

export const AuditVerificationSchema = Type.Object({
  ok: Type.Boolean({ description: 'The chain is intact up to its head' }),
  rows: Type.Integer({ description: 'Rows checked' }),
  firstSeq: Type.Union([Type.Integer(), Type.Null()]),
  lastSeq: Type.Union([Type.Integer(), Type.Null()]),
  lastHash: Type.Union([Type.String(), Type.Null()]),
  head: ChainPointSchema,
  upgradeSeq: Type.Integer({ description: 'Rows up to this seq were chained at upgrade time (0: none)' }),
  upgradedAt: DateTime,
  unanchoredStart: Type.Boolean({
    description: 'The trail does not start at seq 1 and nothing vouches for what came before',
  }),
  unprovenAfterSeq: Type.Union([Type.Integer(), Type.Null()], {
    description:
      'Rows after this seq are covered by no checkpoint (the stored ones included: they live in the database, so compare them with copies kept outside it)',
  }),
  anchor: Type.Union(
    [
      Type.Object({
        seq: Type.Integer({ description: 'The last row retention removed: the trail starts after it' }),
        hash: Type.String(),
        refused: Type.Union([Type.String(), Type.Null()], {
          description: 'Why its signed checkpoint does not hold (then `ok` is false); null when it does',
        }),
      }),
      Type.Null(),
    ],
    { description: 'Where the trail starts once retention pruned its beginning; null while nothing was' },
  ),
  pending: Type.Object(
    {
      count: Type.Integer({ description: 'Rows written and not chained yet: not covered by this verdict' }),
      oldestAgeSeconds: Type.Union([Type.Number(), Type.Null()], {
        description: 'Seconds since the oldest of them occurred (null: none)',
      }),
      boundSeconds: Type.Integer({
        description: 'A row pending longer than this is a break (`inserted`, named by id)',
      }),
    },
    {
      description:
        'Rows waiting for the chainer, which chains them right after their commit and sweeps every second (docs/AUDIT.md)',
    },
  ),
  storedCheckpoints: Type.Object(
    {
      accepted: Type.Integer({
        description: 'Stored checkpoints whose signature holds under the published key',
      }),
      lastSeq: Type.Union([Type.Integer(), Type.Null()], { description: 'The newest accepted one' }),
      refused: Type.Array(Type.Object({ seq: Type.Integer(), reason: Type.String() }), {
        description: 'Stored checkpoints that do not verify: never believed, and `ok` is false',
      }),
    },
    { description: 'The checkpoints the server signed and stored, each checked again (docs/AUDIT.md)' },
  ),
  break: Type.Union([
    Type.Object({
      kind: Type.Union([
        Type.Literal('edited'),
        Type.Literal('missing'),
        Type.Literal('inserted'),
        Type.Literal('reordered'),
        Type.Literal('truncated'),
      ]),
      seq: Type.Union([Type.Integer(), Type.Null()], { description: 'null: a row with no seq at all' }),
      id: Type.Union([Type.String(), Type.Null()]),
      detail: Type.String(),
    }),
    Type.Null(),
  ]),
});

/** Every audit action, from the one table the handlers write with. */
const AUDIT_ACTIONS = Object.values(AuditAction).sort();

/** The audit log, newest first, its list of actions, and rotation activity over time. Admin only. */
export const adminAuditRoutes =
  (services: Services): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/audit',
      {
        schema: {
          operationId: 'listAuditEvents',
          summary: 'The audit log, newest first',
          querystring: AuditQuery,
          response: { 200: pageOf(AuditEventSchema), ...problemResponses(422) },
        },
      },
      async (request) => {
        const q = request.query;
        const page = unwrap(
          await services.listAuditEvents.execute({
            action: q.action,
            userId: q.userId,
            since: q.since === undefined ? undefined : new Date(q.since),
            until: q.until === undefined ? undefined : new Date(q.until),
            limit: q.limit,
            cursor: q.cursor,
          }),
        );
        return {
          items: page.items.map((e) => ({ ...e, occurredAt: iso(e.occurredAt), details: { ...e.details } })),
          nextCursor: page.nextCursor,
        };
      },
    );

    app.get(
      '/audit/actions',
      {
        schema: {
          operationId: 'listAuditActions',
          summary: 'Every action the audit log can hold (the console builds its filter from it)',
          response: {
            200: AuditActionsSchema,
          },
        },
      },
      async () => ({ items: AUDIT_ACTIONS }),
    );

    app.get(
      '/audit/verification',
      {
        schema: {
          operationId: 'verifyAuditTrail',
          summary: 'The audit hash chain checked now, as `tokenwarden audit verify` does (docs/AUDIT.md)',
          description:
            'Reads the whole trail: its cost grows with the audit log. `ok: false` names the first row that was edited, removed, inserted or moved, or a stored checkpoint refused. Checked against the stored checkpoints too.',
          response: { 200: AuditVerificationSchema },
        },
      },
      async () => {
        const { state, verdict, stored, anchor, pending } = await services.auditTrail.verify([], {
          stored: true,
        });
        const storedCheckpoints = stored ?? { accepted: 0, lastSeq: null, refused: [] };
        return {
          ...verdict,
          ok: verdict.ok && storedCheckpoints.refused.length === 0 && anchor?.refused == null,
          anchor,
          pending,
          storedCheckpoints: { ...storedCheckpoints, refused: [...storedCheckpoints.refused] },
          head: state.head,
          upgradeSeq: state.upgradeSeq,
          upgradedAt: iso(state.upgradedAt),
        };
      },
    );

    app.get(
      '/audit/activity',
      {
        schema: {
          operationId: 'getRotationActivity',
          summary:
            'Rotations and the token rejections they caused, per interval (default: last 24 h by hour)',
          description:
            `Rotations come from the audit log, rejections from the TokenRejectedDueToRotation roll-ups. ` +
            `At most ${MAX_ACTIVITY_BUCKETS} intervals; \`until\` defaults to the interval boundary after now (aligned to the interval size), \`since\` to 24 intervals before it.`,
          querystring: ActivityQuery,
          response: { 200: ActivitySchema, ...problemResponses(422) },
        },
      },
      async (request) => {
        const q = request.query;
        const activity = unwrap(
          await services.getRotationActivity.execute({
            ...(q.since === undefined ? {} : { since: new Date(q.since) }),
            ...(q.until === undefined ? {} : { until: new Date(q.until) }),
            bucketSeconds: q.bucketSeconds,
          }),
        );
        return { ...withIsoDates(activity), buckets: activity.buckets.map(withIsoDates) };
      },
    );
  };
