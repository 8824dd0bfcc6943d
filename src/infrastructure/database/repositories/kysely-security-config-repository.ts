import type { Kysely, Selectable } from 'kysely';
import type { RowLock } from '../../../application/ports/row-lock.js';
import type { SecurityConfigRepository } from '../../../application/ports/security-config-repository.js';
import { isValidGracePeriod, type SecurityConfig } from '../../../domain/versions.js';
import { withRowLock } from '../row-lock.js';
import type { Database, SecurityConfigTable } from '../schema.js';
import { ImmediateRevocations, type RevocationRecorder } from './kysely-revocation-log.js';

const SINGLETON_ID = 1;

export class KyselySecurityConfigRepository implements SecurityConfigRepository {
  readonly #db: Kysely<Database>;

  readonly #revocations: RevocationRecorder;

  constructor(db: Kysely<Database>, revocations: RevocationRecorder = new ImmediateRevocations(db)) {
    this.#db = db;
    this.#revocations = revocations;
  }

  async get(lock?: RowLock): Promise<SecurityConfig> {
    const query = this.#db.selectFrom('security_config').selectAll().where('id', '=', SINGLETON_ID);
    return toSecurityConfig(await withRowLock(query, lock).executeTakeFirst());
  }

  /** One UPDATE … SET v = v + 1 … RETURNING: concurrent rotations each move the version by one. */
  async rotateGlobal(input: {
    readonly rotatedAt: Date;
    readonly reason: string;
    readonly graceUntil: Date;
  }): Promise<{ readonly previousVersion: number; readonly config: SecurityConfig }> {
    const row = await this.#db
      .updateTable('security_config')
      .set((eb) => ({
        global_min_token_version: eb('global_min_token_version', '+', 1),
        last_rotation_at: input.rotatedAt,
        last_rotation_reason: input.reason,
        grace_until: input.graceUntil,
        updated_at: input.rotatedAt,
      }))
      .where('id', '=', SINGLETON_ID)
      .returningAll()
      .executeTakeFirst();
    const config = toSecurityConfig(row);
    await this.#revocations.record({
      kind: 'global_version',
      details: {
        globalMinTokenVersion: config.globalMinTokenVersion,
        previousVersion: config.globalMinTokenVersion - 1,
        graceUntil: input.graceUntil.toISOString(),
      },
      occurredAt: input.rotatedAt,
    });
    return { previousVersion: config.globalMinTokenVersion - 1, config };
  }

  async setGracePeriod(seconds: number, at: Date): Promise<SecurityConfig> {
    if (!isValidGracePeriod(seconds)) {
      throw new RangeError(`grace period must be an integer from 0 to 86400 seconds, got ${seconds}`);
    }
    const row = await this.#db
      .updateTable('security_config')
      .set({ grace_period_seconds: seconds, updated_at: at })
      .where('id', '=', SINGLETON_ID)
      .returningAll()
      .executeTakeFirst();
    return toSecurityConfig(row);
  }
}

function toSecurityConfig(row: Selectable<SecurityConfigTable> | undefined): SecurityConfig {
  if (row === undefined) {
    throw new Error('the security_config row is missing: run the database migrations');
  }
  return {
    globalMinTokenVersion: row.global_min_token_version,
    gracePeriodSeconds: row.grace_period_seconds,
    lastRotationAt: row.last_rotation_at,
    lastRotationReason: row.last_rotation_reason,
    graceUntil: row.grace_until,
    updatedAt: row.updated_at,
  };
}
