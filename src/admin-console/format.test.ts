import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { valueText, visible, when } from './format.js';

describe('visible: what the console shows of a server string', () => {
  it.each([
    ['a bidi override', 'evil\u202Egnp.exe', 'evil⟨U+202E⟩gnp.exe'],
    ['an isolate', 'a\u2066b\u2069', 'a⟨U+2066⟩b⟨U+2069⟩'],
    ['NUL, bell and escape', '\u0000\u0007\u001b[2J', '⟨U+0000⟩⟨U+0007⟩⟨U+001B⟩[2J'],
    ['a C1 control', 'x\u0085y', 'x⟨U+0085⟩y'],
    ['zero-width characters and a BOM', 'a\u200Bb\u200Dc\uFEFF', 'a⟨U+200B⟩b⟨U+200D⟩c⟨U+FEFF⟩'],
    ['a lone surrogate', 'x\uD800y', 'x⟨U+D800⟩y'],
  ])('shows %s as code points', (_label, input, shown) => {
    expect(visible(input)).toBe(shown);
  });

  it('leaves markup, right-to-left letters, emoji and plain text as they are (they are text nodes)', () => {
    for (const text of ['<img src=x onerror=alert(1)>', 'שלום עולם', 'ok 👍🏽', 'alice@example.com']) {
      expect(visible(text)).toBe(text);
    }
  });

  it('never leaves a control, bidi or surrogate code unit behind', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what must be gone
        expect(visible(text)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|\p{Cs}/u);
      }),
    );
  });

  it('writes detail values as one line: strings as they are, the rest as JSON', () => {
    expect(valueText('x\u202E')).toBe('x⟨U+202E⟩');
    expect(valueText({ to: 120, from: 300 })).toBe('{"to":120,"from":300}');
    expect(valueText(null)).toBe('null');
    expect(valueText(undefined)).toBe('undefined');
  });
});

describe('when: a time as the console shows it', () => {
  it('names its time zone, so an operator never guesses', () => {
    const iso = '2026-12-06T12:00:00.000Z';
    const zone = new Intl.DateTimeFormat(undefined, { timeZoneName: 'short' })
      .formatToParts(new Date(iso))
      .find((part) => part.type === 'timeZoneName')?.value;
    expect(zone).toBeTruthy();
    expect(when(iso)).toContain(zone!);
    expect(when(null)).toBe('—');
  });
});
