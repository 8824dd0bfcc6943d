import { Type } from 'typebox';
import type { SessionView } from '../application/queries/list-sessions/query.js';
import type { Page } from '../domain/page.js';
import { iso } from './route-kit.js';

/**
 * Schemas drive validation, serialisation and the OpenAPI document at once. Here: the
 * pieces more than one area uses; a schema only one area uses sits beside its routes.
 */
export const DateTime = Type.String({ format: 'date-time' });
export const NullableDateTime = Type.Union([DateTime, Type.Null()]);
export const Uuid = Type.String({ format: 'uuid' });

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String(),
    instance: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
    rejection: Type.Optional(Type.String()),
    tokenVersion: Type.Optional(Type.Integer()),
    requiredVersion: Type.Optional(Type.Integer()),
  },
  { $id: 'Problem', additionalProperties: true, description: 'RFC 9457 problem details' },
);

export const problemResponses = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [s, { $ref: 'Problem#' }])) as Record<number, { $ref: string }>;

export const Credentials = Type.Object(
  {
    email: Type.String({ minLength: 1, maxLength: 320 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false },
);

export const RefreshBody = Type.Object(
  { refreshToken: Type.String({ minLength: 1, maxLength: 512 }) },
  { additionalProperties: false },
);

export const ChangePasswordBody = Type.Object(
  {
    currentPassword: Type.String({ minLength: 1, maxLength: 1024 }),
    newPassword: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false },
);

// Length is checked after trimming by the handler (1..500); the schema only bounds the input.
export const Reason = Type.String({ maxLength: 4096, description: 'Why; trimmed, 1 to 500 characters' });

export const SelfRotationBody = Type.Object(
  { reason: Type.Optional(Reason) },
  { additionalProperties: false },
);

export const UserIdParams = Type.Object({ userId: Type.String({ maxLength: 64 }) });
export const SessionIdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

export const Limit = Type.Integer({ minimum: 1, maximum: 200, default: 50 });
export const Cursor = Type.String({ maxLength: 256 });

/**
 * Paging of session lists. The default page holds 100, the default session cap, so a
 * client that never pages still gets every session under the default configuration;
 * other query parameters are ignored, as they were before the list was paged.
 */
export const SessionsQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 100 }),
  cursor: Type.Optional(Cursor),
});

export const TokenPairSchema = Type.Object({
  accessToken: Type.String(),
  refreshToken: Type.String(),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer(),
  refreshExpiresIn: Type.Integer(),
  sessionId: Uuid,
});

export const RegisteredUserSchema = Type.Object({
  id: Uuid,
  email: Type.String(),
  role: Type.String(),
  createdAt: DateTime,
});

export const MeSchema = Type.Object({
  id: Uuid,
  email: Type.String(),
  role: Type.String(),
  minTokenVersion: Type.Integer(),
});

export const SessionSchema = Type.Object({
  id: Uuid,
  createdAt: DateTime,
  lastUsedAt: DateTime,
  userAgent: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  current: Type.Boolean(),
});

/** A page of ListSessions as `pageOf(SessionSchema)` sends it (the user's own list and the admin's). */
export const sessionPageJson = (page: Page<SessionView>) => ({
  items: page.items.map((s) => ({ ...s, createdAt: iso(s.createdAt), lastUsedAt: iso(s.lastUsedAt) })),
  nextCursor: page.nextCursor,
});

export const UserRotationResultSchema = Type.Object({
  userId: Uuid,
  previousVersion: Type.Integer(),
  newVersion: Type.Integer(),
  rotatedAt: DateTime,
});

export const pageOf = <T extends ReturnType<typeof Type.Object>>(item: T) =>
  Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });

const WebhookDeliveryState = Type.Union([
  Type.Literal('pending'),
  Type.Literal('delivered'),
  Type.Literal('dead'),
]);

export const WebhookDeliveriesQuery = Type.Object(
  {
    state: Type.Optional(WebhookDeliveryState),
    eventId: Type.Optional(Uuid),
    limit: Limit,
    cursor: Type.Optional(Cursor),
  },
  { additionalProperties: false },
);

export const WebhookDeliveryIdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

export const WebhookDeliverySchema = Type.Object({
  id: Uuid,
  eventId: Uuid,
  eventType: Type.String(),
  occurredAt: DateTime,
  url: Type.String({ description: 'The receiver, without credentials or query string' }),
  state: WebhookDeliveryState,
  attempts: Type.Integer(),
  nextAttemptAt: DateTime,
  lastAttemptAt: NullableDateTime,
  lastStatus: Type.Union([Type.Integer(), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  deliveredAt: NullableDateTime,
  deadAt: NullableDateTime,
  createdAt: DateTime,
});

export const SigningKeySchema = Type.Object({
  kid: Type.String(),
  algorithm: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('verifying'), Type.Literal('retired')]),
  createdAt: DateTime,
  deactivatedAt: NullableDateTime,
  retiredAt: NullableDateTime,
  verifiesUntil: NullableDateTime,
});

export const SigningKeyRotationBody = Type.Object(
  { reason: Type.Optional(Reason) },
  { additionalProperties: false },
);

export const SigningKeyRetirementBody = Type.Object(
  {
    reason: Type.Optional(Reason),
    replace: Type.Optional(
      Type.Boolean({ description: 'Retiring the active key: make a new active key in the same transaction' }),
    ),
  },
  { additionalProperties: false },
);

export const KidParams = Type.Object({ kid: Type.String({ minLength: 1, maxLength: 256 }) });

export const SigningKeyRotationResultSchema = Type.Object({
  previousKid: Type.Union([Type.String(), Type.Null()]),
  newKid: Type.String(),
  rotatedAt: DateTime,
});

export const SigningKeyRetirementResultSchema = Type.Object({
  kid: Type.String(),
  previousStatus: Type.String(),
  newKid: Type.Union([Type.String(), Type.Null()]),
  retiredAt: NullableDateTime,
});
