/**
 * What one refresh, one login and one bearer check cost, in the units a capacity plan
 * needs: CPU seconds of the server and of PostgreSQL, rows and bytes written.
 *
 *   npx tsx bench/capacity.ts [--quick] [--no-write]
 *
 * A server in a child process on a scratch PostgreSQL database (100 000 seeded live
 * tokens, so indexes have a realistic depth), then three steady loads with autocannon:
 * refreshes (every request with a fresh token, as bench/refresh-throughput.ts), logins
 * (production argon2id parameters) and `GET /api/v1/users/me` (the bearer check and one
 * read of the user by primary key). For each:
 *
 * - CPU: utime + stime from /proc/<pid>/stat, sampled every half second through the load
 *   and a few seconds past it, of the server process, of the PostgreSQL backends connected
 *   to the scratch database (pg_stat_activity), and of PostgreSQL's background processes
 *   (WAL writer, checkpointer, background writer, autovacuum, postmaster). The background
 *   figure is shared with every other database of the cluster: an upper bound on a shared
 *   machine.
 * - Rows, before and after: `n_tup_ins`, `n_tup_upd`, `n_tup_del` of pg_stat_user_tables.
 *   Backends report them up to 10 s late, so each snapshot waits until the insert counters
 *   agree with `count(*)` (nothing is deleted: the pruner is off).
 * - Bytes: `pg_total_relation_size` of each table (heap, indexes, TOAST) before and after;
 *   WAL as the cluster's `pg_current_wal_lsn()` difference (every database's writes) and,
 *   read in chunks through pg_walinspect while the load runs, the records that touch this
 *   database's relations or belong to their transactions (this load's writes alone).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import pg from 'pg';
import { CpuWindow } from './support/cpu-window.js';
import { Probe, type Snapshot, TABLES } from './support/database-probe.js';
import {
  int,
  load,
  machine,
  parseFlags,
  type Row,
  scratchPostgres,
  table,
  writeSection,
} from './support/env.js';
import { performed, refreshLoad, refreshTokens } from './support/refresh-load.js';
import { seedPostgres } from './support/seed.js';
import { sessions, startServer } from './support/server.js';

const SEEDED_TOKENS = 100_000;
const PASSWORD = 'benchmark password';
/** Reuse interval (2 s) + sweep interval (1 s) + a margin. */
const SETTLE_SECONDS = 4;

/**
 * WAL of this database's relations and of the transactions that wrote them (their commit
 * records), read in chunks while the load runs: on a shared cluster other databases'
 * WAL can recycle a segment before a window of 20 s is over.
 */
class WalWindow {
  readonly #probe: Probe;
  #from: string;
  #xids: readonly string[] = [];
  #bytes = 0;
  #fpi = 0;
  #failure: string | null = null;

  constructor(probe: Probe, from: string) {
    this.#probe = probe;
    this.#from = from;
  }

  async advance(): Promise<void> {
    if (this.#failure !== null) return;
    try {
      const chunk = await this.#probe.walChunk(this.#from, this.#xids);
      this.#bytes += chunk.bytes;
      this.#fpi += chunk.fpi;
      // A commit record follows its transaction's changes closely: the last chunk's xids suffice.
      this.#xids = chunk.xids;
      this.#from = chunk.next;
    } catch (error) {
      this.#failure = String(error);
      console.warn(`pg_walinspect: ${this.#failure}`);
    }
  }

  /**
   * Reads up to `end` (waiting for it to be flushed): all bytes, and those of full-page images
   * (the first change of a page after a checkpoint; more frequent checkpoints, more of them).
   * Null when pg_walinspect could not read.
   */
  async until(end: string): Promise<{ readonly bytes: number; readonly fpi: number } | null> {
    for (let i = 0; i < 50 && this.#failure === null; i++) {
      await this.advance();
      if ((await this.#probe.walDiff(this.#from, end)) <= 0) break;
      await sleep(100);
    }
    return this.#failure === null ? { bytes: this.#bytes, fpi: this.#fpi } : null;
  }
}

interface Phase {
  readonly name: string;
  readonly operations: number;
  readonly seconds: number;
  readonly non2xx: number;
  readonly before: Snapshot;
  readonly after: Snapshot;
  readonly cpu: { readonly server: number; readonly backends: number; readonly background: number };
  readonly wal: {
    readonly cluster: number;
    readonly ours: { readonly bytes: number; readonly fpi: number } | null;
  };
  readonly load: string;
}

/**
 * One load of `seconds`, then `settleSeconds` more of sampling: work the load leaves for
 * the server's background tasks (the successor sweep) belongs to it.
 */
async function measure(
  probe: Probe,
  serverPid: number,
  name: string,
  seconds: number,
  settleSeconds: number,
  run: (seconds: number) => Promise<{ ok: number; answered: number; non2xx: number }>,
): Promise<Phase> {
  const before = await probe.snapshot();
  const wal = new WalWindow(probe, before.lsn);
  const server = new CpuWindow();
  const backends = new CpuWindow();
  const background = new CpuWindow();
  const sample = async () => {
    const pids = await probe.pids();
    server.record([serverPid]);
    backends.record(pids.backends);
    background.record(pids.background);
    await wal.advance();
  };
  await sample();
  const began = performance.now();
  let running = true;
  const sampler = (async () => {
    while (running) {
      await sleep(500);
      await sample();
    }
  })();
  const result = await run(seconds);
  const elapsed = (performance.now() - began) / 1000;
  await sleep(settleSeconds * 1000);
  running = false;
  await sampler;
  await sample();
  const after = await probe.snapshot();
  console.log(
    `${name}: ${result.ok} performed, ${result.answered} answered, ${result.non2xx} failed (${load()})`,
  );
  return {
    name,
    operations: result.ok,
    seconds: elapsed,
    non2xx: result.non2xx,
    before,
    after,
    cpu: { server: server.seconds(), backends: backends.seconds(), background: background.seconds() },
    wal: { cluster: await probe.walDiff(before.lsn, after.lsn), ours: await wal.until(after.lsn) },
    load: load(),
  };
}
async function loginLoad(base: string, emails: readonly string[], connections: number, seconds: number) {
  const result = await autocannon({
    url: base,
    connections,
    duration: seconds,
    requests: emails.map((email) => ({
      method: 'POST' as const,
      path: '/api/v1/sessions',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: PASSWORD }),
    })),
  });
  return performed(result, result.non2xx);
}

async function bearerLoad(
  base: string,
  accessTokens: readonly string[],
  connections: number,
  seconds: number,
) {
  const result = await autocannon({
    url: base,
    connections,
    duration: seconds,
    requests: accessTokens.map((token) => ({
      method: 'GET' as const,
      path: '/api/v1/users/me',
      headers: { authorization: `Bearer ${token}` },
    })),
  });
  return performed(result, result.non2xx);
}

const fixed = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '—');

/** Runs the three loads; returns the markdown tables. */
export async function capacity(quick: boolean): Promise<string> {
  const scratch = await scratchPostgres('capacity');
  const server = await startServer({
    maxSeconds: quick ? 180 : 300,
    readySeconds: 120,
    env: {
      DATABASE_URL: scratch.url,
      DATABASE_POOL_SIZE: '16',
      TOKENWARDEN_MAX_SESSIONS_PER_USER: '10000',
      // Nothing deleted during the run: row counters must add up.
      TOKENWARDEN_PRUNE_INTERVAL_SECONDS: '0',
      // Each refresh leaves one update for the successor sweep, a reuse interval later: short
      // intervals let it land inside the refresh's window (SETTLE_SECONDS) rather than the next.
      TOKENWARDEN_REUSE_INTERVAL_SECONDS: '2',
      TOKENWARDEN_SUCCESSOR_SWEEP_INTERVAL_SECONDS: '1',
    },
  });
  const client = new pg.Client({ connectionString: scratch.url, options: '-c search_path=tokenwarden' });
  await client.connect();
  const phases: Phase[] = [];
  try {
    await client.query('create extension if not exists pg_walinspect').catch((error: unknown) => {
      console.warn(`no pg_walinspect: ${String(error)}`);
    });
    await seedPostgres(scratch.url, 1, quick ? SEEDED_TOKENS / 10 : SEEDED_TOKENS);
    const probe = new Probe(client);
    const pid = server.child.pid ?? 0;
    const connections = 16;
    // Unmeasured first: JIT, pool connections, caches.
    await refreshLoad(server.base, await refreshTokens(server.base, connections), connections, quick ? 2 : 3);
    const pool = await refreshTokens(server.base, connections);
    await sleep(SETTLE_SECONDS * 1000);
    phases.push(
      await measure(probe, pid, 'refresh', quick ? 4 : 20, SETTLE_SECONDS, (s) =>
        refreshLoad(server.base, pool, connections, s),
      ),
    );
    const emails: string[] = [];
    for (let i = 0; i < 16; i++) {
      const email = `capacity${i}-${Math.random().toString(36).slice(2)}@example.com`;
      const res = await fetch(`${server.base}/api/v1/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password: PASSWORD }),
      });
      if (res.status !== 201) throw new Error(`register: ${res.status} ${await res.text()}`);
      emails.push(email);
    }
    phases.push(
      await measure(probe, pid, 'login', quick ? 3 : 10, SETTLE_SECONDS, (s) =>
        loginLoad(server.base, emails, 8, s),
      ),
    );
    const access = (await sessions(server.base, connections)).map((p) => p.accessToken);
    await bearerLoad(server.base, access, connections, 1);
    phases.push(
      await measure(probe, pid, 'GET /users/me', quick ? 3 : 10, 0, (s) =>
        bearerLoad(server.base, access, connections, s),
      ),
    );
  } finally {
    await client.end();
    await server.stop();
    await scratch.drop();
  }
  return report(phases);
}

function report(phases: readonly Phase[]): string {
  const cpu = table(
    [
      'operation',
      'performed (sent − failed)',
      'non-2xx / errors',
      'per second',
      'server CPU s',
      'per server core-second',
      'PostgreSQL backends CPU s',
      'per PostgreSQL core-second (backends)',
      'PostgreSQL background CPU s (shared)',
      'per PostgreSQL core-second (all)',
      'load average',
    ],
    phases.map((p) => {
      const { server, backends, background } = p.cpu;
      const pgAll = backends + background;
      return [
        p.name,
        int(p.operations),
        p.non2xx,
        int(p.operations / p.seconds),
        fixed(server, 2),
        int(p.operations / server),
        fixed(backends, 2),
        backends > 0 ? int(p.operations / backends) : '—',
        fixed(background, 2),
        pgAll > 0 ? int(p.operations / pgAll) : '—',
        p.load,
      ] as Row;
    }),
  );
  const writes = table(
    ['operation', 'table', 'inserted / op', 'updated / op', 'table + index growth / op', 'load average'],
    phases
      .filter((p) => p.name !== 'GET /users/me')
      .flatMap((p) =>
        TABLES.flatMap((t) => {
          const ins = p.after.counters[t].ins - p.before.counters[t].ins;
          const upd = p.after.counters[t].upd - p.before.counters[t].upd;
          const grew = p.after.sizes[t] - p.before.sizes[t];
          if (ins === 0 && upd === 0) return [];
          return [
            [
              p.name,
              `\`${t}\``,
              fixed(ins / p.operations, 2),
              fixed(upd / p.operations, 2),
              `${int(grew / p.operations)} B`,
              p.load,
            ] as Row,
          ];
        }),
      ),
  );
  const wal = table(
    [
      'operation',
      'WAL / op, this database (pg_walinspect)',
      'of which full-page images',
      'WAL / op, whole cluster (LSN difference)',
      'statistics caught up',
      'load average',
    ],
    phases.map((p) => [
      p.name,
      p.wal.ours === null ? '—' : `${int(p.wal.ours.bytes / p.operations)} B`,
      p.wal.ours === null ? '—' : `${int(p.wal.ours.fpi / p.operations)} B`,
      `${int(p.wal.cluster / p.operations)} B`,
      p.before.statsCaughtUp && p.after.statsCaughtUp ? 'yes' : 'no (counters may be short)',
      p.load,
    ]),
  );
  const last = phases.at(-1)?.after;
  const sizes =
    last === undefined
      ? ''
      : table(
          ['table', 'rows', 'table + indexes + TOAST', 'bytes per row', 'of which indexes'],
          TABLES.filter((t) => last.rows[t] > 0).map((t) => [
            `\`${t}\``,
            int(last.rows[t]),
            `${(last.sizes[t] / 2 ** 20).toFixed(1)} MiB`,
            int(last.sizes[t] / last.rows[t]),
            int(last.indexes[t] / last.rows[t]),
          ]),
        );
  return `${cpu}\n\nRows and bytes written per operation:\n\n${writes}\n\n${wal}\n\nTable sizes at the end (seeded rows plus the run's):\n\n${sizes}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const flags = parseFlags(process.argv);
  const machineLine = await machine();
  const body = await capacity(flags.quick);
  const markdown = `### Capacity: CPU, rows and bytes per operation\n\n${machineLine} (\`bench/capacity.ts\`).\n\n${body}`;
  console.log(markdown);
  if (flags.write) await writeSection(flags.quick ? 'capacity-quick' : 'capacity', markdown);
}
