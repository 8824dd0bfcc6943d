/**
 * Query parameters shown as they are: they say how to connect, never with what. Every other
 * parameter's value is masked, since drivers take credentials there too (`password`,
 * `sslpassword`, `sslkey`, a Redis URL's `password`, …) and a list of secret names would
 * always miss one.
 */
const PLAIN_PARAMETERS: ReadonlySet<string> = new Set([
  'application_name',
  'connect_timeout',
  'db',
  'family',
  'host',
  'options',
  'port',
  'schema',
  'ssl',
  'sslmode',
  'target_session_attrs',
  'tls',
]);

/** What stands in for a secret. */
const MASK = '***';

/**
 * A connection URL (`DATABASE_URL`, `REDIS_URL`) fit for a message or a log line: the password
 * of the user-info part and the value of every query parameter that is not plainly about
 * connecting replaced by `***`; scheme, user, host, port, database and path kept, so the
 * operator sees which server was meant. A value that is not a URL may still hold a password:
 * only its scheme is shown.
 *
 * @example
 * redactUrl('postgres://app:s3cret@db:5432/prod?sslmode=require&password=x');
 * // 'postgres://app:***@db:5432/prod?sslmode=require&password=***'
 */
export function redactUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(raw)?.[1];
    return scheme === undefined ? '(not a parseable URL)' : `${scheme}:… (not a parseable URL)`;
  }
  if (url.password !== '') url.password = MASK;
  for (const name of new Set(url.searchParams.keys())) {
    if (!PLAIN_PARAMETERS.has(name.toLowerCase())) url.searchParams.set(name, MASK);
  }
  // URLSearchParams writes `*` as is and the rest percent-encoded; the mask stays readable.
  return url.href.replaceAll('%2A', '*');
}
