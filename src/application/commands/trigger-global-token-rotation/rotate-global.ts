import { graceUntil } from '../../../domain/versions.js';
import type { AppContext } from '../../context.js';
import { AuditAction, appendEvent, EventType, recordChange } from '../../events.js';
import type { Repositories } from '../../ports/repositories.js';
import { signingKeysChanged } from '../../signing-keys-changed.js';

export interface GlobalRotationResult {
  readonly previousVersion: number;
  readonly newVersion: number;
  readonly gracePeriodSeconds: number;
  readonly graceUntil: Date;
  readonly rotatedAt: Date;
  /** With `rotateSigningKey`: the key that signed until now, retired. */
  readonly retiredSigningKeyId?: string | null;
  /** With `rotateSigningKey`: the key that signs from now on. */
  readonly newSigningKeyId?: string;
}

/** A validated global rotation: who, why, and what the caller overrides. */
export interface GlobalRotationInput {
  readonly triggeredBy: string;
  /** Trimmed and checked already. */
  readonly reason: string;
  readonly gracePeriodSeconds?: number;
  readonly rotateSigningKey?: boolean;
  /** Raise to at least this version (past versions the database lost, docs/DESIGN.md §7). */
  readonly atLeast?: number;
  /** Facts of the caller's own for the audit row and the Succeeded event (a schedule's `dueAt`). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * The body of a global rotation, inside the caller's transaction: the manual command
 * runs it alone, the schedule after locking and checking its due time. The `…Attempted`
 * event, the config row FOR UPDATE, the increment and grace window (and the revocation
 * feed row, written by the repository), optional signing-key replacement, the audit row
 * and the `…Succeeded` event.
 */
export async function rotateGlobalInTransaction(
  ctx: AppContext,
  repos: Repositories,
  input: GlobalRotationInput,
): Promise<GlobalRotationResult> {
  const rotatedAt = ctx.clock.now();
  const attempt = { triggeredBy: input.triggeredBy, reason: input.reason };
  await appendEvent(repos.outbox, ctx.tokens, EventType.GlobalTokenRotationAttempted, rotatedAt, attempt);
  // The grace period comes from the config row, read in this transaction unless overridden.
  const current = await repos.securityConfig.get('update');
  const gracePeriodSeconds = input.gracePeriodSeconds ?? current.gracePeriodSeconds;
  const until = graceUntil(rotatedAt, gracePeriodSeconds);
  const { previousVersion, config } = await repos.securityConfig.rotateGlobal({
    rotatedAt,
    reason: input.reason,
    graceUntil: until,
    atLeast: input.atLeast,
  });
  const newVersion = config.globalMinTokenVersion;
  const keys =
    input.rotateSigningKey === true
      ? await replaceSigningKeys(ctx, repos, {
          rotatedAt,
          actor: input.triggeredBy,
          reason: input.reason,
          newVersion,
        })
      : {};
  const details = {
    previousVersion,
    newVersion,
    gracePeriodSeconds,
    graceUntil: until.toISOString(),
    ...keys,
  };
  await recordChange(
    ctx,
    repos,
    EventType.GlobalTokenRotationSucceeded,
    {
      occurredAt: rotatedAt,
      actor: input.triggeredBy,
      action: AuditAction.GlobalRotation,
      userId: null,
      reason: input.reason,
      details: { ...details, ...input.details },
    },
    { ...attempt, ...details, ...input.details, rotatedAt: rotatedAt.toISOString() },
  );
  return { previousVersion, newVersion, gracePeriodSeconds, graceUntil: until, rotatedAt, ...keys };
}

/** After the commit: count it, drop every instance's cached versions, reload keys if they changed. */
export async function afterGlobalRotation(ctx: AppContext, result: GlobalRotationResult): Promise<void> {
  ctx.metrics.rotation('global', 'succeeded');
  ctx.versionMarks.observeGlobal(result.newVersion);
  ctx.versionListener.globalVersionChanged(result.newVersion);
  if (result.newSigningKeyId !== undefined) await signingKeysChanged(ctx);
}

/**
 * Access tokens are checked against the versions too, but one-behind ones pass in
 * the grace window: retiring the key that signed them is what kills them all now.
 */
async function replaceSigningKeys(
  ctx: AppContext,
  repos: Repositories,
  input: {
    readonly rotatedAt: Date;
    readonly actor: string;
    readonly reason: string;
    readonly newVersion: number;
  },
): Promise<{ readonly retiredSigningKeyId: string | null; readonly newSigningKeyId: string }> {
  const keys = await repos.signingKeys.rotate(input.rotatedAt, { retireOthers: true });
  await recordChange(ctx, repos, EventType.SigningKeyRotated, {
    occurredAt: input.rotatedAt,
    actor: input.actor,
    action: AuditAction.SigningKeyRotated,
    userId: null,
    reason: input.reason,
    details: {
      previousKid: keys.previousKid,
      newKid: keys.newKid,
      previousStatus: keys.previousKid === null ? null : 'retired',
      retiredKids: keys.retiredKids,
      globalRotation: input.newVersion,
    },
  });
  return { retiredSigningKeyId: keys.previousKid, newSigningKeyId: keys.newKid };
}
