/** One account's current window, as a {@link ThrottleStore} holds it. */
export interface ThrottleWindow {
  readonly failures: number;
  /** Milliseconds until the window ends. */
  readonly msLeft: number;
  /** Whether the asking source failed for this account in the window. */
  readonly sourceFailed: boolean;
}

/**
 * Where the per-account failures live: this process's memory, or Redis so every
 * instance sees the same lock. Keys are already hashed. Both count a source past
 * the exactly remembered ones by the same bucket (domain/login-throttle-sources.ts).
 */
export interface ThrottleStore {
  read(account: string, source: string): Promise<ThrottleWindow | null>;
  recordFailure(account: string, source: string): Promise<void>;
}
