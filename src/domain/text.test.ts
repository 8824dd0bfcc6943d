import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRotationReason } from './rotation-reason.js';
import { parseServiceClientName, SERVICE_CLIENT_NAME_MAX_LENGTH } from './service-client.js';
import { visibleTextPattern } from './text.js';
import { REASON_MAX_LENGTH } from './versions.js';

describe('visibleTextPattern', () => {
  // Short strings of the characters that decide the rule: spaces and line breaks that trim
  // removes, controls and format characters it refuses, wide characters counted once.
  const tricky = fc.constantFrom(
    ' ',
    '\t',
    '\n',
    '\u00a0',
    '\u3000',
    '\u2028',
    '\ufeff',
    '\u200b',
    '\u001b',
    'a',
    'é',
    '🔑',
    '\ud800',
  );
  const text = (max: number) =>
    fc.oneof(
      fc.array(tricky, { maxLength: 8 }).map((chars) => chars.join('')),
      fc
        .tuple(
          fc.array(tricky, { maxLength: 3 }),
          fc.integer({ min: max - 2, max: max + 2 }),
          fc.array(tricky, { maxLength: 3 }),
        )
        .map(
          ([before, length, after]) =>
            `${before.join('')}${'🔑'.repeat(Math.max(0, length))}${after.join('')}`,
        ),
      fc.string({ unit: 'grapheme', maxLength: 12 }),
    );

  it('accepts exactly the reasons parseRotationReason accepts', () => {
    const pattern = new RegExp(visibleTextPattern(REASON_MAX_LENGTH), 'u');
    fc.assert(
      fc.property(text(REASON_MAX_LENGTH), (raw) => {
        expect(pattern.test(raw)).toBe(parseRotationReason(raw).ok);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts exactly the names parseServiceClientName accepts', () => {
    const pattern = new RegExp(visibleTextPattern(SERVICE_CLIENT_NAME_MAX_LENGTH), 'u');
    fc.assert(
      fc.property(text(SERVICE_CLIENT_NAME_MAX_LENGTH), (raw) => {
        expect(pattern.test(raw)).toBe(parseServiceClientName(raw).ok);
      }),
      { numRuns: 2000 },
    );
  });

  it('bounds the trimmed text, not the padding around it', () => {
    const pattern = new RegExp(visibleTextPattern(3), 'u');
    expect(['x', ' x y ', '\n abc \t'].map((s) => pattern.test(s))).toEqual([true, true, true]);
    expect(['', '   ', 'abcd', 'a\u202eb', 'a\nb'].map((s) => pattern.test(s))).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
  });
});
