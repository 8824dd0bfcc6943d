import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { RandomTokenGenerator } from '../../src/infrastructure/crypto/random-token-generator.js';
import { KyselyOutboxRepository } from '../../src/infrastructure/database/repositories/kysely-outbox-repository.js';
import { KyselyUnitOfWork } from '../../src/infrastructure/database/repositories/kysely-unit-of-work.js';
import { createWebhooks } from '../../src/infrastructure/webhooks/create-webhooks.js';
import { verifyWebhookSignature } from '../../src/infrastructure/webhooks/webhook-signature.js';
import { type TestDatabase, testDatabases } from '../support/databases.js';
import { ManualClock } from '../support/manual-clock.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { runCli, runJson } from './cli-harness.js';

// The command reads only the configuration; the receivers' deliveries take the time.
const SLOW = 60_000;
const MASTER = 'cli-test-webhook-master-secret';

describe('tokenwarden webhooks secret', () => {
  let root: string;
  let a: WebhookReceiver;
  let b: WebhookReceiver;
  let env: Record<string, string>;
  let database: TestDatabase;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'tokenwarden-cli-webhooks-'));
    a = await startWebhookReceiver();
    b = await startWebhookReceiver();
    database = await testDatabases()[0]!.create();
    env = {
      // Never opened: the command reads only the configuration.
      TOKENWARDEN_DATA_DIR: join(root, 'never-created'),
      TOKENWARDEN_WEBHOOK_URLS: `${a.url},${b.url}?tenant=b`,
      TOKENWARDEN_WEBHOOK_SECRET: MASTER,
    };
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await database?.close();
    await rm(root, { recursive: true, force: true });
  });

  it(
    'prints the secret the relay signs each receiver with; A’s delivery does not verify with B’s',
    async () => {
      const forA = await runJson<{ url: string; secret: string }>(['webhooks', 'secret', a.url], env);
      const forB = await runJson<{ url: string; secret: string }>(
        ['webhooks', 'secret', `${b.url}?tenant=b`],
        env,
      );
      expect(forA.url).toBe(a.url);
      expect(forA.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(forB.secret).not.toBe(forA.secret);
      // Without --json: the secret alone, for a script to pipe into the receiver's configuration.
      const text = await runCli(['webhooks', 'secret', a.url], env);
      expect(text).toMatchObject({ code: 0, stdout: `${forA.secret}\n` });
      expect(existsSync(env.TOKENWARDEN_DATA_DIR!)).toBe(false);

      // The relay, wired from the same configuration as the server's.
      const clock = new ManualClock();
      const webhooks = createWebhooks({
        db: database.db,
        uow: new KyselyUnitOfWork(database.db),
        clock,
        tokens: new RandomTokenGenerator(),
        config: loadConfig({ ...env, TOKENWARDEN_WEBHOOK_POLL_INTERVAL_MS: '3600000' }),
      });
      try {
        await new KyselyOutboxRepository(database.db).append({
          id: randomUUID(),
          type: 'UserDisabled',
          occurredAt: clock.now(),
          payload: { userId: randomUUID() },
        });
        await webhooks.relay!.runOnce();
      } finally {
        await webhooks.close();
      }
      const check = (secret: string, to: WebhookReceiver) => {
        const request = to.received[0]!;
        return verifyWebhookSignature(
          secret,
          request.headers['x-tokenwarden-signature'] as string,
          request.body,
          {
            now: clock.now(),
          },
        );
      };
      expect(check(forA.secret, a)).toMatchObject({ valid: true });
      expect(check(forB.secret, b)).toMatchObject({ valid: true });
      expect(check(forB.secret, a)).toEqual({ valid: false, reason: 'mismatch' });
      expect(check(forA.secret, b)).toEqual({ valid: false, reason: 'mismatch' });
    },
    SLOW,
  );

  it(
    'exits 1 for a URL that is not configured, 2 for no URL or no webhook configuration',
    async () => {
      const unknown = await runCli(['webhooks', 'secret', 'https://elsewhere.example/hook'], env);
      expect(unknown.code).toBe(1);
      expect(unknown.stdout).toBe('');
      expect(unknown.stderr).toMatch(/is not one of the 2 URLs in TOKENWARDEN_WEBHOOK_URLS/);
      const junk = await runCli(['webhooks', 'secret', 'not a url'], env);
      expect(junk.code).toBe(2);
      expect(junk.stderr).toMatch(/"not a url" is not a URL/);
      const unconfigured = await runCli(['webhooks', 'secret', a.url], {
        TOKENWARDEN_DATA_DIR: env.TOKENWARDEN_DATA_DIR!,
      });
      expect(unconfigured.code).toBe(2);
      expect(unconfigured.stderr).toMatch(/no webhook receivers are configured/);
    },
    SLOW,
  );
});
