import { parseOptions } from '@node-rs/argon2';
import { describe, expect, it } from 'vitest';
import { Argon2PasswordHasher, OWASP_ARGON2_PARAMS } from './argon2-password-hasher.js';

const cheap = { memoryCost: 1024, timeCost: 1, parallelism: 1 };

describe('Argon2PasswordHasher', () => {
  const hasher = new Argon2PasswordHasher(cheap);

  it('accepts the right password and rejects a wrong one', async () => {
    const stored = await hasher.hash('correct horse battery staple');
    expect(await hasher.verify(stored, 'correct horse battery staple')).toBe(true);
    expect(await hasher.verify(stored, 'correct horse battery stapler')).toBe(false);
  });

  it('writes argon2id hashes with the configured parameters and a fresh salt', async () => {
    const first = await hasher.hash('pw');
    const second = await hasher.hash('pw');
    expect(first).toMatch(/^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
    expect(first).not.toBe(second);
    expect(parseOptions(first)).toMatchObject(cheap);
  });

  it('handles non-ASCII passwords', async () => {
    const stored = await hasher.hash('pässwörd 🔑');
    expect(await hasher.verify(stored, 'pässwörd 🔑')).toBe(true);
    expect(await hasher.verify(stored, 'passwörd 🔑')).toBe(false);
  });

  it.each(['', 'not a hash', '$argon2id$v=19$m=1024,t=1,p=1$broken', '$2b$10$abcdefghijklmnopqrstuv'])(
    'returns false instead of throwing for the malformed hash %j',
    async (malformed) => {
      await expect(hasher.verify(malformed, 'pw')).resolves.toBe(false);
    },
  );

  it('verifies against a dummy hash for unknown emails, making it only once', async () => {
    const hasher = new Argon2PasswordHasher(cheap);
    await expect(hasher.verifyDummy('anything')).resolves.toBeUndefined();
    const dummy = await (hasher as unknown as { dummyHash: Promise<string> }).dummyHash;
    expect(parseOptions(dummy)).toMatchObject(cheap);
    await hasher.verifyDummy('something else');
    expect(await (hasher as unknown as { dummyHash: Promise<string> }).dummyHash).toBe(dummy);
  });

  it('defaults to the OWASP parameters', async () => {
    expect(OWASP_ARGON2_PARAMS).toEqual({ memoryCost: 19456, timeCost: 2, parallelism: 1 });
    const stored = await new Argon2PasswordHasher().hash('pw');
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });
});
