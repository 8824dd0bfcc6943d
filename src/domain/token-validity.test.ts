import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkIssuance,
  checkRefreshToken,
  checkVersionStamp,
  MAX_ISSUED_AT_SKEW_SECONDS,
  type RefreshTokenFacts,
  rejectionToError,
} from './token-validity.js';

const T0 = Date.UTC(2026, 0, 1);
const at = (ms: number) => new Date(T0 + ms);

const version = fc.integer({ min: 1, max: 1_000_000 });
const offset = fc.integer({ min: -10 * 86_400_000, max: 10 * 86_400_000 });

describe('checkVersionStamp (docs/DESIGN.md §1, rules 3 and 4)', () => {
  it('accepts any stamp at or above both current versions', () => {
    fc.assert(
      fc.property(
        version,
        version,
        fc.nat(5),
        fc.nat(5),
        fc.option(offset),
        offset,
        (u, g, du, dg, grace, now) => {
          const v = checkVersionStamp(
            { userVersion: u + du, globalVersion: g + dg },
            {
              userMinTokenVersion: u,
              globalMinTokenVersion: g,
              graceUntil: grace === null ? null : at(grace),
            },
            at(now),
          );
          expect(v.valid).toBe(true);
        },
      ),
    );
  });

  it('rejects a user stamp below the user minimum, whatever the grace (no grace for users, ever)', () => {
    fc.assert(
      fc.property(
        version,
        fc.integer({ min: 1, max: 50 }),
        version,
        fc.option(offset),
        offset,
        (u, behind, g, grace, now) => {
          const v = checkVersionStamp(
            { userVersion: u, globalVersion: g },
            {
              userMinTokenVersion: u + behind,
              globalMinTokenVersion: g,
              graceUntil: grace === null ? null : at(grace),
            },
            at(now),
          );
          expect(v).toEqual({
            valid: false,
            reason: 'user_rotation',
            tokenVersion: u,
            requiredVersion: u + behind,
          });
        },
      ),
    );
  });

  it('accepts a one-behind global stamp exactly while now < graceUntil', () => {
    fc.assert(
      fc.property(version, offset, offset, (g, grace, now) => {
        const v = checkVersionStamp(
          { userVersion: 1, globalVersion: g },
          { userMinTokenVersion: 1, globalMinTokenVersion: g + 1, graceUntil: at(grace) },
          at(now),
        );
        expect(v.valid).toBe(now < grace);
        if (!v.valid)
          expect(v).toMatchObject({ reason: 'global_rotation', tokenVersion: g, requiredVersion: g + 1 });
      }),
    );
  });

  it('rejects a global stamp two or more behind at once, even inside a grace window', () => {
    fc.assert(
      fc.property(version, fc.integer({ min: 2, max: 100 }), offset, (g, behind, now) => {
        const v = checkVersionStamp(
          { userVersion: 1, globalVersion: g },
          { userMinTokenVersion: 1, globalMinTokenVersion: g + behind, graceUntil: at(now + 86_400_000) },
          at(now),
        );
        expect(v).toMatchObject({ valid: false, reason: 'global_rotation', requiredVersion: g + behind });
      }),
    );
  });

  it('rejects a one-behind stamp when no rotation ever opened a grace window', () => {
    const v = checkVersionStamp(
      { userVersion: 1, globalVersion: 1 },
      { userMinTokenVersion: 1, globalMinTokenVersion: 2, graceUntil: null },
      at(0),
    );
    expect(v.valid).toBe(false);
  });

  it('checks the user version before the global one', () => {
    const v = checkVersionStamp(
      { userVersion: 1, globalVersion: 1 },
      { userMinTokenVersion: 2, globalMinTokenVersion: 5, graceUntil: null },
      at(0),
    );
    expect(v).toMatchObject({ reason: 'user_rotation' });
  });
});

describe('checkRefreshToken', () => {
  const facts = (over: Partial<RefreshTokenFacts> = {}): RefreshTokenFacts => ({
    token: { expiresAt: at(1000), revokedAt: null, stamp: { userVersion: 1, globalVersion: 1 } },
    session: { revokedAt: null, expiresAt: at(2000) },
    user: { minTokenVersion: 1, disabledAt: null },
    globalMinTokenVersion: 1,
    graceUntil: null,
    ...over,
  });

  it('accepts a live token of a live user in a live session', () => {
    expect(checkRefreshToken(facts(), at(0))).toEqual({ valid: true });
  });

  it.each([
    [
      'token_revoked',
      facts({
        token: { expiresAt: at(1000), revokedAt: at(-1), stamp: { userVersion: 1, globalVersion: 1 } },
      }),
    ],
    ['session_revoked', facts({ session: { revokedAt: at(-1), expiresAt: at(2000) } })],
    [
      'token_expired',
      facts({ token: { expiresAt: at(0), revokedAt: null, stamp: { userVersion: 1, globalVersion: 1 } } }),
    ],
    ['session_expired', facts({ session: { revokedAt: null, expiresAt: at(0) } })],
    ['user_missing', facts({ user: null })],
    ['user_disabled', facts({ user: { minTokenVersion: 1, disabledAt: at(-5) } })],
    ['user_rotation', facts({ user: { minTokenVersion: 2, disabledAt: null } })],
    ['global_rotation', facts({ globalMinTokenVersion: 2 })],
  ])('rejects with %s', (reason, f) => {
    expect(checkRefreshToken(f, at(0))).toMatchObject({ valid: false, reason });
  });

  it('is pure: the same facts and time always give the same answer', () => {
    fc.assert(
      fc.property(
        version,
        version,
        version,
        version,
        fc.option(offset),
        offset,
        (tu, tg, mu, mg, grace, now) => {
          const f = facts({
            token: { expiresAt: at(1e12), revokedAt: null, stamp: { userVersion: tu, globalVersion: tg } },
            session: { revokedAt: null, expiresAt: at(1e12) },
            user: { minTokenVersion: mu, disabledAt: null },
            globalMinTokenVersion: mg,
            graceUntil: grace === null ? null : at(grace),
          });
          expect(checkRefreshToken(f, at(now))).toEqual(checkRefreshToken(f, at(now)));
        },
      ),
    );
  });
});

describe('rejectionToError', () => {
  it('answers rotations with token_rotated carrying the versions', () => {
    const error = rejectionToError({
      valid: false,
      reason: 'global_rotation',
      tokenVersion: 3,
      requiredVersion: 5,
    });
    expect(error.code).toBe('token_rotated');
    expect(error.status).toBe(401);
    expect(error.extensions).toEqual({ rejection: 'global_rotation', tokenVersion: 3, requiredVersion: 5 });
  });

  it('maps expiry to token_expired and everything else to token_revoked', () => {
    expect(rejectionToError({ valid: false, reason: 'session_expired' }).code).toBe('token_expired');
    expect(rejectionToError({ valid: false, reason: 'user_disabled' }).code).toBe('token_revoked');
  });
});

describe('checkIssuance: only what the issuer produces', () => {
  const ttl = fc.integer({ min: 30, max: 86_400 });
  const nowSeconds = fc.integer({ min: 1_700_000_000, max: 2_000_000_000 });
  const nowAt = (seconds: number, ms: number) => new Date(seconds * 1000 + ms);
  const ms = fc.integer({ min: 0, max: 999 });
  const SKEW = MAX_ISSUED_AT_SKEW_SECONDS;

  it('accepts every token the issuer could have signed: current-or-older stamps, at most the TTL, dated up to the skew ahead', () => {
    fc.assert(
      fc.property(
        ttl,
        nowSeconds,
        ms,
        fc.integer({ min: -86_400, max: SKEW }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        version,
        version,
        fc.nat(5),
        fc.nat(5),
        (ttlSeconds, now, frac, iatOffset, share, u, g, du, dg) => {
          const iat = now + iatOffset;
          const exp = iat + Math.floor(ttlSeconds * share);
          const issuance = checkIssuance(
            { iat, exp, stamp: { userVersion: u, globalVersion: g } },
            { userMinTokenVersion: u + du, globalMinTokenVersion: g + dg },
            { ttlSeconds },
            nowAt(now, frac),
          );
          expect(issuance).toEqual({ plausible: true });
        },
      ),
    );
  });

  it('refuses a user or global stamp above the current version, however far', () => {
    fc.assert(
      fc.property(
        version,
        version,
        fc.integer({ min: 1, max: 1_000 }),
        fc.boolean(),
        nowSeconds,
        (u, g, above, userSide, now) => {
          const issuance = checkIssuance(
            {
              iat: now,
              exp: now + 900,
              stamp: userSide
                ? { userVersion: u + above, globalVersion: g }
                : { userVersion: u, globalVersion: g + above },
            },
            { userMinTokenVersion: u, globalMinTokenVersion: g },
            { ttlSeconds: 900 },
            nowAt(now, 0),
          );
          expect(issuance).toEqual({ plausible: false, reason: 'stamp_above_current' });
        },
      ),
    );
  });

  it('refuses a lifetime longer than the TTL by even one second', () => {
    fc.assert(
      fc.property(ttl, nowSeconds, fc.integer({ min: 1, max: 10 * 86_400 }), (ttlSeconds, now, over) => {
        const issuance = checkIssuance(
          { iat: now, exp: now + ttlSeconds + over, stamp: { userVersion: 1, globalVersion: 1 } },
          { userMinTokenVersion: 1, globalMinTokenVersion: 1 },
          { ttlSeconds },
          nowAt(now, 0),
        );
        expect(issuance).toEqual({ plausible: false, reason: 'lifetime_exceeds_ttl' });
      }),
    );
  });

  it('refuses iat more than the skew ahead of now, before looking at anything else', () => {
    fc.assert(
      fc.property(nowSeconds, ms, fc.integer({ min: 1, max: 10 * 86_400 }), (now, frac, ahead) => {
        const iat = now + SKEW + ahead;
        const issuance = checkIssuance(
          // Over the TTL and above the stamps too: the date is what is reported.
          { iat, exp: iat + 10 * 86_400, stamp: { userVersion: 9, globalVersion: 9 } },
          { userMinTokenVersion: 1, globalMinTokenVersion: 1 },
          { ttlSeconds: 900 },
          nowAt(now, frac),
        );
        expect(issuance).toEqual({ plausible: false, reason: 'issued_in_future' });
      }),
    );
  });

  it('takes a configured skew', () => {
    const now = nowAt(1_800_000_000, 0);
    const token = (iat: number) => ({ iat, exp: iat + 60, stamp: { userVersion: 1, globalVersion: 1 } });
    const current = { userMinTokenVersion: 1, globalMinTokenVersion: 1 };
    expect(
      checkIssuance(token(1_800_000_005), current, { ttlSeconds: 900, maxSkewSeconds: 5 }, now).plausible,
    ).toBe(true);
    expect(checkIssuance(token(1_800_000_006), current, { ttlSeconds: 900, maxSkewSeconds: 5 }, now)).toEqual(
      {
        plausible: false,
        reason: 'issued_in_future',
      },
    );
  });
});
