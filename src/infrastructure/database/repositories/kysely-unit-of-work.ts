import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import type { Repositories } from '../../../application/ports/repositories.js';
import type { UnitOfWork } from '../../../application/ports/unit-of-work.js';
import type { Database } from '../schema.js';
import { isTransientTransactionError } from '../transient-error.js';
import { PendingAudit } from './kysely-audit-repository.js';
import { createKyselyRepositories, type KyselyRepositoryOptions } from './kysely-repositories.js';
import { PendingRevocations } from './kysely-revocation-log.js';

const MAX_ATTEMPTS = 3;

/**
 * `run` is one database transaction (committed when `work` resolves, rolled back
 * when it throws); `read` and `statement` run each query on its own.
 *
 * On PGlite there is one connection: inside `run`, use only the repositories
 * given to `work`, never another unit of work, or the two wait for each other.
 */
export interface KyselyUnitOfWorkOptions extends KyselyRepositoryOptions {
  /**
   * Called after a commit that wrote audit rows, synchronously and without waiting for
   * anything: the audit chainer's `notify` (docs/DESIGN.md, "The audit hash chain").
   */
  readonly afterAuditCommit?: () => void;
}

export class KyselyUnitOfWork implements UnitOfWork {
  readonly #db: Kysely<Database>;
  readonly #options: KyselyUnitOfWorkOptions;

  constructor(db: Kysely<Database>, options: KyselyUnitOfWorkOptions = {}) {
    this.#db = db;
    this.#options = options;
  }

  async run<T>(work: (repos: Repositories) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        const audit = new PendingAudit();
        const result = await this.#db.transaction().execute(async (trx) => {
          const revocations = new PendingRevocations();
          const result = await work(createKyselyRepositories(trx, this.#options, revocations, audit));
          // Last, so the feed's counter lock is held only through the commit (kysely-revocation-log.ts).
          await revocations.flush(trx);
          await audit.flush(trx);
          return result;
        });
        // Committed: the chainer gives the rows their place now, without the caller waiting.
        if (audit.written) this.#options.afterAuditCommit?.();
        return result;
      } catch (error) {
        // A deadlock victim was rolled back whole; running it again is safe and usually succeeds.
        if (attempt >= MAX_ATTEMPTS || !isTransientTransactionError(error)) throw error;
        await sleep(Math.random() * 10 * attempt);
      }
    }
  }

  read<T>(work: (repos: Repositories) => Promise<T>): Promise<T> {
    return work(createKyselyRepositories(this.#db, this.#options));
  }

  /** Autocommit, like `read`: `work` must be one statement for it to be one transaction. */
  statement<T>(work: (repos: Repositories) => Promise<T>): Promise<T> {
    return work(createKyselyRepositories(this.#db, this.#options));
  }
}
