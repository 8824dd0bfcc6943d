/**
 * "End every session" and "end one user's sessions" at growing numbers of live sessions:
 * better-auth deletes rows, tokenwarden bumps a version. Each is timed from the moment the
 * action starts until a request carrying an ended session is refused (401), probing the
 * protected route in a loop; the action's own duration is reported beside it.
 *
 *   - tokenwarden, every session: POST /api/v1/admin/security/rotations (grace 0), probe
 *     GET /api/v1/users/me with an access token issued before it;
 *   - tokenwarden, one user: POST /api/v1/users/me/rotations ("log out everywhere");
 *   - better-auth, every session: it has no endpoint for it, so the SQL it would take,
 *     `delete from "session"`, through pg; probe GET /me with a session cookie;
 *   - better-auth, one user: POST /api/auth/revoke-sessions (its "log out everywhere",
 *     which deletes the user's rows); the same probe. With the cookie cache on, the probe
 *     is also sent once to a cookie-cache server right after the delete, to show whether it
 *     is still accepted.
 *
 * Rows are seeded with INSERT … SELECT generate_series: tokenwarden's through
 * bench/support/seed.ts (grown from one size to the next, since a rotation deletes
 * nothing), better-auth's here (ten sessions per user, re-seeded at each size, since its
 * global delete empties the table).
 */
import pg from 'pg';
import { createDatabase } from '../../src/infrastructure/database/create-database.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from '../../test/support/test-app.js';
import { load } from './env.js';
import { peerSessions, withCookieCache } from './peer-server.js';
import { seedTokens } from './seed.js';
import { sessions } from './server.js';

const PROBE_TIMEOUT_MS = 10_000;

type Action =
  | 'tokenwarden: global rotation'
  | 'tokenwarden: user rotation'
  | 'better-auth: delete every session'
  | "better-auth: revoke one user's sessions";

export interface Revocation {
  readonly action: Action;
  readonly sessions: number;
  /** Seconds spent seeding this size (outside every timing). */
  readonly seedSeconds: number;
  /** How long the action itself took (HTTP answer, or the DELETE's completion). */
  readonly actionMs: number;
  /** From the start of the action until an ended session was refused; null if never within the timeout. */
  readonly effectMs: number | null;
  /** Probes with the ended session still accepted after the action had answered. */
  readonly acceptedAfter: number;
  readonly rowsDeleted: number | null;
  /** With the cookie cache on, the status of the first probe after the delete. */
  readonly cookieCacheStatus: number | null;
  readonly load: string;
}

export interface RevocationTargets {
  readonly tokenwarden: { readonly base: string; readonly url: string };
  readonly peer: { readonly base: string; readonly url: string };
  readonly peerCookieCache: string;
}

async function status(url: string, headers: Record<string, string>): Promise<number> {
  const res = await fetch(url, { headers });
  await res.arrayBuffer();
  return res.status;
}

/**
 * ms from `since` until `probe` answers 401 (null after the timeout), and how many probes
 * were still accepted on the way: probing starts once the action has answered, so each
 * of those is a request with an ended session that got through.
 */
async function untilRefused(
  probe: () => Promise<number>,
  since: number,
): Promise<{ readonly effectMs: number | null; readonly acceptedAfter: number }> {
  let acceptedAfter = 0;
  for (;;) {
    const code = await probe();
    const now = performance.now();
    if (code === 401) return { effectMs: now - since, acceptedAfter };
    if (code !== 200) throw new Error(`probe answered ${code}`);
    acceptedAfter++;
    if (now - since > PROBE_TIMEOUT_MS) return { effectMs: null, acceptedAfter };
  }
}

async function post(
  url: string,
  headers: Record<string, string>,
  body: unknown,
  expected: number,
): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== expected) throw new Error(`${url}: ${res.status} ${text}`);
}

async function tokenwardenLogin(base: string, email: string, password: string): Promise<string> {
  const res = await fetch(`${base}/api/v1/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const json = (await res.json()) as { accessToken?: string };
  if (res.status !== 201 || json.accessToken === undefined) throw new Error(`admin login: ${res.status}`);
  return json.accessToken;
}

async function tokenwardenSize(
  base: string,
  size: number,
  seedSeconds: number,
): Promise<readonly Revocation[]> {
  const me = `${base}/api/v1/users/me`;
  const [user] = await sessions(base, 1);
  if (user === undefined) throw new Error('no probe session');
  const userProbe = { authorization: `Bearer ${user.accessToken}` };
  if ((await status(me, userProbe)) !== 200) throw new Error('tokenwarden probe refused before the change');
  let began = performance.now();
  await post(`${me}/rotations`, userProbe, { reason: 'peer benchmark' }, 201);
  let actionMs = performance.now() - began;
  const userRow: Revocation = {
    action: 'tokenwarden: user rotation',
    sessions: size,
    seedSeconds,
    actionMs,
    ...(await untilRefused(() => status(me, userProbe), began)),
    rowsDeleted: null,
    cookieCacheStatus: null,
    load: load(),
  };

  const admin = await tokenwardenLogin(base, ADMIN_EMAIL, ADMIN_PASSWORD);
  const [victim] = await sessions(base, 1);
  if (victim === undefined) throw new Error('no probe session');
  const probe = { authorization: `Bearer ${victim.accessToken}` };
  if ((await status(me, probe)) !== 200) throw new Error('tokenwarden probe refused before the change');
  began = performance.now();
  await post(
    `${base}/api/v1/admin/security/rotations`,
    { authorization: `Bearer ${admin}` },
    { reason: 'peer benchmark', gracePeriodSeconds: 0 },
    201,
  );
  actionMs = performance.now() - began;
  const globalRow: Revocation = {
    action: 'tokenwarden: global rotation',
    sessions: size,
    seedSeconds,
    actionMs,
    ...(await untilRefused(() => status(me, probe), began)),
    rowsDeleted: null,
    cookieCacheStatus: null,
    load: load(),
  };
  return [userRow, globalRow];
}

/** better-auth's tables, `size` sessions of ten per user (users kept from smaller sizes). */
async function seedPeer(client: pg.Client, size: number): Promise<void> {
  await client.query(
    `insert into "user" (id, name, email, "emailVerified", "createdAt", "updatedAt")
     select md5('u' || u), 'seed', 'seed' || u || '@example.com', false, now(), now()
     from generate_series(1, $1::int) as u
     on conflict do nothing`,
    [Math.ceil(size / 10)],
  );
  await client.query(
    `insert into "session" (id, "expiresAt", token, "createdAt", "updatedAt", "userId")
     select md5('s' || n), now() + interval '7 days', md5('t' || n), now(), now(), md5('u' || ((n + 9) / 10))
     from generate_series(1, $1::int) as n`,
    [size],
  );
  await client.query('analyze "user", "session"');
}

async function peerSize(
  targets: RevocationTargets,
  client: pg.Client,
  size: number,
  seedSeconds: number,
): Promise<readonly Revocation[]> {
  const { base } = targets.peer;
  const me = `${base}/me`;
  const [cookie] = await peerSessions(base, 1);
  if (cookie === undefined) throw new Error('no probe session');
  if ((await status(me, { cookie })) !== 200) throw new Error('better-auth probe refused before the change');
  let began = performance.now();
  await post(`${base}/api/auth/revoke-sessions`, { cookie, origin: base }, {}, 200);
  let actionMs = performance.now() - began;
  const userRow: Revocation = {
    action: "better-auth: revoke one user's sessions",
    sessions: size,
    seedSeconds,
    actionMs,
    ...(await untilRefused(() => status(me, { cookie }), began)),
    rowsDeleted: null,
    cookieCacheStatus: null,
    load: load(),
  };

  const [victim] = await peerSessions(base, 1);
  if (victim === undefined) throw new Error('no probe session');
  const cached = await withCookieCache(targets.peerCookieCache, victim);
  if ((await status(me, { cookie: victim })) !== 200) throw new Error('better-auth probe refused');
  began = performance.now();
  const deleted = await client.query('delete from "session"');
  actionMs = performance.now() - began;
  const effect = await untilRefused(() => status(me, { cookie: victim }), began);
  const globalRow: Revocation = {
    action: 'better-auth: delete every session',
    sessions: size,
    seedSeconds,
    actionMs,
    ...effect,
    rowsDeleted: deleted.rowCount,
    cookieCacheStatus: await status(`${targets.peerCookieCache}/me`, { cookie: cached }),
    load: load(),
  };
  return [userRow, globalRow];
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const began = performance.now();
  await fn();
  return (performance.now() - began) / 1000;
}

/** Both sides at each size, tokenwarden first; returns one row per action and size. */
export async function revocations(
  targets: RevocationTargets,
  sizes: readonly number[],
): Promise<Revocation[]> {
  const rows: Revocation[] = [];
  const database = await createDatabase({ kind: 'postgres', url: targets.tokenwarden.url, poolSize: 2 });
  const client = new pg.Client({ connectionString: targets.peer.url });
  await client.connect();
  try {
    // One unmeasured round of each first: the first refusal, the first delete and the first
    // rotation pay for JIT and lazy set-up (seen as ~80 ms once), which is no size's cost.
    await tokenwardenSize(targets.tokenwarden.base, 0, 0);
    await peerSize(targets, client, 0, 0);
    let seeded = 0;
    for (const size of sizes) {
      const from = seeded + 1;
      const twSeed = await timed(() => seedTokens(database.db, from, size));
      seeded = size;
      rows.push(...(await tokenwardenSize(targets.tokenwarden.base, size, twSeed)));
      console.log(rows.slice(-2).map(describeRevocation).join('\n'));
      // The previous size's delete left dead rows: vacuum them so each size starts alike.
      await client.query('vacuum "session"');
      const peerSeed = await timed(() => seedPeer(client, size));
      rows.push(...(await peerSize(targets, client, size, peerSeed)));
      console.log(rows.slice(-2).map(describeRevocation).join('\n'));
    }
  } finally {
    await client.end();
    await database.close();
  }
  return rows;
}

function describeRevocation(row: Revocation): string {
  return `${row.action} at ${row.sessions}: action ${row.actionMs.toFixed(1)} ms, refused after ${row.effectMs?.toFixed(1)} ms (${row.load})`;
}
