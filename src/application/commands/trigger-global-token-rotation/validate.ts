import { validationError } from '../../../domain/errors.js';
import { err, ok, type Result } from '../../../domain/result.js';
import { parseRotationReason } from '../../../domain/rotation-reason.js';
import { isValidGracePeriod, MAX_GRACE_PERIOD_SECONDS } from '../../../domain/versions.js';
import type { AppContext } from '../../context.js';
import { pinnedSigningKeyError } from '../../signing-keys-changed.js';

/**
 * What a global rotation and its dry run both refuse: a bad reason, a grace period out
 * of range, or a new signing key while the key is pinned. The trimmed reason otherwise.
 */
export function validateGlobalRotation(
  ctx: Pick<AppContext, 'keys'>,
  input: {
    readonly reason: string;
    readonly gracePeriodSeconds?: number;
    readonly rotateSigningKey?: boolean;
  },
): Result<string> {
  const reason = parseRotationReason(input.reason);
  if (!reason.ok) return reason;
  if (input.gracePeriodSeconds !== undefined && !isValidGracePeriod(input.gracePeriodSeconds)) {
    return err(
      validationError([
        {
          path: '/gracePeriodSeconds',
          message: `must be an integer from 0 to ${MAX_GRACE_PERIOD_SECONDS}`,
        },
      ]),
    );
  }
  if (input.rotateSigningKey === true && ctx.keys.pinned) return err(pinnedSigningKeyError());
  return ok(reason.value);
}
