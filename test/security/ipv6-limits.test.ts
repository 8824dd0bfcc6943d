import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { LoginThrottle } from '../../src/http/login-throttle.js';
import { rateLimitAddress } from '../../src/http/rate-limit-address.js';
import { RedisThrottleStore } from '../../src/infrastructure/cache/redis-throttle-store.js';
import { testDatabases } from '../support/databases.js';
import { useListeningApp } from '../support/listening-app.js';
import { USER_PASSWORD } from '../support/test-app.js';

const REDIS_URL = process.env.REDIS_URL ?? '';
const [pglite] = testDatabases();

describe('the address the limits count', () => {
  it('is an IPv6 network of the configured prefix, IPv4 as is, IPv4-mapped IPv6 as IPv4', () => {
    expect(rateLimitAddress('198.51.100.7', 64)).toBe('198.51.100.7');
    expect(rateLimitAddress('::ffff:198.51.100.7', 64)).toBe('198.51.100.7');
    expect(rateLimitAddress('::ffff:c633:6407', 64)).toBe('198.51.100.7');
    expect(rateLimitAddress('2001:db8:1:2:a:b:c:d', 64)).toBe(rateLimitAddress('2001:db8:1:2::1', 64));
    expect(rateLimitAddress('2001:db8:1:2::1', 64)).not.toBe(rateLimitAddress('2001:db8:1:3::1', 64));
    expect(rateLimitAddress('2001:db8:1:2::1', 56)).toBe(rateLimitAddress('2001:db8:1:3::1', 56));
    expect(rateLimitAddress('2001:db8:1:2::1', 128)).not.toBe(rateLimitAddress('2001:db8:1:2::2', 128));
    expect(rateLimitAddress('fe80::1%eth0', 64)).toBe(rateLimitAddress('fe80::2', 64));
  });

  it('takes a prefix of 32 to 128 bits from TOKENWARDEN_RATE_LIMIT_IPV6_PREFIX, 64 by default', () => {
    expect(loadConfig({}).rateLimit.ipv6Prefix).toBe(64);
    expect(loadConfig({ TOKENWARDEN_RATE_LIMIT_IPV6_PREFIX: '56' }).rateLimit.ipv6Prefix).toBe(56);
    for (const bad of ['31', '129', 'wide']) {
      expect(() => loadConfig({ TOKENWARDEN_RATE_LIMIT_IPV6_PREFIX: bad })).toThrow(
        /TOKENWARDEN_RATE_LIMIT_IPV6_PREFIX/,
      );
    }
  });
});

/*
 * Wrong logins whose client address is an IPv6 address, over a real socket: the app trusts
 * 127.0.0.1 as its proxy, so each request's address is the X-Forwarded-For it sends, as
 * behind nginx. Per IP: 20 password requests a minute; per account: 10 failures.
 */
const limitsOver = (name: string, env: Record<string, string>) =>
  describe(`IPv6 clients counted by their /64 (${name})`, () => {
    const run = randomBytes(4).toString('hex');
    const app = useListeningApp(pglite!, {
      TOKENWARDEN_TRUST_PROXY: '127.0.0.1',
      TOKENWARDEN_RATE_LIMIT_MAX: '20',
      TOKENWARDEN_LOGIN_ACCOUNT_MAX_FAILURES: '10',
      TOKENWARDEN_INVALIDATION_CHANNEL: `tw_test_ipv6_${run}`,
      ...env,
    });
    const post = (path: string, from: string, body: object) =>
      fetch(`${app.base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': from },
        body: JSON.stringify(body),
      });
    const guess = (from: string, email: string) =>
      post('/api/v1/sessions', from, { email, password: 'wrong password 1' });

    it('locks an account for a /64 that keeps changing its address', async () => {
      const email = `v6-victim-${run}@example.com`;
      const made = await post('/api/v1/users', '192.0.2.1', { email, password: USER_PASSWORD });
      expect(made.status).toBe(201);
      const statuses: number[] = [];
      for (let i = 1; i <= 15; i++)
        statuses.push((await guess(`2001:db8:77:1::${i.toString(16)}`, email)).status);
      // 10 failures, then the /64 that failed is locked out of the account (per-IP budget: 20).
      expect(statuses.filter((s) => s === 401)).toHaveLength(10);
      expect(statuses.slice(10)).toEqual([429, 429, 429, 429, 429]);
      // Another /64 still has its password checked: the owner is not locked out.
      expect(
        (await post('/api/v1/sessions', '2001:db8:77:2::1', { email, password: USER_PASSWORD })).status,
      ).toBe(201);
    });

    it('spends one per-IP budget for every address of a /64, and one for IPv4 and IPv4-mapped IPv6', async () => {
      const statuses: number[] = [];
      for (let i = 1; i <= 22; i++) {
        statuses.push(
          (await guess(`2001:db8:78:1:${i.toString(16)}::1`, `nobody-${run}-${i}@example.com`)).status,
        );
      }
      expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
      expect(statuses.slice(20)).toEqual([429, 429]);
      const mixed: number[] = [];
      for (let i = 1; i <= 22; i++) {
        const from = i % 2 === 0 ? '203.0.113.9' : '::ffff:203.0.113.9';
        mixed.push((await guess(from, `nobody-${run}-v4-${i}@example.com`)).status);
      }
      expect(mixed.slice(20)).toEqual([429, 429]);
      // A /64 next door has a budget of its own.
      expect((await guess('2001:db8:78:2::1', `nobody-${run}@example.com`)).status).toBe(401);
    });
  });

limitsOver('memory', {});
describe.skipIf(REDIS_URL === '')('through Redis', () => {
  limitsOver('Redis', { REDIS_URL, TOKENWARDEN_REDIS_COMMAND_TIMEOUT_MS: '2000' });
});

/** Failures for one account from `n` distinct sources. */
const failFrom = async (throttle: LoginThrottle, email: string, from: number, n: number) => {
  for (let i = from; i < from + n; i++)
    await throttle.recordFailure(email, `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
};

describe('an account whose source set is full', () => {
  const redis = REDIS_URL === '' ? null : new Redis(REDIS_URL, { lazyConnect: true });
  afterAll(() => redis?.disconnect());
  const stores: [string, () => LoginThrottle][] = [
    ['memory', () => new LoginThrottle({ maxFailures: 10, windowSeconds: 60 })],
    ...(redis === null
      ? []
      : ([
          [
            'Redis',
            () =>
              new LoginThrottle({
                maxFailures: 10,
                windowSeconds: 60,
                shared: new RedisThrottleStore(redis, {
                  prefix: `tw_test_full_${randomBytes(4).toString('hex')}:`,
                  windowSeconds: 60,
                }),
                onSharedError: (error) => {
                  throw error;
                },
              }),
          ],
        ] as [string, () => LoginThrottle][])),
  ];

  it.each(stores)('still locks every source that fails after it filled (%s)', async (_name, make) => {
    const throttle = make();
    const email = 'full@example.com';
    await failFrom(throttle, email, 0, 1024);
    // 200 more sources fail, past the 1 024 remembered exactly: each is locked from then on.
    await failFrom(throttle, email, 1024, 200);
    const late = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        throttle.retryAfter(email, `10.0.${(1024 + i) >> 8}.${(1024 + i) & 255}`),
      ),
    );
    expect(late.filter((r) => r === null)).toHaveLength(0);
    // The first 1 024 stay locked, and almost every source that never failed is not.
    expect(await throttle.retryAfter(email, '10.0.0.5')).not.toBeNull();
    const fresh = await Promise.all(
      Array.from({ length: 200 }, (_, i) => throttle.retryAfter(email, `172.16.${i >> 8}.${i & 255}`)),
    );
    expect(fresh.filter((r) => r === null).length).toBeGreaterThanOrEqual(195);
  });
});
