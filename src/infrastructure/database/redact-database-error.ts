import { stdSerializers } from 'pino';

/**
 * Members of a driver's error that can carry the values of a statement: PGlite's
 * `params` (and `queryOptions`), a `parameters` list some drivers attach, and
 * PostgreSQL's `detail`, which quotes the failing row ("Failing row contains (…, $argon2id$…)")
 * or key ("Key (email)=(…) already exists"). The SQL text itself is parameterised and stays.
 */
const VALUE_MEMBERS = ['params', 'parameters', 'queryOptions', 'detail'] as const;

/** Removes from a database error, in place, what only its logging would expose: the query's parameters. */
export function stripQueryParameters(error: unknown): void {
  if (error === null || typeof error !== 'object') return;
  for (const key of ['params', 'parameters', 'queryOptions']) {
    if (key in error) delete (error as Record<string, unknown>)[key];
  }
}

type SerializedError = ReturnType<typeof stdSerializers.err>;

/**
 * pino's `err` serializer without the members that can hold a statement's values (and the
 * same for each `cause`): every logger of the service uses it, so a failed statement is
 * logged with its code, constraint and SQL, never with a password hash or a row.
 */
function redactingErrSerializer(error: Error): SerializedError {
  const serialized = stdSerializers.err(error) as SerializedError & Record<string, unknown>;
  redactSerialized(serialized);
  return serialized;
}

function redactSerialized(serialized: Record<string, unknown>, depth = 0): void {
  for (const key of VALUE_MEMBERS) {
    if (serialized[key] !== undefined) serialized[key] = '[redacted]';
  }
  const cause = serialized.cause;
  if (cause !== null && typeof cause === 'object' && depth < 8) {
    redactSerialized(cause as Record<string, unknown>, depth + 1);
  }
}

/** The serializers every pino logger of tokenwarden is created with. */
export const logSerializers = { err: redactingErrSerializer } as const;
