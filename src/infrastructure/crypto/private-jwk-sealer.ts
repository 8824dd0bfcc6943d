import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { JWK } from 'jose';
import {
  canonicalBase64,
  MASTER_KEY_ENV,
  MASTER_KEY_MIN_LENGTH,
  masterKeyProblem,
  PREVIOUS_MASTER_KEY_ENV,
} from '../../master-key.js';

const PREFIX = 'tw-sealed:v1:';
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
const SALT = Buffer.from('tokenwarden/master-key', 'utf8');
const INFO = Buffer.from('tokenwarden/signing-key/v1', 'utf8');

/**
 * The stored form of a signing key's private JWK. Without a master key it is the
 * JWK as JSON; with one it is `tw-sealed:v1:` + base64url(nonce 12 | ciphertext | tag 16),
 * AES-256-GCM under HKDF-SHA256(master key), bound to the row's kid. Either sealer
 * reads what the other wrote where it can, so turning a master key on needs no migration.
 */
export interface PrivateJwkSealer {
  /** Whether rows are encrypted at rest. */
  readonly encrypting: boolean;
  seal(kid: string, jwk: JWK): string;
  /** @throws Error with a clear message when the row cannot be opened with this key. */
  open(kid: string, stored: string): JWK;
  /** Whether `stored` is already in the form `seal` writes, under the current key (otherwise re-seal it). */
  isCurrent(kid: string, stored: string): boolean;
}

/**
 * The stored private key cannot be read: `master_key_missing` (sealed, no master key set),
 * `master_key_wrong` (neither configured master key opens it), `signing_key_unreadable`
 * (the row itself is damaged).
 */
export class SigningKeyUnsealError extends Error {
  override readonly name = 'SigningKeyUnsealError';

  constructor(
    readonly code: 'master_key_missing' | 'master_key_wrong' | 'signing_key_unreadable',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * A sealer for the configured master key, or the plaintext one when none is set. With a
 * previous master key too, rows it sealed are opened with it and re-sealed with the new one.
 *
 * @example
 * const sealer = createPrivateJwkSealer(process.env.TOKENWARDEN_MASTER_KEY);
 * const stored = sealer.seal(kid, privateJwk); // 'tw-sealed:v1:…'
 * sealer.open(kid, stored); // privateJwk
 * @throws Error naming TOKENWARDEN_MASTER_KEY when the value is not 32+ random bytes.
 */
export function createPrivateJwkSealer(
  masterKey: string | null | undefined,
  previousMasterKey?: string | null,
): PrivateJwkSealer {
  if (masterKey === null || masterKey === undefined || masterKey.trim() === '') return plaintextSealer;
  const previous =
    previousMasterKey === null || previousMasterKey === undefined || previousMasterKey.trim() === ''
      ? null
      : deriveKey(previousMasterKey, PREVIOUS_MASTER_KEY_ENV, 'legacy');
  return new MasterKeySealer(deriveKey(masterKey, MASTER_KEY_ENV, 'strict'), previous);
}

const plaintextSealer: PrivateJwkSealer = Object.freeze({
  encrypting: false,
  seal: (_kid: string, jwk: JWK) => JSON.stringify(jwk),
  open(kid: string, stored: string): JWK {
    if (stored.startsWith(PREFIX)) {
      throw new SigningKeyUnsealError(
        'master_key_missing',
        `Signing key ${kid} is encrypted at rest but ${MASTER_KEY_ENV} is not set: set it to the master key the keys were sealed with`,
      );
    }
    return parseJwk(kid, stored);
  },
  isCurrent: (_kid: string, stored: string) => !stored.startsWith(PREFIX),
});

class MasterKeySealer implements PrivateJwkSealer {
  readonly encrypting = true;

  constructor(
    private readonly key: Buffer,
    private readonly previousKey: Buffer | null,
  ) {}

  seal(kid: string, jwk: JWK): string {
    const nonce = randomBytes(NONCE_LENGTH);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce, { authTagLength: TAG_LENGTH });
    cipher.setAAD(aad(kid));
    const ciphertext = Buffer.concat([cipher.update(JSON.stringify(jwk), 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([nonce, ciphertext, cipher.getAuthTag()]).toString('base64url');
  }

  open(kid: string, stored: string): JWK {
    // Rows written before the master key was set are plaintext; they are re-sealed at start.
    if (!stored.startsWith(PREFIX)) return parseJwk(kid, stored);
    let plaintext = unseal(this.key, kid, stored);
    if (plaintext === null && this.previousKey !== null) plaintext = unseal(this.previousKey, kid, stored);
    if (plaintext === null) {
      throw new SigningKeyUnsealError(
        'master_key_wrong',
        `${MASTER_KEY_ENV} cannot decrypt signing key ${kid}: it is not the master key the signing keys were sealed with` +
          (this.previousKey === null ? '' : ` (nor is ${PREVIOUS_MASTER_KEY_ENV})`),
      );
    }
    return parseJwk(kid, plaintext);
  }

  isCurrent(kid: string, stored: string): boolean {
    if (!stored.startsWith(PREFIX)) return false;
    // Only a change of master key leaves rows under another key: check them only then.
    return this.previousKey === null || unseal(this.key, kid, stored) !== null;
  }
}

/** The plaintext of a sealed row, or null when `key` does not open it. */
function unseal(key: Buffer, kid: string, stored: string): string | null {
  const bytes = Buffer.from(stored.slice(PREFIX.length), 'base64url');
  if (bytes.length <= NONCE_LENGTH + TAG_LENGTH) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, NONCE_LENGTH), {
      authTagLength: TAG_LENGTH,
    });
    decipher.setAAD(aad(kid));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_LENGTH));
    return Buffer.concat([
      decipher.update(bytes.subarray(NONCE_LENGTH, bytes.length - TAG_LENGTH)),
      decipher.final(),
    ]).toString('utf8');
  } catch {
    return null;
  }
}

// The kid is authenticated too, so a sealed key copied onto another row does not open.
const aad = (kid: string) => Buffer.from(`${PREFIX}${kid}`, 'utf8');

function parseJwk(kid: string, json: string): JWK {
  try {
    return JSON.parse(json) as JWK;
  } catch (cause) {
    throw new SigningKeyUnsealError(
      'signing_key_unreadable',
      `Signing key ${kid} has an unreadable private key`,
      { cause },
    );
  }
}

/**
 * The AES-256 key, by HKDF-SHA256 over the key material. The material is what earlier
 * versions used, so an accepted key opens what they sealed: canonical base64/base64url
 * of 32+ bytes is decoded (a hex key too, which is also valid base64), anything else is
 * its UTF-8 bytes. `strict` (the current key) accepts only {@link masterKeyProblem}-free
 * values; `legacy` (a previous key, only read) also takes a passphrase of 32+ characters.
 */
function deriveKey(raw: string, variable: string, rules: 'strict' | 'legacy'): Buffer {
  const value = raw.trim();
  if (rules === 'strict') {
    const problem = masterKeyProblem(value, variable);
    if (problem !== null) throw new Error(problem);
  }
  let material = canonicalBase64(value);
  if (material === null || material.length < MASTER_KEY_MIN_LENGTH) {
    if ([...value].length < MASTER_KEY_MIN_LENGTH) {
      throw new Error(
        `${variable} must be at least ${MASTER_KEY_MIN_LENGTH} random bytes in base64, base64url or hex, or (a previous key only) a passphrase of at least ${MASTER_KEY_MIN_LENGTH} characters`,
      );
    }
    material = Buffer.from(value, 'utf8');
  }
  return Buffer.from(hkdfSync('sha256', material, SALT, INFO, 32));
}
