import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import {
  type InvalidationHandlers,
  type InvalidationLog,
  type InvalidationTransport,
  ReportedState,
  reconnectDelayMs,
} from './invalidation-transport.js';

/**
 * PostgreSQL LISTEN/NOTIFY. LISTEN needs a session of its own, so the subscriber is
 * a dedicated client outside the pool; publishing is a plain `pg_notify` through
 * the pool. Lost connections are retried with backoff.
 */
export class PostgresInvalidationTransport implements InvalidationTransport {
  readonly kind = 'postgres' as const;
  private client: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private readonly state: ReportedState;
  private closed = false;
  private handlers: InvalidationHandlers | undefined;

  constructor(
    private readonly url: string,
    private readonly channel: string,
    // biome-ignore lint/suspicious/noExplicitAny: publishing needs no table types
    private readonly db: Kysely<any>,
    log: InvalidationLog,
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
    client.on('notification', (notification) => {
      if (notification.channel === this.channel && notification.payload !== undefined) {
        this.handlers?.onMessage(notification.payload);
      }
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
    this.state.change('subscribed', this.handlers);
  }

  private lost(client: pg.Client, error: unknown): void {
    if (this.client !== client) return;
    this.client = undefined;
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
