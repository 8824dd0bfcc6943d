import type { Kysely } from 'kysely';
import type { RowLock } from '../../../application/ports/row-lock.js';
import type { ServiceClientRepository } from '../../../application/ports/service-client-repository.js';
import { isUuid } from '../../../domain/ids.js';
import type { Page } from '../../../domain/page.js';
import type { ServiceClientRecord } from '../../../domain/service-client.js';
import { pageByCreatedAt } from '../page-by-created-at.js';
import { withRowLock } from '../row-lock.js';
import type { Database, ServiceClientRow } from '../schema.js';

export class KyselyServiceClientRepository implements ServiceClientRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async insert(client: {
    readonly id: string;
    readonly name: string;
    readonly secretHash: string;
    readonly createdAt: Date;
    readonly createdBy: string;
  }): Promise<void> {
    await this.#db
      .insertInto('service_clients')
      .values({
        id: client.id,
        name: client.name,
        secret_hash: client.secretHash,
        created_at: client.createdAt,
        created_by: client.createdBy,
      })
      .execute();
  }

  async findById(id: string, lock?: RowLock): Promise<ServiceClientRecord | null> {
    if (!isUuid(id)) return null;
    const row = await withRowLock(
      this.#db.selectFrom('service_clients').selectAll().where('id', '=', id),
      lock,
    ).executeTakeFirst();
    return row === undefined ? null : toServiceClientRecord(row);
  }

  async revoke(id: string, at: Date, by: string): Promise<void> {
    if (!isUuid(id)) return;
    await this.#db
      .updateTable('service_clients')
      .set({ revoked_at: at, revoked_by: by })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .execute();
  }

  async list(filter: {
    readonly limit: number;
    readonly cursor?: string;
  }): Promise<Page<ServiceClientRecord>> {
    return pageByCreatedAt(
      this.#db.selectFrom('service_clients').selectAll(),
      filter,
      'asc',
      toServiceClientRecord,
    );
  }
}

function toServiceClientRecord(row: ServiceClientRow): ServiceClientRecord {
  return {
    id: row.id,
    name: row.name,
    secretHash: row.secret_hash,
    createdAt: row.created_at,
    createdBy: row.created_by,
    revokedAt: row.revoked_at,
    revokedBy: row.revoked_by,
  };
}
