/** Counters the core reports; the Prometheus adapter lives in infrastructure. */
export interface ServiceMetrics {
  rotation(scope: 'global' | 'user', outcome: 'succeeded' | 'failed' | 'dry_run'): void;
  refresh(outcome: 'issued' | 'replayed' | 'rejected'): void;
  tokenRejected(reason: string): void;
  reuseDetected(): void;
  login(outcome: 'succeeded' | 'failed'): void;
}
