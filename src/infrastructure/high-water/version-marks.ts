import type { VersionHighWaterMark } from '../../application/ports/version-high-water-mark.js';
import { LruMap } from '../cache/lru-map.js';
import { settleWithin } from '../clock/settle-within.js';

/** Where the global high-water mark outlives this process: Redis (shared), or a file beside PGlite's data. */
export interface HighWaterStore {
  /** The highest recorded, or null when none or unreachable. */
  load(): Promise<number | null>;
  /** Records `version` unless a higher one is there (an atomic max). */
  save(version: number): Promise<void>;
  close(): Promise<void>;
}

export interface VersionMarksOptions {
  /** Users remembered at most (least recently seen forgotten first). */
  readonly maxUsers: number;
  /** How long a reconcile waits for the store before going on with what is in memory. */
  readonly reconcileTimeoutMs?: number;
  readonly store?: HighWaterStore | null;
  /** Told when the store fails (it is optional: nothing waits on it). */
  readonly onStoreError?: (error: unknown) => void;
}

/**
 * The high-water mark of docs/DESIGN.md §7: the global version in memory (and in the
 * store, written on every rise), user versions in a bounded LRU. Users still on version 1
 * are not remembered: there is nothing below 1 to lose.
 *
 * @example
 * const marks = new VersionMarks({ maxUsers: 10_000, store: new RedisHighWaterStore(url, key) });
 * marks.observeGlobal(7);
 * await marks.reconcile(5); // loads what the store holds
 * marks.global(); // 7, or more if another instance saw more
 */
export class VersionMarks implements VersionHighWaterMark {
  private highest = 0;
  private readonly users: LruMap<string, number>;
  private reconciled: { readonly version: number; readonly done: Promise<void> } | undefined;
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly options: VersionMarksOptions) {
    this.users = new LruMap(options.maxUsers);
  }

  global(): number {
    return this.highest;
  }

  observeGlobal(version: number): void {
    if (!Number.isSafeInteger(version) || version <= this.highest) return;
    this.highest = version;
    const store = this.options.store;
    if (store === undefined || store === null) return;
    // In order, one at a time: a slow write never lets a lower one land after a higher one.
    this.saving = this.saving.then(() => store.save(version)).catch((error: unknown) => this.failed(error));
  }

  user(userId: string): number {
    return this.users.get(userId) ?? 0;
  }

  observeUser(userId: string, version: number): void {
    if (!Number.isSafeInteger(version)) return;
    const known = this.users.get(userId);
    if (known === undefined ? version <= 1 : version <= known) return;
    this.users.set(userId, version);
  }

  reconcile(databaseVersion: number): Promise<void> {
    const store = this.options.store;
    if (store === undefined || store === null) return Promise.resolve();
    if (this.reconciled?.version === databaseVersion) return this.reconciled.done;
    const done = this.load(store);
    this.reconciled = { version: databaseVersion, done };
    return done;
  }

  /** Waits for the writes to the store in flight (tests, shutdown). */
  async flush(): Promise<void> {
    await this.saving;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.options.store?.close();
  }

  private async load(store: HighWaterStore): Promise<void> {
    try {
      const stored = await settleWithin(store.load(), this.options.reconcileTimeoutMs ?? 500, null);
      if (stored !== null && Number.isSafeInteger(stored) && stored > this.highest) this.highest = stored;
    } catch (error) {
      this.failed(error);
    }
  }

  private failed(error: unknown): void {
    this.options.onStoreError?.(error);
  }
}
