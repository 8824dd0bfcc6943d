import { describe, expect, it } from 'vitest';
import { type FeedChange, type FeedRegression, FeedState } from './feed-state.js';

const NOW = Date.parse('2026-11-29T20:00:00.000Z');
const at = (secondsAgo: number) => new Date(NOW - secondsAgo * 1000).toISOString();
let seq = 0;
const change = (kind: string, fields: Partial<FeedChange> = {}): FeedChange => ({
  seq: ++seq,
  kind,
  userId: null,
  sessionId: null,
  kid: null,
  details: {},
  occurredAt: at(0),
  ...fields,
});
const claims = { sub: 'u1', sid: 's1', ver: 1, gver: 1 };

function fresh(): FeedState {
  const state = new FeedState();
  state.applyState({
    globalMinTokenVersion: 1,
    graceUntil: null,
    signingKeys: [
      { kid: 'k1', status: 'active' },
      { kid: 'k0', status: 'retired' },
    ],
    accessTokenTtlSeconds: 900,
  });
  return state;
}

describe('the verifier feed state', () => {
  it('is blind after a change of an unknown kind until that change has left the window (TTL + 60 s)', () => {
    const state = fresh();
    expect(state.blind(NOW)).toBe(false);
    state.applyChange(change('session_frozen', { sessionId: 's9', occurredAt: at(100) }));
    expect(state.unknownKind).toMatchObject({ kind: 'session_frozen' });
    // It happened 100 s ago: every token it could concern has expired 860 s from now.
    expect(state.blind(NOW + 859_000)).toBe(true);
    expect(state.blind(NOW + 860_000)).toBe(false);
    // The known kinds still apply meanwhile.
    state.applyChange(change('session_revoked', { sessionId: 's1' }));
    expect(state.check(claims, 'k1', NOW + 860_000)).toMatchObject({ code: 'token_revoked' });
  });

  it('accepts a current stamp and refuses a retired kid', () => {
    const state = fresh();
    expect(state.check(claims, 'k1', NOW)).toBeNull();
    expect(state.check(claims, 'k0', NOW)).toMatchObject({ code: 'token_revoked' });
  });

  it('refuses a user stamp below the highest minTokenVersion seen, never lowering it', () => {
    const state = fresh();
    state.applyChange(change('user_version', { userId: 'u1', details: { minTokenVersion: 3 } }));
    state.applyChange(change('user_version', { userId: 'u1', details: { minTokenVersion: 2 } }));
    expect(state.check({ ...claims, ver: 2 }, 'k1', NOW)).toMatchObject({
      code: 'token_rotated',
      rejection: 'user_rotation',
    });
    expect(state.check({ ...claims, ver: 3 }, 'k1', NOW)).toBeNull();
  });

  it('accepts a one-behind global stamp only inside the grace window', () => {
    const state = fresh();
    state.applyChange(
      change('global_version', { details: { globalMinTokenVersion: 2, graceUntil: at(-60) } }),
    );
    expect(state.check(claims, 'k1', NOW)).toBeNull();
    expect(state.check(claims, 'k1', NOW + 61_000)).toMatchObject({ rejection: 'global_rotation' });
    expect(state.check({ ...claims, gver: 0 }, 'k1', NOW)).toMatchObject({ rejection: 'global_rotation' });
  });

  it('refuses a revoked session and a disabled user until enabled', () => {
    const state = fresh();
    state.applyChange(change('session_revoked', { userId: 'u1', sessionId: 's1' }));
    expect(state.check(claims, 'k1', NOW)).toMatchObject({ code: 'token_revoked' });
    expect(state.check({ ...claims, sid: 's2' }, 'k1', NOW)).toBeNull();
    state.applyChange(change('user_disabled', { userId: 'u1', details: { minTokenVersion: 1 } }));
    expect(state.check({ ...claims, sid: 's2' }, 'k1', NOW)).toMatchObject({ code: 'token_revoked' });
    state.applyChange(change('user_enabled', { userId: 'u1', details: { minTokenVersion: 2 } }));
    expect(state.check({ ...claims, sid: 's2', ver: 2 }, 'k1', NOW)).toBeNull();
  });

  it('takes the kids a key rotation retired, and ignores a change it already has', () => {
    const state = fresh();
    state.applyChange(
      change('signing_key_rotated', { kid: 'k2', details: { previousKid: 'k1', retiredKids: ['k1'] } }),
    );
    expect(state.check(claims, 'k1', NOW)).toMatchObject({ code: 'token_revoked' });
    const last = state.lastSeq;
    state.applyChange({ ...change('session_revoked', { sessionId: 's9' }), seq: last });
    expect(state.check({ ...claims, sid: 's9' }, 'k2', NOW)).toBeNull();
  });

  it('prunes what only tokens older than one TTL (plus skew) could be refused for', () => {
    const state = fresh();
    state.applyChange(change('session_revoked', { sessionId: 'old', occurredAt: at(961) }));
    state.applyChange(change('session_revoked', { sessionId: 'recent', occurredAt: at(959) }));
    state.applyChange(
      change('user_version', { userId: 'u1', details: { minTokenVersion: 5 }, occurredAt: at(2000) }),
    );
    state.prune(NOW);
    expect([...state.revokedSessions.keys()]).toEqual(['recent']);
    expect(state.userMin.size).toBe(0);
  });

  it('never lowers the global version for a state that shows a lower one, and reports it', () => {
    const seen: FeedRegression[] = [];
    const state = new FeedState(Date.now, (r) => seen.push(r));
    state.applyState({ globalMinTokenVersion: 5, graceUntil: null, signingKeys: [] });
    state.applyState({ globalMinTokenVersion: 3, graceUntil: null, signingKeys: [] });
    expect(state.globalMinTokenVersion).toBe(5);
    expect(state.check({ ...claims, gver: 4 }, 'k1', NOW)).toMatchObject({ rejection: 'global_rotation' });
    expect(seen).toEqual([{ kind: 'global_version', held: 5, seen: 3 }]);
  });

  it('takes the changes a state already counted without reporting them, and reports one below a change', () => {
    const seen: FeedRegression[] = [];
    const state = new FeedState(Date.now, (r) => seen.push(r));
    // Two rotations committed between the page's changes and its state: the state shows 7.
    state.applyState({ globalMinTokenVersion: 7, graceUntil: null, signingKeys: [] });
    state.applyChange(change('global_version', { details: { globalMinTokenVersion: 6, graceUntil: null } }));
    state.applyChange(
      change('global_version', { details: { globalMinTokenVersion: 7, graceUntil: at(-10) } }),
    );
    expect(seen).toEqual([]);
    expect(state.globalMinTokenVersion).toBe(7);
    // After a change at 7, a later change below it is a log that went back.
    state.applyChange(change('global_version', { details: { globalMinTokenVersion: 5, graceUntil: null } }));
    expect(state.globalMinTokenVersion).toBe(7);
    expect(seen).toEqual([{ kind: 'global_version', held: 7, seen: 5 }]);
  });

  it('reports a new change with a lower user version and keeps the higher one', () => {
    const seen: FeedRegression[] = [];
    const state = new FeedState(Date.now, (r) => seen.push(r));
    state.applyChange(change('user_version', { userId: 'u1', details: { minTokenVersion: 4 } }));
    state.applyChange(change('user_version', { userId: 'u1', details: { minTokenVersion: 2 } }));
    expect(state.check({ ...claims, ver: 3 }, 'k1', NOW)).toMatchObject({ rejection: 'user_rotation' });
    expect(seen).toEqual([{ kind: 'user_version', held: 4, seen: 2, userId: 'u1' }]);
  });

  it('on a head below what it applied, reports it, reads from 0 again and re-accepts nothing it refused', () => {
    const seen: FeedRegression[] = [];
    const state = new FeedState(Date.now, (r) => seen.push(r));
    const base = seq;
    const enabled = change('user_enabled', { userId: 'u1', details: { minTokenVersion: 2 } });
    const disabled = change('user_disabled', { userId: 'u1', details: { minTokenVersion: 2 } });
    const revoked = change('session_revoked', { userId: 'u1', sessionId: 's1' });
    for (const c of [enabled, disabled, revoked]) state.applyChange(c);
    expect(state.noteHead(base + 1)).toBe(true);
    expect(seen).toEqual([{ kind: 'seq', held: base + 3, seen: base + 1 }]);
    expect(state.lastSeq).toBe(0);
    // The restored log replays the enable it kept: the later disable still holds, and the session.
    state.applyChange(enabled);
    expect(state.check({ ...claims, sid: 's2', ver: 2 }, 'k1', NOW)).toMatchObject({ code: 'token_revoked' });
    expect(state.check({ ...claims, ver: 2 }, 'k1', NOW)).toMatchObject({ code: 'token_revoked' });
    expect(seen).toHaveLength(1);
    expect(state.noteHead(base + 1)).toBe(false);
  });
});
