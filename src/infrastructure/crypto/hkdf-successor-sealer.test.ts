import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HkdfSuccessorSealer } from './hkdf-successor-sealer.js';
import { RandomTokenGenerator } from './random-token-generator.js';

const tokens = new RandomTokenGenerator();

describe('HkdfSuccessorSealer', () => {
  const sealer = new HkdfSuccessorSealer();
  const parent = tokens.refreshToken();
  const successor = tokens.refreshToken();

  it('opens what it sealed under the same parent', () => {
    const sealed = sealer.seal(parent, successor);
    expect(sealed).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain(successor.slice(4));
    expect(sealer.open(parent, sealed)).toBe(successor);
  });

  it('writes version 1, a 16-byte salt, a 12-byte nonce, the ciphertext and a 16-byte tag', () => {
    const bytes = Buffer.from(sealer.seal(parent, successor), 'base64url');
    expect(bytes[0]).toBe(1);
    expect(bytes).toHaveLength(1 + 16 + 12 + Buffer.byteLength(successor) + 16);
  });

  it('seals the same pair differently each time', () => {
    expect(sealer.seal(parent, successor)).not.toBe(sealer.seal(parent, successor));
  });

  it('round-trips arbitrary strings under arbitrary parents', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (p, s) => {
        expect(sealer.open(p, sealer.seal(p, s))).toBe(s);
      }),
    );
  });

  it('returns null under a different parent', () => {
    expect(sealer.open(tokens.refreshToken(), sealer.seal(parent, successor))).toBeNull();
    expect(sealer.open(`${parent}x`, sealer.seal(parent, successor))).toBeNull();
  });

  it('returns null for any single flipped bit', () => {
    const bytes = Buffer.from(sealer.seal(parent, successor), 'base64url');
    for (let i = 0; i < bytes.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const tampered = Buffer.from(bytes);
        tampered[i]! ^= 1 << bit;
        expect(sealer.open(parent, tampered.toString('base64url'))).toBeNull();
      }
    }
  });

  it('returns null for every truncation and for appended bytes', () => {
    const bytes = Buffer.from(sealer.seal(parent, successor), 'base64url');
    for (let length = 0; length < bytes.length; length++) {
      expect(sealer.open(parent, bytes.subarray(0, length).toString('base64url'))).toBeNull();
    }
    expect(sealer.open(parent, Buffer.concat([bytes, Buffer.from([0])]).toString('base64url'))).toBeNull();
  });

  it.each(['', '!!!', 'not base64url at all', '====', 'AQ'])('returns null for the garbage %j', (garbage) => {
    expect(sealer.open(parent, garbage)).toBeNull();
  });

  it('returns null for non-canonical base64url', () => {
    const sealed = sealer.seal(parent, successor);
    expect(sealer.open(parent, `${sealed}=`)).toBeNull();
    expect(sealer.open(parent, `${sealed.slice(0, 10)}.${sealed.slice(10)}`)).toBeNull();
  });
});
