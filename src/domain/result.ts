import type { TokenwardenError } from './errors.js';

/** Success or an expected failure; handlers return this instead of throwing. */
export type Result<T, E = TokenwardenError> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: E };

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const err = <E>(error: E): Result<never, E> => ({ ok: false, error });
