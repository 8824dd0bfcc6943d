/**
 * What a benchmark reads of its scratch PostgreSQL database while a load runs: the
 * processes to sample for CPU, the row counters and sizes of tokenwarden's tables, and the WAL.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { parentPid } from './proc-stat.js';

export const TABLES = [
  'users',
  'sessions',
  'refresh_tokens',
  'audit_log',
  'outbox',
  'revocation_log',
] as const;
export type Table = (typeof TABLES)[number];

export type Counters = Readonly<
  Record<Table, { readonly ins: number; readonly upd: number; readonly del: number }>
>;

export interface Snapshot {
  readonly at: number;
  readonly counters: Counters;
  readonly sizes: Readonly<Record<Table, number>>;
  /** Of `sizes`, the indexes: what random keys (uuid, token hash) touch on every insert. */
  readonly indexes: Readonly<Record<Table, number>>;
  readonly rows: Readonly<Record<Table, number>>;
  readonly lsn: string;
  /** Whether the statistics had caught up with the tables when the snapshot was taken. */
  readonly statsCaughtUp: boolean;
}

export class Probe {
  readonly #client: pg.Client;
  #postmaster: number | null = null;

  constructor(client: pg.Client) {
    this.#client = client;
  }

  /** The backends connected to this database, and PostgreSQL's background processes with the postmaster. */
  async pids(): Promise<{ backends: number[]; background: number[] }> {
    const { rows } = await this.#client.query<{ pid: number; backend_type: string; ours: boolean | null }>(
      `select pid, backend_type, datname = current_database() as ours
         from pg_stat_activity where pid <> pg_backend_pid()`,
    );
    const backends = rows.filter((r) => r.backend_type === 'client backend' && r.ours).map((r) => r.pid);
    const background = rows
      .filter((r) => r.backend_type !== 'client backend' && (r.ours || r.ours === null))
      .map((r) => r.pid);
    if (this.#postmaster === null && backends[0] !== undefined) this.#postmaster = parentPid(backends[0]);
    return {
      backends,
      background: this.#postmaster === null ? background : [...background, this.#postmaster],
    };
  }

  async #counts(): Promise<{
    counters: Counters;
    rows: Record<Table, number>;
    sizes: Record<Table, number>;
    indexes: Record<Table, number>;
  }> {
    const stats = await this.#client.query<{ relname: Table; ins: string; upd: string; del: string }>(
      `select relname, n_tup_ins as ins, n_tup_upd as upd, n_tup_del as del
         from pg_stat_user_tables where schemaname = 'tokenwarden' and relname = any($1)`,
      [TABLES],
    );
    const counters = Object.fromEntries(TABLES.map((t) => [t, { ins: 0, upd: 0, del: 0 }])) as Record<
      Table,
      { ins: number; upd: number; del: number }
    >;
    for (const r of stats.rows)
      counters[r.relname] = { ins: Number(r.ins), upd: Number(r.upd), del: Number(r.del) };
    const sized = await this.#client.query<Record<string, string>>(
      `select ${TABLES.map((t) => `(select count(*) from ${t}) as ${t}_rows, pg_total_relation_size('${t}') as ${t}_bytes, pg_indexes_size('${t}') as ${t}_index`).join(', ')}`,
    );
    const row = sized.rows[0] ?? {};
    return {
      counters,
      rows: Object.fromEntries(TABLES.map((t) => [t, Number(row[`${t}_rows`])])) as Record<Table, number>,
      sizes: Object.fromEntries(TABLES.map((t) => [t, Number(row[`${t}_bytes`])])) as Record<Table, number>,
      indexes: Object.fromEntries(TABLES.map((t) => [t, Number(row[`${t}_index`])])) as Record<Table, number>,
    };
  }

  /** Row counters, sizes and the WAL position, waiting up to 15 s for the statistics to catch up. */
  async snapshot(): Promise<Snapshot> {
    const at = performance.now();
    const until = performance.now() + 15_000;
    for (;;) {
      const counted = await this.#counts();
      const caughtUp = (['refresh_tokens', 'sessions', 'audit_log'] as const).every(
        (t) => counted.counters[t].ins - counted.counters[t].del === counted.rows[t],
      );
      // The WAL position after the wait: the window's reading starts there, and other
      // databases' WAL written during the wait could otherwise be recycled before it is read.
      if (caughtUp || performance.now() > until) {
        return { at, ...counted, lsn: await this.lsn(), statsCaughtUp: caughtUp };
      }
      await sleep(250);
    }
  }

  async lsn(): Promise<string> {
    return (
      (await this.#client.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn')).rows[0]?.lsn ??
      '0/0'
    );
  }

  async walDiff(from: string, to: string): Promise<number> {
    const { rows } = await this.#client.query<{ d: string }>(
      'select pg_wal_lsn_diff($2::pg_lsn, $1::pg_lsn) as d',
      [from, to],
    );
    return Number(rows[0]?.d);
  }

  /** This database's WAL records from `from` up to what is flushed; the end of the last record read. */
  async walChunk(
    from: string,
    knownXids: readonly string[],
  ): Promise<{
    readonly bytes: number;
    readonly fpi: number;
    readonly xids: readonly string[];
    readonly next: string;
  }> {
    const ahead = await this.#client.query<{ d: string }>(
      'select pg_wal_lsn_diff(pg_current_wal_flush_lsn(), $1::pg_lsn) as d',
      [from],
    );
    // pg_walinspect refuses a start at or past the flushed end.
    if (Number(ahead.rows[0]?.d) <= 0) return { bytes: 0, fpi: 0, xids: knownXids, next: from };
    const { rows } = await this.#client.query<{
      bytes: string;
      fpi: string;
      xids: string[];
      next: string | null;
    }>(
      `with pattern as (
         select 'rel [0-9]+/' || oid || '/' as p from pg_database where datname = current_database()
       ), r as (
         select xid, end_lsn, record_length, fpi_length, block_ref ~ (select p from pattern) as mine
           from pg_get_wal_records_info($1::pg_lsn, pg_current_wal_flush_lsn())
       ), mine as (
         select distinct xid from r where mine and xid <> '0'::xid
       )
       select coalesce(sum(record_length) filter (
                where mine or xid::text = any($2::text[]) or xid in (select xid from mine)), 0) as bytes,
              coalesce(sum(fpi_length) filter (where mine), 0) as fpi,
              array(select xid::text from mine) as xids,
              max(end_lsn)::text as next
         from r`,
      [from, knownXids],
    );
    const row = rows[0];
    return {
      bytes: Number(row?.bytes ?? 0),
      fpi: Number(row?.fpi ?? 0),
      xids: row?.xids ?? [],
      next: row?.next ?? from,
    };
  }
}
