import { randomUUID } from 'node:crypto';

/** Every heartbeat payload starts with this: no invalidation message does (they are JSON). */
const PREFIX = 'hb:';

export interface SubscriptionHeartbeatOptions {
  /** How often a heartbeat is published. */
  readonly intervalMs: number;
  /** A subscription that has not received its own heartbeat for this long is dead. */
  readonly deadAfterMs: number;
}

/**
 * Proof that a subscription is alive (docs/RELIABILITY.md, "Faults"). A connection that a
 * NAT or a firewall dropped silently still looks open: no error, no close, and no message
 * ever again. So the subscriber publishes a heartbeat of its own every `intervalMs` and
 * expects it back; when none has arrived for `deadAfterMs`, `onDead` is called once (the
 * transport then reconnects, and until it is back the cache treats what it holds as
 * unverified). Heartbeats of other instances on the channel are recognised and dropped.
 *
 * @example
 * const heartbeat = new SubscriptionHeartbeat({ intervalMs: 1_000, deadAfterMs: 3_000 }, {
 *   send: (payload) => client.query('select pg_notify($1, $2)', [channel, payload]),
 *   onDead: () => reconnect(),
 * });
 * heartbeat.start(); // once subscribed
 * if (heartbeat.receive(payload)) return; // a heartbeat, not a message
 */
export class SubscriptionHeartbeat {
  readonly #id = randomUUID();
  readonly #options: SubscriptionHeartbeatOptions;
  readonly #send: (payload: string) => Promise<unknown>;
  readonly #onDead: (silentMs: number) => void;
  readonly #now: () => number;
  #lastSeen = 0;
  #lastSent = 0;
  #sequence = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    options: SubscriptionHeartbeatOptions,
    hooks: {
      readonly send: (payload: string) => Promise<unknown>;
      readonly onDead: (silentMs: number) => void;
      readonly now?: () => number;
    },
  ) {
    this.#options = options;
    this.#send = hooks.send;
    this.#onDead = hooks.onDead;
    this.#now = hooks.now ?? (() => performance.now());
  }

  /** Starts (or restarts) watching: the subscription counts as heard from now. */
  start(): void {
    this.stop();
    const now = this.#now();
    this.#lastSeen = now;
    this.#lastSent = now;
    this.#beat();
    // Checked more often than sent, so a death is declared at most a quarter beat late.
    const tickMs = Math.max(10, Math.min(this.#options.intervalMs, this.#options.deadAfterMs) / 4);
    this.#timer = setInterval(() => this.#tick(), tickMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Whether `payload` is a heartbeat (any instance's): it is then not a message. Ours counts as heard. */
  receive(payload: string): boolean {
    if (!payload.startsWith(PREFIX)) return false;
    if (payload.startsWith(`${PREFIX}${this.#id}:`)) this.#lastSeen = this.#now();
    return true;
  }

  #tick(): void {
    const now = this.#now();
    const silentMs = now - this.#lastSeen;
    if (silentMs > this.#options.deadAfterMs) {
      this.stop();
      this.#onDead(Math.round(silentMs));
      return;
    }
    if (now - this.#lastSent >= this.#options.intervalMs) {
      this.#lastSent = now;
      this.#beat();
    }
  }

  #beat(): void {
    this.#sequence += 1;
    // A failed send is seen as a missing heartbeat: no need to handle it twice.
    this.#send(`${PREFIX}${this.#id}:${this.#sequence}`).catch(() => {});
  }
}
