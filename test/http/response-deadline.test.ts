import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PasswordHasher } from '../../src/application/ports/password-hasher.js';
import { createTokenwarden, type DatabaseHandle, type Tokenwarden } from '../../src/composition-root.js';
import { loadConfig } from '../../src/config.js';
import { Argon2PasswordHasher } from '../../src/infrastructure/crypto/argon2-password-hasher.js';
import { testDatabases } from '../support/databases.js';
import { TEST_ENV, USER_PASSWORD } from '../support/test-app.js';

const [pglite] = testDatabases();

/**
 * A password check that hangs while `stalled` is set: a stand-in for any dependency of a
 * request that stops answering, so the response deadline, not a database timeout, answers.
 */
class StallingHasher implements PasswordHasher {
  stalled = false;
  /** Ends the stall of the checks under way. */
  release: () => void = () => {};
  /** Checks that stalled and have since returned. */
  finishedStalls = 0;
  readonly #real = new Argon2PasswordHasher({ memoryCost: 64, timeCost: 1, parallelism: 1 });
  hash(password: string) {
    return this.#real.hash(password);
  }
  async verify(hash: string, password: string) {
    if (!this.stalled) return this.#real.verify(hash, password);
    await new Promise<void>((resolve) => {
      this.release = resolve;
    });
    try {
      return await this.#real.verify(hash, password);
    } finally {
      this.finishedStalls++;
    }
  }
  verifyDummy(password: string) {
    return this.#real.verifyDummy(password);
  }
}

describe('the response deadline', () => {
  let database: DatabaseHandle | undefined;
  let tw: Tokenwarden | undefined;
  const hasher = new StallingHasher();

  beforeAll(async () => {
    database = await pglite!.create();
    tw = await createTokenwarden(loadConfig({ ...TEST_ENV, TOKENWARDEN_RESPONSE_DEADLINE_MS: '500' }), {
      database,
      hasher,
      logger: false,
      defaultMetrics: false,
    });
  });
  afterAll(async () => {
    await tw?.close();
    await database?.close();
  });

  const login = (email: string) =>
    tw!.app.inject({ method: 'POST', url: '/api/v1/sessions', payload: { email, password: USER_PASSWORD } });

  it('answers 503 with Retry-After at the deadline, drops the late answer, and keeps serving', async () => {
    const email = 'slow-login@example.com';
    const registered = await tw!.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      payload: { email, password: USER_PASSWORD },
    });
    expect(registered.statusCode).toBe(201);
    hasher.stalled = true;
    const started = performance.now();
    const res = await login(email);
    const ms = performance.now() - started;
    hasher.stalled = false;
    console.log(
      `response deadline 500 ms: a stalled login answered ${res.statusCode} after ${ms.toFixed(0)} ms`,
    );
    expect(res.statusCode).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(res.json()).toMatchObject({ code: 'service_unavailable', status: 503 });
    expect(ms).toBeGreaterThanOrEqual(450);
    expect(ms).toBeLessThan(1_500);
    // The stalled handler finishes after the deadline answered; its answer must not break the next requests.
    hasher.release();
    await expect.poll(() => hasher.finishedStalls, { timeout: 10_000, interval: 10 }).toBe(1);
    expect((await login(email)).statusCode).toBe(201);
  });
});
