import type { SecurityConfig } from '../../domain/versions.js';
import type { RowLock } from './row-lock.js';

export interface SecurityConfigRepository {
  get(lock?: RowLock): Promise<SecurityConfig>;
  /** Increments the global version in one statement, returning the version before and the new config. */
  rotateGlobal(input: {
    readonly rotatedAt: Date;
    readonly reason: string;
    readonly graceUntil: Date;
  }): Promise<{ readonly previousVersion: number; readonly config: SecurityConfig }>;
  setGracePeriod(seconds: number, at: Date): Promise<SecurityConfig>;
}
