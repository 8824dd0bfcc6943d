/**
 * An error as one line for an operator: the first line of its message (its name when the
 * message is empty), with its `code` when it has one the message does not already name; an
 * AggregateError (a connection tried on several addresses) by its first error.
 *
 * @example
 * errorSummary(Object.assign(new Error('connect failed'), { code: 'ECONNREFUSED' })); // 'connect failed (ECONNREFUSED)'
 */
export function errorSummary(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return errorSummary(error.errors[0]);
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const message = error.message.split('\n')[0] || error.name;
  return typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message;
}
