export interface AuditEntry {
  readonly occurredAt: Date;
  readonly actor: string;
  readonly action: string;
  readonly userId: string | null;
  readonly reason: string | null;
  readonly details: Readonly<Record<string, unknown>>;
}

export interface AuditRecord extends AuditEntry {
  readonly id: string;
}
