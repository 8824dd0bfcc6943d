/**
 * PostgreSQL errors after which the same transaction, run again, can succeed:
 * serialization_failure and deadlock_detected. The server rolled the work back.
 */
const TRANSIENT_CODES = new Set(['40001', '40P01']);

export function isTransientTransactionError(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    typeof error.code === 'string' &&
    TRANSIENT_CODES.has(error.code)
  );
}
