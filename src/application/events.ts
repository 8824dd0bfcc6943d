import type { AuditEntry } from '../domain/audit-entry.js';
import type { AppContext } from './context.js';
import type { OutboxRepository } from './ports/outbox-repository.js';
import type { Repositories } from './ports/repositories.js';
import type { TokenGenerator } from './ports/token-generator.js';

/** Outbox event types; webhooks deliver them under these names. */
export const EventType = {
  GlobalTokenRotationAttempted: 'GlobalTokenRotationAttempted',
  GlobalTokenRotationSucceeded: 'GlobalTokenRotationSucceeded',
  GlobalTokenRotationFailed: 'GlobalTokenRotationFailed',
  /** The advance notice of a scheduled global rotation, lead time before it is due. */
  GlobalTokenRotationScheduled: 'GlobalTokenRotationScheduled',
  UserTokenRotationAttempted: 'UserTokenRotationAttempted',
  UserTokenRotationSucceeded: 'UserTokenRotationSucceeded',
  UserTokenRotationFailed: 'UserTokenRotationFailed',
  TokenRejectedDueToRotation: 'TokenRejectedDueToRotation',
  RefreshTokenReuseDetected: 'RefreshTokenReuseDetected',
  UserRegistered: 'UserRegistered',
  UserPromoted: 'UserPromoted',
  UserDisabled: 'UserDisabled',
  UserEnabled: 'UserEnabled',
  SessionCreated: 'SessionCreated',
  SessionRevoked: 'SessionRevoked',
  AllSessionsRevoked: 'AllSessionsRevoked',
  PasswordChanged: 'PasswordChanged',
  SecurityConfigUpdated: 'SecurityConfigUpdated',
  SigningKeyRotated: 'SigningKeyRotated',
  SigningKeyRetired: 'SigningKeyRetired',
  ServiceClientCreated: 'ServiceClientCreated',
  ServiceClientRevoked: 'ServiceClientRevoked',
  /** A signed checkpoint of the audit chain (docs/AUDIT.md): its payload carries the compact JWS. */
  AuditCheckpointSigned: 'AuditCheckpointSigned',
} as const;

export type EventType = (typeof EventType)[keyof typeof EventType];

/** Audit actions, one per kind of state change. */
export const AuditAction = {
  UserRegistered: 'user.registered',
  UserPromoted: 'user.promoted',
  /** A start-up admin bootstrap that changed nothing, or refused (TOKENWARDEN_ADMIN_EMAIL). */
  AdminBootstrap: 'user.admin_bootstrap',
  UserDisabled: 'user.disabled',
  UserEnabled: 'user.enabled',
  SessionCreated: 'session.created',
  SessionRevoked: 'session.revoked',
  AllSessionsRevoked: 'session.revoked_all',
  PasswordChanged: 'user.password_changed',
  GlobalRotation: 'token_rotation.global',
  GlobalRotationFailed: 'token_rotation.global_failed',
  /** The advance notice of a scheduled rotation (actor `system:schedule`). */
  GlobalRotationScheduled: 'token_rotation.scheduled',
  UserRotation: 'token_rotation.user',
  UserRotationFailed: 'token_rotation.user_failed',
  SecurityConfigUpdated: 'security_config.updated',
  RefreshTokenReuseDetected: 'refresh_token.reuse_detected',
  SigningKeyRotated: 'signing_key.rotated',
  SigningKeyRetired: 'signing_key.retired',
  WebhookDeadLettered: 'webhook.dead_lettered',
  WebhookRetryRequested: 'webhook.retry_requested',
  ServiceClientCreated: 'service_client.created',
  ServiceClientRevoked: 'service_client.revoked',
} as const;

export type AuditAction = (typeof AuditAction)[keyof typeof AuditAction];

/**
 * An outbox event with no audit row: the Attempted events of a rotation and the
 * rejection roll-up. A state change goes through {@link recordChange}.
 */
export function appendEvent(
  outbox: OutboxRepository,
  ids: TokenGenerator,
  type: EventType,
  occurredAt: Date,
  payload: Readonly<Record<string, unknown>>,
): Promise<void> {
  return outbox.append({ id: ids.id(), type, occurredAt, payload });
}

/**
 * A state change's audit row and outbox event, written in the caller's transaction
 * so both commit with the change or not at all: the one place that pairs them. The
 * event carries the audit facts, or `payload` where its published shape differs (the
 * rotation events name `triggeredBy` and carry `rotatedAt`).
 */
export async function recordChange(
  ctx: Pick<AppContext, 'tokens'>,
  repos: Pick<Repositories, 'audit' | 'outbox'>,
  type: EventType,
  entry: AuditEntry,
  payload: Readonly<Record<string, unknown>> = {
    actor: entry.actor,
    userId: entry.userId,
    reason: entry.reason,
    ...entry.details,
  },
): Promise<void> {
  await repos.audit.append(entry);
  await appendEvent(repos.outbox, ctx.tokens, type, entry.occurredAt, payload);
}
