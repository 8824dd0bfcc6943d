/**
 * The server as the console sees it: one SDK client (its tokens kept per tab) and the
 * shapes of the admin API's answers.
 */
import { createClient, localStorageStorage } from '@tokenwarden/client';

export const client = createClient({
  baseUrl: location.origin,
  // Per tab: closing the tab forgets the admin's tokens.
  storage: localStorageStorage('tokenwarden.admin', sessionStorage),
});

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

export interface SecurityConfig {
  readonly globalMinTokenVersion: number;
  readonly gracePeriodSeconds: number;
  readonly lastRotationAt: string | null;
  readonly lastRotationReason: string | null;
  readonly graceUntil: string | null;
  readonly updatedAt: string;
  /** Only once the scheduled-rotation feature is on the server; its shape is shown as sent. */
  readonly rotationSchedule?: unknown;
}

export interface User {
  readonly id: string;
  readonly email: string;
  readonly role: string;
  readonly minTokenVersion: number;
  readonly disabledAt: string | null;
  readonly createdAt: string;
}

export interface AuditEvent {
  readonly id: string;
  readonly occurredAt: string;
  readonly actor: string;
  readonly action: string;
  readonly userId: string | null;
  readonly reason: string | null;
  readonly details: Record<string, unknown>;
}

export interface SigningKey {
  readonly kid: string;
  readonly algorithm: string;
  readonly status: 'active' | 'verifying' | 'retired';
  readonly createdAt: string;
  readonly deactivatedAt: string | null;
  readonly retiredAt: string | null;
  readonly verifiesUntil: string | null;
}

export interface WebhookDelivery {
  readonly id: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly occurredAt: string;
  readonly url: string;
  readonly state: 'pending' | 'delivered' | 'dead';
  readonly attempts: number;
  readonly nextAttemptAt: string;
  readonly lastAttemptAt: string | null;
  readonly lastStatus: number | null;
  readonly lastError: string | null;
  readonly deliveredAt: string | null;
  readonly deadAt: string | null;
}

export interface ServiceClient {
  readonly id: string;
  readonly name: string;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly revokedAt: string | null;
  readonly revokedBy: string | null;
}

export interface Activity {
  readonly since: string;
  readonly until: string;
  readonly bucketSeconds: number;
  readonly buckets: readonly {
    readonly start: string;
    readonly globalRotations: number;
    readonly userRotations: number;
    readonly rejectedGlobal: number;
    readonly rejectedUser: number;
  }[];
}

export const enc = encodeURIComponent;
