import type { Kysely } from 'kysely';
import type { Repositories } from '../../../application/ports/repositories.js';
import type { Database } from '../schema.js';
import { type AuditRecorder, KyselyAuditRepository } from './kysely-audit-repository.js';
import { KyselyOutboxRepository } from './kysely-outbox-repository.js';
import { KyselyRefreshTokenRepository } from './kysely-refresh-token-repository.js';
import {
  ImmediateRevocations,
  KyselyRevocationLogRepository,
  type RevocationRecorder,
} from './kysely-revocation-log.js';
import { KyselySecurityConfigRepository } from './kysely-security-config-repository.js';
import { KyselyServiceClientRepository } from './kysely-service-client-repository.js';
import { KyselySessionRepository } from './kysely-session-repository.js';
import {
  KyselySigningKeyRepository,
  type SigningKeyRepositoryOptions,
} from './kysely-signing-key-repository.js';
import { KyselyUserRepository } from './kysely-user-repository.js';

export interface KyselyRepositoryOptions {
  /** Master-key sealing and access-token TTL for `signingKeys`; plaintext and 900 s when absent. */
  readonly signingKeys?: SigningKeyRepositoryOptions;
}

/**
 * Every repository bound to one executor: a transaction, or the database itself for reads.
 * The repositories that change versions, sessions or keys write the revocation feed's row
 * through `revocations`, and audit rows go through `audit` (the unit of work passes ones that
 * write at the end of its transaction; without them each is written at once).
 */
export function createKyselyRepositories(
  db: Kysely<Database>,
  options: KyselyRepositoryOptions = {},
  revocations: RevocationRecorder = new ImmediateRevocations(db),
  audit?: AuditRecorder,
): Repositories {
  return Object.freeze({
    users: new KyselyUserRepository(db, revocations),
    securityConfig: new KyselySecurityConfigRepository(db, revocations),
    sessions: new KyselySessionRepository(db, revocations),
    refreshTokens: new KyselyRefreshTokenRepository(db),
    audit: new KyselyAuditRepository(db, audit),
    outbox: new KyselyOutboxRepository(db),
    serviceClients: new KyselyServiceClientRepository(db),
    signingKeys: new KyselySigningKeyRepository(db, options.signingKeys, revocations),
    revocations: new KyselyRevocationLogRepository(db),
  });
}
