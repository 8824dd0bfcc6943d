import type { AuditRepository } from './audit-repository.js';
import type { OutboxRepository } from './outbox-repository.js';
import type { RefreshTokenRepository } from './refresh-token-repository.js';
import type { RevocationLogRepository } from './revocation-log.js';
import type { SecurityConfigRepository } from './security-config-repository.js';
import type { ServiceClientRepository } from './service-client-repository.js';
import type { SessionRepository } from './session-repository.js';
import type { SigningKeyRepository } from './signing-key-repository.js';
import type { UserRepository } from './user-repository.js';

/** Everything a unit of work can touch, bound to one transaction (or none, for reads). */
export interface Repositories {
  readonly users: UserRepository;
  readonly securityConfig: SecurityConfigRepository;
  readonly sessions: SessionRepository;
  readonly refreshTokens: RefreshTokenRepository;
  readonly audit: AuditRepository;
  readonly outbox: OutboxRepository;
  readonly signingKeys: SigningKeyRepository;
  readonly serviceClients: ServiceClientRepository;
  /** The revocation feed (read side; the writes come with the changes themselves). */
  readonly revocations: RevocationLogRepository;
}
