import { type TokenwardenError, validationError } from './errors.js';
import { err, ok, type Result } from './result.js';

export const PASSWORD_MIN_LENGTH = 8;
/** Bounded so a huge password cannot make argon2 a denial-of-service lever. */
export const PASSWORD_MAX_LENGTH = 256;
export const EMAIL_MAX_LENGTH = 254;

// Deliberately simple (RFC 5322 is not a useful target): one @, no spaces, a dot in the domain.
const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Emails are compared case-insensitively, so they are stored trimmed and lower-cased. */
export function normaliseEmail(raw: string): string {
  return raw.trim().toLowerCase();
}

export function parseEmail(raw: string, path = '/email'): Result<string, TokenwardenError> {
  const email = normaliseEmail(raw);
  if (email.length > EMAIL_MAX_LENGTH || !EMAIL_SHAPE.test(email)) {
    return err(validationError([{ path, message: 'must be an email address' }]));
  }
  return ok(email);
}

export function parseNewPassword(raw: string, path = '/password'): Result<string, TokenwardenError> {
  const length = [...raw].length;
  if (length < PASSWORD_MIN_LENGTH) {
    return err(validationError([{ path, message: `must be at least ${PASSWORD_MIN_LENGTH} characters` }]));
  }
  if (length > PASSWORD_MAX_LENGTH) {
    return err(validationError([{ path, message: `must be at most ${PASSWORD_MAX_LENGTH} characters` }]));
  }
  return ok(raw);
}
