import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../src/composition-root.js';
import { testDatabases } from '../support/databases.js';
import { freePort } from '../support/instances.js';
import { type ListeningApp, startListeningApp } from '../support/listening-app.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, USER_PASSWORD } from '../support/test-app.js';

const require = createRequire(import.meta.url);
// The document, not the database, is under test: PGlite only.
const [pglite] = testDatabases();

/*
 * Prism (a validating proxy integrators put in front of an API) between a client and the
 * server, in validating mode: every request and every response of the README's walk-through
 * is checked against the server's own OpenAPI document. A violation is answered by prism as
 * an error (`--errors`) and named in its `sl-violations` header.
 */
describe('the README walk-through through a validating proxy (prism)', () => {
  let database: DatabaseHandle | undefined;
  let app: ListeningApp | undefined;
  let prism: ChildProcess | undefined;
  let dir: string | undefined;
  let base = '';
  let prismLog = '';

  beforeAll(async () => {
    database = await pglite!.create();
    app = await startListeningApp(database);
    dir = await mkdtemp(join(tmpdir(), 'tw-prism-'));
    const spec = join(dir, 'openapi.json');
    await writeFile(spec, await (await fetch(`${app.base}/openapi.json`)).text());
    const port = await freePort();
    prism = spawn(
      process.execPath,
      [
        require.resolve('@stoplight/prism-cli/dist/index.js'),
        'proxy',
        spec,
        app.base,
        '--errors',
        '--port',
        String(port),
        '--host',
        '127.0.0.1',
        '--cors',
        'false',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prism.stdout?.on('data', (chunk: Buffer) => {
      prismLog += chunk.toString();
    });
    prism.stderr?.on('data', (chunk: Buffer) => {
      prismLog += chunk.toString();
    });
    base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 30_000;
    for (;;) {
      const up = await fetch(`${base}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (up) break;
      if (Date.now() > deadline || prism.exitCode !== null)
        throw new Error(`prism did not start:\n${prismLog}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }, 60_000);

  afterAll(async () => {
    prism?.kill('SIGTERM');
    await app?.close();
    await database?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const call = async (
    method: 'GET' | 'POST',
    path: string,
    options: { body?: object; token?: string } = {},
  ): Promise<{ status: number; body: Record<string, unknown>; violations: string | null }> => {
    const res = await fetch(`${base}/api/v1${path}`, {
      method,
      headers: {
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
    const text = await res.text();
    return {
      status: res.status,
      body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
      violations: res.headers.get('sl-violations'),
    };
  };

  it('flags nothing: every request and answer of the walk-through matches the document', async () => {
    const seen: { step: string; status: number; violations: string | null }[] = [];
    const step = async (name: string, status: number, result: Awaited<ReturnType<typeof call>>) => {
      seen.push({ step: name, status: result.status, violations: result.violations });
      expect(result.violations, `${name}: ${result.violations} ${JSON.stringify(result.body)}`).toBeNull();
      expect(result.status, `${name}: ${JSON.stringify(result.body)}`).toBe(status);
      return result.body;
    };
    const email = 'alice@example.com';
    await step('register', 201, await call('POST', '/users', { body: { email, password: USER_PASSWORD } }));
    let pair = await step(
      'login',
      201,
      await call('POST', '/sessions', { body: { email, password: USER_PASSWORD } }),
    );
    pair = await step(
      'refresh',
      200,
      await call('POST', '/tokens', { body: { refreshToken: pair.refreshToken } }),
    );
    const refresh = pair.refreshToken as string;
    await step('me', 200, await call('GET', '/users/me', { token: pair.accessToken as string }));
    await step('my sessions', 200, await call('GET', '/sessions', { token: pair.accessToken as string }));
    const admin = await step(
      'admin login',
      201,
      await call('POST', '/sessions', { body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } }),
    );
    const adminToken = admin.accessToken as string;
    await step(
      'dry run',
      200,
      await call('POST', '/admin/security/rotations', {
        token: adminToken,
        body: { reason: 'database leak', dryRun: true },
      }),
    );
    await step(
      'global rotation',
      201,
      await call('POST', '/admin/security/rotations', {
        token: adminToken,
        body: { reason: 'database leak', gracePeriodSeconds: 0 },
      }),
    );
    const rotated = await step(
      'rotated refresh',
      401,
      await call('POST', '/tokens', { body: { refreshToken: refresh } }),
    );
    expect(rotated).toMatchObject({ code: 'token_rotated', rejection: 'global_rotation' });
    await step(
      'login again',
      201,
      await call('POST', '/sessions', { body: { email, password: USER_PASSWORD } }),
    );
    const again = await step(
      'admin again',
      201,
      await call('POST', '/sessions', { body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } }),
    );
    await step(
      'audit',
      200,
      await call('GET', '/admin/audit?action=token_rotation.global', { token: again.accessToken as string }),
    );
    console.log(`prism: ${seen.length} steps, ${seen.filter((s) => s.violations !== null).length} flagged`);
  });
});
