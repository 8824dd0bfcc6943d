import { randomBytes } from 'node:crypto';
import { type Algorithm, hash, verify } from '@node-rs/argon2';
import type { PasswordHasher } from '../../application/ports/password-hasher.js';

/** argon2 cost parameters: `memoryCost` in KiB, `timeCost` in passes. */
export interface Argon2Params {
  readonly memoryCost: number;
  readonly timeCost: number;
  readonly parallelism: number;
}

/** OWASP's argon2id recommendation (19 MiB, 2 passes, 1 lane): the production default. */
export const OWASP_ARGON2_PARAMS: Argon2Params = Object.freeze({
  memoryCost: 19456,
  timeCost: 2,
  parallelism: 1,
});

// `Algorithm` is an ambient const enum, which isolatedModules forbids reading; 2 is Argon2id.
const ARGON2ID = 2 as Algorithm;

/**
 * Password hashing with argon2id.
 *
 * @example
 * const hasher = new Argon2PasswordHasher(OWASP_ARGON2_PARAMS);
 * const stored = await hasher.hash('correct horse');
 * await hasher.verify(stored, 'correct horse'); // true
 */
export class Argon2PasswordHasher implements PasswordHasher {
  private readonly options: Argon2Params & { readonly algorithm: Algorithm };
  private dummyHash: Promise<string> | undefined;

  constructor(params: Argon2Params = OWASP_ARGON2_PARAMS) {
    this.options = {
      memoryCost: params.memoryCost,
      timeCost: params.timeCost,
      parallelism: params.parallelism,
      algorithm: ARGON2ID,
    };
  }

  hash(password: string): Promise<string> {
    return hash(password, this.options);
  }

  async verify(storedHash: string, password: string): Promise<boolean> {
    try {
      return await verify(storedHash, password);
    } catch {
      // A malformed or foreign hash is a failed login, not a server error.
      return false;
    }
  }

  async verifyDummy(password: string): Promise<void> {
    // Made once, lazily, with the same parameters, so an unknown email costs a real verify.
    this.dummyHash ??= hash(randomBytes(32).toString('base64url'), this.options);
    await this.verify(await this.dummyHash, password);
  }
}
