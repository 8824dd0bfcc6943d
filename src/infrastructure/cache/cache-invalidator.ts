import { randomUUID } from 'node:crypto';
import type { VersionChangeListener } from '../../application/ports/version-change-listener.js';
import type { AccessStateCache } from './access-state-cache.js';
import { FanOutInvalidationTransport } from './fan-out-invalidation-transport.js';
import { decodeInvalidation, encodeInvalidation, type InvalidationMessage } from './invalidation-message.js';
import type {
  InvalidationLog,
  InvalidationState,
  InvalidationStatus,
  InvalidationTransport,
} from './invalidation-transport.js';

/** What must reload when signing keys change (the SigningKeyStore). */
export interface ReloadableKeys {
  reload(): Promise<void>;
}

/** How long `close()` waits for publishes still in flight (a CLI exits right after). */
const FLUSH_TIMEOUT_MS = 2_000;

/**
 * The {@link VersionChangeListener} of a running instance: a committed change drops
 * this instance's cache entries at once, then is published so every other instance
 * drops its own. Messages from others are applied the same way; our own echo is skipped.
 *
 * @example
 * const invalidator = new CacheInvalidator(cache, transport, keyStore, log);
 * invalidator.start();
 * invalidator.userVersionChanged(userId, 4); // local drop + publish
 */
export class CacheInvalidator implements VersionChangeListener {
  private readonly origin = randomUUID();
  private readonly pending = new Set<Promise<void>>();
  private readonly changeListeners = new Set<() => void>();
  private readonly revokedClientListeners = new Set<(clientId: string) => void>();
  private state: InvalidationState = 'degraded';
  private everSubscribed = false;

  constructor(
    private readonly cache: AccessStateCache,
    private readonly transport: InvalidationTransport,
    private readonly keys: ReloadableKeys,
    private readonly log: InvalidationLog,
  ) {}

  start(): void {
    this.transport.start({
      onMessage: (payload) => {
        const decoded = decodeInvalidation(payload);
        if (decoded !== null && decoded.origin !== this.origin) this.apply(decoded.message);
      },
      onStateChange: (state) => {
        this.state = state;
        this.cache.setSubscribed(state === 'subscribed');
        // Back after a gap: a keys message may have been missed too.
        if (state === 'subscribed' && this.everSubscribed) this.reloadKeys();
        if (state === 'subscribed') this.everSubscribed = true;
      },
    });
  }

  status(): InvalidationStatus {
    const parts = this.transport instanceof FanOutInvalidationTransport ? this.transport.statuses() : [];
    return {
      transport: this.transport.kind,
      state: this.state,
      ...(parts.length > 1 ? { transports: parts } : {}),
    };
  }

  globalVersionChanged(_newVersion: number): void {
    this.changed({ kind: 'global' });
  }

  userVersionChanged(userId: string, _newVersion: number): void {
    this.changed({ kind: 'user', userId });
  }

  userChanged(userId: string): void {
    this.changed({ kind: 'user', userId });
  }

  sessionRevoked(sessionId: string): void {
    this.changed({ kind: 'session', sessionId });
  }

  userSessionsRevoked(userId: string): void {
    this.changed({ kind: 'user-sessions', userId });
  }

  signingKeysChanged(): void {
    this.changed({ kind: 'keys' });
  }

  serviceClientRevoked(clientId: string): void {
    this.changed({ kind: 'service-client', clientId });
  }

  /**
   * Called with the client's id when a service client is revoked, here or on another instance
   * (the revocation feed ends the streams it opened); returns the unsubscribe.
   */
  onServiceClientRevoked(listener: (clientId: string) => void): () => void {
    this.revokedClientListeners.add(listener);
    return () => this.revokedClientListeners.delete(listener);
  }

  /**
   * Called after every change this instance applies, its own or another instance's (the
   * revocation feed's streams wake on it and read the log); returns the unsubscribe.
   */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Waits (bounded) for publishes in flight, then closes the transport. */
  async close(): Promise<void> {
    if (this.pending.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.pending]),
        new Promise((resolve) => {
          timer = setTimeout(resolve, FLUSH_TIMEOUT_MS);
        }),
      ]);
      clearTimeout(timer);
    }
    await this.transport.close();
  }

  private changed(message: InvalidationMessage): void {
    this.apply(message);
    const publishing = this.transport
      .publish(encodeInvalidation(this.origin, message))
      .catch((error: unknown) => {
        this.log.warn(
          { transport: this.transport.kind, kind: message.kind, err: String(error) },
          'cache invalidation not published: other instances rely on the TTL',
        );
      });
    this.pending.add(publishing);
    void publishing.finally(() => this.pending.delete(publishing));
  }

  private apply(message: InvalidationMessage): void {
    for (const listener of this.changeListeners) listener();
    switch (message.kind) {
      case 'global':
        this.cache.invalidateSecurityConfig();
        return;
      case 'user':
        this.cache.invalidateUser(message.userId);
        return;
      case 'session':
        this.cache.invalidateSession(message.sessionId);
        return;
      case 'user-sessions':
        this.cache.invalidateUserSessions(message.userId);
        return;
      case 'keys':
        this.reloadKeys();
        return;
      case 'service-client':
        for (const listener of this.revokedClientListeners) listener(message.clientId);
        return;
    }
  }

  private reloadKeys(): void {
    this.keys.reload().catch((error: unknown) => {
      this.log.warn({ err: String(error) }, 'signing keys not reloaded after a change');
    });
  }
}
