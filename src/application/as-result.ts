import { TokenwardenError } from '../domain/errors.js';
import { err, ok, type Result } from '../domain/result.js';

/**
 * A port's work as a Result: the expected failure a port throws (a `TokenwardenError`,
 * such as an `InvalidCursorError` from a repository's list) comes back as `err(...)`;
 * anything else is a fault and still throws.
 *
 * @example
 * return asResult(() => this.ctx.uow.read((repos) => repos.audit.list(filter)));
 */
export async function asResult<T>(work: () => Promise<T>): Promise<Result<T>> {
  try {
    return ok(await work());
  } catch (error) {
    if (error instanceof TokenwardenError) return err(error);
    throw error;
  }
}
