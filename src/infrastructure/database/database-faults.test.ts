import { describe, expect, it } from 'vitest';
import { ServiceUnavailableError } from '../../domain/errors.js';
import { asUnavailable, databaseFault, QueryTimeoutError } from './database-faults.js';

const pgError = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('databaseFault', () => {
  it.each([
    ['25006', true, 'read-only'],
    ['53100', false, 'out of disk space'],
    ['57014', false, 'past its timeout'],
    ['55P03', false, 'lock was not granted'],
    ['57P01', true, 'shutting down'],
    ['08006', true, 'connection to the database failed'],
    ['08P01', true, 'connection to the database failed'],
    ['40001', false, 'contention'],
  ])('SQLSTATE %s is unavailable (discard the connection: %s)', (code, discard, detail) => {
    const fault = databaseFault(pgError(code));
    expect(fault?.discard).toBe(discard);
    expect(fault?.detail).toContain(detail);
  });

  it.each(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'])(
    'a socket error %s is unavailable, its connection discarded',
    (code) => {
      expect(databaseFault(pgError(code))).toMatchObject({ discard: true });
    },
  );

  it('knows node-postgres messages for a lost or never made connection, and its own timeout', () => {
    expect(databaseFault(new Error('Connection terminated unexpectedly'))).toMatchObject({ discard: true });
    expect(databaseFault(new Error('timeout exceeded when trying to connect'))).toMatchObject({
      discard: true,
    });
    expect(databaseFault(new QueryTimeoutError(6_000))).toMatchObject({ discard: true });
  });

  it('leaves ordinary errors alone: constraints, syntax, bugs', () => {
    for (const code of ['23505', '23503', '42601', '42P01', '22P02'])
      expect(databaseFault(pgError(code))).toBeNull();
    expect(databaseFault(new TypeError('x is undefined'))).toBeNull();
    expect(databaseFault(null)).toBeNull();
  });
});

describe('asUnavailable', () => {
  it('turns a fault into a 503 error keeping the driver error as its cause, once', () => {
    const cause = pgError('53100', 'could not extend file: No space left on device');
    const error = asUnavailable(cause);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect(error).toMatchObject({ status: 503, code: 'service_unavailable', dependency: 'database', cause });
    // The driver's message (which may name tables or values) is not the client's detail.
    expect((error as Error).message).not.toContain('No space left');
    expect(asUnavailable(error)).toBe(error);
  });

  it('passes other errors through untouched', () => {
    const unique = pgError('23505');
    expect(asUnavailable(unique)).toBe(unique);
  });
});
