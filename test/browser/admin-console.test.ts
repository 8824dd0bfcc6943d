import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../src/composition-root.js';
import { KyselyAuditRepository } from '../../src/infrastructure/database/repositories/kysely-audit-repository.js';
import { testDatabases } from '../support/databases.js';
import { type ListeningApp, startListeningApp } from '../support/listening-app.js';
import { okValue } from '../support/result.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, USER_PASSWORD } from '../support/test-app.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

/** Debian's chromium (`apt-get install -y chromium`); playwright never downloads a browser here. */
const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available) {
  console.warn(
    `\n[admin console] SKIPPED browser tests: ${CHROMIUM} not found (apt-get install -y chromium)\n`,
  );
}
/** `UPDATE_SCREENSHOT=1 npx vitest run test/browser` rewrites the pictures of docs/ADMIN-CONSOLE.md (docs/img/admin-*.png). */
const SCREENSHOTS = process.env.UPDATE_SCREENSHOT === '1';

/** Markup and right-to-left letters (which the server accepts): must arrive as plain text. */
const HOSTILE = '<img src=x onerror="window.__pwned=1"> שלום';
/** What the server refuses today but older rows may hold: a bidi override, a bell, a zero-width space. */
const INVISIBLE = 'evil\u202Egnp.exe\u0007\u200B';

// PGlite only: the console is the same on every database, and a browser is the slow part.
const pglite = testDatabases()[0]!;

describe.skipIf(!available)('admin console in headless chromium', () => {
  let database: DatabaseHandle;
  let server: ListeningApp;
  let hook: WebhookReceiver;
  let context: BrowserContext;
  let profile: string;
  let page: Page;
  const problems: string[] = [];
  const nativeDialogs: string[] = [];
  let aliceId: string;

  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${server.base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return (await res.json()) as Record<string, unknown>;
  };

  const shoot = async (name: string) => {
    if (SCREENSHOTS) await page.screenshot({ path: `docs/img/admin-${name}.png`, fullPage: true });
  };

  const open = async (tab: string) => {
    await page.getByRole('link', { name: tab, exact: true }).click();
  };

  /** The in-page dialog: its text, then a click on its confirm (or cancel) button. */
  const answer = async (yes: boolean): Promise<string> => {
    const dialog = page.locator('#confirm');
    await dialog.waitFor({ state: 'visible' });
    const text = (await dialog.textContent()) ?? '';
    await page.locator(yes ? '#confirm-ok' : '#confirm-cancel').click();
    await dialog.waitFor({ state: 'hidden' });
    return text;
  };

  beforeAll(async () => {
    hook = await startWebhookReceiver({ failFirst: 1_000_000, failStatus: 500 });
    database = await pglite.create();
    server = await startListeningApp(database, {
      TOKENWARDEN_WEBHOOK_URLS: hook.url,
      TOKENWARDEN_WEBHOOK_SECRET: 'browser-test-webhook-secret',
      TOKENWARDEN_WEBHOOK_MAX_ATTEMPTS: '1',
      TOKENWARDEN_WEBHOOK_POLL_INTERVAL_MS: '3600000',
    });
    for (const email of ['alice@example.com', 'bob@example.com']) {
      const user = await post('/api/v1/users', { email, password: USER_PASSWORD });
      if (email.startsWith('alice')) aliceId = String(user.id);
      await post('/api/v1/sessions', { email, password: USER_PASSWORD });
    }
    await post('/api/v1/sessions', { email: 'alice@example.com', password: USER_PASSWORD });
    // Every delivery fails once and, with one attempt allowed, is dead: the dead-letter list.
    const relay = server.tw.webhooks.relay!;
    for (let i = 0; i < 4; i++) {
      await relay.runOnce();
      server.clock.advance(1);
    }
    profile = await mkdtemp(join(tmpdir(), 'tw-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1200, height: 1000 },
      permissions: ['clipboard-read', 'clipboard-write'],
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(15_000);
    // A CSP violation or a script error shows up here.
    // (The 422 the console provokes on purpose is logged by chromium as a failed resource.)
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().includes('status of 422'))
        problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('dialog', (dialog) => {
      nativeDialogs.push(dialog.message());
      void dialog.dismiss();
    });
  }, 90_000);

  afterAll(async () => {
    await context?.close();
    if (profile !== undefined) await rm(profile, { recursive: true, force: true });
    await server?.close();
    await database?.close();
    await hook?.close();
  });

  it('refuses a non-admin', async () => {
    await page.goto(`${server.base}/admin`);
    await page.getByLabel('Email', { exact: true }).fill('alice@example.com');
    await page.getByLabel('Password', { exact: true }).fill(USER_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('#sign-in-error').textContent()).toContain('not an admin');
    expect(await page.locator('#console').isHidden()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.getItem('tokenwarden.admin'))).toBeNull();
    await shoot('sign-in');
  });

  it('signs an admin in with the keyboard alone and opens the overview', async () => {
    await page.reload();
    await page.getByLabel('Email', { exact: true }).focus();
    await page.keyboard.type(ADMIN_EMAIL);
    await page.keyboard.press('Tab');
    await page.keyboard.type(ADMIN_PASSWORD);
    await page.keyboard.press('Enter');
    await page.locator('#page-overview').waitFor({ state: 'visible' });
    await expect.poll(() => page.locator('#config').textContent()).toContain('Global token version1');
    expect(await page.locator('#global-grace').inputValue()).toBe('300');
    expect(await page.locator('#grace-default').inputValue()).toBe('300');
    expect(await page.getByRole('link', { name: 'Overview' }).getAttribute('aria-current')).toBe('page');
    // The rotation schedule is a form, off to begin with.
    expect(await page.locator('#schedule').isVisible()).toBe(true);
    expect(await page.locator('#schedule-status').textContent()).toBe('Scheduled rotation: off.');
    expect(await page.locator('#schedule-interval').inputValue()).toBe('');
  });

  it('turns the rotation schedule on and off through its form, each confirmed', async () => {
    await page.locator('#schedule-interval').fill('90d');
    await page.locator('#schedule-reason').fill('quarterly policy');
    await page.locator('#schedule-notice').fill('7d');
    await page.getByRole('button', { name: 'Turn on' }).click();
    expect(await answer(true)).toContain('Every 90d');
    const status = page.locator('#schedule-status');
    // The test server's clock is a manual one: how far off the due time is depends on it, not checked.
    await expect
      .poll(() => status.textContent())
      .toMatch(/^Scheduled rotation: every 90d\. Next at .+ \(.+\); advance notice at /);
    // Times name their zone.
    const zone = await page.evaluate(
      () =>
        new Intl.DateTimeFormat(undefined, { timeZoneName: 'short' })
          .formatToParts(new Date())
          .find((p) => p.type === 'timeZoneName')?.value,
    );
    expect(await status.textContent()).toContain(zone!);
    expect(await page.locator('#schedule-notice').inputValue()).toBe('7d');
    expect(await page.locator('#schedule-reason').inputValue()).toBe('quarterly policy');
    const config = okValue(await server.tw.services.getSecurityConfig.execute());
    expect(config.rotationSchedule).toMatchObject({
      intervalSeconds: 90 * 86_400,
      reason: 'quarterly policy',
    });

    await page.getByRole('button', { name: 'Turn off' }).click();
    await answer(true);
    await expect.poll(() => status.textContent()).toBe('Scheduled rotation: off.');
    expect(problems).toEqual([]);
  });

  it('edits the default grace period after an in-page confirmation (cancel changes nothing)', async () => {
    await page.locator('#grace-default').fill('120');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    expect(await answer(false)).toContain('120 s');
    await expect.poll(() => page.locator('#status').textContent()).toContain('unchanged');
    expect(okValue(await server.tw.services.getSecurityConfig.execute()).gracePeriodSeconds).toBe(300);

    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await answer(true);
    await expect.poll(() => page.locator('#config').textContent()).toContain('Default grace period120 s');
    expect(okValue(await server.tw.services.getSecurityConfig.execute()).gracePeriodSeconds).toBe(120);
    expect(await page.locator('#global-grace').inputValue()).toBe('120');
  });

  it('previews a global rotation without changing anything, then rotates on confirmation', async () => {
    await page.locator('#global-reason').fill('browser test: leaked backup');
    await page.getByRole('button', { name: 'Preview (dry run)' }).click();
    const summary = page.locator('#global-preview-summary');
    await summary.waitFor();
    // alice has two sessions, bob one, and the admin this one.
    expect(await summary.textContent()).toMatch(/4 active sessions and 4 refresh tokens would stop working/);
    expect(await page.locator('#config').textContent()).toContain('Global token version1');
    const confirm = page.locator('#global-confirm');
    expect(await confirm.evaluate((el) => el === document.activeElement)).toBe(true);
    await confirm.press('Enter');
    await page.locator('#global-result-summary').waitFor();
    expect(await page.locator('#global-result-summary').textContent()).toContain('version 1 → 2');
    await expect.poll(() => page.locator('#config').textContent()).toContain('Global token version2');
    await expect.poll(() => page.locator('#activity-summary').textContent()).toContain('1 global rotation');
    expect(await page.locator('#activity-chart svg rect.bar.series-global').count()).toBe(1);
    await shoot('overview');
  });

  it('rotates a user after an in-page confirmation (no window.confirm)', async () => {
    await open('Users');
    await page.getByLabel('Email contains').fill('alice@');
    await page.getByRole('button', { name: 'Look up' }).click();
    await page.locator('.user h3').waitFor();
    expect(await page.locator('.user h3').textContent()).toBe('alice@example.com');
    // A reason with a bidi override is refused by the server: the error says what is not allowed.
    await page.getByLabel('Reason', { exact: true }).fill(INVISIBLE);
    await page.getByRole('button', { name: 'Rotate this user’s tokens' }).click();
    await expect.poll(() => page.locator('#status').textContent()).toContain('validation_failed');
    expect(await page.locator('#status').textContent()).toContain('no control or format characters');
    await page.getByLabel('Reason', { exact: true }).fill(HOSTILE);
    await page.getByRole('button', { name: 'Rotate this user’s tokens' }).click();
    expect(await answer(false)).toContain('alice@example.com');
    await expect.poll(() => page.locator('#status').textContent()).toContain('cancelled');
    await page.getByRole('button', { name: 'Rotate this user’s tokens' }).click();
    expect(await answer(true)).toMatch(/End 2 sessions and 2 refresh tokens of alice@example\.com/);
    await expect
      .poll(() => page.locator('#status').textContent())
      .toContain('Rotated the tokens of alice@example.com');
    await expect.poll(() => page.locator('.user').textContent()).toContain('No active sessions.');
    expect(nativeDialogs).toEqual([]);
    await shoot('users');
  });

  it('shows the audit log with emails, readable details and untrusted text kept as text', async () => {
    await open('Audit log');
    const options = await page.locator('#audit-action option').allTextContents();
    for (const action of [
      'service_client.created',
      'user.admin_bootstrap',
      'user.promoted',
      'webhook.retry_requested',
    ]) {
      expect(options).toContain(action);
    }
    await page.locator('#audit-action').selectOption('token_rotation.user');
    await page.getByRole('button', { name: 'Filter' }).click();
    const rows = page.locator('#audit-table tbody tr');
    await expect.poll(() => rows.count()).toBe(1);
    const cells = rows.first().locator('td');
    expect(await cells.nth(2).textContent()).toBe(ADMIN_EMAIL);
    expect(await cells.nth(2).locator('span').getAttribute('title')).toMatch(/^id [0-9a-f-]{36}$/);
    expect(await cells.nth(3).textContent()).toBe('alice@example.com');
    expect(await cells.nth(3).locator('span').getAttribute('title')).toBe(`id ${aliceId}`);
    // The reason: markup stays text.
    expect(await cells.nth(4).textContent()).toBe(HOSTILE);
    expect(await page.locator('#audit-table img').count()).toBe(0);
    expect(await page.evaluate(() => (window as { __pwned?: number }).__pwned)).toBeUndefined();
    // Details: one key/value pair per line.
    expect(await cells.nth(5).locator('dl.kv dt').count()).toBeGreaterThan(0);
  });

  it('verifies the audit hash chain on request, in one line', async () => {
    await open('Audit log');
    await page.getByRole('button', { name: 'Verify the hash chain' }).click();
    const line = page.locator('#audit-verification');
    await expect
      .poll(() => line.textContent())
      .toMatch(/^Chain intact: \d+ rows, seq 1\.\.\d+\. Rows after seq 0 are not proven/);
    expect(await line.getAttribute('class')).toBe('');
  });

  it('shows invisible characters of older rows as code points, and system actors as such', async () => {
    // A row written before the server refused these characters (inserted directly: no command
    // accepts them any more).
    await new KyselyAuditRepository(server.tw.db).append({
      occurredAt: server.clock.now(),
      actor: 'system:legacy-import',
      action: 'user.disabled',
      userId: aliceId,
      reason: INVISIBLE,
      details: { [INVISIBLE]: { nested: [1, 2] }, note: HOSTILE },
    });
    await page.locator('#audit-action').selectOption('user.disabled');
    await page.getByRole('button', { name: 'Filter' }).click();
    const cells = page.locator('#audit-table tbody tr').first().locator('td');
    await expect.poll(() => cells.nth(4).textContent()).toBe('evil⟨U+202E⟩gnp.exe⟨U+0007⟩⟨U+200B⟩');
    expect(await cells.nth(2).textContent()).toBe('system:legacy-import');
    expect(await cells.nth(2).locator('.system').count()).toBe(1);
    // (jsonb keeps keys in its own order)
    expect((await cells.nth(5).locator('dt').allTextContents()).sort()).toEqual([
      'evil⟨U+202E⟩gnp.exe⟨U+0007⟩⟨U+200B⟩',
      'note',
    ]);
    expect((await cells.nth(5).locator('dd').allTextContents()).sort()).toEqual([
      HOSTILE,
      '{"nested":[1,2]}',
    ]);
    expect(await page.locator('#audit-table img').count()).toBe(0);
  });

  it('filters the audit log by user email and by date range', async () => {
    await page.locator('#audit-action').selectOption('');
    await page.locator('#audit-user').fill('alice@example.com');
    await page.getByRole('button', { name: 'Filter' }).click();
    const userCells = page.locator('#audit-table tbody tr td:nth-child(4)');
    await expect.poll(() => userCells.count()).toBeGreaterThan(1);
    expect(new Set(await userCells.allTextContents())).toEqual(new Set(['alice@example.com']));

    await page.locator('#audit-user').fill('nobody@example.com');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => page.locator('#audit-no-user').textContent()).toContain('nobody@example.com');

    // The server's clock is a manual one at 2026-01-01T00:00Z: a range ending before it is empty,
    // one around it holds alice's rows.
    await page.locator('#audit-user').fill('alice@example.com');
    await page.locator('#audit-until').fill('2025-12-01T00:00');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => page.locator('#audit-results').textContent()).toBe('No audit entries match.');
    await page.locator('#audit-since').fill('2025-12-30T00:00');
    await page.locator('#audit-until').fill('2026-01-03T00:00');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => userCells.count()).toBeGreaterThan(1);
    await page.locator('#audit-user').fill('');
    await page.locator('#audit-since').fill('');
    await page.locator('#audit-until').fill('');
    await page.locator('#audit-limit').selectOption('10');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => page.locator('#audit-table tbody tr').count()).toBe(10);
    await shoot('audit');
  });

  it('rotates the signing key and retires the active one with a replacement, each confirmed', async () => {
    await open('Signing keys');
    const rows = page.locator('#keys-table tbody tr');
    await expect.poll(() => rows.count()).toBe(1);
    const firstKid = (await rows.first().locator('td').first().textContent())!;

    await page.getByRole('button', { name: 'Rotate signing key' }).click();
    await answer(true);
    await expect.poll(() => rows.count()).toBe(2);
    expect(await rows.nth(1).textContent()).toContain('verifying');
    expect(await page.locator('#keys-table tbody tr td:nth-child(3)').allTextContents()).toEqual([
      'EdDSA',
      'EdDSA',
    ]);
    const activeKid = (await rows.first().locator('td').first().textContent())!;
    expect(activeKid).not.toBe(firstKid);

    await rows.first().getByRole('button', { name: 'Retire…' }).click();
    expect(await answer(true)).toContain('a new key is made');
    await expect.poll(() => rows.count()).toBe(3);
    const states = await page.locator('#keys-table tbody tr td:nth-child(2)').allTextContents();
    expect(states[0]).toContain('active');
    expect(states).toContain('retired');
    const keys = okValue(await server.tw.services.listSigningKeys.execute());
    expect(keys.find((k) => k.kid === activeKid)?.status).toBe('retired');
    await shoot('signing-keys');
  });

  it('lists dead webhook deliveries and retries one after confirmation', async () => {
    await open('Webhook deliveries');
    await expect.poll(() => page.locator('#webhooks-setup').textContent()).toBe('1 receiver configured.');
    const rows = page.locator('#webhooks-table tbody tr');
    await expect.poll(() => rows.count()).toBeGreaterThan(0);
    expect(await rows.first().textContent()).toContain('dead');
    expect(await rows.first().textContent()).toContain('HTTP 500');
    const before = await rows.count();
    await rows.first().getByRole('button', { name: 'Retry…' }).click();
    await answer(true);
    await expect.poll(() => page.locator('#status').textContent()).toContain('queued again');
    await expect.poll(() => rows.count()).toBe(before - 1);
    await page.locator('#webhooks-state').selectOption('pending');
    await page.getByRole('button', { name: 'Show' }).click();
    await expect.poll(() => page.locator('#webhooks-table tbody tr').count()).toBeGreaterThan(0);
    await page.locator('#webhooks-state').selectOption('dead');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.locator('#webhooks-table').waitFor();
    await shoot('webhooks');
  });

  it('creates a service client, shows its secret once with a copy button, and revokes it after confirmation', async () => {
    await open('Service clients');
    await page.getByLabel('Name').fill(`orders-api ${HOSTILE}`);
    await page.getByRole('button', { name: 'Create client' }).click();
    const secret = page.locator('#clients-secret-value');
    await secret.waitFor();
    const value = (await secret.textContent())!;
    expect(value).toMatch(/^twc_/);
    await page.getByRole('button', { name: 'Copy secret' }).click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(value);
    const rows = page.locator('#clients-table tbody tr');
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().locator('td').first().textContent()).toBe(`orders-api ${HOSTILE}`);
    expect(await rows.first().textContent()).toContain(`by ${ADMIN_EMAIL}`);
    await shoot('service-clients');

    await rows.first().getByRole('button', { name: 'Revoke…' }).click();
    await answer(true);
    // Waited on the button going away: the row said "by <admin>" before (its creator), so a
    // poll on that text passed at once and raced the re-render.
    await expect.poll(() => rows.first().getByRole('button', { name: 'Revoke…' }).count()).toBe(0);
    expect(await rows.first().locator('td').nth(3).textContent()).toContain(`by ${ADMIN_EMAIL}`);
    const clients = okValue(await server.tw.services.listServiceClients.execute({ limit: 10 }));
    expect(clients.items[0]?.revokedAt).not.toBeNull();
    expect(await page.evaluate(() => (window as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(problems).toEqual([]);
  });

  it('lists every user without a search term, logs a session out, disables and enables an account', async () => {
    await open('Users');
    await page.getByLabel('Email contains').fill('');
    await page.getByRole('button', { name: 'Look up' }).click();
    const blocks = page.locator('.user');
    await expect
      .poll(() => blocks.locator('h3').allTextContents())
      .toEqual(expect.arrayContaining([ADMIN_EMAIL, 'alice@example.com', 'bob@example.com']));
    const bob = blocks.filter({ has: page.locator('h3', { hasText: 'bob@example.com' }) });
    await bob.locator('table').waitFor();
    const bobSession = await bob.locator('tbody tr code').first().textContent();

    await bob.getByRole('button', { name: 'Log out', exact: true }).first().click();
    expect(await answer(true)).toContain(bobSession!);
    await expect
      .poll(() => page.locator('#status').textContent())
      .toContain('Logged out a session of bob@example.com');
    await expect.poll(() => bob.textContent()).toContain('No active sessions.');

    await bob.getByRole('button', { name: 'Disable account' }).click();
    expect(await answer(true)).toContain('bob@example.com');
    await expect.poll(() => bob.getByRole('button', { name: 'Enable account' }).count()).toBe(1);
    expect(await bob.textContent()).toContain('disabled');
    const login = await fetch(`${server.base}/api/v1/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'bob@example.com', password: USER_PASSWORD }),
    });
    expect(login.status).toBe(401);
    const bobId = (await server.tw.services.findUser.execute('bob@example.com')) as {
      ok: true;
      value: { id: string };
    };
    const disabled = okValue(
      await server.tw.services.listAuditEvents.execute({
        action: 'user.disabled',
        userId: bobId.value.id,
        limit: 5,
      }),
    );
    expect(disabled.items).toHaveLength(1);

    await bob.getByRole('button', { name: 'Enable account' }).click();
    expect(await answer(true)).toContain('stay refused');
    await expect.poll(() => bob.getByRole('button', { name: 'Disable account' }).count()).toBe(1);
    await post('/api/v1/sessions', { email: 'bob@example.com', password: USER_PASSWORD });
    expect(nativeDialogs).toEqual([]);
    expect(problems).toEqual([]);
    await shoot('users-actions');
  });

  it('previews a global rotation that also rotates the signing key', async () => {
    await open('Overview');
    await page.locator('#global-reason').fill('signing key exposed');
    await page.getByLabel('Also rotate the signing key').check();
    await page.getByRole('button', { name: 'Preview (dry run)' }).click();
    const key = page.locator('#global-preview-key');
    await key.waitFor();
    expect(await key.textContent()).toMatch(/The signing key is rotated too: key \S+ is retired/);
    // Unticking it forgets the preview: a new dry run is needed before anything changes.
    await page.getByLabel('Also rotate the signing key').uncheck();
    await expect.poll(() => key.count()).toBe(0);
    expect(await page.locator('#global-confirm').isHidden()).toBe(true);
    expect(problems).toEqual([]);
  });
});
