import { Writable } from 'node:stream';

/**
 * A log destination that keeps every line in memory, for tests that search what was logged.
 *
 * @example
 * const { lines, sink } = captureLogs();
 * await createTokenwarden(config, { logger: { ...(loggerOptions('trace') as object), stream: sink }, logStream: sink });
 */
export function captureLogs(): { readonly lines: string[]; readonly sink: Writable } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, sink };
}
