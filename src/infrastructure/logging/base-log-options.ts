import { type LoggerOptions, stdTimeFunctions } from 'pino';

/**
 * What every logger of tokenwarden's shares: the level and an ISO-8601 `time` (UTC), which
 * an operator reads without converting epoch milliseconds.
 *
 * @example
 * const log = pino(baseLogOptions('info', 'database'));
 * log.warn('…'); // {"level":40,"time":"2026-12-06T12:00:00.000Z",…,"name":"database","msg":"…"}
 */
export function baseLogOptions(level: string, name?: string): LoggerOptions {
  return { level, ...(name === undefined ? {} : { name }), timestamp: stdTimeFunctions.isoTime };
}
