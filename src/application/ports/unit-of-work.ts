import type { Repositories } from './repositories.js';

/**
 * Runs work against the repositories. `run` is one transaction: state, audit row
 * and outbox event commit together or not at all. `read` needs no transaction.
 */
export interface UnitOfWork {
  run<T>(work: (repos: Repositories) => Promise<T>): Promise<T>;
  read<T>(work: (repos: Repositories) => Promise<T>): Promise<T>;
}
