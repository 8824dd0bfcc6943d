/**
 * PostgreSQL errors after which the same transaction, run again, can succeed:
 * serialization_failure and deadlock_detected. The server rolled the work back.
 * The guarded pool (guarded-pool.ts) hands them on as a 503 error with the driver's
 * error as its `cause`: that is looked at too.
 */
const TRANSIENT_CODES = new Set(['40001', '40P01']);

export function isTransientTransactionError(error: unknown): boolean {
  for (let current = error, depth = 0; depth < 3; depth++) {
    if (typeof current !== 'object' || current === null) return false;
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
