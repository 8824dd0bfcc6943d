import type { Kysely } from 'kysely';
import type { Repositories } from '../../../application/ports/repositories.js';
import type { Database } from '../schema.js';
import { KyselyAuditRepository } from './kysely-audit-repository.js';
import { KyselyOutboxRepository } from './kysely-outbox-repository.js';
import { KyselyRefreshTokenRepository } from './kysely-refresh-token-repository.js';
import { KyselySecurityConfigRepository } from './kysely-security-config-repository.js';
import { KyselySessionRepository } from './kysely-session-repository.js';
import { KyselyUserRepository } from './kysely-user-repository.js';

/** Every repository bound to one executor: a transaction, or the database itself for reads. */
export function createKyselyRepositories(db: Kysely<Database>): Repositories {
  return Object.freeze({
    users: new KyselyUserRepository(db),
    securityConfig: new KyselySecurityConfigRepository(db),
    sessions: new KyselySessionRepository(db),
    refreshTokens: new KyselyRefreshTokenRepository(db),
    audit: new KyselyAuditRepository(db),
    outbox: new KyselyOutboxRepository(db),
  });
}
