import { appendEvent, EventType } from '../../application/events.js';
import type { Clock } from '../../application/ports/clock.js';
import type { RejectionRecorder, RotationRejection } from '../../application/ports/rejection-recorder.js';
import type { TokenGenerator } from '../../application/ports/token-generator.js';
import type { UnitOfWork } from '../../application/ports/unit-of-work.js';

/** Users named in one rollup event; beyond it only the count grows. */
const MAX_USER_IDS = 100;
/** Distinct users tracked exactly per window; a flood past it reports a lower bound. */
const MAX_TRACKED_USERS = 100_000;

type Kind = `${RotationRejection['rejection']}:${RotationRejection['tokenKind']}`;

/**
 * Rolls rotation rejections up into one `TokenRejectedDueToRotation` outbox event per
 * interval (default one minute), written in its own transaction, plus one on close.
 * A window without rejections writes nothing. Memory is bounded whatever the flood.
 *
 * The event's payload:
 * `{ windowStart, windowEnd, total, byRejection: { global_rotation, user_rotation },
 *    byTokenKind: { refresh, access }, counts: [{ rejection, tokenKind, count }],
 *    distinctUsers, distinctUsersCapped, userIds (at most 100) }`
 *
 * @example
 * const rollup = new RejectionRollup({ uow, clock, ids }, { intervalMs: 60_000 });
 * rollup.start();
 * rollup.record({ tokenKind: 'refresh', rejection: 'global_rotation', userId });
 * await rollup.close(); // flushes what is left
 */
export class RejectionRollup implements RejectionRecorder {
  readonly #deps: { readonly uow: UnitOfWork; readonly clock: Clock; readonly ids: TokenGenerator };
  readonly #intervalMs: number;
  #counts = new Map<Kind, number>();
  #users = new Set<string>();
  #usersCapped = false;
  #windowStart: Date;
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<boolean> = Promise.resolve(false);
  #closed = false;

  constructor(
    deps: { readonly uow: UnitOfWork; readonly clock: Clock; readonly ids: TokenGenerator },
    options: { readonly intervalMs?: number } = {},
  ) {
    this.#deps = deps;
    this.#intervalMs = options.intervalMs ?? 60_000;
    this.#windowStart = deps.clock.now();
  }

  record(rejection: RotationRejection): void {
    const kind: Kind = `${rejection.rejection}:${rejection.tokenKind}`;
    this.#counts.set(kind, (this.#counts.get(kind) ?? 0) + 1);
    if (this.#users.size < MAX_TRACKED_USERS) this.#users.add(rejection.userId);
    else if (!this.#users.has(rejection.userId)) this.#usersCapped = true;
  }

  /** Flushes every interval until closed. */
  start(): void {
    if (this.#timer !== null || this.#closed) return;
    this.#timer = setInterval(() => {
      // A failed flush keeps its counts for the next one.
      this.flush().catch(() => false);
    }, this.#intervalMs);
    this.#timer.unref();
  }

  /**
   * Writes the window's counts as one outbox event and opens a new window. On a
   * database error the counts are kept for the next flush.
   * @returns whether an event was written
   */
  flush(): Promise<boolean> {
    this.#flushing = this.#flushing.catch(() => false).then(() => this.#flushNow());
    return this.#flushing;
  }

  /** Stops the timer and flushes what is left. */
  async close(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#closed = true;
    await this.flush().catch(() => false);
  }

  async #flushNow(): Promise<boolean> {
    const windowEnd = this.#deps.clock.now();
    const counts = this.#counts;
    const users = this.#users;
    const usersCapped = this.#usersCapped;
    const windowStart = this.#windowStart;
    this.#counts = new Map();
    this.#users = new Set();
    this.#usersCapped = false;
    this.#windowStart = windowEnd;
    if (counts.size === 0) return false;

    const byRejection = { global_rotation: 0, user_rotation: 0 };
    const byTokenKind = { refresh: 0, access: 0 };
    const rows: { rejection: string; tokenKind: string; count: number }[] = [];
    for (const [kind, count] of counts) {
      const [rejection, tokenKind] = kind.split(':') as [
        RotationRejection['rejection'],
        RotationRejection['tokenKind'],
      ];
      byRejection[rejection] += count;
      byTokenKind[tokenKind] += count;
      rows.push({ rejection, tokenKind, count });
    }
    const payload = {
      windowStart: windowStart.toISOString(),
      windowEnd: windowEnd.toISOString(),
      total: byRejection.global_rotation + byRejection.user_rotation,
      byRejection,
      byTokenKind,
      counts: rows,
      distinctUsers: users.size,
      distinctUsersCapped: usersCapped,
      userIds: [...users].slice(0, MAX_USER_IDS),
    };
    try {
      await this.#deps.uow.run((repos) =>
        appendEvent(repos.outbox, this.#deps.ids, EventType.TokenRejectedDueToRotation, windowEnd, payload),
      );
      return true;
    } catch (error) {
      // Put the counts back: the next flush reports them with its own.
      this.#windowStart = windowStart;
      for (const [kind, count] of counts) this.#counts.set(kind, (this.#counts.get(kind) ?? 0) + count);
      for (const user of users) if (this.#users.size < MAX_TRACKED_USERS) this.#users.add(user);
      this.#usersCapped ||= usersCapped;
      throw error;
    }
  }
}
