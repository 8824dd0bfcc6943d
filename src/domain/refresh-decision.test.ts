import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideRefresh, type RefreshSituation } from './refresh-decision.js';
import { checkRefreshToken } from './token-validity.js';

const T0 = Date.UTC(2026, 0, 1);
const at = (ms: number) => new Date(T0 + ms);
const INTERVAL = 30_000;

/** An unused, valid token in a live session of an enabled user, decided at T0. */
const fresh: RefreshSituation = {
  token: {
    expiresAt: at(86_400_000),
    revokedAt: null,
    usedAt: null,
    stamp: { userVersion: 1, globalVersion: 1 },
    successorSealed: false,
  },
  session: { revokedAt: null, expiresAt: at(86_400_000) },
  user: { minTokenVersion: 1, disabledAt: null },
  globalMinTokenVersion: 1,
  graceUntil: null,
  now: at(0),
  reuseIntervalMs: INTERVAL,
  unconfirmed: false,
};
/** The same token used `ago` ms before T0, its successor sealed under it. */
const usedAgo = (ago: number, over: Partial<RefreshSituation> = {}): RefreshSituation => ({
  ...fresh,
  token: { ...fresh.token, usedAt: at(-ago), successorSealed: true },
  ...over,
});
const liveSuccessor = {
  expiresAt: at(86_400_000),
  revokedAt: null,
  stamp: { userVersion: 1, globalVersion: 1 },
};

const offset = fc.integer({ min: -2 * 86_400_000, max: 2 * 86_400_000 });
const maybeAt = fc.option(offset.map(at));
const version = fc.integer({ min: 1, max: 5 });
const tokenArb = fc.record({
  expiresAt: offset.map(at),
  revokedAt: maybeAt,
  stamp: fc.record({ userVersion: version, globalVersion: version }),
});
/** Any situation: used or not, valid or not, inside or past the interval, a successor read or not. */
const situation: fc.Arbitrary<RefreshSituation> = fc.record(
  {
    token: fc
      .tuple(tokenArb, maybeAt, fc.boolean())
      .map(([t, usedAt, successorSealed]) => ({ ...t, usedAt, successorSealed })),
    session: fc.record({ revokedAt: maybeAt, expiresAt: offset.map(at) }),
    user: fc.option(fc.record({ minTokenVersion: version, disabledAt: maybeAt })),
    globalMinTokenVersion: version,
    graceUntil: maybeAt,
    now: offset.map(at),
    reuseIntervalMs: fc.integer({ min: 0, max: 3_600_000 }),
    unconfirmed: fc.boolean(),
    successor: fc.option(tokenArb),
  },
  {
    requiredKeys: [
      'token',
      'session',
      'user',
      'globalMinTokenVersion',
      'graceUntil',
      'now',
      'reuseIntervalMs',
      'unconfirmed',
    ],
  },
);

const validity = (
  s: RefreshSituation,
  token: Omit<RefreshSituation['token'], 'usedAt' | 'successorSealed'>,
) =>
  checkRefreshToken(
    {
      token,
      session: s.session,
      user: s.user,
      globalMinTokenVersion: s.globalMinTokenVersion,
      graceUntil: s.graceUntil,
    },
    s.now,
  );

describe('decideRefresh (docs/DESIGN.md §3)', () => {
  it('rotates an unused valid token', () => {
    expect(decideRefresh(fresh)).toEqual({ kind: 'rotate' });
  });

  it('refuses an unused token the validity rule refuses, for the same reason', () => {
    const revoked = decideRefresh({ ...fresh, token: { ...fresh.token, revokedAt: at(-1) } });
    expect(revoked).toEqual({ kind: 'reject', rejection: { valid: false, reason: 'token_revoked' } });
    const rotated = decideRefresh({ ...fresh, globalMinTokenVersion: 2 });
    expect(rotated).toMatchObject({ kind: 'reject', rejection: { reason: 'global_rotation' } });
  });

  it('looks the successor up for a used token inside its reuse interval, then replays it', () => {
    expect(decideRefresh(usedAgo(INTERVAL))).toEqual({ kind: 'look-up-successor' });
    expect(decideRefresh(usedAgo(INTERVAL, { successor: liveSuccessor }))).toEqual({ kind: 'replay' });
  });

  it('detects reuse one millisecond past the interval, and of a used token whose successor is not sealed', () => {
    expect(decideRefresh(usedAgo(INTERVAL + 1))).toEqual({ kind: 'reuse' });
    const unsealed = usedAgo(1);
    expect(decideRefresh({ ...unsealed, token: { ...unsealed.token, successorSealed: false } })).toEqual({
      kind: 'reuse',
    });
    expect(decideRefresh(usedAgo(1, { successor: null }))).toEqual({ kind: 'reuse' });
  });

  it('takes a use whose answer was lost for a retry whatever its age: replayed, or refused without reuse', () => {
    const long = 10 * INTERVAL;
    expect(decideRefresh(usedAgo(long, { unconfirmed: true }))).toEqual({ kind: 'look-up-successor' });
    expect(decideRefresh(usedAgo(long, { unconfirmed: true, successor: liveSuccessor }))).toEqual({
      kind: 'replay',
    });
    expect(decideRefresh(usedAgo(long, { unconfirmed: true, successor: null }))).toEqual({ kind: 'lost' });
  });

  it('refuses a retry of a revoked family without opening anything', () => {
    const decision = decideRefresh(usedAgo(1, { session: { ...fresh.session, revokedAt: at(-1) } }));
    expect(decision).toEqual({ kind: 'reject', rejection: { valid: false, reason: 'session_revoked' } });
  });

  it('judges the replayed successor as if presented: a rotation since the first answer is not bypassed', () => {
    const decision = decideRefresh(usedAgo(1, { successor: liveSuccessor, globalMinTokenVersion: 2 }));
    expect(decision).toMatchObject({ kind: 'reject', rejection: { reason: 'global_rotation' } });
  });

  it('rotates exactly the unused tokens the validity rule accepts', () => {
    fc.assert(
      fc.property(situation, (s) => {
        const rotates = decideRefresh(s).kind === 'rotate';
        expect(rotates).toBe(s.token.usedAt === null && validity(s, s.token).valid);
      }),
    );
  });

  it('never detects reuse of a use whose answer was lost, nor inside the reuse interval', () => {
    fc.assert(
      fc.property(situation, (s) => {
        if (decideRefresh(s).kind !== 'reuse') return;
        const usedAt = s.token.usedAt;
        expect(s.unconfirmed).toBe(false);
        expect(usedAt).not.toBeNull();
        if (usedAt !== null && s.token.successorSealed && s.successor !== null) {
          expect(s.now.getTime() - usedAt.getTime()).toBeGreaterThan(s.reuseIntervalMs);
        }
      }),
    );
  });

  it('replays only a successor the validity rule accepts, in a live session', () => {
    fc.assert(
      fc.property(situation, (s) => {
        if (decideRefresh(s).kind !== 'replay') return;
        expect(s.token.usedAt).not.toBeNull();
        expect(s.session.revokedAt).toBeNull();
        expect(s.successor).toBeDefined();
        if (s.successor !== undefined && s.successor !== null)
          expect(validity(s, s.successor).valid).toBe(true);
      }),
    );
  });

  it('asks for the successor at most once: with it read, the decision is final', () => {
    fc.assert(
      fc.property(situation, fc.option(tokenArb), (s, successor) => {
        expect(decideRefresh({ ...s, successor }).kind).not.toBe('look-up-successor');
      }),
    );
  });

  it('only ever moves a retry towards reuse as time passes, never back', () => {
    fc.assert(
      fc.property(situation, fc.nat(86_400_000), (s, later) => {
        const now = decideRefresh(s).kind;
        const then = decideRefresh({ ...s, now: new Date(s.now.getTime() + later) }).kind;
        if (now === 'reuse') expect(then).toBe('reuse');
      }),
    );
  });
});
