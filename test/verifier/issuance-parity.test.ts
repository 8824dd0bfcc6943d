import { issuanceRefusal } from '@tokenwarden/jws';
import { describe, expect, it } from 'vitest';
import { checkIssuance } from '../../src/domain/token-validity.js';

const NOW = 1_900_000_000;
const TTL = 900;

/**
 * One table through the issuance rule of @tokenwarden/jws as the verifier package calls it
 * and through the server's `checkIssuance` over it, so the server's mapping of its stamp and
 * versions onto the rule (`ver` is the user's, `gver` the global one) cannot drift either.
 */
const cases = [
  ['a token as issued', { iat: NOW, exp: NOW + TTL, ver: 3, gver: 2 }, null],
  ['dated ahead within the skew', { iat: NOW + 30, exp: NOW + 30 + TTL, ver: 3, gver: 2 }, null],
  ['dated 31 s ahead', { iat: NOW + 31, exp: NOW + 31 + TTL, ver: 3, gver: 2 }, 'issued_in_future'],
  ['dated 10 minutes ahead', { iat: NOW + 600, exp: NOW + 600 + TTL, ver: 3, gver: 2 }, 'issued_in_future'],
  ['signed for the TTL + 1 s', { iat: NOW, exp: NOW + TTL + 1, ver: 3, gver: 2 }, 'lifetime_exceeds_ttl'],
  [
    'an old stamp (the rotation rule refuses it, not this one)',
    { iat: NOW, exp: NOW + TTL, ver: 1, gver: 1 },
    null,
  ],
  ['a user version above the current', { iat: NOW, exp: NOW + TTL, ver: 4, gver: 2 }, 'stamp_above_current'],
  [
    'a global version above the current',
    { iat: NOW, exp: NOW + TTL, ver: 3, gver: 3 },
    'stamp_above_current',
  ],
  [
    'an old user version with a global version above the current',
    { iat: NOW, exp: NOW + TTL, ver: 2, gver: 3 },
    'stamp_above_current',
  ],
  [
    'dated ahead and stamped above',
    { iat: NOW + 600, exp: NOW + 600 + TTL, ver: 9, gver: 9 },
    'issued_in_future',
  ],
] as const;

describe('the issuer bounds an access token the same on the server and in the verifier', () => {
  it.each(cases)('%s', (_what, token, expected) => {
    const server = checkIssuance(
      { iat: token.iat, exp: token.exp, stamp: { userVersion: token.ver, globalVersion: token.gver } },
      { userMinTokenVersion: 3, globalMinTokenVersion: 2 },
      { ttlSeconds: TTL },
      new Date(NOW * 1000),
    );
    const verifier = issuanceRefusal(token, { userVersion: 3, globalVersion: 2 }, TTL, NOW);
    expect(server.plausible ? null : server.reason).toBe(expected);
    expect(verifier).toBe(expected);
  });

  it('leaves a user version alone in the verifier when the feed showed no change of that user', () => {
    expect(
      issuanceRefusal(
        { iat: NOW, exp: NOW + TTL, ver: 7, gver: 2 },
        { userVersion: undefined, globalVersion: 2 },
        TTL,
        NOW,
      ),
    ).toBeNull();
  });
});
