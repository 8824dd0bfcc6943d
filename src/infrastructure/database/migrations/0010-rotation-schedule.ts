import { type Kysely, type Migration, sql } from 'kysely';

/**
 * Scheduled global rotation (docs/DESIGN.md §2): the schedule lives on the security_config row,
 * so the transaction that rotates locks it, checks `rotation_next_due_at` is still due
 * and moves it on, all in one commit. A timer on any number of instances only decides
 * when to try.
 *
 * `rotation_notice_sent_for` is the due time whose advance notice was written, and
 * `rotation_last_due_at` the due time last rotated for. The unique index on the audit
 * trail is the proof: a second scheduled rotation (or notice) for one due time cannot
 * commit, whatever the code above it does.
 */
export const rotationScheduleMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .alterTable('security_config')
      .addColumn('rotation_interval_seconds', 'integer', (c) => c.check(sql`rotation_interval_seconds > 0`))
      .addColumn('rotation_grace_period_seconds', 'integer', (c) =>
        c.check(sql`rotation_grace_period_seconds between 0 and 86400`),
      )
      .addColumn('rotation_reason', 'text')
      .addColumn('rotation_notice_lead_seconds', 'integer', (c) =>
        c.check(sql`rotation_notice_lead_seconds >= 0`),
      )
      .addColumn('rotation_next_due_at', 'timestamptz')
      .addColumn('rotation_notice_sent_for', 'timestamptz')
      .addColumn('rotation_last_due_at', 'timestamptz')
      .execute();
    // On, with everything it needs, or off: never half a schedule.
    await sql`alter table security_config add constraint security_config_rotation_schedule_whole check (
      (rotation_interval_seconds is null) = (rotation_next_due_at is null)
      and (rotation_interval_seconds is null) = (rotation_reason is null)
      and (rotation_interval_seconds is null) = (rotation_notice_lead_seconds is null)
    )`.execute(db);
    await sql`create unique index audit_log_schedule_once_idx on audit_log (action, (details->>'dueAt'))
      where actor = 'system:schedule'`.execute(db);
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await sql`drop index if exists audit_log_schedule_once_idx`.execute(db);
    await sql`alter table security_config drop constraint if exists security_config_rotation_schedule_whole`.execute(
      db,
    );
    await db.schema
      .alterTable('security_config')
      .dropColumn('rotation_interval_seconds')
      .dropColumn('rotation_grace_period_seconds')
      .dropColumn('rotation_reason')
      .dropColumn('rotation_notice_lead_seconds')
      .dropColumn('rotation_next_due_at')
      .dropColumn('rotation_notice_sent_for')
      .dropColumn('rotation_last_due_at')
      .execute();
  },
};
