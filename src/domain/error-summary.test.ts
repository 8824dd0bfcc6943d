import { describe, expect, it } from 'vitest';
import { errorSummary } from './error-summary.js';

describe('errorSummary', () => {
  it('is the first line of the message, with a code the message does not name', () => {
    expect(errorSummary(Object.assign(new Error('connect failed\nat …'), { code: 'ECONNREFUSED' }))).toBe(
      'connect failed (ECONNREFUSED)',
    );
    expect(errorSummary(Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' }))).toBe(
      'listen EADDRINUSE',
    );
    expect(errorSummary(new TypeError(''))).toBe('TypeError');
    expect(errorSummary('plain')).toBe('plain');
  });

  it('reads an AggregateError by its first error', () => {
    const first = Object.assign(new Error('connect ECONNREFUSED ::1:5432'), { code: 'ECONNREFUSED' });
    expect(errorSummary(new AggregateError([first, new Error('second')]))).toBe(
      'connect ECONNREFUSED ::1:5432',
    );
  });
});
