import { performance } from 'node:perf_hooks';
import type { Kysely } from 'kysely';
import type { Clock } from '../../application/ports/clock.js';
import { PRUNER_LOCK_CLASS, runAsLeader } from '../database/relay-lock.js';
import {
  cutoffsAt,
  deleteBatch,
  PRUNED_TABLES,
  type PruneCounts,
  type PrunedTable,
  RETENTION_RULES,
  type RetentionPolicy,
} from '../database/retention-rules.js';
import type { Database } from '../database/schema.js';
import { PeriodicTask } from '../scheduling/periodic-task.js';

/** Rows per statement: bounded, so no batch holds locks or a transaction for long. */
const DEFAULT_BATCH_SIZE = 1000;

/** What the pruner reports to `/metrics`. */
export interface PrunerMetrics {
  /** Rows one batch deleted from `table`. */
  pruned(table: PrunedTable, rows: number): void;
  /** A pass (not a dry run) finished: when, and how long it took. */
  pruneRun(at: Date, seconds: number): void;
}

export interface PrunerDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly metrics?: PrunerMetrics;
  readonly logger?: {
    info(details: object, message: string): void;
    error(details: object, message: string): void;
  };
}

export interface PrunerOptions extends RetentionPolicy {
  /** Seconds between background passes; 0 turns the loop off (`tokenwarden prune` still works). */
  readonly intervalSeconds: number;
  readonly batchSize?: number;
}

export interface PruneReport {
  /** False when another instance was pruning and this pass did nothing. */
  readonly leader: boolean;
  readonly dryRun: boolean;
  /** Deleted per table, or what a dry run would delete. */
  readonly counts: PruneCounts;
  readonly startedAt: Date;
  readonly durationMs: number;
}

const zeroCounts = (): Record<PrunedTable, number> =>
  Object.fromEntries(PRUNED_TABLES.map((table) => [table, 0])) as Record<PrunedTable, number>;

/**
 * Deletes what no rule needs any more (docs/DESIGN.md §6, retention): expired refresh tokens, sessions past
 * their absolute age or revoked longer ago than a window, delivered webhook events, the
 * revocation feed's rows older than its window, and audit rows when a retention is set.
 *
 * Every batch is one DELETE of at most `batchSize` rows found through an index
 * (migration 0009), in a transaction of its own, skipping rows another transaction
 * holds; a table is done when a batch deletes less than a full one. No statement holds
 * a lock beyond its own rows or rewrites a table. A pass runs on one instance at a time
 * (the advisory-lock scheme of the webhook relay, under its own lock class); passes of
 * one pruner never overlap.
 *
 * @example
 * const pruner = new Pruner({ db, clock, metrics }, { ...policy, intervalSeconds: 600 });
 * pruner.start();
 * const report = await pruner.runOnce({ dryRun: true }); // counts only
 * await pruner.close();
 */
export class Pruner {
  readonly #deps: PrunerDeps;
  readonly #options: PrunerOptions;
  readonly #loop: PeriodicTask;

  constructor(deps: PrunerDeps, options: PrunerOptions) {
    this.#deps = deps;
    this.#options = options;
    this.#loop = new PeriodicTask({
      intervalSeconds: options.intervalSeconds,
      pass: async () => {
        const report = await this.#run({});
        const deleted = Object.values(report.counts).reduce((a, b) => a + b, 0);
        if (deleted > 0) {
          deps.logger?.info(
            { counts: report.counts, durationMs: Math.round(report.durationMs) },
            'pruned rows past retention',
          );
        }
      },
      onError: (error) =>
        deps.logger?.error({ err: error }, 'prune pass failed; retrying at the next interval'),
    });
  }

  /** Starts the background loop (idempotent; nothing when the interval is 0); the first pass after one interval. */
  start(): void {
    this.#loop.start();
  }

  /** Whether the background loop is on. */
  running(): boolean {
    return this.#loop.running();
  }

  /**
   * One pass, now. `dryRun` counts what a pass would delete and deletes nothing.
   * `exclusive: false` skips the leader lock (the CLI, next to servers that hold it
   * between their passes): batches skip rows another pruner holds, so two pruners never
   * delete a row twice nor wait on each other.
   */
  runOnce(options: { readonly dryRun?: boolean; readonly exclusive?: boolean } = {}): Promise<PruneReport> {
    return this.#loop.runNow(() => this.#run(options));
  }

  /** Stops the loop (a pass in flight stops after its current batch) and waits for it. */
  close(): Promise<void> {
    return this.#loop.close();
  }

  async #run(options: { readonly dryRun?: boolean; readonly exclusive?: boolean }): Promise<PruneReport> {
    const dryRun = options.dryRun === true;
    const startedAt = this.#deps.clock.now();
    const started = performance.now();
    const cutoffs = cutoffsAt(startedAt, this.#options);
    const pass = async (db: Kysely<Database>) => {
      const counts = zeroCounts();
      for (const rule of RETENTION_RULES) {
        if (dryRun) {
          counts[rule.table] = await rule.count(db, cutoffs);
          continue;
        }
        for (const batch of rule.batches) {
          counts[rule.table] += await this.#drain(rule.table, (limit) =>
            deleteBatch(db, rule, batch, cutoffs, limit),
          );
        }
        const segments = rule.segments;
        if (segments !== undefined) {
          const limit = this.#options.batchSize ?? DEFAULT_BATCH_SIZE;
          for (;;) {
            const deleted = await segments(db, cutoffs, limit);
            if (deleted === null) break;
            counts[rule.table] += deleted;
            if (deleted > 0) this.#deps.metrics?.pruned(rule.table, deleted);
            if (this.#loop.closed()) break;
          }
        }
      }
      return counts;
    };
    const outcome =
      options.exclusive === false
        ? { leader: true as const, value: await pass(this.#deps.db) }
        : await runAsLeader(this.#deps.db, PRUNER_LOCK_CLASS, pass);
    const durationMs = performance.now() - started;
    if (!outcome.leader) return { leader: false, dryRun, counts: zeroCounts(), startedAt, durationMs };
    if (!dryRun) this.#deps.metrics?.pruneRun(this.#deps.clock.now(), durationMs / 1000);
    return { leader: true, dryRun, counts: outcome.value, startedAt, durationMs };
  }

  /** Batch after batch until one deletes less than a full batch (or the pruner closes). */
  async #drain(table: PrunedTable, batch: (limit: number) => Promise<number> | null): Promise<number> {
    const limit = this.#options.batchSize ?? DEFAULT_BATCH_SIZE;
    let total = 0;
    for (;;) {
      const deleting = batch(limit);
      if (deleting === null) return total;
      const deleted = await deleting;
      total += deleted;
      if (deleted > 0) this.#deps.metrics?.pruned(table, deleted);
      if (deleted < limit || this.#loop.closed()) return total;
    }
  }
}
