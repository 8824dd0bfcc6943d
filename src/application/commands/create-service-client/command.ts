/**
 * Create a service client: a credential another service presents to the revocation
 * feed. The secret is in the result once and never again (only its SHA-256 is stored).
 *
 * @example
 * const command = CreateServiceClient({ name: 'orders-api', actor: 'cli:alice' });
 */
export interface CreateServiceClient {
  /** A label: trimmed, 1..100 characters, no control or format character. */
  readonly name: string;
  /** An admin's user id, or `cli:<os user>`. */
  readonly actor: string;
}

export const CreateServiceClient = (fields: CreateServiceClient): CreateServiceClient =>
  Object.freeze({ ...fields });
