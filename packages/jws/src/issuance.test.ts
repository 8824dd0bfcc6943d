import { describe, expect, it } from 'vitest';
import { issuanceRefusal, MAX_ISSUED_AT_SKEW_SECONDS } from './issuance.js';

const NOW = 1_900_000_000;
const TTL = 900;
const HELD = { userVersion: 3, globalVersion: 2 };

// The table of cases both callers answer alike is test/verifier/issuance-parity.test.ts.
describe('issuanceRefusal', () => {
  it('allows iat up to MAX_ISSUED_AT_SKEW_SECONDS ahead, or maxSkewSeconds when given', () => {
    const dated = (ahead: number) => ({ iat: NOW + ahead, exp: NOW + ahead + TTL, ver: 3, gver: 2 });
    expect(issuanceRefusal(dated(MAX_ISSUED_AT_SKEW_SECONDS), HELD, TTL, NOW)).toBeNull();
    expect(issuanceRefusal(dated(MAX_ISSUED_AT_SKEW_SECONDS + 1), HELD, TTL, NOW)).toBe('issued_in_future');
    expect(issuanceRefusal(dated(5), HELD, TTL, NOW, 5)).toBeNull();
    expect(issuanceRefusal(dated(6), HELD, TTL, NOW, 5)).toBe('issued_in_future');
  });

  it('leaves the user version alone when the checker does not know it', () => {
    const token = { iat: NOW, exp: NOW + TTL, ver: 7, gver: 2 };
    expect(issuanceRefusal(token, { userVersion: undefined, globalVersion: 2 }, TTL, NOW)).toBeNull();
    expect(issuanceRefusal(token, HELD, TTL, NOW)).toBe('stamp_above_current');
  });
});
