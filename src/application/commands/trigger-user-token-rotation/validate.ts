import { userNotFound } from '../../../domain/errors.js';
import { isUuid } from '../../../domain/ids.js';
import { err, type Result } from '../../../domain/result.js';
import { parseRotationReason } from '../../../domain/rotation-reason.js';

/** What a user rotation and its dry run both refuse before reading: a bad reason, an id that names no one. */
export function validateUserRotation(input: {
  readonly userId: string;
  readonly reason: string;
}): Result<string> {
  const reason = parseRotationReason(input.reason);
  if (!reason.ok) return reason;
  if (!isUuid(input.userId)) return err(userNotFound(input.userId));
  return reason;
}
