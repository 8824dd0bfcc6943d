import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../src/composition-root.js';
import {
  deriveWebhookSecret,
  verifyWebhookSignature,
} from '../../src/infrastructure/webhooks/webhook-signature.js';
import { type TestDatabase, testDatabases } from '../support/databases.js';
import { startTestApp, type TestApp, useTestApp } from '../support/test-app.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const SECRET = 'http-test-webhook-secret-42';

describe.each(testDatabases())('webhook dead letters over HTTP on $name', (target) => {
  let hook: WebhookReceiver;
  let database: TestDatabase | undefined;
  let t: TestApp;
  beforeAll(async () => {
    hook = await startWebhookReceiver({ failFirst: 1_000_000, failStatus: 500 });
    database = await target.create();
    t = await startTestApp(database as DatabaseHandle, {
      TOKENWARDEN_WEBHOOK_URLS: `${hook.url}?token=receiver-secret`,
      TOKENWARDEN_WEBHOOK_SECRET: SECRET,
      TOKENWARDEN_WEBHOOK_MAX_ATTEMPTS: '2',
      TOKENWARDEN_WEBHOOK_BACKOFF_BASE_MS: '10',
      TOKENWARDEN_WEBHOOK_BACKOFF_MAX_MS: '10',
      // The loop's first pass runs at start; after that the tests step the relay themselves.
      TOKENWARDEN_WEBHOOK_POLL_INTERVAL_MS: '3600000',
    });
  });
  afterAll(async () => {
    await t?.close();
    await database?.close();
    await hook?.close();
  });

  /** Relay passes with the clock moved past each backoff, until nothing is left to try. */
  async function settle(): Promise<void> {
    const relay = t.tw.webhooks.relay;
    if (relay === null) throw new Error('the relay should be configured');
    for (let i = 0; i < 10; i++) {
      const pass = await relay.runOnce();
      t.clock.advance(1);
      if (pass.fannedOut + pass.failed + pass.delivered + pass.deadLettered === 0 && i > 0) return;
    }
  }

  it('dead letters show in the audit log and the admin endpoint; retry re-queues and delivers', async () => {
    const admin = await t.adminToken();
    await settle();

    const dead = await t.request('GET', '/api/v1/admin/webhooks/deliveries?state=dead&limit=200', {
      token: admin,
    });
    expect(dead.statusCode).toBe(200);
    const items = dead.json().items as Record<string, unknown>[];
    expect(items.length).toBeGreaterThan(0);
    for (const item of items) {
      // Shown without the receiver's query-string token.
      expect(item).toMatchObject({ state: 'dead', attempts: 2, lastStatus: 500, url: `${hook.url}?…` });
    }
    const session = items.find((item) => item.eventType === 'SessionCreated');
    expect(session).toBeDefined();

    const audit = await t.request('GET', '/api/v1/admin/audit?action=webhook.dead_lettered&limit=200', {
      token: admin,
    });
    expect(audit.json().items).toHaveLength(items.length);
    expect(audit.json().items[0]).toMatchObject({ actor: 'system', action: 'webhook.dead_lettered' });

    hook.answerWith(200);
    const retried = await t.request('POST', `/api/v1/admin/webhooks/deliveries/${session!.id}/retry`, {
      token: admin,
    });
    expect(retried.statusCode).toBe(200);
    expect(retried.json()).toMatchObject({ id: session!.id, state: 'pending', attempts: 0, deadAt: null });
    const retryAudit = await t.request('GET', '/api/v1/admin/audit?action=webhook.retry_requested', {
      token: admin,
    });
    expect(retryAudit.json().items[0].details).toMatchObject({
      deliveryId: session!.id,
      previousState: 'dead',
    });

    await settle();
    const accepted = hook.received.filter((r) => r.status === 200);
    expect(accepted).toHaveLength(1);
    expect(JSON.parse(accepted[0]!.body)).toMatchObject({ id: session!.eventId, type: 'SessionCreated' });
    expect(
      verifyWebhookSignature(
        deriveWebhookSecret(SECRET, `${hook.url}?token=receiver-secret`),
        accepted[0]!.headers['x-tokenwarden-signature'] as string,
        accepted[0]!.body,
        {
          now: t.clock.now(),
        },
      ).valid,
    ).toBe(true);
    const delivered = await t.request(
      'GET',
      `/api/v1/admin/webhooks/deliveries?eventId=${session!.eventId}`,
      {
        token: admin,
      },
    );
    expect(delivered.json().items).toEqual([
      expect.objectContaining({ id: session!.id, state: 'delivered', attempts: 1, lastStatus: 200 }),
    ]);
  });

  it('pages through deliveries with a cursor', async () => {
    const admin = await t.adminToken();
    const first = (
      await t.request('GET', '/api/v1/admin/webhooks/deliveries?limit=1', { token: admin })
    ).json();
    expect(first.items).toHaveLength(1);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = (
      await t.request('GET', `/api/v1/admin/webhooks/deliveries?limit=1&cursor=${first.nextCursor}`, {
        token: admin,
      })
    ).json();
    expect(second.items).toHaveLength(1);
    expect(second.items[0].id).not.toBe(first.items[0].id);
  });

  it('is for admins only, and answers problems for unknown ids and bad input', async () => {
    await t.register('webhook-user@example.com');
    const user = await t.login('webhook-user@example.com');
    const admin = await t.adminToken();
    expect((await t.request('GET', '/api/v1/admin/webhooks/deliveries')).statusCode).toBe(401);
    const forbidden = await t.request('GET', '/api/v1/admin/webhooks/deliveries', {
      token: user.accessToken,
    });
    expect(forbidden.statusCode).toBe(403);
    const missing = await t.request('POST', `/api/v1/admin/webhooks/deliveries/${randomUUID()}/retry`, {
      token: admin,
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(missing.json()).toMatchObject({ code: 'not_found', status: 404 });
    expect(
      (await t.request('POST', '/api/v1/admin/webhooks/deliveries/not-a-uuid/retry', { token: admin }))
        .statusCode,
    ).toBe(404);
    const bad = await t.request('GET', '/api/v1/admin/webhooks/deliveries?state=lost', { token: admin });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().code).toBe('validation_failed');
    const badCursor = await t.request('GET', '/api/v1/admin/webhooks/deliveries?cursor=nope', {
      token: admin,
    });
    expect(badCursor.statusCode).toBe(422);
  });
});

describe.each(testDatabases())('rotation rejections over HTTP on $name', (target) => {
  const t = useTestApp(target);

  it('many rejected requests write no row each, and one rolled-up event on flush', async () => {
    const user = await t.register('rollup@example.com');
    const pair = await t.login('rollup@example.com');
    const admin = await t.adminToken();
    const rotated = await t.request('POST', '/api/v1/admin/security/rotations', {
      token: admin,
      body: { reason: 'database leak', gracePeriodSeconds: 0 },
    });
    expect(rotated.statusCode).toBe(201);
    const rows = async () => (await t.tw.db.selectFrom('outbox').select('id').execute()).length;
    const before = await rows();

    for (let i = 0; i < 25; i++) {
      const res = await t.refresh(pair.refreshToken);
      expect(res.json()).toMatchObject({ code: 'token_rotated', rejection: 'global_rotation' });
    }
    for (let i = 0; i < 5; i++) {
      const res = await t.request('GET', '/api/v1/users/me', { token: pair.accessToken });
      expect(res.statusCode).toBe(401);
    }
    expect(await rows()).toBe(before);

    expect(await t.tw.webhooks.rejections.flush()).toBe(true);
    const events = await t.tw.db
      .selectFrom('outbox')
      .select('payload')
      .where('event_type', '=', 'TokenRejectedDueToRotation')
      .execute();
    expect(events).toHaveLength(1);
    expect(events[0]!.payload).toMatchObject({
      total: 30,
      byRejection: { global_rotation: 30, user_rotation: 0 },
      byTokenKind: { refresh: 25, access: 5 },
      distinctUsers: 1,
      userIds: [user.id],
    });
  });
});
