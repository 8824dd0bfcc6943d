import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import { destroySocket } from '../database/destroy-socket.js';
import {
  type InvalidationHandlers,
  type InvalidationLog,
  type InvalidationTransport,
  ReportedState,
  reconnectDelayMs,
} from './invalidation-transport.js';
import { SubscriptionHeartbeat, type SubscriptionHeartbeatOptions } from './subscription-heartbeat.js';

/**
 * PostgreSQL LISTEN/NOTIFY. LISTEN needs a session of its own, so the subscriber is
 * a dedicated client outside the pool; publishing is a plain `pg_notify` through
 * the pool. Lost connections are retried with backoff.
 *
 * The subscriber proves it is alive: it NOTIFYs a heartbeat on its own connection and
 * must hear it back (subscription-heartbeat.ts). A connection that went silent (dropped
 * by a NAT, a failover that left it half-open) is declared dead within the bound,
 * destroyed and replaced.
 */
export class PostgresInvalidationTransport implements InvalidationTransport {
  readonly kind = 'postgres' as const;
  private client: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private readonly state: ReportedState;
  private closed = false;
  private handlers: InvalidationHandlers | undefined;
  private beat: SubscriptionHeartbeat | undefined;

  constructor(
    private readonly url: string,
    private readonly channel: string,
    // biome-ignore lint/suspicious/noExplicitAny: publishing needs no table types
    private readonly db: Kysely<any>,
    log: InvalidationLog,
    private readonly heartbeat: SubscriptionHeartbeatOptions = { intervalMs: 1_000, deadAfterMs: 3_000 },
  ) {
    this.state = new ReportedState('postgres', channel, log);
  }

  start(handlers: InvalidationHandlers): void {
    this.handlers = handlers;
    handlers.onStateChange('degraded');
    void this.connect();
  }

  async publish(payload: string): Promise<void> {
    await sql`select pg_notify(${this.channel}, ${payload})`.execute(this.db);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.beat?.stop();
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({
      connectionString: this.url,
      keepAlive: true,
      connectionTimeoutMillis: 5_000,
    });
    this.client = client;
    const beat = new SubscriptionHeartbeat(this.heartbeat, {
      // On the subscriber's own connection: what is proved is that this connection still hears.
      // The channel as a literal: pg_stat_activity then shows which channel a listener serves.
      send: (payload) =>
        client.query(`select pg_notify(${client.escapeLiteral(this.channel)}, $1)`, [payload]),
      onDead: (silentMs) => {
        // A silent connection may never error or close: its socket is destroyed, not ended.
        destroySocket(client);
        this.lost(client, new Error(`no heartbeat heard for ${silentMs} ms`));
      },
    });
    this.beat?.stop();
    this.beat = beat;
    client.on('notification', (notification) => {
      if (notification.channel !== this.channel || notification.payload === undefined) return;
      if (beat.receive(notification.payload)) return;
      this.handlers?.onMessage(notification.payload);
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    try {
      await client.connect();
      await client.query(`listen ${client.escapeIdentifier(this.channel)}`);
    } catch (error) {
      this.lost(client, error);
      return;
    }
    if (this.client !== client) return;
    this.attempt = 0;
    beat.start();
    this.state.change('subscribed', this.handlers);
  }

  private lost(client: pg.Client, error: unknown): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.beat?.stop();
    client.end().catch(() => {});
    if (this.closed) return;
    this.state.change('degraded', this.handlers, {
      err: error instanceof Error ? error.message : String(error),
    });
    const delay = reconnectDelayMs(this.attempt);
    this.attempt += 1;
    this.timer = setTimeout(() => void this.connect(), delay);
    this.timer.unref();
  }
}
