import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { freePort } from './instances.js';

/** The OS user the clusters run as when the tests run as root (initdb refuses root). */
const CLUSTER_USER = 'postgres';
/** The standby's application_name, as synchronous_standby_names names it. */
const STANDBY_NAME = 'tw_standby';

/**
 * The directory of initdb, pg_ctl and pg_basebackup (`pg_config --bindir`), or null with
 * the reason when they are not installed here.
 */
export function serverBinaries(): { readonly bindir: string } | { readonly missing: string } {
  let bindir: string;
  try {
    bindir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
  } catch {
    return { missing: 'pg_config is not on PATH' };
  }
  for (const tool of ['initdb', 'pg_ctl', 'pg_basebackup']) {
    if (!existsSync(join(bindir, tool))) return { missing: `${join(bindir, tool)} is missing` };
  }
  if (process.getuid?.() === 0) {
    try {
      execFileSync('id', ['-u', CLUSTER_USER], { stdio: 'ignore' });
    } catch {
      return { missing: `running as root needs the OS user ${CLUSTER_USER} to run the clusters` };
    }
  }
  return { bindir };
}

/** One server of the pair. */
interface Cluster {
  readonly port: number;
  readonly dataDir: string;
  /** A connection URL to its `postgres` database. */
  readonly url: string;
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>;
}

/** A primary and a standby streaming from it, in a temporary directory of their own. */
export interface StandbyPair {
  readonly primary: Cluster;
  readonly standby: Cluster;
  /** Resolves once the standby has replayed everything the primary has written so far. */
  caughtUp(timeoutMs?: number): Promise<void>;
  /**
   * Stops the standby receiving WAL (its primary_conninfo now names a dead port): what the
   * primary commits from now on is acknowledged to clients and never reaches the standby.
   */
  detach(): Promise<void>;
  /** The primary dies at once (no shutdown checkpoint), the standby is promoted and accepts writes. */
  failover(): Promise<void>;
  /**
   * The standby's walreceiver is stopped (SIGSTOP) but stays connected: it receives and
   * acknowledges nothing, so with `synchronous` every commit on the primary waits.
   */
  stall(): Promise<void>;
  /** The stalled walreceiver carries on (SIGCONT): waiting commits complete. */
  resume(): Promise<void>;
  /** How many backends on the primary wait for the standby to acknowledge their commit. */
  waitingCommits(): Promise<number>;
  /** Stops both servers and removes the directory. */
  close(): Promise<void>;
}

interface Run {
  readonly bindir: string;
  readonly root: string;
  readonly asRoot: boolean;
}

async function run(ctx: Run, tool: string, args: readonly string[]): Promise<void> {
  const command = join(ctx.bindir, tool);
  const [file, argv] = ctx.asRoot
    ? ['runuser', ['-u', CLUSTER_USER, '--', command, ...args]]
    : [command, [...args]];
  await new Promise<void>((resolve, reject) => {
    const child = spawn(file, argv, { cwd: ctx.root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${tool} ${args.join(' ')} exited ${code}:\n${output}`)),
    );
  });
}

function cluster(root: string, name: string, port: number): Cluster {
  const url = `postgres://${CLUSTER_USER}@127.0.0.1:${port}/postgres`;
  return {
    port,
    dataDir: join(root, name),
    url,
    async query(text, values) {
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
      await client.connect();
      try {
        return (await client.query(text, values as unknown[])).rows;
      } finally {
        await client.end();
      }
    },
  };
}

/** Settings for a throwaway server: loopback only, its socket in its own directory, no fsync. */
const settings = (root: string, port: number) =>
  [
    `port = ${port}`,
    `listen_addresses = '127.0.0.1'`,
    `unix_socket_directories = '${root}'`,
    'wal_level = replica',
    'max_wal_senders = 4',
    'hot_standby = on',
    'fsync = off',
    'full_page_writes = off',
    'shared_buffers = 16MB',
    'max_connections = 60',
    '',
  ].join('\n');

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(50);
  }
}

/**
 * initdb a primary on a free 127.0.0.1 port, `pg_basebackup -R` a standby from it and
 * start both; never touches any other server or data directory. Runs the servers as
 * the `postgres` OS user when the tests run as root.
 *
 * @example
 * const pair = await startStandbyPair(bindir);
 * await pair.detach(); // writes on pair.primary are now lost at failover
 * await pair.failover();
 */
export async function startStandbyPair(
  bindir: string,
  options: { readonly synchronous?: boolean } = {},
): Promise<StandbyPair> {
  const asRoot = process.getuid?.() === 0;
  const root = await mkdtemp(join(tmpdir(), 'tw-standby-'));
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', CLUSTER_USER], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', CLUSTER_USER], { encoding: 'utf8' }).trim());
    await chown(root, uid, gid);
  }
  const ctx: Run = { bindir, root, asRoot };
  const primary = cluster(root, 'primary', await freePort());
  let standby = cluster(root, 'standby', await freePort());
  while (standby.port === primary.port) standby = cluster(root, 'standby', await freePort());
  const started: Cluster[] = [];
  const stop = async (c: Cluster, mode: 'fast' | 'immediate') => {
    await run(ctx, 'pg_ctl', ['-D', c.dataDir, '-m', mode, '-w', 'stop']).catch(() => {});
  };
  const close = async () => {
    for (const c of started) await stop(c, 'immediate');
    await rm(root, { recursive: true, force: true });
  };
  try {
    await run(ctx, 'initdb', [
      '-D',
      primary.dataDir,
      '-U',
      CLUSTER_USER,
      '--auth=trust',
      '--no-sync',
      '-E',
      'UTF8',
    ]);
    await appendFile(join(primary.dataDir, 'postgresql.conf'), settings(root, primary.port));
    await run(ctx, 'pg_ctl', ['-D', primary.dataDir, '-l', join(root, 'primary.log'), '-w', 'start']);
    started.push(primary);
    await run(ctx, 'pg_basebackup', [
      '-h',
      '127.0.0.1',
      '-p',
      String(primary.port),
      '-U',
      CLUSTER_USER,
      '-D',
      standby.dataDir,
      '-R',
      '-X',
      'stream',
      '--no-sync',
    ]);
    // The copy carries the primary's port: the later line wins. cluster_name is the
    // walreceiver's application_name, which synchronous_standby_names names.
    await appendFile(
      join(standby.dataDir, 'postgresql.conf'),
      `port = ${standby.port}\ncluster_name = '${STANDBY_NAME}'\n`,
    );
    await run(ctx, 'pg_ctl', ['-D', standby.dataDir, '-l', join(root, 'standby.log'), '-w', 'start']);
    started.push(standby);
    await until(
      'the standby streams',
      async () => (await standby.query(`select status from pg_stat_wal_receiver`))[0]?.status === 'streaming',
      15_000,
    );
    if (options.synchronous === true) {
      await primary.query(`alter system set synchronous_standby_names = '${STANDBY_NAME}'`);
      await primary.query(`alter system set synchronous_commit = 'on'`);
      await primary.query('select pg_reload_conf()');
      await until(
        'the standby is synchronous',
        async () =>
          (
            await primary.query(`select sync_state from pg_stat_replication where application_name = $1`, [
              STANDBY_NAME,
            ])
          )[0]?.sync_state === 'sync',
        10_000,
      );
    }
  } catch (error) {
    await close();
    throw error;
  }

  let stalled: number | null = null;
  return {
    primary,
    standby,
    async caughtUp(timeoutMs = 10_000) {
      const [{ lsn }] = (await primary.query<{ lsn: string }>(
        'select pg_current_wal_lsn()::text as lsn',
      )) as [{ lsn: string }];
      await until(
        `the standby replays ${lsn}`,
        async () =>
          (
            await standby.query<{ done: boolean }>('select pg_last_wal_replay_lsn() >= $1::pg_lsn as done', [
              lsn,
            ])
          )[0]?.done === true,
        timeoutMs,
      );
    },
    async detach() {
      // Port 1 on loopback: nothing listens, so the walreceiver cannot come back.
      await standby.query(`alter system set primary_conninfo = 'host=127.0.0.1 port=1 user=${CLUSTER_USER}'`);
      await standby.query('select pg_reload_conf()');
      await until(
        'the walreceiver stops',
        async () =>
          (
            await standby.query(
              `select count(*)::int as n from pg_stat_wal_receiver where status = 'streaming'`,
            )
          )[0]?.n === 0,
        10_000,
      );
    },
    async failover() {
      await stop(primary, 'immediate');
      await run(ctx, 'pg_ctl', ['-D', standby.dataDir, '-w', 'promote']);
      await until(
        'the standby accepts writes',
        async () => (await standby.query<{ r: boolean }>('select pg_is_in_recovery() as r'))[0]?.r === false,
        10_000,
      );
    },
    async stall() {
      const [row] = await standby.query<{ pid: number }>('select pid from pg_stat_wal_receiver');
      if (row === undefined) throw new Error('the standby has no walreceiver to stall');
      stalled = row.pid;
      process.kill(stalled, 'SIGSTOP');
    },
    async resume() {
      if (stalled !== null) process.kill(stalled, 'SIGCONT');
      stalled = null;
    },
    async waitingCommits() {
      const [row] = await primary.query<{ n: number }>(
        `select count(*)::int as n from pg_stat_activity where wait_event = 'SyncRep'`,
      );
      return row?.n ?? 0;
    },
    close: async () => {
      if (stalled !== null) process.kill(stalled, 'SIGCONT');
      await close();
    },
  };
}
