import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRotationReason } from './rotation-reason.js';

describe('parseRotationReason', () => {
  it('trims and keeps 1..500 characters', () => {
    expect(parseRotationReason('  db leak  ')).toEqual({ ok: true, value: 'db leak' });
    expect(parseRotationReason('x'.repeat(500)).ok).toBe(true);
  });

  it.each([[undefined], [null], [42], [''], ['   \n\t'], ['x'.repeat(501)]])('refuses %j', (raw) => {
    const result = parseRotationReason(raw);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe('validation_failed');
      expect(result.error.extensions.errors).toEqual([{ path: '/reason', message: expect.any(String) }]);
    }
  });

  it('counts characters, not UTF-16 units', () => {
    expect(parseRotationReason('🔑'.repeat(500)).ok).toBe(true);
    expect(parseRotationReason('🔑'.repeat(501)).ok).toBe(false);
  });

  it('accepts exactly the strings whose trimmed length is 1..500', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 600 }), (s) => {
        const n = [...s.trim()].length;
        expect(parseRotationReason(s).ok).toBe(n >= 1 && n <= 500);
      }),
    );
  });
});
