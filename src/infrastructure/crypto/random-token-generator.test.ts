import { describe, expect, it } from 'vitest';
import { RandomTokenGenerator } from './random-token-generator.js';

describe('RandomTokenGenerator', () => {
  const tokens = new RandomTokenGenerator();

  it('makes twr_ tokens of 32 random bytes in unpadded base64url', () => {
    const token = tokens.refreshToken();
    expect(token).toMatch(/^twr_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token.slice(4), 'base64url')).toHaveLength(32);
    expect(tokens.isWellFormedRefreshToken(token)).toBe(true);
  });

  it('never repeats a token or an id', () => {
    const count = 10_000;
    expect(new Set(Array.from({ length: count }, () => tokens.refreshToken())).size).toBe(count);
    expect(new Set(Array.from({ length: count }, () => tokens.id())).size).toBe(count);
  });

  it('makes UUID v4 ids', () => {
    expect(tokens.id()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('hashes a token to the hex SHA-256 of its UTF-8 bytes', () => {
    expect(tokens.hashRefreshToken('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    const hash = tokens.hashRefreshToken(tokens.refreshToken());
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    '',
    'twr_',
    `twr_${'a'.repeat(42)}`,
    `twr_${'a'.repeat(44)}`,
    `twx_${'a'.repeat(43)}`,
    `twr_${'a'.repeat(42)}=`,
    `twr_${'a'.repeat(42)}+`,
    `twr_${'a'.repeat(43)}\n`,
    ` twr_${'a'.repeat(43)}`,
  ])('rejects the malformed token %j', (token) => {
    expect(tokens.isWellFormedRefreshToken(token)).toBe(false);
  });

  it('makes twc_ service-client secrets and matches them only against their own hash', () => {
    const secret = tokens.serviceClientSecret();
    expect(secret).toMatch(/^twc_[A-Za-z0-9_-]{43}$/);
    const hash = tokens.hashServiceClientSecret(secret);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(tokens.serviceClientSecretMatches(secret, hash)).toBe(true);
    expect(tokens.serviceClientSecretMatches(tokens.serviceClientSecret(), hash)).toBe(false);
    expect(tokens.serviceClientSecretMatches(secret, null)).toBe(false);
    expect(tokens.serviceClientSecretMatches(secret, 'not-hex')).toBe(false);
  });
});
