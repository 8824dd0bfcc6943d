import type { AccessStateReader } from './ports/access-state-reader.js';
import type { AccessTokenSigner } from './ports/access-token-signer.js';
import type { Clock } from './ports/clock.js';
import type { ServiceMetrics } from './ports/metrics.js';
import type { PasswordHasher } from './ports/password-hasher.js';
import type { RejectionRecorder } from './ports/rejection-recorder.js';
import type { SigningKeyCache } from './ports/signing-key-cache.js';
import type { SuccessorSealer } from './ports/successor-sealer.js';
import type { TokenGenerator } from './ports/token-generator.js';
import type { UnitOfWork } from './ports/unit-of-work.js';
import type { VersionChangeListener } from './ports/version-change-listener.js';
import type { VersionHighWaterMark } from './ports/version-high-water-mark.js';
import type { TokenPolicy } from './token-policy.js';

/** The ports every handler may use; built once by the composition root. */
export interface AppContext {
  readonly uow: UnitOfWork;
  readonly clock: Clock;
  readonly tokens: TokenGenerator;
  readonly hasher: PasswordHasher;
  readonly sealer: SuccessorSealer;
  readonly signer: AccessTokenSigner;
  readonly metrics: ServiceMetrics;
  readonly versionListener: VersionChangeListener;
  /** This instance's signing keys: reloaded after a key change commits. */
  readonly keys: SigningKeyCache;
  /** Current versions and user/session state for the bearer check (cached in memory). */
  readonly accessState: AccessStateReader;
  /** Counts rotation rejections; rolled up into one outbox event a minute, not a row per request. */
  readonly rejections: RejectionRecorder;
  readonly policy: TokenPolicy;
  /** The highest versions this instance knows were in force: a database below them lost writes. */
  readonly versionMarks: VersionHighWaterMark;
}
