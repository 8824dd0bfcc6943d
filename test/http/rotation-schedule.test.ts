import { describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import { useTestApp } from '../support/test-app.js';

const DAY_MS = 86_400_000;

describe.each(testDatabases())('the rotation schedule over HTTP on $name', (target) => {
  const t = useTestApp(target);
  const patch = async (body: unknown, options: { token?: string; headers?: Record<string, string> } = {}) =>
    t.request('PATCH', '/api/v1/admin/security/config', {
      token: options.token ?? (await t.adminToken()),
      body,
      headers: options.headers,
    });
  const get = async () =>
    (await t.request('GET', '/api/v1/admin/security/config', { token: await t.adminToken() })).json();

  it('is off by default', async () => {
    expect((await get()).rotationSchedule).toBeNull();
  });

  it('PATCH turns it on: the next due time, the notice time and the settings, shown by GET and audited', async () => {
    const now = t.clock.now().getTime();
    const res = await patch({
      rotationSchedule: {
        interval: '90d',
        gracePeriodSeconds: 600,
        reason: 'quarterly policy',
        noticeLead: '7d',
      },
    });
    expect(res.statusCode).toBe(200);
    const expected = {
      interval: '90d',
      intervalSeconds: 90 * 86_400,
      gracePeriodSeconds: 600,
      reason: 'quarterly policy',
      noticeLeadSeconds: 7 * 86_400,
      nextDueAt: new Date(now + 90 * DAY_MS).toISOString(),
      noticeAt: new Date(now + 83 * DAY_MS).toISOString(),
      noticeSent: false,
      lastDueAt: null,
    };
    expect(res.json().rotationSchedule).toEqual(expected);
    expect((await get()).rotationSchedule).toEqual(expected);
    const audit = (
      await t.request('GET', '/api/v1/admin/audit?action=security_config.updated&limit=1', {
        token: await t.adminToken(),
      })
    ).json();
    expect(audit.items[0].details).toEqual({
      rotationSchedule: {
        from: null,
        to: {
          interval: '90d',
          intervalSeconds: 90 * 86_400,
          gracePeriodSeconds: 600,
          reason: 'quarterly policy',
          noticeLeadSeconds: 7 * 86_400,
          nextDueAt: expected.nextDueAt,
        },
      },
    });
  });

  it('a new interval recomputes the next due time; other fields keep it; seconds are accepted', async () => {
    await patch({ rotationSchedule: { interval: '90d' } });
    const due = (await get()).rotationSchedule.nextDueAt;
    t.clock.advance(3_600);
    const reason = await patch({ rotationSchedule: { reason: 'new wording', gracePeriodSeconds: null } });
    expect(reason.json().rotationSchedule).toMatchObject({
      nextDueAt: due,
      reason: 'new wording',
      gracePeriodSeconds: null,
      interval: '90d',
    });
    const now = t.clock.now().getTime();
    const seconds = await patch({ rotationSchedule: { interval: 43_200 } });
    expect(seconds.json().rotationSchedule).toMatchObject({
      interval: '12h',
      intervalSeconds: 43_200,
      nextDueAt: new Date(now + 43_200_000).toISOString(),
      // A week's lead cannot fit in 12 h: half the interval.
      noticeLeadSeconds: 21_600,
    });
  });

  it('null turns it off', async () => {
    await patch({ rotationSchedule: { interval: '30d' } });
    const res = await patch({ rotationSchedule: null });
    expect(res.statusCode).toBe(200);
    expect(res.json().rotationSchedule).toBeNull();
    expect((await get()).rotationSchedule).toBeNull();
  });

  it.each([
    ['a negative interval', { interval: -86_400 }],
    ['a negative duration', { interval: '-1d' }],
    ['0d', { interval: '0d' }],
    ['zero seconds', { interval: 0 }],
    ['abc', { interval: 'abc' }],
    ['a fraction', { interval: '1.5d' }],
    ['an exponent', { interval: '1e3d' }],
    ['a space inside', { interval: '90 d' }],
    ['a unit it does not know', { interval: '2w' }],
    ['less than an hour', { interval: '59m' }],
    ['more than ten years', { interval: '3651d' }],
    ['a huge number of days', { interval: '999999999999d' }],
    ['a huge number', { interval: 1e300 }],
    ['a fractional number', { interval: 3_600.5 }],
    ['NUL', { interval: '90d\u0000' }],
    ['a lone surrogate', { interval: '90d\ud800' }],
    ['a bidi override', { interval: '\u202e90d' }],
    ['an overlong string', { interval: `${'9'.repeat(40)}d` }],
    ['a boolean', { interval: true }],
    ['a lead time as long as the interval', { interval: '7d', noticeLead: '7d' }],
    ['a negative lead time', { interval: '7d', noticeLead: '-1h' }],
    ['a grace period over a day', { interval: '7d', gracePeriodSeconds: 86_401 }],
    ['a negative grace period', { interval: '7d', gracePeriodSeconds: -1 }],
    ['an empty reason', { interval: '7d', reason: '  ' }],
    ['a reason with NUL', { interval: '7d', reason: 'policy\u0000' }],
    ['a reason with a newline', { interval: '7d', reason: 'policy\nforged line' }],
    ['a reason over 500 characters', { interval: '7d', reason: 'r'.repeat(501) }],
    ['an unknown field', { interval: '7d', every: '7d' }],
    ['no interval while off', { reason: 'no interval' }],
    ['a string instead of an object', 'on'],
  ])('refuses %s as 422 validation_failed, changing nothing', async (_what, rotationSchedule) => {
    await patch({ rotationSchedule: null });
    const before = await get();
    const res = await patch({ rotationSchedule });
    expect(res.statusCode).toBe(422);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ code: 'validation_failed', status: 422 });
    expect(res.json().errors[0].path).toMatch(/^\/rotationSchedule/);
    expect(await get()).toEqual(before);
  });

  it('refuses an empty body, malformed JSON and a wrong content type, changing nothing', async () => {
    const before = await get();
    expect((await patch({})).statusCode).toBe(422);
    const token = await t.adminToken();
    const malformed = await t.request('PATCH', '/api/v1/admin/security/config', {
      token,
      body: '{"rotationSchedule": {"interval": "90d"',
      headers: { 'content-type': 'application/json' },
    });
    expect(malformed.statusCode).toBe(400);
    const form = await t.request('PATCH', '/api/v1/admin/security/config', {
      token,
      body: 'rotationSchedule=90d',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.statusCode).toBe(415);
    // Plain text is read as a string, which is not the object the schema asks for.
    const text = await t.request('PATCH', '/api/v1/admin/security/config', {
      token,
      body: '{"rotationSchedule":{"interval":"90d"}}',
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.statusCode).toBe(422);
    expect(await get()).toEqual(before);
  });

  it('is for admins only', async () => {
    await t.register('schedule-user@example.com');
    const user = await t.login('schedule-user@example.com');
    expect(
      (await patch({ rotationSchedule: { interval: '1d' } }, { token: user.accessToken })).statusCode,
    ).toBe(403);
    expect(
      (await t.request('GET', '/api/v1/admin/security/config', { token: user.accessToken })).statusCode,
    ).toBe(403);
  });
});
