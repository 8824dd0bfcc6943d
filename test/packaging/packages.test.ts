import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateServiceClient } from '../../src/application/commands/create-service-client/command.js';
import { createTokenwarden, type DatabaseHandle, type Tokenwarden } from '../../src/composition-root.js';
import { loadConfig } from '../../src/config.js';
import { testDatabases } from '../support/databases.js';
import { register } from '../support/instances.js';
import { okValue } from '../support/result.js';
import { TEST_ENV, USER_PASSWORD } from '../support/test-app.js';

/**
 * The library packages as a service gets them: each is packed with `npm pack` (its
 * `prepack` builds dist/), the tarball is installed into a scratch project in a temp dir,
 * and a smoke script run from there imports it by name and talks to a tokenwarden
 * listening on 127.0.0.1. `@tokenwarden/jws` is not on the registry: it is installed from
 * its tarball beside the verifier's, which depends on it by version. Needs the npm registry
 * for the verifier's jose and the fastify/express peers (the npm cache is preferred).
 */
const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SMOKE = fileURLToPath(new URL('./smoke/', import.meta.url));
/** Installing from the registry on a loaded two-core machine takes its time. */
const INSTALL_MS = 600_000;

/** The environment for child npm/node: without the npm_* variables of a surrounding `npm test`, which would point npm at this repository. */
const childEnv = (extra: Record<string, string> = {}) => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_'))),
  ...extra,
});

async function npm(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await run('npm', args, {
    cwd,
    env: childEnv(),
    timeout: INSTALL_MS,
    maxBuffer: 16 << 20,
  });
  return stdout;
}

/** Every installed package under `node_modules` (nested ones included), by name. */
async function installedPackages(modules: string): Promise<string[]> {
  const names: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (!entry.isDirectory() && !entry.isSymbolicLink()) continue;
      if (entry.name.startsWith('.')) continue;
      if (entry.name.startsWith('@')) {
        for (const scoped of await readdir(join(dir, entry.name))) {
          names.push(`${entry.name}/${scoped}`);
          await walk(join(dir, entry.name, scoped, 'node_modules'));
        }
      } else {
        names.push(entry.name);
        await walk(join(dir, entry.name, 'node_modules'));
      }
    }
  };
  await walk(modules);
  return names;
}

async function sizeOf(path: string): Promise<number> {
  const info = await stat(path);
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const entry of await readdir(path)) total += await sizeOf(join(path, entry));
  return total;
}

interface Scratch {
  readonly dir: string;
  readonly packages: string[];
  readonly megabytes: number;
}

/** A fresh project in `parent`/`name` with `installs` (tarball paths or registry specs) installed. */
async function scratchProject(parent: string, name: string, installs: string[]): Promise<Scratch> {
  const dir = join(parent, name);
  await mkdir(dir);
  await writeFile(
    join(dir, 'package.json'),
    JSON.stringify({ name: `scratch-${name}`, private: true, type: 'module' }),
  );
  await npm(dir, ['install', ...installs, '--no-audit', '--no-fund', '--prefer-offline']);
  const modules = join(dir, 'node_modules');
  return {
    dir,
    packages: await installedPackages(modules),
    megabytes: (await sizeOf(modules)) / 1e6,
  };
}

async function smoke(scratch: Scratch, script: string, env: Record<string, string>) {
  await copyFile(join(SMOKE, script), join(scratch.dir, script));
  const { stdout } = await run(process.execPath, [script], {
    cwd: scratch.dir,
    env: childEnv(env),
    timeout: 120_000,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
}

const target = testDatabases()[0]!;

describe('the library packages, packed and installed into a scratch project', () => {
  let temp = '';
  const tarballs: Record<'client' | 'jws' | 'verifier', string> = { client: '', jws: '', verifier: '' };
  /** The package.json of each tarball, as packed. */
  const manifests: Record<string, { version: string; dependencies?: Record<string, string> }> = {};
  let database: DatabaseHandle | undefined;
  let tw: Tokenwarden | undefined;
  let base = '';

  beforeAll(async () => {
    temp = await mkdtemp(join(tmpdir(), 'tokenwarden-packaging-'));
    for (const name of ['client', 'jws', 'verifier'] as const) {
      const packed = JSON.parse(
        await npm(ROOT, ['pack', '-w', `@tokenwarden/${name}`, '--pack-destination', temp, '--json']),
      ) as { filename: string; files: { path: string }[] }[];
      const entry = packed[0]!;
      // Only the build and the package's own metadata: no sources, tests or tsconfig.
      expect(entry.files.map((file) => file.path).sort()).toEqual(
        expect.arrayContaining(['dist/index.d.ts', 'dist/index.js', 'package.json']),
      );
      expect(entry.files.filter((file) => !/^(dist\/|package\.json$|README\.md$)/.test(file.path))).toEqual(
        [],
      );
      // A fresh build (prepack empties dist/ first): no module left over from a deleted source file.
      const sources = new Set(
        (await readdir(join(ROOT, 'packages', name, 'src'), { recursive: true }))
          .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
          .map((file) => `dist/${file.replace(/\.ts$/, '.js')}`),
      );
      expect(entry.files.map((file) => file.path).filter((path) => path.endsWith('.js'))).toEqual(
        expect.arrayContaining([...sources]),
      );
      expect(
        entry.files.filter((file) => file.path.endsWith('.js') && !sources.has(file.path)).map((f) => f.path),
      ).toEqual([]);
      tarballs[name] = join(temp, entry.filename);
      const { stdout } = await run('tar', ['-xzOf', tarballs[name], 'package/package.json']);
      manifests[name] = JSON.parse(stdout);
    }
    database = await target.create();
    // Real time: the packages check exp and staleness against this machine's clock.
    tw = await createTokenwarden(loadConfig({ ...TEST_ENV, TOKENWARDEN_FEED_HEARTBEAT_SECONDS: '1' }), {
      clock: { now: () => new Date() },
      database,
      logger: false,
      defaultMetrics: false,
    });
    await tw.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(tw.app.server.address() as AddressInfo).port}`;
  }, INSTALL_MS);

  afterAll(async () => {
    await tw?.close();
    await database?.close();
    if (temp !== '') await rm(temp, { recursive: true, force: true });
  }, 60_000);

  it(
    '@tokenwarden/client installs alone (no server dependency) and logs in and refreshes from the scratch project',
    async () => {
      const scratch = await scratchProject(temp, 'client', [tarballs.client]);
      console.log(
        `@tokenwarden/client installed: ${scratch.packages.length} package(s), ${scratch.megabytes.toFixed(2)} MB (tokenwarden/client before the split: 118 packages, 91 MB)`,
      );
      expect(scratch.packages).toEqual(['@tokenwarden/client']);
      const email = 'packaged-client@example.com';
      await register(base, email);
      const seen = await smoke(scratch, 'client.mjs', {
        TW_BASE: base,
        TW_EMAIL: email,
        TW_PASSWORD: USER_PASSWORD,
      });
      expect(seen).toEqual({
        localStorage: 'storage_unavailable',
        loggedIn: true,
        refreshed: true,
        email,
        tokensAfterLogout: null,
      });
    },
    INSTALL_MS,
  );

  it(
    '@tokenwarden/verifier installs with @tokenwarden/jws and jose only (plus the peers) and refuses a token after a logout and a user rotation from the scratch project',
    async () => {
      // The packed verifier names the jws it was built against by its version, as a registry would serve it.
      const jwsVersion = JSON.parse(await readFile(join(ROOT, 'packages/jws/package.json'), 'utf8')).version;
      expect(manifests.jws?.version).toBe(jwsVersion);
      expect(manifests.verifier?.dependencies?.['@tokenwarden/jws']).toBe(jwsVersion);
      const scratch = await scratchProject(temp, 'verifier', [
        tarballs.verifier,
        tarballs.jws,
        'fastify@5',
        'express@5',
      ]);
      const own = await scratchProject(temp, 'verifier-alone', [tarballs.verifier, tarballs.jws]);
      console.log(
        `@tokenwarden/verifier installed: ${own.packages.length} package(s), ${own.megabytes.toFixed(2)} MB alone; ${scratch.packages.length} packages, ${scratch.megabytes.toFixed(2)} MB with fastify and express`,
      );
      expect(own.packages.sort()).toEqual(['@tokenwarden/jws', '@tokenwarden/verifier', 'jose']);
      for (const serverOnly of [
        'kysely',
        'pg',
        '@electric-sql/pglite',
        'ioredis',
        '@node-rs/argon2',
        'tokenwarden',
      ]) {
        expect(scratch.packages).not.toContain(serverOnly);
      }
      const email = 'packaged-verifier@example.com';
      await register(base, email);
      const created = okValue(
        await tw!.services.createServiceClient.handle(
          CreateServiceClient({ name: 'packaged-verifier', actor: 'system' }),
        ),
      );
      const seen = await smoke(scratch, 'verifier.mjs', {
        TW_BASE: base,
        TW_EMAIL: email,
        TW_PASSWORD: USER_PASSWORD,
        TW_CLIENT_ID: created.id,
        TW_CLIENT_SECRET: created.secret,
      });
      const refused = (code: string) => ({
        status: 401,
        contentType: expect.stringContaining('application/problem+json'),
        code,
      });
      const accepted = { status: 200, contentType: expect.stringContaining('application/json'), code: null };
      expect(seen).toEqual({
        accepted: true,
        acceptedDownstream: [accepted, accepted],
        logout: 204,
        afterLogout: { ok: false, code: 'token_revoked' },
        afterLogoutDownstream: [refused('token_revoked'), refused('token_revoked')],
        acceptedAgain: true,
        rotation: 201,
        afterRotation: { ok: false, code: 'token_rotated', rejection: 'user_rotation' },
        afterRotationDownstream: [refused('token_rotated'), refused('token_rotated')],
      });
    },
    INSTALL_MS,
  );
});
