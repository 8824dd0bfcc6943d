import { setTimeout as sleep } from 'node:timers/promises';
import { createVerifier, type FeedRegression, type Verifier, type VerifyResult } from '@tokenwarden/verifier';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenwarden, type DatabaseHandle, type Tokenwarden } from '../../src/composition-root.js';
import { loadConfig } from '../../src/config.js';
import { testDatabases } from '../support/databases.js';
import {
  call,
  createScratchDatabase,
  freePort,
  type Instance,
  login,
  register,
  type ScratchDatabase,
  startInstance,
} from '../support/instances.js';
import { SseClient } from '../support/sse-client.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, TEST_ENV } from '../support/test-app.js';

const HEARTBEAT_SECONDS = 1;
const MAX_STALENESS_SECONDS = 2;

/** Polls `verify` until it refuses `token`: the refusal and how long it took (ms). */
async function untilRefused(
  verifier: Verifier,
  token: string,
  timeoutMs: number,
): Promise<{ result: VerifyResult; ms: number }> {
  const start = performance.now();
  for (;;) {
    const result = await verifier.verify(token);
    const ms = performance.now() - start;
    if (!result.ok) return { result, ms };
    if (ms > timeoutMs) throw new Error(`still accepted after ${Math.round(ms)} ms`);
    await sleep(20);
  }
}

const until = (condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string) =>
  expect.poll(condition, { timeout: timeoutMs, interval: 50, message: what }).toBe(true);

async function serviceClient(base: string, adminToken: string, name: string) {
  const created = await call(base, 'POST', '/api/v1/admin/service-clients', {
    token: adminToken,
    body: { name },
  });
  expect(created.status).toBe(201);
  return { clientId: created.body.id as string, clientSecret: created.body.secret as string };
}

const ENV = { ...TEST_ENV, TOKENWARDEN_FEED_HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS) };

describe.each(testDatabases())('the verifier when the feed goes back on $name', (target) => {
  let database: DatabaseHandle;
  let port = 0;
  let tw: Tokenwarden | undefined;
  let base = '';

  const start = async () => {
    tw = await createTokenwarden(loadConfig(ENV), {
      clock: { now: () => new Date() },
      database,
      logger: false,
      defaultMetrics: false,
    });
    await tw.app.listen({ host: '127.0.0.1', port });
  };

  beforeAll(async () => {
    database = await target.create();
    port = await freePort();
    await start();
    base = `http://127.0.0.1:${port}`;
  }, 120_000);
  afterAll(async () => {
    await tw?.close();
    await database?.close();
  }, 30_000);

  it('keeps its higher global and user versions and what it revoked, reports the regression, and reads what the restored log writes next', async () => {
    const admin = await login(base, ADMIN_EMAIL, ADMIN_PASSWORD);
    const regressions: FeedRegression[] = [];
    const verifier = createVerifier({
      baseUrl: base,
      audience: 'tokenwarden',
      ...(await serviceClient(base, admin, 'regression')),
      maxStalenessSeconds: MAX_STALENESS_SECONDS,
      onRegression: (seen) => regressions.push(seen),
    });
    try {
      await verifier.ready();
      const userOf = async (name: string) => {
        const email = `regression-${target.name}-${name}@example.com`;
        const userId = await register(base, email);
        return { userId, token: await login(base, email) };
      };
      const globalOnly = await userOf('global');
      const rotatedUser = await userOf('user');
      const loggedOut = await userOf('logout');
      const later = await userOf('later');
      for (const u of [globalOnly, rotatedUser, loggedOut, later]) {
        expect(await verifier.verify(u.token)).toMatchObject({ ok: true });
      }

      // The backup: what the database holds now.
      const backup = await sql<{ seq: string; global: number; ver: number }>`
        select (select last_seq from revocation_log_counter where id = 1)::text as seq,
               (select global_min_token_version from security_config where id = 1) as global,
               (select min_token_version from users where id = ${rotatedUser.userId}) as ver`.execute(
        database.db,
      );
      const saved = backup.rows[0] as { seq: string; global: number; ver: number };

      // After it: a user rotation, a logout, a global rotation (no grace), all applied by the verifier.
      const rotated = await call(base, 'POST', `/api/v1/admin/users/${rotatedUser.userId}/rotations`, {
        token: admin,
        body: { reason: 'before the restore' },
      });
      expect(rotated.status).toBe(201);
      expect(
        (await call(base, 'DELETE', '/api/v1/sessions/current', { token: loggedOut.token })).status,
      ).toBe(204);
      const global = await call(base, 'POST', '/api/v1/admin/security/rotations', {
        token: admin,
        body: { reason: 'before the restore', gracePeriodSeconds: 0 },
      });
      expect(global.status).toBe(201);
      for (const u of [globalOnly, rotatedUser, loggedOut]) {
        expect((await untilRefused(verifier, u.token, 2_000)).result.ok).toBe(false);
      }
      const appliedSeq = verifier.status().lastSeq;

      // The instance comes back on a database restored from the backup: the three changes are lost.
      await tw?.close();
      tw = undefined;
      await sql`delete from revocation_log where seq > ${Number(saved.seq)}`.execute(database.db);
      await sql`update revocation_log_counter set last_seq = ${Number(saved.seq)} where id = 1`.execute(
        database.db,
      );
      await sql`update security_config set global_min_token_version = ${saved.global}, grace_until = null where id = 1`.execute(
        database.db,
      );
      await sql`update users set min_token_version = ${saved.ver} where id = ${rotatedUser.userId}`.execute(
        database.db,
      );
      await sql`update sessions set revoked_at = null, revoked_reason = null where user_id = ${loggedOut.userId}`.execute(
        database.db,
      );
      await start();

      await until(() => verifier.status().fresh && verifier.status().connected, 20_000, 'fresh again');
      expect(regressions.map((r) => r.kind)).toEqual(expect.arrayContaining(['seq', 'global_version']));
      expect(regressions.find((r) => r.kind === 'seq')).toMatchObject({
        held: appliedSeq,
        seen: Number(saved.seq),
      });
      expect(verifier.status()).toMatchObject({ regression: expect.any(Object) });
      expect(verifier.status().regressions).toBeGreaterThanOrEqual(2);
      // What it had applied still holds: never re-accepted.
      expect(await verifier.verify(globalOnly.token)).toMatchObject({
        ok: false,
        rejection: 'global_rotation',
      });
      expect(await verifier.verify(rotatedUser.token)).toMatchObject({ ok: false, code: 'token_rotated' });
      expect(await verifier.verify(loggedOut.token)).toMatchObject({ ok: false });

      // Tokens the restored server issues carry its lower global version: refused until it
      // rotates past what the verifier holds. It does; then a logout is numbered with a seq the
      // verifier had applied before the restore, and is read all the same.
      const rotatedAgain = await call(base, 'POST', '/api/v1/admin/security/rotations', {
        token: admin,
        body: { reason: 'after the restore', gracePeriodSeconds: 0 },
      });
      expect(rotatedAgain.status).toBe(201);
      const again = await login(base, `regression-${target.name}-later@example.com`);
      await until(
        async () => (await verifier.verify(again)).ok,
        3_000,
        'a token of the restored server accepted',
      );
      expect((await call(base, 'DELETE', '/api/v1/sessions/current', { token: again })).status).toBe(204);
      const head = await sql<{ s: string }>`select last_seq::text as s from revocation_log_counter`.execute(
        database.db,
      );
      expect(Number(head.rows[0]?.s)).toBeLessThanOrEqual(appliedSeq);
      const refused = await untilRefused(verifier, again, 3_000);
      expect(refused.result).toMatchObject({ ok: false, code: 'token_revoked' });
    } finally {
      await verifier.close();
    }
  }, 90_000);
});

const DATABASE_URL = process.env.DATABASE_URL ?? '';

describe.skipIf(DATABASE_URL === '')(
  'the verifier following an instance cut off from PostgreSQL (TCP proxy)',
  () => {
    let database: ScratchDatabase | undefined;
    let proxy: TcpProxy | undefined;
    let followed: Instance | undefined;
    let writer: Instance | undefined;

    beforeAll(async () => {
      database = await createScratchDatabase(DATABASE_URL);
      proxy = await startTcpProxy(Number(new URL(DATABASE_URL).port || 5432));
      const env = { DATABASE_POOL_SIZE: '4', TOKENWARDEN_FEED_HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS) };
      // Started together: migrations take an advisory lock and the admin bootstrap settles a
      // concurrent start, so two processes on one empty database are safe (and a start is seconds).
      // Each kept as soon as it is up, so afterAll stops it even if the other failed.
      await Promise.all([
        startInstance('writer', { ...env, DATABASE_URL: database.url }).then((i) => {
          writer = i;
        }),
        // Its tokens checked from the cache while the database is away: the feed's guard still answers.
        startInstance('followed', {
          ...env,
          DATABASE_URL: proxy.rewrite(database.url),
          TOKENWARDEN_CACHE_TTL_SECONDS: '300',
          TOKENWARDEN_CACHE_FALLBACK_TTL_SECONDS: '300',
        }).then((i) => {
          followed = i;
        }),
      ]);
    }, 90_000);
    afterAll(async () => {
      proxy?.thaw();
      proxy?.accept();
      await Promise.all([followed?.stop(), writer?.stop()]);
      await proxy?.close();
      await database?.drop();
    }, 30_000);

    it.each(['freeze', 'refuse'] as const)(
      'refuses a rotated token within maxStalenessSeconds + a heartbeat of the database going away (%s), ends the streams, answers 503 for new ones, and works again after',
      async (fault) => {
        const f = followed?.base ?? '';
        const w = writer?.base ?? '';
        const adminF = await login(f, ADMIN_EMAIL, ADMIN_PASSWORD);
        const verifier = createVerifier({
          baseUrl: f,
          audience: 'tokenwarden',
          ...(await serviceClient(w, await login(w, ADMIN_EMAIL, ADMIN_PASSWORD), `cut-${fault}`)),
          maxStalenessSeconds: MAX_STALENESS_SECONDS,
        });
        const url = `${f}/api/v1/revocations/stream`;
        const stream = await SseClient.open(url, adminF);
        try {
          await verifier.ready();
          expect(stream.status).toBe(200);
          await stream.waitFor((e) => e.event === 'heartbeat', 3_000);
          const email = `cut-${fault}@example.com`;
          const userId = await register(w, email);
          const token = await login(w, email);
          await until(async () => (await verifier.verify(token)).ok, 5_000, 'accepted');

          if (fault === 'freeze') proxy?.freeze();
          else proxy?.refuse();
          const cut = performance.now();
          const cutAt = Date.now();
          // Rotated on the other instance: the followed one cannot read it.
          const res = await call(w, 'POST', `/api/v1/admin/users/${userId}/rotations`, {
            token: await login(w, ADMIN_EMAIL, ADMIN_PASSWORD),
            body: { reason: 'cut test' },
          });
          expect(res.status).toBe(201);
          const refused = await untilRefused(verifier, token, 10_000);
          const refusedMs = performance.now() - cut;
          expect(refused.result).toMatchObject({ ok: false, code: 'feed_stale' });
          const streamMs = (await stream.waitForEnd(10_000)) - cutAt;
          console.log(
            `database ${fault}: the verifier refused after ${Math.round(refusedMs)} ms ` +
              `(bound ${(MAX_STALENESS_SECONDS + HEARTBEAT_SECONDS) * 1000} ms); the stream ended after ${streamMs} ms`,
          );
          expect(refusedMs).toBeLessThan((MAX_STALENESS_SECONDS + HEARTBEAT_SECONDS) * 1000);
          // The next heartbeat's read fails (a hung one after its 1 s timeout), its retry too: about
          // 3.3 s at most with a 1 s heartbeat, plus room for a loaded machine.
          expect(streamMs).toBeLessThan(5_000);
          // No heartbeat after the database went away: none proved a read.
          const lastBeat = stream.events.filter((e) => e.event === 'heartbeat').at(-1);
          expect(lastBeat?.at ?? 0).toBeLessThan(cutAt + 1_500);

          const refusedStream = await SseClient.open(url, adminF);
          expect(refusedStream.status).toBe(503);
          expect(refusedStream.headers.get('content-type')).toContain('application/problem+json');
          expect(Number(refusedStream.headers.get('retry-after'))).toBeGreaterThan(0);
          expect(JSON.parse(refusedStream.text)).toMatchObject({ status: 503, code: 'service_unavailable' });

          if (fault === 'freeze') proxy?.thaw();
          else proxy?.accept();
          let back: SseClient | undefined;
          await until(
            async () => {
              back?.close();
              back = await SseClient.open(url, adminF);
              return back.status === 200;
            },
            30_000,
            'a stream again',
          );
          back?.close();
          await until(() => verifier.status().fresh, 30_000, 'the verifier fresh again');
          expect(await verifier.verify(token)).toMatchObject({ ok: false, code: 'token_rotated' });
        } finally {
          // A failed assertion must not leave the next test behind a fault.
          proxy?.thaw();
          proxy?.accept();
          stream.close();
          await verifier.close();
        }
      },
      90_000,
    );
  },
);
