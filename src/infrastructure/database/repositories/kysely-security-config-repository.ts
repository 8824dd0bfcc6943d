import { type Kysely, type Selectable, sql } from 'kysely';
import type { RowLock } from '../../../application/ports/row-lock.js';
import type {
  NewSchedule,
  SecurityConfigRepository,
} from '../../../application/ports/security-config-repository.js';
import type { RotationSchedule } from '../../../domain/rotation-schedule.js';
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

  /**
   * One UPDATE … SET v = greatest(v + 1, atLeast) … RETURNING: concurrent rotations each move
   * the version by one. The version before is read from the row the statement locks.
   */
  async rotateGlobal(input: {
    readonly rotatedAt: Date;
    readonly reason: string;
    readonly graceUntil: Date;
    readonly atLeast?: number;
  }): Promise<{ readonly previousVersion: number; readonly config: SecurityConfig }> {
    const row = await this.#db
      .with('before', (db) =>
        db
          .selectFrom('security_config')
          .select(['id', 'global_min_token_version as previous_version'])
          .where('id', '=', SINGLETON_ID)
          .forUpdate(),
      )
      .updateTable('security_config')
      .from('before')
      .set({
        global_min_token_version: sql<number>`greatest(before.previous_version + 1, ${input.atLeast ?? null}::integer)`,
        last_rotation_at: input.rotatedAt,
        last_rotation_reason: input.reason,
        grace_until: input.graceUntil,
        updated_at: input.rotatedAt,
      })
      .whereRef('security_config.id', '=', 'before.id')
      .returningAll('security_config')
      .returning('before.previous_version')
      .executeTakeFirst();
    const config = toSecurityConfig(row);
    const previousVersion = row?.previous_version ?? config.globalMinTokenVersion - 1;
    await this.#revocations.record({
      kind: 'global_version',
      details: {
        globalMinTokenVersion: config.globalMinTokenVersion,
        previousVersion,
        graceUntil: input.graceUntil.toISOString(),
      },
      occurredAt: input.rotatedAt,
    });
    return { previousVersion, config };
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

  async getSchedule(lock?: RowLock): Promise<RotationSchedule | null> {
    const query = this.#db.selectFrom('security_config').selectAll().where('id', '=', SINGLETON_ID);
    return toSchedule(await withRowLock(query, lock).executeTakeFirst());
  }

  async setSchedule(schedule: NewSchedule | null, at: Date): Promise<RotationSchedule | null> {
    const values =
      schedule === null
        ? {
            rotation_interval_seconds: null,
            rotation_grace_period_seconds: null,
            rotation_reason: null,
            rotation_notice_lead_seconds: null,
            rotation_next_due_at: null,
            rotation_notice_sent_for: null,
          }
        : {
            rotation_interval_seconds: schedule.settings.intervalSeconds,
            rotation_grace_period_seconds: schedule.settings.gracePeriodSeconds,
            rotation_reason: schedule.settings.reason,
            rotation_notice_lead_seconds: schedule.settings.noticeLeadSeconds,
            rotation_next_due_at: schedule.nextDueAt,
            ...(schedule.keepNotice ? {} : { rotation_notice_sent_for: null }),
          };
    const row = await this.#db
      .updateTable('security_config')
      .set({ ...values, updated_at: at })
      .where('id', '=', SINGLETON_ID)
      .returningAll()
      .executeTakeFirst();
    return toSchedule(row);
  }

  async markNoticeSent(dueAt: Date, at: Date): Promise<void> {
    await this.#db
      .updateTable('security_config')
      .set({ rotation_notice_sent_for: dueAt, updated_at: at })
      .where('id', '=', SINGLETON_ID)
      .execute();
  }

  /** Compare-and-set on the due time: a second runner's UPDATE matches no row. */
  async advanceSchedule(input: {
    readonly dueAt: Date;
    readonly nextDueAt: Date;
    readonly at: Date;
  }): Promise<boolean> {
    const result = await this.#db
      .updateTable('security_config')
      .set({ rotation_next_due_at: input.nextDueAt, rotation_last_due_at: input.dueAt, updated_at: input.at })
      .where('id', '=', SINGLETON_ID)
      .where('rotation_next_due_at', '=', input.dueAt)
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }
}

function toSchedule(row: Selectable<SecurityConfigTable> | undefined): RotationSchedule | null {
  if (row === undefined) {
    throw new Error('the security_config row is missing: run the database migrations');
  }
  if (
    row.rotation_interval_seconds === null ||
    row.rotation_next_due_at === null ||
    row.rotation_reason === null ||
    row.rotation_notice_lead_seconds === null
  ) {
    return null;
  }
  return {
    intervalSeconds: row.rotation_interval_seconds,
    gracePeriodSeconds: row.rotation_grace_period_seconds,
    reason: row.rotation_reason,
    noticeLeadSeconds: row.rotation_notice_lead_seconds,
    nextDueAt: row.rotation_next_due_at,
    noticeSentFor: row.rotation_notice_sent_for,
    lastDueAt: row.rotation_last_due_at,
  };
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
