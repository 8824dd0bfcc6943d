import { type FieldError, type TokenwardenError, validationError } from './errors.js';
import { err, ok, type Result } from './result.js';
import { firstControlOrFormat } from './text.js';
import { REASON_MAX_LENGTH } from './versions.js';

/**
 * A rotation reason: trimmed, 1..500 characters (docs/DESIGN.md §2), one line of visible text:
 * no control or format character (operators read reasons in a terminal).
 */
export function parseRotationReason(raw: unknown, path = '/reason'): Result<string, TokenwardenError> {
  const problem = (message: string): Result<never, TokenwardenError> =>
    err(validationError([{ path, message } satisfies FieldError], `reason ${message}`));
  if (typeof raw !== 'string') return problem('is required');
  const reason = raw.trim();
  if (reason.length === 0) return problem('must not be empty');
  if ([...reason].length > REASON_MAX_LENGTH)
    return problem(`must be at most ${REASON_MAX_LENGTH} characters`);
  const hidden = firstControlOrFormat(reason);
  if (hidden !== null) return problem(`must not contain control or format characters (found ${hidden})`);
  return ok(reason);
}
