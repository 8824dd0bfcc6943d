import { TokenwardenError, validationError } from './errors.js';
import { err, ok, type Result } from './result.js';
import { firstControlOrFormat } from './text.js';

/** The longest service-client name, in characters, after trimming. */
export const SERVICE_CLIENT_NAME_MAX_LENGTH = 100;

/**
 * A credential another service presents to read the revocation feed (and, later,
 * introspection). Only the SHA-256 of its secret is stored; the secret is shown once.
 */
export interface ServiceClientRecord {
  readonly id: string;
  /** A label for people (`orders-api`); not unique, so a credential can be replaced under the same name. */
  readonly name: string;
  /** Hex SHA-256 of the secret. */
  readonly secretHash: string;
  readonly createdAt: Date;
  /** Who created it: an admin's user id or `cli:<os user>`. */
  readonly createdBy: string;
  readonly revokedAt: Date | null;
  readonly revokedBy: string | null;
}

/**
 * A service-client name: trimmed, 1..100 characters of visible text, no control or
 * format character (operators read names in a terminal and in the audit log).
 *
 * @example
 * parseServiceClientName('  orders-api '); // ok('orders-api')
 */
export function parseServiceClientName(raw: unknown): Result<string, TokenwardenError> {
  const problem = (message: string): Result<never, TokenwardenError> =>
    err(validationError([{ path: '/name', message }], `name ${message}`));
  if (typeof raw !== 'string') return problem('is required');
  const name = raw.trim();
  if (name.length === 0) return problem('must not be empty');
  if ([...name].length > SERVICE_CLIENT_NAME_MAX_LENGTH)
    return problem(`must be at most ${SERVICE_CLIENT_NAME_MAX_LENGTH} characters`);
  const hidden = firstControlOrFormat(name);
  if (hidden !== null) return problem(`must not contain control or format characters (found ${hidden})`);
  return ok(name);
}

/** What lists and answers show of a client: everything but the secret's hash. */
export type ServiceClientView = Omit<ServiceClientRecord, 'secretHash'>;

export function toServiceClientView(client: ServiceClientRecord): ServiceClientView {
  const { secretHash: _hidden, ...view } = client;
  return view;
}

/** No service client has this id: the one answer handlers and routes give. */
export function serviceClientNotFound(id: string): TokenwardenError {
  return new TokenwardenError(
    'service_client_not_found',
    `No service client with id ${JSON.stringify(id.slice(0, 100))}`,
  );
}
