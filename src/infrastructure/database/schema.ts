import type { ColumnType, Generated, JSONColumnType, Selectable } from 'kysely';

/**
 * The one typed schema every query is checked against. Timestamps are
 * `timestamptz` and always written from the Clock port, never `now()`, so tests
 * can move time.
 */
export interface Database {
  readonly users: UsersTable;
  readonly security_config: SecurityConfigTable;
  readonly sessions: SessionsTable;
  readonly refresh_tokens: RefreshTokensTable;
  readonly audit_log: AuditLogTable;
  readonly audit_chain_head: AuditChainHeadTable;
  readonly audit_checkpoint_keys: AuditCheckpointKeysTable;
  readonly audit_checkpoints: AuditCheckpointsTable;
  readonly audit_chain_anchor: AuditChainAnchorTable;
  readonly outbox: OutboxTable;
  readonly signing_keys: SigningKeysTable;
  readonly webhook_deliveries: WebhookDeliveriesTable;
  readonly service_clients: ServiceClientsTable;
  readonly revocation_log: RevocationLogTable;
  readonly revocation_log_counter: RevocationLogCounterTable;
  readonly readiness_probe: ReadinessProbeTable;
}

/** One row `/ready` writes, to know the database takes writes (0012-readiness-probe.ts). */
export interface ReadinessProbeTable {
  id: number;
  probed_at: Timestamp;
}

type Timestamp = ColumnType<Date, Date, Date>;
type NullableTimestamp = ColumnType<Date | null, Date | null | undefined, Date | null>;

export interface UsersTable {
  id: string; // uuid
  email: string; // stored lower-cased, unique
  password_hash: string;
  role: 'user' | 'admin';
  min_token_version: Generated<number>;
  disabled_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface SecurityConfigTable {
  id: Generated<number>; // always 1 (singleton, check constraint)
  global_min_token_version: Generated<number>;
  grace_period_seconds: Generated<number>;
  last_rotation_at: NullableTimestamp;
  last_rotation_reason: string | null;
  grace_until: NullableTimestamp;
  updated_at: Timestamp;
  // The rotation schedule (migration 0010): all null while it is off.
  rotation_interval_seconds: number | null;
  rotation_grace_period_seconds: number | null;
  rotation_reason: string | null;
  rotation_notice_lead_seconds: number | null;
  rotation_next_due_at: NullableTimestamp;
  rotation_notice_sent_for: NullableTimestamp;
  rotation_last_due_at: NullableTimestamp;
}

export interface SessionsTable {
  id: string; // uuid
  user_id: string;
  created_at: Timestamp;
  last_used_at: Timestamp;
  expires_at: Timestamp; // absolute session age
  revoked_at: NullableTimestamp;
  revoked_reason: string | null;
  user_agent: string | null;
  ip: string | null;
}

export interface RefreshTokensTable {
  id: string; // uuid
  session_id: string;
  user_id: string;
  token_hash: string; // hex SHA-256 of the presented value; unique index
  user_version: number;
  global_version: number;
  created_at: Timestamp;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
  parent_id: string | null;
  successor_id: string | null;
  /** base64url(version | salt | nonce | ciphertext | tag), sealed under HKDF(parent plaintext) */
  successor_sealed: string | null;
}

export interface AuditLogTable {
  id: Generated<string>; // bigserial; pg returns int8 as string
  occurred_at: Timestamp;
  actor: string;
  action: string;
  user_id: string | null; // the subject user, when there is one
  reason: string | null;
  details: JSONColumnType<Record<string, unknown>>;
  // bigint: the row's place in the hash chain (0013-audit-chain.ts); the three are null while
  // the row waits for the chainer (0015-audit-chain-at-commit.ts)
  seq: string | null;
  prev_hash: string | null;
  hash: string | null;
}

/** The audit chain's last link, locked by every audit write (0013-audit-chain.ts). */
export interface AuditChainHeadTable {
  id: number;
  seq: string; // bigint
  hash: string;
  prev_hash: string;
  /** The last row chained by the upgrade that introduced the chain (0: none). */
  upgrade_seq: string;
  upgraded_at: Timestamp;
}

/** The one Ed25519 key that signs audit checkpoints (0014-audit-checkpoints.ts): never a token key. */
export interface AuditCheckpointKeysTable {
  kid: string;
  public_jwk: JSONColumnType<Record<string, unknown>>;
  /** The private JWK as JSON, or `tw-sealed:v1:…` when TOKENWARDEN_MASTER_KEY is set. */
  private_jwk: string;
  created_at: Timestamp;
}

/** Every signed checkpoint of the audit chain, one per seq (0014-audit-checkpoints.ts). */
export interface AuditCheckpointsTable {
  seq: string; // bigint
  hash: string;
  signed_at: Timestamp;
  kid: string;
  /** The compact JWS, as sent out. */
  jws: string;
}

/** The last audit row retention removed, and the checkpoint that signs it (0014-audit-checkpoints.ts). */
export interface AuditChainAnchorTable {
  id: number;
  seq: string; // bigint: 0 until a segment is pruned
  hash: string;
  /** The stored checkpoint at `seq` (compact JWS), null until a segment is pruned. */
  checkpoint: string | null;
  pruned_at: NullableTimestamp;
}

export interface OutboxTable {
  id: string; // uuid, the webhook idempotency key
  event_type: string;
  payload: JSONColumnType<Record<string, unknown>>;
  occurred_at: Timestamp;
  published_at: NullableTimestamp;
  attempts: Generated<number>;
  next_attempt_at: Timestamp;
  last_error: string | null;
  dead_at: NullableTimestamp;
}

export interface SigningKeysTable {
  kid: string;
  algorithm: string; // 'EdDSA'
  public_jwk: JSONColumnType<Record<string, unknown>>;
  /** The private JWK as JSON, or `tw-sealed:v1:…` (AES-256-GCM) when TOKENWARDEN_MASTER_KEY is set. */
  private_jwk: string;
  status: 'active' | 'verifying' | 'retired';
  created_at: Timestamp;
  /** When the key stopped signing (rotated out or retired); it verifies for one access-token TTL more. */
  deactivated_at: NullableTimestamp;
  retired_at: NullableTimestamp;
}

/** One outbox event's delivery to one webhook URL (migration 0003). */
export interface WebhookDeliveriesTable {
  id: string; // uuid
  event_id: string; // outbox.id, the idempotency key receivers see
  url: string;
  state: 'pending' | 'delivered' | 'dead';
  attempts: Generated<number>;
  next_attempt_at: Timestamp;
  last_attempt_at: NullableTimestamp;
  last_status: number | null; // HTTP status of the last answer, null when none came
  last_error: string | null;
  delivered_at: NullableTimestamp;
  dead_at: NullableTimestamp;
  created_at: Timestamp;
}

/** A credential services present to the revocation feed (migration 0006). */
export interface ServiceClientsTable {
  id: string; // uuid, the client id (printed with the secret)
  name: string; // a label, not unique
  secret_hash: string; // hex SHA-256 of the `twc_…` secret; unique index
  created_at: Timestamp;
  created_by: string;
  revoked_at: NullableTimestamp;
  revoked_by: string | null;
}

/** One change that makes access tokens invalid (migration 0007); `seq` from the counter row. */
export interface RevocationLogTable {
  /** bigint: node-postgres reads it as a string, PGlite as a bigint. */
  seq: ColumnType<string | bigint | number, number, never>;
  kind: string;
  user_id: string | null;
  session_id: string | null;
  kid: string | null;
  details: JSONColumnType<Record<string, unknown>>;
  occurred_at: Timestamp;
}

/** The single row whose lock orders feed writers by commit (migration 0007). */
export interface RevocationLogCounterTable {
  id: number;
  last_seq: ColumnType<string | bigint | number, number, number>;
}

export type UserRow = Selectable<UsersTable>;
export type SessionRow = Selectable<SessionsTable>;
export type RefreshTokenRow = Selectable<RefreshTokensTable>;
export type AuditRow = Selectable<AuditLogTable>;
export type ServiceClientRow = Selectable<ServiceClientsTable>;
