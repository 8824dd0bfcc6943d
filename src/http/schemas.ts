import { type TSchema, Type } from 'typebox';
import type { SessionView } from '../application/queries/list-sessions/query.js';
import { EMAIL_MAX_LENGTH, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../domain/credentials.js';
import { ERROR_CODES } from '../domain/errors.js';
import type { Page } from '../domain/page.js';
import { visibleTextPattern } from '../domain/text.js';
import { REASON_MAX_LENGTH } from '../domain/versions.js';
import { withIsoDates } from './iso-dates.js';

/**
 * Schemas drive validation, serialisation and the OpenAPI document at once. Here: the
 * pieces more than one area uses; a schema only one area uses sits beside its routes.
 */
export const DateTime = Type.String({ format: 'date-time' });
export const NullableDateTime = Type.Union([DateTime, Type.Null()]);
export const Uuid = Type.String({ format: 'uuid' });

/** The problem's `type` is this URN and the code in kebab case (problem.ts). */
const PROBLEM_TYPE_PATTERN = '^urn:tokenwarden:problem:[a-z]+(-[a-z]+)*$';

export const ProblemSchema = Type.Object(
  {
    type: Type.String({ pattern: PROBLEM_TYPE_PATTERN }),
    title: Type.String(),
    status: Type.Integer({ minimum: 400, maximum: 599 }),
    detail: Type.String(),
    code: Type.Union(ERROR_CODES.map((code) => Type.Literal(code))),
    instance: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
    rejection: Type.Optional(Type.String()),
    tokenVersion: Type.Optional(Type.Integer()),
    requiredVersion: Type.Optional(Type.Integer()),
    retryAfterSeconds: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { $id: 'Problem', additionalProperties: true, description: 'RFC 9457 problem details' },
);

export const PROBLEM_MEDIA_TYPE = 'application/problem+json';

const PROBLEM_DESCRIPTIONS: Readonly<Record<number, string>> = {
  400: 'The body is not what its content type says (malformed JSON, empty), or the URL is malformed',
  401: 'No credentials, or credentials that are wrong, expired, revoked or rotated',
  403: 'Authenticated, but without the role this needs',
  404: 'No such resource',
  409: 'Conflicts with the current state',
  413: 'The body is larger than TOKENWARDEN_BODY_LIMIT_BYTES',
  415: 'The body has a content type this operation does not read',
  422: 'The input does not satisfy the schema or the rules behind it (`errors` names each field)',
  429: 'Too many requests from this address or against this account (`Retry-After` says when to retry)',
  503: 'Temporarily unable to serve this: a dependency (the database, Redis) is down, refusing, read-only or too slow, or the response deadline passed (`Retry-After` says when to retry)',
};

const PROBLEM_HEADERS: Readonly<Record<number, Record<string, { type: string; description: string }>>> = {
  401: {
    'WWW-Authenticate': {
      type: 'string',
      description: 'The challenge (RFC 6750 for bearer tokens, Basic for service clients)',
    },
  },
  429: { 'Retry-After': { type: 'integer', description: 'Seconds until a retry can succeed' } },
  503: { 'Retry-After': { type: 'integer', description: 'Seconds after which a retry may succeed' } },
};

/** One response of `application/problem+json` with the named Problem schema. */
export const problemResponse = (status: number) => ({
  description: PROBLEM_DESCRIPTIONS[status] ?? 'A problem',
  ...(PROBLEM_HEADERS[status] === undefined ? {} : { headers: PROBLEM_HEADERS[status] }),
  content: { [PROBLEM_MEDIA_TYPE]: { schema: { $ref: 'Problem#' } } },
});

export const problemResponses = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [s, problemResponse(s)])) as Record<
    number,
    ReturnType<typeof problemResponse>
  >;

/**
 * The email of a new account: the `email` format is the domain's rule (normalised, then
 * shaped like an address of at most 254 characters; validation.ts); control characters
 * and look-alike script mixes are refused after it (422).
 */
const NewEmail = Type.String({
  format: 'email',
  maxLength: EMAIL_MAX_LENGTH,
  description:
    'Compared after NFKC and lower-casing; no control or format characters, no part mixing look-alike scripts',
});

const NewPassword = Type.String({
  minLength: PASSWORD_MIN_LENGTH,
  maxLength: PASSWORD_MAX_LENGTH,
  description: `${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters`,
});

// Checked against the stored hash only, so any string is a (wrong) password: a 401, not a
// 422. The bound keeps argon2 from hashing megabytes.
const PresentedPassword = Type.String({ minLength: 1, maxLength: 1024 });

export const RegistrationBody = Type.Object(
  { email: NewEmail, password: NewPassword },
  { additionalProperties: false },
);

/** A login: an unknown or malformed email is a 401, as a wrong password is (no account probing). */
export const Credentials = Type.Object(
  {
    email: Type.String({ minLength: 1, maxLength: 320 }),
    password: PresentedPassword,
  },
  { additionalProperties: false },
);

export const RefreshBody = Type.Object(
  { refreshToken: Type.String({ minLength: 1, maxLength: 512 }) },
  { additionalProperties: false },
);

export const ChangePasswordBody = Type.Object(
  { currentPassword: PresentedPassword, newPassword: NewPassword },
  { additionalProperties: false },
);

/**
 * Trimmed, 1 to 500 characters of visible text: the domain's rule as a pattern; the
 * maxLength only bounds what the pattern reads.
 */
export const Reason = Type.String({
  maxLength: 4096,
  pattern: visibleTextPattern(REASON_MAX_LENGTH),
  description: `Why: ${REASON_MAX_LENGTH} characters at most once trimmed, not blank, no control or format characters`,
});

export const SelfRotationBody = Type.Object(
  { reason: Type.Optional(Reason) },
  { additionalProperties: false },
);

/**
 * An id in a path: a uuid. The format is an annotation here (as OpenAPI 3.1 reads
 * formats; validation.ts checks no format in paths): any other string names no row,
 * so it is the 404 of an unknown id, as the contract says, not a 422.
 */
export const UuidParam = Type.String({
  format: 'uuid',
  maxLength: 64,
  description: 'A uuid; any other value names nothing (404)',
});
export const UserIdParams = Type.Object({ userId: UuidParam });
export const SessionIdParams = Type.Object({ id: UuidParam });

/**
 * A query parameter the server fills from its `default` when it is left out: optional in the
 * document, since a parameter both required and defaulted makes a validating proxy refuse
 * the request the server would accept; typed as present, since validation (ajv
 * `useDefaults`) has filled it by the time a handler reads it.
 *
 * @example
 * Type.Object({ limit: defaulted(Type.Integer({ minimum: 1, default: 50 })) });
 */
export const defaulted = <T extends TSchema>(schema: T): T => Type.Optional(schema) as unknown as T;

export const Limit = defaulted(Type.Integer({ minimum: 1, maximum: 200, default: 50 }));
/** What a list issued as `nextCursor` (base64url, infrastructure/database/cursor.ts); any other is a 422. */
export const Cursor = Type.String({
  minLength: 1,
  maxLength: 256,
  pattern: '^[A-Za-z0-9_-]+$',
  description: 'The `nextCursor` of the previous page, as it was',
});

/**
 * Paging of session lists. The default page holds 100, the default session cap, so a
 * client that never pages still gets every session under the default configuration;
 * other query parameters are ignored, as they were before the list was paged.
 */
export const SessionsQuery = Type.Object({
  limit: defaulted(Type.Integer({ minimum: 1, maximum: 200, default: 100 })),
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
  items: page.items.map(withIsoDates),
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

export const WebhookDeliveryIdParams = Type.Object({ id: UuidParam });

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
