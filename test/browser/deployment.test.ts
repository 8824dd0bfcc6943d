import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { build } from 'esbuild';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenwarden, type DatabaseHandle, type Tokenwarden } from '../../src/composition-root.js';
import { loadConfig } from '../../src/config.js';
import { testDatabases } from '../support/databases.js';
import { type ListeningApp, startListeningApp } from '../support/listening-app.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, TEST_ENV, USER_PASSWORD } from '../support/test-app.js';

/** The client SDK's entry point, bundled for the page as a browser app would. */
const CLIENT_ENTRY = resolve(import.meta.dirname, '../../packages/client/src/index.ts');

/** Debian's chromium (`apt-get install -y chromium`); playwright never downloads a browser here. */
const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available) {
  console.warn(`\n[deployment] SKIPPED browser tests: ${CHROMIUM} not found (apt-get install -y chromium)\n`);
}

// PGlite only: what is under test is the browser's view of HTTP, the same on every database.
const pglite = testDatabases()[0]!;

/**
 * The console's address in the browser: a name, not a loopback IP, because chromium exempts
 * 127.0.0.0/8 from upgrade-insecure-requests (a LAN address is not). It resolves to 127.0.0.2,
 * where the server listens: a second loopback address stands in for a LAN one.
 */
const CONSOLE_NAME = 'console.tokenwarden.test';
const HOST = '127.0.0.2';

let browser: Browser;
beforeAll(async () => {
  if (!available) return;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      `--host-resolver-rules=MAP ${CONSOLE_NAME} ${HOST}`,
    ],
  });
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

/** Every console error and page error of `page`: a CSP violation or a failed script shows up here. */
function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  return problems;
}

/** A static site on its own origin: one page that loads the SDK bundle. */
async function startSite(sdk: string): Promise<{ origin: string; server: Server }> {
  const html = `<!doctype html><meta charset="utf-8"><title>app</title>
<script type="module">
  import { createClient } from '/sdk.js';
  window.signInAndRefresh = async (baseUrl, email, password) => {
    const client = createClient({ baseUrl });
    try {
      const first = await client.login(email, password);
      const second = await client.refresh();
      const me = await client.me();
      return { ok: true, email: me.email, rotated: first.refreshToken !== second.refreshToken };
    } catch (error) {
      return { ok: false, name: error.name, code: error.code };
    }
  };
  window.ready = true;
</script>`;
  const server = createServer((request, response) => {
    if (request.url === '/sdk.js') {
      response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(sdk);
    } else {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    }
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe.skipIf(!available)('the client SDK in chromium from another origin', () => {
  let database: DatabaseHandle;
  let app: ListeningApp;
  let allowed: { origin: string; server: Server };
  let other: { origin: string; server: Server };

  beforeAll(async () => {
    const bundle = await build({
      entryPoints: [CLIENT_ENTRY],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: ['es2022'],
      write: false,
      logLevel: 'silent',
    });
    const sdk = bundle.outputFiles[0]!.text;
    allowed = await startSite(sdk);
    other = await startSite(sdk);
    database = await pglite.create();
    app = await startListeningApp(database, { TOKENWARDEN_CORS_ORIGINS: allowed.origin });
    await fetch(`${app.base}/api/v1/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'alice@example.com', password: USER_PASSWORD }),
    });
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await database?.close();
    for (const site of [allowed, other]) site?.server.close();
  });

  const signInFrom = async (origin: string) => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${origin}/`);
      await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
      return await page.evaluate(
        ([base, email, password]) =>
          (
            window as unknown as {
              signInAndRefresh(b: string, e: string, p: string): Promise<Record<string, unknown>>;
            }
          ).signInAndRefresh(base!, email!, password!),
        [app.base, 'alice@example.com', USER_PASSWORD],
      );
    } finally {
      await context.close();
    }
  };

  it('a listed origin logs in, refreshes and reads /users/me', async () => {
    expect(await signInFrom(allowed.origin)).toEqual({ ok: true, email: 'alice@example.com', rotated: true });
  });

  it('an unlisted origin is stopped at the preflight: the password is never sent', async () => {
    app.resetCounts();
    expect(await signInFrom(other.origin)).toEqual({
      ok: false,
      name: 'TokenwardenClientError',
      code: 'network_error',
    });
    expect(app.count('POST', '/api/v1/sessions')).toBe(0);
  });
});

describe.skipIf(!available)('the admin console on a plain-http address other than localhost', () => {
  let database: DatabaseHandle;
  let servers: Tokenwarden[] = [];

  beforeAll(async () => {
    database = await pglite.create();
  });
  afterAll(async () => {
    for (const tw of servers) await tw.close();
    servers = [];
    await database?.close();
  });

  const serveAt = async (env: Record<string, string>) => {
    const tw = await createTokenwarden(loadConfig({ ...TEST_ENV, ...env }), {
      database,
      logger: false,
      defaultMetrics: false,
    });
    servers.push(tw);
    await tw.app.listen({ host: HOST, port: 0 });
    return `http://${CONSOLE_NAME}:${(tw.app.server.address() as AddressInfo).port}`;
  };

  /** Whether app.css applied (the body's margin and background) and app.js ran (the console's sign-in works). */
  const bodyStyle = (page: Page) =>
    page.evaluate(() => {
      const style = getComputedStyle(document.body);
      return { margin: style.margin, background: style.backgroundColor };
    });

  it('loads styled, runs its script and signs an admin in', async () => {
    const base = await serveAt({});
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems = watchProblems(page);
    try {
      await page.goto(`${base}/admin`);
      expect(await bodyStyle(page)).toEqual({ margin: '0px', background: 'rgb(246, 248, 250)' });
      await page.getByLabel('Email', { exact: true }).fill(ADMIN_EMAIL);
      await page.getByLabel('Password', { exact: true }).fill(ADMIN_PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator('#console').waitFor({ state: 'visible', timeout: 15_000 });
      // Helmet's Cross-Origin-Opener-Policy is kept for https deployments; on plain http chromium
      // says it ignores it, which breaks nothing.
      expect(
        problems.filter((p) => !p.startsWith('The Cross-Origin-Opener-Policy header has been ignored')),
      ).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);

  it('with an https public URL the upgrade is back: the same address then fails (the check above can fail)', async () => {
    const base = await serveAt({ TOKENWARDEN_PUBLIC_URL: 'https://auth.example.com' });
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await page.goto(`${base}/admin`);
      // The stylesheet was asked for over https, which nothing serves here.
      expect(await bodyStyle(page)).not.toEqual({ margin: '0px', background: 'rgb(246, 248, 250)' });
    } finally {
      await context.close();
    }
  }, 60_000);

  it('without JavaScript, submitting the sign-in form posts: the password never reaches a URL', async () => {
    const base = await serveAt({});
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    const sent: { method: string; url: string }[] = [];
    page.on('request', (request) => sent.push({ method: request.method(), url: request.url() }));
    try {
      await page.goto(`${base}/admin`);
      await page.getByLabel('Email', { exact: true }).fill(ADMIN_EMAIL);
      await page.getByLabel('Password', { exact: true }).fill(ADMIN_PASSWORD);
      await Promise.all([
        page.waitForRequest((r) => r.method() === 'POST'),
        page.getByRole('button', { name: 'Sign in' }).click(),
      ]);
      const submitted = sent.filter((r) => r.method === 'POST');
      expect(submitted).toEqual([{ method: 'POST', url: `${base}/admin` }]);
      for (const request of sent) expect(request.url).not.toContain(encodeURIComponent(ADMIN_PASSWORD));
    } finally {
      await context.close();
    }
  }, 60_000);
});
