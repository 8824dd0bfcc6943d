/**
 * tokenwarden side by side with better-auth, the TypeScript auth library its users would
 * pick instead: same PostgreSQL (a scratch database each), same machine, same load
 * generator (autocannon), one run.
 *
 *   npx tsx bench/peer.ts [--quick] [--no-write]      (or `npm run bench -- --only peer`)
 *
 * better-auth runs in child processes of its own (bench/peer/server.mjs, its own package,
 * installed on first use with `npm ci --prefix bench/peer`) on ports 3600-3649, with its
 * pg adapter and its own migrations; tokenwarden runs src/main.ts on PostgreSQL. Both get
 * a pool of 16 connections and 16 logged-in users. See bench/support/peer-throughput.ts for (a)
 * and (b), bench/support/peer-revocation.ts for (c).
 */
import { fileURLToPath } from 'node:url';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from '../test/support/test-app.js';
import {
  CHEAP_ARGON2_ENV,
  int,
  load,
  machine,
  median,
  ms,
  parseFlags,
  type Row,
  scratchPostgres,
  table,
  writeSection,
} from './support/env.js';
import { peerChart } from './support/peer-chart.js';
import { type Revocation, revocations } from './support/peer-revocation.js';
import { ensurePeerInstalled, peerSessions, startPeer } from './support/peer-server.js';
import { type Figure, throughputRound } from './support/peer-throughput.js';
import { type BenchServer, sessions, startServer } from './support/server.js';

const CONNECTIONS = 16;
const POOL = 16;
const USERS = 16;

export interface PeerOptions {
  readonly quick: boolean;
  /** Where the chart goes (an SVG file). */
  readonly chartFile: string;
  /** How BENCHMARKS.md names the chart, relative to docs/. */
  readonly chartLink: string;
  readonly machineLine: string;
}

/** Runs (a), (b) and (c); returns the markdown (tables, chart link, prose). */
export async function peer(options: PeerOptions): Promise<string> {
  const version = await ensurePeerInstalled();
  const seconds = options.quick ? 2 : 8;
  const rounds = options.quick ? 1 : 2;
  const sizes = options.quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000];
  const maxSeconds = 600;
  const twDb = await scratchPostgres('peer_tw');
  const peerDb = await scratchPostgres('peer_ba');
  const servers: BenchServer[] = [];
  try {
    const tw = await startServer({
      maxSeconds,
      env: {
        DATABASE_URL: twDb.url,
        DATABASE_POOL_SIZE: String(POOL),
        // Its own scratch database: tables in public, where bench/support/seed.ts writes.
        TOKENWARDEN_DB_SCHEMA: 'public',
        ...CHEAP_ARGON2_ENV,
        TOKENWARDEN_ADMIN_EMAIL: ADMIN_EMAIL,
        TOKENWARDEN_ADMIN_PASSWORD: ADMIN_PASSWORD,
      },
    });
    servers.push(tw);
    // One after the other: each runs better-auth's migrations at start.
    const peerDefault = await startPeer({ databaseUrl: peerDb.url, poolSize: POOL, maxSeconds });
    servers.push(peerDefault);
    const peerCache = await startPeer({
      databaseUrl: peerDb.url,
      poolSize: POOL,
      maxSeconds,
      cookieCache: true,
    });
    servers.push(peerCache);
    const peerExtending = await startPeer({
      databaseUrl: peerDb.url,
      poolSize: POOL,
      maxSeconds,
      updateAge: 0,
    });
    servers.push(peerExtending);

    const accessTokens = (await sessions(tw.base, USERS)).map((s) => s.accessToken);
    const cookies = await peerSessions(peerDefault.base, USERS);
    const targets = {
      tokenwarden: tw.base,
      peer: peerDefault.base,
      peerCookieCache: peerCache.base,
      peerExtending: peerExtending.base,
    };
    // One unmeasured second on every path first: each server's first requests pay for JIT.
    await throughputRound(targets, { accessTokens, cookies }, CONNECTIONS, 1);
    const figures: Figure[] = [];
    for (let round = 0; round < rounds; round++) {
      const got = await throughputRound(targets, { accessTokens, cookies }, CONNECTIONS, seconds);
      for (const f of got) console.log(`${f.who}: ${int(f.requestsPerSecond)}/s (${f.load})`);
      figures.push(...got);
    }

    const ended = await revocations(
      {
        tokenwarden: { base: tw.base, url: twDb.url },
        peer: { base: peerDefault.base, url: peerDb.url },
        peerCookieCache: peerCache.base,
      },
      sizes,
    );

    const summary = summarise(figures);
    const title = `tokenwarden vs better-auth ${version}, ${options.quick ? 'quick' : 'full'} run`;
    await peerChart(options.chartFile, title, summary, ended);
    return render(options, version, seconds, rounds, summary, figures, ended);
  } finally {
    for (const s of servers.reverse()) await s.stop();
    await twDb.drop();
    await peerDb.drop();
  }
}

/** One figure per path: mean requests/s over the rounds, median latencies, summed failures. */
function summarise(figures: readonly Figure[]): Figure[] {
  const byWho = new Map<string, Figure[]>();
  for (const f of figures) byWho.set(f.who, [...(byWho.get(f.who) ?? []), f]);
  return [...byWho.values()].map((runs) => {
    const first = runs[0]!;
    return {
      ...first,
      requestsPerSecond: runs.reduce((sum, r) => sum + r.requestsPerSecond, 0) / runs.length,
      p50: median(runs.map((r) => r.p50)),
      p99: median(runs.map((r) => r.p99)),
      failed: runs.reduce((sum, r) => sum + r.failed, 0),
      total: runs.reduce((sum, r) => sum + r.total, 0),
      extended: first.extended === null ? null : runs.reduce((sum, r) => sum + (r.extended ?? 0), 0),
      statementsPerRequest:
        first.statementsPerRequest === null ? null : median(runs.map((r) => r.statementsPerRequest ?? 0)),
      load: runs.map((r) => r.load).join('; '),
    };
  });
}

function rate(summary: readonly Figure[], prefix: string): number {
  return summary.find((f) => f.who.startsWith(prefix))?.requestsPerSecond ?? Number.NaN;
}

function times(a: number, b: number): string {
  return a >= b ? `${(a / b).toFixed(1)}× faster than` : `${(b / a).toFixed(1)}× slower than`;
}

function render(
  options: PeerOptions,
  version: string,
  seconds: number,
  rounds: number,
  summary: readonly Figure[],
  figures: readonly Figure[],
  ended: readonly Revocation[],
): string {
  const perRound = (who: string) =>
    figures
      .filter((f) => f.who === who)
      .map((f) => int(f.requestsPerSecond))
      .join(', ');
  const throughput = table(
    [
      'what',
      'implementation: path',
      'requests/s (mean)',
      'each round',
      'p50',
      'p99',
      'failed / sent',
      'SQL statements per request',
      'load average (each round)',
    ],
    summary.map(
      (f): Row => [
        f.part,
        f.extended === null ? f.who : `${f.who}; ${int(f.extended)} answers re-set the cookie`,
        int(f.requestsPerSecond),
        perRound(f.who),
        ms(f.p50),
        ms(f.p99),
        `${int(f.failed)} / ${int(f.total)}`,
        f.statementsPerRequest === null ? '—' : f.statementsPerRequest.toFixed(2),
        f.load,
      ],
    ),
  );
  const revocation = table(
    [
      'live sessions',
      'action',
      'seed (this size)',
      'the action took',
      'until an ended session is refused',
      'probes still accepted after the answer',
      'rows deleted',
      'load average',
    ],
    ended.map(
      (r): Row => [
        int(r.sessions),
        r.cookieCacheStatus === null
          ? r.action
          : `${r.action} (cookie-cache server, right after: ${r.cookieCacheStatus === 200 ? '200, still accepted' : String(r.cookieCacheStatus)})`,
        `${r.seedSeconds.toFixed(1)} s`,
        ms(r.actionMs),
        r.effectMs === null ? 'not within 10 s' : ms(r.effectMs),
        String(r.acceptedAfter),
        r.rowsDeleted === null ? '—' : int(r.rowsDeleted),
        r.load,
      ],
    ),
  );

  const bearer = rate(summary, 'tokenwarden: bearer');
  const dbCheck = rate(summary, 'better-auth: getSession, cookie cache off');
  const cached = rate(summary, 'better-auth: getSession, cookie cache on');
  const refresh = rate(summary, 'tokenwarden: refresh');
  const extend = rate(summary, 'better-auth: getSession extending');
  const perRequest = (prefix: string) =>
    (summary.find((f) => f.who.startsWith(prefix))?.statementsPerRequest ?? Number.NaN).toFixed(1);
  const sizes = [...new Set(ended.map((r) => r.sessions))];
  const smallest = Math.min(...sizes);
  const largest = Math.max(...sizes);
  const at = (action: Revocation['action'], size: number) =>
    ended.find((r) => r.action === action && r.sessions === size)?.effectMs ?? Number.NaN;
  const deleteAll = (size: number) => at('better-auth: delete every session', size);
  const rotateAll = (size: number) => at('tokenwarden: global rotation', size);
  const deleteOne = (size: number) => at("better-auth: revoke one user's sessions", size);
  const rotateOne = (size: number) => at('tokenwarden: user rotation', size);
  const leaked = ended.filter((r) => r.acceptedAfter > 0);
  const cacheStatuses = ended
    .filter((r) => r.cookieCacheStatus !== null)
    .map((r) => `${r.cookieCacheStatus === 200 ? '200' : String(r.cookieCacheStatus)} at ${int(r.sessions)}`)
    .join(', ');
  const faster = (peerMs: number, ownMs: number) =>
    peerMs < ownMs ? 'the peer is faster' : 'tokenwarden is faster';

  const spread = Math.max(
    ...summary.map((f) => {
      const rates = figures.filter((r) => r.who === f.who).map((r) => r.requestsPerSecond);
      return Math.max(...rates) / Math.min(...rates);
    }),
  );
  const prose = [
    ...(spread > 1.3
      ? [
          `Rounds of one path differ by up to ${spread.toFixed(1)}× here: the machine was shared (the load ` +
            'average beside each figure), so these ratios are rough; a quiet machine gives steadier ones.',
        ]
      : []),
    `**(a) Authenticated request.** tokenwarden's bearer check is ${times(bearer, dbCheck)} better-auth's default ` +
      `database session check (${int(bearer)} against ${int(dbCheck)} requests/s) and ${times(bearer, cached)} ` +
      `better-auth with its cookie cache on (${int(cached)}/s). better-auth's default check has no signature to ` +
      `verify, but it asks PostgreSQL every time: ${perRequest('better-auth: getSession, cookie cache off')} ` +
      'statements per request, counted in its pool (the session by its token, then its user: its Kysely adapter ' +
      "joins in JavaScript unless `advanced.database.joins` is set). tokenwarden's warm check sends none: an " +
      'Ed25519 signature verify and the versions from memory. With the cookie cache on, better-auth sends ' +
      `${perRequest('better-auth: getSession, cookie cache on')} statements per request as well and checks an HMAC over a cookie, ` +
      "cheaper than an Ed25519 verify; what separates the two then is the rest of each server's request path " +
      "(better-auth's here is a bare node:http server; tokenwarden's is fastify with its security headers, CORS, " +
      'rate limiting and logging). The price of the cache is in (c): a deleted session stays valid until the cache ' +
      'cookie expires (`maxAge`, 5 minutes by default), as a tokenwarden access token does for a downstream service ' +
      'that verifies it with plain jose until its `exp` (the downstream section above).',
    `**(b) Keeping a session alive.** tokenwarden's refresh is ${times(refresh, extend)} better-auth's session ` +
      `extension (${int(refresh)} against ${int(extend)} requests/s). They do different work: better-auth sends ` +
      `${perRequest('better-auth: getSession extending')} statements in autocommit (the two reads of (a) and an ` +
      '`UPDATE … RETURNING` of the same row) and re-sends the same token; tokenwarden sends 2 statements in ' +
      'autocommit, both prepared (an unlocked read, then one statement that re-checks the versions under row locks, ' +
      'marks the presented token used, inserts its successor and touches the session), signs a new access token, and leaves a row per refresh: that is what lets it ' +
      'refuse a replayed (stolen) refresh token, which better-auth cannot tell from its owner. By default better-auth ' +
      'extends a session at most once a day (`updateAge`), so this path is rare in its default setting; ' +
      '`updateAge: 0` forces it on every request here.',
    `**(c) Ending sessions.** better-auth deletes rows; tokenwarden bumps a version. At ${int(smallest)} sessions ` +
      `deleting them all took effect in ${ms(deleteAll(smallest))} against ${ms(rotateAll(smallest))} for the global ` +
      `rotation (${faster(deleteAll(smallest), rotateAll(smallest))}` +
      (deleteAll(smallest) < rotateAll(smallest)
        ? ": a delete of that many rows is over at once, and the rotation's transaction also writes the config " +
          'row, an audit row and outbox events). At '
        : ': even at this size the delete costs more than the version bump). At ') +
      `${int(largest)} the delete took ${ms(deleteAll(largest))}, the rotation ${ms(rotateAll(largest))}: the ` +
      "version bump touches no session row, so its cost does not grow with the sessions; the delete's does, and " +
      "PostgreSQL's vacuum pays for the dead rows later (a DELETE only marks rows dead, which is why it stays far " +
      "cheaper than the naive `UPDATE … SET revoked_at` of the rotation section). Ending one user's sessions is an " +
      "indexed delete on `session.userId` (better-auth's migrations create the index) against a version bump: at " +
      `${int(smallest)} sessions ${ms(deleteOne(smallest))} against ${ms(rotateOne(smallest))}, at ${int(largest)} ` +
      `${ms(deleteOne(largest))} against ${ms(rotateOne(largest))} ` +
      `(${faster(deleteOne(largest), rotateOne(largest))}). ` +
      (leaked.length === 0
        ? 'On either side no probe got through once the action had answered'
        : `Probes got through after the answer in: ${leaked.map((r) => `${r.action} at ${int(r.sessions)}`).join(', ')}`) +
      '; better-auth with its cookie cache on still answered the deleted session right after the global delete ' +
      `(${cacheStatuses}). tokenwarden writes ` +
      'an audit row in the same transaction as each rotation; better-auth keeps no record of a revocation.',
  ].join('\n\n');

  return [
    `${options.machineLine}. better-auth ${version} (bench/peer/package.json) with its pg adapter, ` +
      `tokenwarden on PostgreSQL; each with a pool of ${POOL} and ${USERS} logged-in users, autocannon on ` +
      `${CONNECTIONS} connections, ${seconds} s per run after an unmeasured second on each path, ` +
      `${rounds} round${rounds > 1 ? 's' : ''} alternating the implementations (\`bench/peer.ts\`).`,
    `![tokenwarden vs better-auth: requests/s, and time until an ended session is refused](${options.chartLink})`,
    throughput,
    revocation,
    prose,
    `Finished at ${load()}.`,
  ].join('\n\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { quick, write } = parseFlags(process.argv);
  const plot = `peer${quick ? '-quick' : ''}.svg`;
  const markdown = await peer({
    quick,
    chartFile: fileURLToPath(new URL(`../docs/img/${plot}`, import.meta.url)),
    chartLink: `img/${plot}`,
    machineLine: await machine(),
  });
  console.log(markdown);
  if (write)
    await writeSection(
      quick ? 'peer-quick' : 'peer',
      `### tokenwarden and better-auth side by side\n\n${markdown}`,
    );
}
