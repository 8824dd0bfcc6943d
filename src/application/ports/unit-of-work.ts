import type { Repositories } from './repositories.js';

/**
 * Runs work against the repositories. `run` is one transaction: state, audit row
 * and outbox event commit together or not at all. `read` needs no transaction.
 * `statement` is for a write that is a single statement, and so its own transaction
 * (no BEGIN/COMMIT round trips): a state change with no audit row or event.
 */
export interface UnitOfWork {
  run<T>(work: (repos: Repositories) => Promise<T>): Promise<T>;
  read<T>(work: (repos: Repositories) => Promise<T>): Promise<T>;
  statement<T>(work: (repos: Repositories) => Promise<T>): Promise<T>;
}
