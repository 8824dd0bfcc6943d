import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PasswordHasher } from '../../src/application/ports/password-hasher.js';
import {
  createTokenwarden,
  type DatabaseHandle,
  loggerOptions,
  type Tokenwarden,
} from '../../src/composition-root.js';
import { loadConfig } from '../../src/config.js';
import { ServiceUnavailableError } from '../../src/domain/errors.js';
import { Argon2PasswordHasher } from '../../src/infrastructure/crypto/argon2-password-hasher.js';
import { testDatabases } from '../support/databases.js';
import { captureLogs } from '../support/log-capture.js';
import { TEST_ENV, USER_PASSWORD } from '../support/test-app.js';

const [pglite] = testDatabases();

/** A password check that fails as an unavailable dependency while `down` is set. */
class FailingHasher implements PasswordHasher {
  down = false;
  readonly #real = new Argon2PasswordHasher({ memoryCost: 64, timeCost: 1, parallelism: 1 });
  hash(password: string) {
    return this.#real.hash(password);
  }
  verify(hash: string, password: string) {
    if (this.down) return Promise.reject(new ServiceUnavailableError('database', 'stand-in outage'));
    return this.#real.verify(hash, password);
  }
  verifyDummy(password: string) {
    return this.#real.verifyDummy(password);
  }
}

describe('the warning for answers of 503', () => {
  let database: DatabaseHandle | undefined;
  let tw: Tokenwarden | undefined;
  const hasher = new FailingHasher();
  const { lines, sink } = captureLogs();

  beforeAll(async () => {
    database = await pglite!.create();
    tw = await createTokenwarden(loadConfig(TEST_ENV), {
      database,
      hasher,
      logger: { ...(loggerOptions('warn') as object), stream: sink },
      logStream: sink,
      defaultMetrics: false,
    });
  });
  afterAll(async () => {
    await tw?.close();
    await database?.close();
  });

  const login = (email: string) =>
    tw!.app.inject({ method: 'POST', url: '/api/v1/sessions', payload: { email, password: USER_PASSWORD } });
  const warnings = () =>
    lines
      .map((line) => JSON.parse(line) as { msg?: string; dependency?: string; alsoAnswered503?: number })
      .filter((entry) => entry.msg === 'service unavailable: answering 503 with Retry-After');

  it('is written once a second, counting the 503s answered in between', async () => {
    const email = 'outage-login@example.com';
    const registered = await tw!.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      payload: { email, password: USER_PASSWORD },
    });
    expect(registered.statusCode).toBe(201);
    hasher.down = true;
    const burst = [await login(email), await login(email), await login(email)];
    expect(burst.map((res) => res.statusCode)).toEqual([503, 503, 503]);
    expect(warnings()).toEqual([expect.objectContaining({ dependency: 'database', alsoAnswered503: 0 })]);

    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await login(email)).statusCode).toBe(503);
    expect(warnings().map((entry) => entry.alsoAnswered503)).toEqual([0, 2]);
  });
});
