import type { Result } from '../../src/domain/result.js';

/** A query's value in a test; its expected failure fails the test, naming the code. */
export function okValue<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`expected ok, got ${result.error.code}: ${result.error.message}`);
  return result.value;
}
