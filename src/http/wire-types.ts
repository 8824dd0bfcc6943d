/**
 * What the admin API answers, as TypeScript types derived from the TypeBox schemas its
 * routes validate and document the answers with: the admin console reads its answers as
 * these (type-only imports, which esbuild erases when it bundles the console), so a schema
 * change is a type error in the console rather than a shape it silently misreads.
 *
 * The client SDK carries no server code, so it declares what it reads itself; the
 * agreement below makes a schema that drifts from those declarations a type error here.
 */
import type { Me, Session, SessionPage, TokenPair, UserRotationResult } from '@tokenwarden/client';
import type { Static, TObject } from 'typebox';
import type {
  ActivitySchema,
  AuditActionsSchema,
  AuditEventSchema,
  AuditVerificationSchema,
} from './routes/admin-audit.js';
import type {
  GlobalRotationDryRunSchema,
  GlobalRotationResultSchema,
  UserRotationDryRunSchema,
} from './routes/admin-rotations.js';
import type { SecurityConfigSchema } from './routes/admin-security-config.js';
import type { ServiceClientCreatedSchema, ServiceClientSchema } from './routes/admin-service-clients.js';
import type { SigningKeyListSchema } from './routes/admin-signing-keys.js';
import type { UserSchema } from './routes/admin-users.js';
import type { WebhookSetupSchema } from './routes/admin-webhooks.js';
import type { ChangeSchema, FeedSchema } from './routes/revocations.js';
import type {
  MeSchema,
  pageOf,
  SessionSchema,
  SigningKeyRetirementResultSchema,
  SigningKeyRotationResultSchema,
  SigningKeySchema,
  TokenPairSchema,
  UserRotationResultSchema,
  WebhookDeliverySchema,
} from './schemas.js';

/** One page of a list, as `pageOf(item)` sends it, with items of type `T`. */
export type Page<T> = Omit<Static<ReturnType<typeof pageOf<TObject>>>, 'items'> & { items: T[] };

export type User = Static<typeof UserSchema>;
export type AuditEvent = Static<typeof AuditEventSchema>;
export type AuditActions = Static<typeof AuditActionsSchema>;
export type AuditVerification = Static<typeof AuditVerificationSchema>;
export type Activity = Static<typeof ActivitySchema>;
export type SecurityConfig = Static<typeof SecurityConfigSchema>;
export type GlobalRotationDryRun = Static<typeof GlobalRotationDryRunSchema>;
export type GlobalRotationResult = Static<typeof GlobalRotationResultSchema>;
export type UserRotationDryRun = Static<typeof UserRotationDryRunSchema>;
export type SigningKey = Static<typeof SigningKeySchema>;
export type SigningKeyList = Static<typeof SigningKeyListSchema>;
export type SigningKeyRotation = Static<typeof SigningKeyRotationResultSchema>;
export type SigningKeyRetirement = Static<typeof SigningKeyRetirementResultSchema>;
export type ServiceClient = Static<typeof ServiceClientSchema>;
export type ServiceClientCreated = Static<typeof ServiceClientCreatedSchema>;
export type WebhookDelivery = Static<typeof WebhookDeliverySchema>;
export type WebhookSetup = Static<typeof WebhookSetupSchema>;
/** One change of the revocation feed (docs/FEED.md), as a page or a stream event carries it. */
export type FeedChange = Static<typeof ChangeSchema>;
/** A page of the revocation feed (`GET /api/v1/revocations`). */
export type FeedPage = Static<typeof FeedSchema>;

/** Assignable both ways (`readonly` aside): the same shape. */
type Agree<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Holds<T extends true> = T;

/**
 * Each SDK declaration against the schema of the answer it reads.
 */
// biome-ignore lint/correctness/noUnusedVariables: a compile-time check; tsc reads it, nothing else does.
type SdkAgreement = [
  Holds<Agree<TokenPair, Static<typeof TokenPairSchema>>>,
  Holds<Agree<Me, Static<typeof MeSchema>>>,
  Holds<Agree<Session, Static<typeof SessionSchema>>>,
  Holds<Agree<SessionPage, Page<Static<typeof SessionSchema>>>>,
  Holds<Agree<UserRotationResult, Static<typeof UserRotationResultSchema>>>,
];
