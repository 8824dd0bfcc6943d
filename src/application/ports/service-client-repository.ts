import type { Page } from '../../domain/page.js';
import type { ServiceClientRecord } from '../../domain/service-client.js';
import type { RowLock } from './row-lock.js';

export interface ServiceClientRepository {
  insert(client: {
    readonly id: string;
    readonly name: string;
    readonly secretHash: string;
    readonly createdAt: Date;
    readonly createdBy: string;
  }): Promise<void>;
  /** The client with this id, revoked or not; null for an unknown or malformed id. */
  findById(id: string, lock?: RowLock): Promise<ServiceClientRecord | null>;
  /** Sets `revoked_at`/`revoked_by` unless already set. */
  revoke(id: string, at: Date, by: string): Promise<void>;
  /** Oldest first, revoked ones included, keyset-paginated on (created_at, id). */
  list(filter: { readonly limit: number; readonly cursor?: string }): Promise<Page<ServiceClientRecord>>;
}
