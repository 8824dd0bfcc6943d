import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isMixedScript, normaliseEmail, parseEmail } from './credentials.js';

const hiddenCodePoint = fc.oneof(
  fc.integer({ min: 0, max: 0x1f }),
  fc.integer({ min: 0x7f, max: 0x9f }),
  fc.constantFrom(0xad, 0x61c, 0x200b, 0x200c, 0x200d, 0x200e, 0x200f, 0x2060, 0xfeff),
  fc.integer({ min: 0x202a, max: 0x202e }),
  fc.integer({ min: 0x2066, max: 0x2069 }),
);
const localPart = fc.stringMatching(/^[a-z0-9]{1,10}$/);

describe('parseEmail', () => {
  it('refuses a control or format character anywhere inside the address', () => {
    fc.assert(
      fc.property(localPart, localPart, hiddenCodePoint, fc.nat(), (a, b, code, at) => {
        const email = `${a}@${b}.example`;
        const cut = 1 + (at % (email.length - 1)); // inside, so trimming cannot remove it
        const result = parseEmail(`${email.slice(0, cut)}${String.fromCodePoint(code)}${email.slice(cut)}`);
        expect(result.ok).toBe(false);
      }),
    );
  });

  it('refuses ESC, zero-width space and a right-to-left override with the reason', () => {
    for (const email of ['\u001b[2Jx@example.com', 'al\u200bice@example.com', 'alice@exa\u202emple.com']) {
      const result = parseEmail(email);
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.error.code).toBe('validation_failed');
        expect(result.error.extensions.errors).toEqual([
          { path: '/email', message: expect.stringMatching(/U\+/) },
        ]);
      }
    }
  });

  it('normalises fullwidth forms, ligatures, case and combining accents to one address', () => {
    expect(parseEmail(' ＡＬＩＣＥ＠ｅｘａｍｐｌｅ．ｃｏｍ ')).toEqual({
      ok: true,
      value: 'alice@example.com',
    });
    expect(parseEmail('ﬁle@example.com')).toEqual({ ok: true, value: 'file@example.com' });
    expect(parseEmail('JOSE\u0301@Example.com')).toEqual(parseEmail('jos\u00e9@example.com'));
  });

  it('refuses a part mixing Latin with Cyrillic or Greek; accepts one script, or Latin with CJK', () => {
    expect(parseEmail('p\u0430ypal@example.com').ok).toBe(false); // Cyrillic а
    expect(parseEmail('alice@\u0435xample.com').ok).toBe(false); // Cyrillic е in a label
    expect(parseEmail('\u03bfscar@example.com').ok).toBe(false); // Greek ο
    expect(parseEmail('иван@пример.рф').ok).toBe(true);
    expect(parseEmail('ελένη@example.com').ok).toBe(true); // Greek local part, Latin domain: each part one script
    expect(parseEmail('tanaka太郎@example.jp').ok).toBe(true);
    expect(isMixedScript('abc123-_.')).toBe(false);
  });
});

describe('normaliseEmail', () => {
  it('is idempotent and leaves trimmed lower-case ASCII (the form stored before NFKC) unchanged', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }), (raw) => {
        const once = normaliseEmail(raw);
        expect(normaliseEmail(once)).toBe(once);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (ascii) => {
        const old = ascii.trim().toLowerCase();
        expect(normaliseEmail(old)).toBe(old);
      }),
    );
  });
});
