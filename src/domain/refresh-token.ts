import type { VersionStamp } from './versions.js';

export interface RefreshTokenRecord {
  readonly id: string;
  readonly sessionId: string;
  readonly userId: string;
  readonly stamp: VersionStamp;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly usedAt: Date | null;
  readonly revokedAt: Date | null;
  readonly successorId: string | null;
  readonly successorSealed: string | null;
}
