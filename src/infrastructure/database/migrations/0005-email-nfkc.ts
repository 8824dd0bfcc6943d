import { type Kysely, type Migration, sql } from 'kysely';

// Frozen copy of the rule this migration brings rows to (domain/credentials.ts may move on).
const nfkcLower = (email: string) => email.normalize('NFKC').toLowerCase().normalize('NFKC').trim();

/**
 * Emails were stored trimmed and lower-cased; lookups now compare NFKC + lower-cased
 * forms. ASCII addresses (nearly all) are the same in both, so only non-ASCII rows are
 * read, and one whose new form differs is rewritten, so its owner still logs in with it.
 * A row whose new form another account already holds (`ａlice@…` beside `alice@…`) is
 * left as it is: the login for that address reaches the other account, and an operator
 * decides (SECURITY.md, "Look-alike emails").
 */
export const emailNfkcMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    const { rows } = await sql<{ id: string; email: string }>`
      select id, email from users where email !~ '^[ -~]*$' order by created_at, id`.execute(db);
    for (const row of rows) {
      const email = nfkcLower(row.email);
      if (email === row.email) continue;
      // lower() guard: the column's check (email = lower(email)) must hold for the database's own lower().
      await sql`
        update users set email = ${email}
        where id = ${row.id} and ${email} = lower(${email})
          and not exists (select 1 from users where email = ${email})`.execute(db);
    }
  },
};
