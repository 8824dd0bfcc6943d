import { randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { KyselyUserRepository } from '../../src/infrastructure/database/repositories/kysely-user-repository.js';
import type { Database } from '../../src/infrastructure/database/schema.js';

/** A user row with a unique email (`<prefix>-<random>@example.com`), for repository tests; returns its id. */
export async function insertTestUser(db: Kysely<Database>, prefix: string, createdAt: Date): Promise<string> {
  const id = randomUUID();
  await new KyselyUserRepository(db).insert({
    id,
    email: `${prefix}-${randomBytes(6).toString('hex')}@example.com`,
    passwordHash: 'h',
    role: 'user',
    createdAt,
  });
  return id;
}
