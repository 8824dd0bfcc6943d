const SECRET_PARAMETERS = ['password', 'sslpassword'] as const;

/**
 * A `DATABASE_URL` fit for a message or a log line: the password (in the user-info part
 * or as a `password`/`sslpassword` parameter) replaced by `***`, the rest kept so the
 * operator sees which host, port, database and user were meant.
 *
 * @example
 * redactDatabaseUrl('postgres://app:s3cret@db:5432/prod'); // 'postgres://app:***@db:5432/prod'
 */
export function redactDatabaseUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Not a URL at all: nothing of it can be shown without risking the password.
    return 'DATABASE_URL (not a parseable URL)';
  }
  if (parsed.password !== '') parsed.password = '***';
  for (const name of SECRET_PARAMETERS) {
    if (parsed.searchParams.has(name)) parsed.searchParams.set(name, '***');
  }
  return parsed.toString();
}
