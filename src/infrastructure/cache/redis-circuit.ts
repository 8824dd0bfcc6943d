import type { Redis } from 'ioredis';

/** What the shared rate limits call on Redis. */
type SharedLimitsRedis = Pick<Redis, 'eval'>;

/**
 * A circuit breaker in front of the shared rate limits' Redis. A command that fails or
 * times out opens it for `cooldownMs`: commands then fail at once, so every login and
 * refresh falls back to this instance's limits without waiting on a Redis that hangs
 * (each would otherwise pay the command timeout). After the cooldown the next command is
 * sent as a probe; its success closes the circuit.
 *
 * @example
 * const limitsRedis = new RedisCircuit(redis, { cooldownMs: 2_000 });
 * await limitsRedis.eval(LUA, 1, key); // rejects at once while open
 */
export class RedisCircuit implements SharedLimitsRedis {
  readonly #redis: Redis;
  readonly #cooldownMs: number;
  readonly #now: () => number;
  #openUntil = 0;

  constructor(redis: Redis, options: { readonly cooldownMs?: number; readonly now?: () => number } = {}) {
    this.#redis = redis;
    this.#cooldownMs = options.cooldownMs ?? 2_000;
    this.#now = options.now ?? Date.now;
  }

  /** Whether commands are refused without being sent now. */
  get open(): boolean {
    return this.#now() < this.#openUntil;
  }

  eval: Redis['eval'] = ((...args: Parameters<Redis['eval']>) => {
    if (this.open)
      return Promise.reject(new Error('Redis circuit open: a recent command failed or timed out'));
    return (this.#redis.eval as (...a: unknown[]) => Promise<unknown>)(...args).then(
      (reply) => {
        this.#openUntil = 0;
        return reply;
      },
      (error: unknown) => {
        this.#openUntil = this.#now() + this.#cooldownMs;
        throw error;
      },
    );
  }) as Redis['eval'];
}
