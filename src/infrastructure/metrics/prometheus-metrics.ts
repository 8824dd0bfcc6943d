import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { ServiceMetrics } from '../../application/ports/metrics.js';
import type { InvalidationStatus } from '../cache/invalidation-transport.js';
import type { PrunedTable } from '../database/retention-rules.js';
import type { PrunerMetrics } from '../retention/pruner.js';

/**
 * One registry per app instance (not prom-client's global), so several instances
 * can live in one test process without clashing metric names.
 */
export class PrometheusMetrics implements ServiceMetrics, PrunerMetrics {
  private readonly registry = new Registry();
  private readonly httpRequests = new Counter({
    name: 'tokenwarden_http_requests_total',
    help: 'HTTP requests by method, route and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  private readonly httpDuration = new Histogram({
    name: 'tokenwarden_http_request_duration_seconds',
    help: 'HTTP request duration by route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  private readonly rotations = new Counter({
    name: 'tokenwarden_rotations_total',
    help: 'Token rotations by scope and outcome',
    labelNames: ['scope', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly refreshes = new Counter({
    name: 'tokenwarden_refreshes_total',
    help: 'Refresh requests by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  private readonly rejections = new Counter({
    name: 'tokenwarden_token_rejections_total',
    help: 'Tokens refused, by reason (global_rotation, user_rotation, token_revoked, ...)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  private readonly reuses = new Counter({
    name: 'tokenwarden_refresh_token_reuse_detected_total',
    help: 'Refresh tokens presented after their reuse interval (session revoked)',
    registers: [this.registry],
  });
  private readonly logins = new Counter({
    name: 'tokenwarden_logins_total',
    help: 'Login attempts by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  private readonly prunedRows = new Counter({
    name: 'tokenwarden_pruned_rows_total',
    help: 'Rows the pruner deleted past retention, by table',
    labelNames: ['table'] as const,
    registers: [this.registry],
  });
  private readonly pruneLastRun = new Gauge({
    name: 'tokenwarden_prune_last_run_timestamp_seconds',
    help: 'When the last prune pass on this instance finished (Unix seconds)',
    registers: [this.registry],
  });
  private readonly pruneLastDuration = new Gauge({
    name: 'tokenwarden_prune_last_run_duration_seconds',
    help: 'How long the last prune pass on this instance took',
    registers: [this.registry],
  });

  constructor(options: { readonly defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  httpRequest(method: string, route: string, status: number, seconds: number): void {
    this.httpRequests.inc({ method, route, status: String(status) });
    this.httpDuration.observe({ method, route }, seconds);
  }

  async scrape(): Promise<{ readonly contentType: string; readonly body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  rotation(scope: 'global' | 'user', outcome: 'succeeded' | 'failed' | 'dry_run'): void {
    this.rotations.inc({ scope, outcome });
  }
  refresh(outcome: 'issued' | 'replayed' | 'rejected'): void {
    this.refreshes.inc({ outcome });
  }
  tokenRejected(reason: string): void {
    this.rejections.inc({ reason });
  }
  reuseDetected(): void {
    this.reuses.inc();
  }
  login(outcome: 'succeeded' | 'failed'): void {
    this.logins.inc({ outcome });
  }
  pruned(table: PrunedTable, rows: number): void {
    this.prunedRows.inc({ table }, rows);
  }
  pruneRun(at: Date, seconds: number): void {
    this.pruneLastRun.set(at.getTime() / 1000);
    this.pruneLastDuration.set(seconds);
  }

  /**
   * Exposes the bearer-check cache and its invalidation subscription, read at scrape
   * time: hits and misses, entries, and whether rotations reach this instance at once
   * (1) or only through the fallback TTL (0).
   */
  watchAccessCache(source: {
    stats(): { readonly hits: number; readonly misses: number; readonly size: number };
    invalidation(): InvalidationStatus;
  }): void {
    const counted = (name: string, help: string, read: () => number) => {
      let reported = 0;
      new Counter({
        name,
        help,
        registers: [this.registry],
        collect() {
          const now = read();
          if (now > reported) this.inc(now - reported);
          reported = now;
        },
      });
    };
    counted(
      'tokenwarden_access_cache_hits_total',
      'Bearer checks answered from the cache',
      () => source.stats().hits,
    );
    counted(
      'tokenwarden_access_cache_misses_total',
      'Bearer checks that read the database',
      () => source.stats().misses,
    );
    new Gauge({
      name: 'tokenwarden_access_cache_entries',
      help: 'Entries in the bearer-check cache',
      registers: [this.registry],
      collect() {
        this.set(source.stats().size);
      },
    });
    new Gauge({
      name: 'tokenwarden_invalidation_subscribed',
      help: 'Whether cache invalidations reach this instance at once (1) or only by the fallback TTL (0)',
      labelNames: ['transport'] as const,
      registers: [this.registry],
      collect() {
        const status = source.invalidation();
        this.reset();
        for (const { transport, state } of status.transports ?? [status]) {
          this.set({ transport }, state === 'subscribed' ? 1 : 0);
        }
      },
    });
  }

  /**
   * Exposes the webhook deliveries waiting for an attempt and the dead letters, read from
   * the database at scrape time. A failed read leaves the last values (the scrape still answers).
   */
  watchWebhooks(source: { backlog(): Promise<{ readonly pending: number; readonly dead: number }> }): void {
    let last: Promise<{ readonly pending: number; readonly dead: number } | null> | null = null;
    // Both gauges are collected in the same scrape: one query serves them.
    const read = () => {
      last ??= source
        .backlog()
        .catch(() => null)
        .finally(() => setImmediate(() => (last = null)));
      return last;
    };
    new Gauge({
      name: 'tokenwarden_webhook_deliveries_pending',
      help: 'Webhook deliveries waiting for their next attempt (the backlog)',
      registers: [this.registry],
      async collect() {
        const counts = await read();
        if (counts !== null) this.set(counts.pending);
      },
    });
    new Gauge({
      name: 'tokenwarden_webhook_deliveries_dead',
      help: 'Webhook deliveries given up after the last attempt (dead letters, retried from the admin API)',
      registers: [this.registry],
      async collect() {
        const counts = await read();
        if (counts !== null) this.set(counts.dead);
      },
    });
  }
}
