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

  it('refuses any control, format or surrogate character inside the reason, naming it', () => {
    const hidden = fc.oneof(
      fc.integer({ min: 0, max: 0x1f }),
      fc.integer({ min: 0x7f, max: 0x9f }),
      fc.constantFrom(0xad, 0x200b, 0x200c, 0x200d, 0x200e, 0x202a, 0x202e, 0x2066, 0x2069, 0xfeff, 0xfff9),
      fc.integer({ min: 0xd800, max: 0xdfff }),
    );
    fc.assert(
      fc.property(
        fc.string({ maxLength: 20 }),
        hidden,
        fc.string({ maxLength: 20 }),
        (before, code, after) => {
          const result = parseRotationReason(`x${before}${String.fromCharCode(code)}${after}x`);
          expect(result.ok).toBe(false);
          if (!result.ok)
            expect(result.error.extensions.errors).toEqual([
              { path: '/reason', message: expect.stringContaining('control or format') },
            ]);
        },
      ),
    );
  });

  it('accepts letters of any script, accents and emoji', () => {
    expect(parseRotationReason('fuite de données · утечка · 漏洩 🔑').ok).toBe(true);
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
