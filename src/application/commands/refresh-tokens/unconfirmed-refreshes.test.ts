import { describe, expect, it } from 'vitest';
import { UnconfirmedRefreshes } from './unconfirmed-refreshes.js';

const at = (seconds: number) => new Date(Date.UTC(2030, 0, 1, 0, 0, seconds));

describe('UnconfirmedRefreshes', () => {
  it('keeps every write in doubt for a token: a retry that failed too never replaces the first', () => {
    const unconfirmed = new UnconfirmedRefreshes();
    unconfirmed.add({ tokenHash: 'a', usedAt: at(0) });
    // The retry's write waited on the first one's lock and failed: the first may still commit.
    unconfirmed.add({ tokenHash: 'a', usedAt: at(6) });
    unconfirmed.add({ tokenHash: 'b', usedAt: at(1) });
    expect(unconfirmed.size).toBe(2);
    expect(unconfirmed.list(10)).toEqual([
      { tokenHash: 'a', usedAt: [at(0), at(6)] },
      { tokenHash: 'b', usedAt: [at(1)] },
    ]);
    unconfirmed.settle('a');
    expect(unconfirmed.has('a')).toBe(false);
    expect(unconfirmed.has('b')).toBe(true);
  });

  it('remembers at most 16 writes per token, the first ones', () => {
    const unconfirmed = new UnconfirmedRefreshes();
    for (let i = 0; i < 20; i++) unconfirmed.add({ tokenHash: 'a', usedAt: at(i) });
    const [entry] = unconfirmed.list(1);
    expect(entry?.usedAt).toHaveLength(16);
    expect(entry?.usedAt[0]).toEqual(at(0));
  });
});
