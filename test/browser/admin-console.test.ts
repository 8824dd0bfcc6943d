import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../src/composition-root.js';
import { testDatabases } from '../support/databases.js';
import { type ListeningApp, startListeningApp } from '../support/listening-app.js';
import { okValue } from '../support/result.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, USER_PASSWORD } from '../support/test-app.js';

/** Debian's chromium (`apt-get install -y chromium`); playwright never downloads a browser here. */
const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available) {
  console.warn(
    `\n[admin console] SKIPPED browser tests: ${CHROMIUM} not found (apt-get install -y chromium)\n`,
  );
}
/** `UPDATE_SCREENSHOT=1 npx vitest run test/browser` rewrites the README's picture. */
const SCREENSHOT = process.env.UPDATE_SCREENSHOT === '1' ? 'docs/img/admin-console.png' : null;

// PGlite only: the console is the same on every database, and a browser is the slow part.
const pglite = testDatabases()[0]!;

describe.skipIf(!available)('admin console in headless chromium', () => {
  let database: DatabaseHandle;
  let server: ListeningApp;
  let context: BrowserContext;
  let profile: string;
  let page: Page;
  const problems: string[] = [];

  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${server.base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return (await res.json()) as Record<string, unknown>;
  };

  beforeAll(async () => {
    database = await pglite.create();
    server = await startListeningApp(database, {});
    for (const email of ['alice@example.com', 'bob@example.com']) {
      await post('/api/v1/users', { email, password: USER_PASSWORD });
      await post('/api/v1/sessions', { email, password: USER_PASSWORD });
    }
    await post('/api/v1/sessions', { email: 'alice@example.com', password: USER_PASSWORD });
    profile = await mkdtemp(join(tmpdir(), 'tw-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1200, height: 1100 },
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
    page.setDefaultTimeout(5_000);
    // A CSP violation or a script error shows up here.
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    if (profile !== undefined) await rm(profile, { recursive: true, force: true });
    await server?.close();
    await database?.close();
  });

  it('refuses a non-admin', async () => {
    await page.goto(`${server.base}/admin`);
    await page.getByLabel('Email', { exact: true }).fill('alice@example.com');
    await page.getByLabel('Password', { exact: true }).fill(USER_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('#sign-in-error').textContent()).toContain('not an admin');
    expect(await page.locator('#console').isHidden()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.getItem('tokenwarden.admin'))).toBeNull();
  });

  it('signs an admin in with the keyboard alone and shows the security config', async () => {
    await page.reload();
    await page.getByLabel('Email', { exact: true }).focus();
    await page.keyboard.type(ADMIN_EMAIL);
    await page.keyboard.press('Tab');
    await page.keyboard.type(ADMIN_PASSWORD);
    await page.keyboard.press('Enter');
    await page.locator('#console').waitFor({ state: 'visible' });
    expect(await page.locator('#config').textContent()).toContain('Global token version1');
    expect(await page.locator('#status').getAttribute('aria-live')).toBe('polite');
    expect(await page.locator('#global-grace').inputValue()).toBe('300');
  });

  it('previews a global rotation without changing anything, then rotates on confirmation', async () => {
    await page
      .getByLabel(/^Reason/)
      .first()
      .fill('browser test: leaked backup');
    await page.getByLabel(/^Grace period/).fill('120');
    await page.getByRole('button', { name: 'Preview (dry run)' }).click();
    const summary = page.locator('#global-preview-summary');
    await summary.waitFor();
    // alice has two sessions, bob one, and the admin this one.
    expect(await summary.textContent()).toMatch(/4 active sessions and 4 refresh tokens would stop working/);
    expect(await page.locator('#config').textContent()).toContain('Global token version1');
    const audit = okValue(
      await server.tw.services.listAuditEvents.execute({
        action: 'token_rotation.global',
        limit: 10,
      }),
    );
    expect(audit.items).toHaveLength(0);

    const confirm = page.locator('#global-confirm');
    expect(await confirm.evaluate((el) => el === document.activeElement)).toBe(true);
    await confirm.press('Enter');
    await page.locator('#global-result-summary').waitFor();
    expect(await page.locator('#global-result-summary').textContent()).toContain('version 1 → 2');
    await expect.poll(() => page.locator('#config').textContent()).toContain('Global token version2');
  });

  it('shows the rotation in the audit log, filtered by action', async () => {
    await page.locator('#audit-action').selectOption('token_rotation.global');
    await page.getByRole('button', { name: 'Filter' }).click();
    const rows = page.locator('#audit-table tbody tr');
    await expect.poll(() => rows.count()).toBe(1);
    const row = await rows.first().textContent();
    expect(row).toContain('token_rotation.global');
    expect(row).toContain('browser test: leaked backup');
  });

  it('looks a user up by email, lists their sessions and rotates their tokens', async () => {
    await page.getByLabel('Email contains').fill('alice@');
    await page.getByRole('button', { name: 'Look up' }).click();
    await page.locator('.user h3').waitFor();
    expect(await page.locator('.user h3').textContent()).toBe('alice@example.com');
    expect(await page.locator('.user caption').textContent()).toBe('2 active sessions');
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByLabel('Reason', { exact: true }).fill('phished');
    await page.getByRole('button', { name: 'Rotate this user’s tokens' }).click();
    await expect
      .poll(() => page.locator('#status').textContent())
      .toContain('Rotated the tokens of alice@example.com');
    await expect.poll(() => page.locator('.user').textContent()).toContain('No active sessions.');
    await page.locator('#audit-action').selectOption('token_rotation.user');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => page.locator('#audit-table tbody tr').count()).toBe(1);
    await page.locator('#audit-action').selectOption('');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.locator('#audit-table').waitFor();
    if (SCREENSHOT !== null) await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(problems).toEqual([]);
  });
});
