import type { Kysely } from 'kysely';
import { CHAIN_BATCH, chainPendingBatch } from '../../src/infrastructure/audit/audit-chainer.js';
import type { Database } from '../../src/infrastructure/database/schema.js';

/**
 * Chains every pending audit row now, as the chainer would after a commit (docs/DESIGN.md,
 * "The audit hash chain"): tests that edit rows by seq, or count the chain, call it first.
 */
export async function chainAuditRows(db: Kysely<Database>): Promise<number> {
  let total = 0;
  for (;;) {
    const chained = await chainPendingBatch(db);
    total += chained;
    if (chained < CHAIN_BATCH) return total;
  }
}
