import { TokenwardenError } from '../domain/errors.js';
import { ok, type Result } from '../domain/result.js';
import { parseRotationReason } from '../domain/rotation-reason.js';
import type { AppContext } from './context.js';

/**
 * After a key change has committed: this instance signs and verifies with the new
 * set at once, and other instances are told to reload theirs.
 */
export async function signingKeysChanged(ctx: Pick<AppContext, 'keys' | 'versionListener'>): Promise<void> {
  try {
    await ctx.keys.reload();
  } catch {
    // The store forgets a failed load, so the next sign or verify loads the keys again.
  }
  ctx.versionListener.signingKeysChanged();
}

/** Why stored keys cannot be rotated while TOKENWARDEN_SIGNING_KEY pins the signing key. */
export function pinnedSigningKeyError(): TokenwardenError {
  return new TokenwardenError(
    'signing_key_pinned',
    'The signing key is pinned by TOKENWARDEN_SIGNING_KEY, so rotating stored keys would not change what signs: put a new key in TOKENWARDEN_SIGNING_KEY and restart, or unset it to use stored, rotatable keys',
  );
}

/**
 * An optional audit reason: absent or blank is none (null); one that is given is a reason
 * like any other ({@link parseRotationReason}: trimmed, 1..500 characters, no control or
 * format character).
 */
export function optionalReason(raw: string | undefined): Result<string | null> {
  const reason = raw?.trim() ?? '';
  return reason === '' ? ok(null) : parseRotationReason(reason);
}
