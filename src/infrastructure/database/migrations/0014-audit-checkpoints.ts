import { type Kysely, type Migration, sql } from 'kysely';
import { GENESIS_HASH } from '../../../domain/audit-chain.js';

/**
 * Signed checkpoints of the audit chain (docs/DESIGN.md, "The audit hash chain"):
 * `audit_checkpoint_keys` holds the Ed25519 key that signs them (one row; its private JWK
 * sealed like the token signing keys, never a token key), `audit_checkpoints` every
 * checkpoint signed, one per seq (the primary key: two instances never store two), and
 * `audit_chain_anchor` the last row retention removed (seq 0 and the genesis hash until then),
 * with the checkpoint that vouches for it: the trail that remains starts there.
 */
export const auditCheckpointsMigration: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`create table audit_checkpoint_keys (
      kid text primary key,
      public_jwk jsonb not null,
      private_jwk text not null,
      created_at timestamptz not null
    )`.execute(db);
    await sql`create table audit_checkpoints (
      seq bigint primary key,
      hash text not null,
      signed_at timestamptz not null,
      kid text not null references audit_checkpoint_keys (kid),
      jws text not null
    )`.execute(db);
    await sql`create table audit_chain_anchor (
      id smallint primary key check (id = 1),
      seq bigint not null,
      hash text not null,
      checkpoint text,
      pruned_at timestamptz
    )`.execute(db);
    await sql`insert into audit_chain_anchor (id, seq, hash) values (1, 0, ${GENESIS_HASH})`.execute(db);
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('audit_chain_anchor').ifExists().execute();
    await db.schema.dropTable('audit_checkpoints').ifExists().execute();
    await db.schema.dropTable('audit_checkpoint_keys').ifExists().execute();
  },
};
