import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { JWK } from 'jose';

/** The environment variable holding the master key; named in start-up errors. */
export const MASTER_KEY_ENV = 'TOKENWARDEN_MASTER_KEY';

/** Shortest accepted master key, in characters (a passphrase) or decoded bytes (base64). */
export const MASTER_KEY_MIN_LENGTH = 32;

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
  /** Whether `stored` is already in the form `seal` writes (otherwise re-seal it). */
  isCurrent(stored: string): boolean;
}

/** The stored private key cannot be read: a wrong or missing master key. */
export class SigningKeyUnsealError extends Error {
  readonly code = 'signing_key_unreadable';
  override readonly name = 'SigningKeyUnsealError';
}

/**
 * A sealer for the configured master key, or the plaintext one when none is set.
 *
 * @example
 * const sealer = createPrivateJwkSealer(process.env.TOKENWARDEN_MASTER_KEY);
 * const stored = sealer.seal(kid, privateJwk); // 'tw-sealed:v1:…'
 * sealer.open(kid, stored); // privateJwk
 * @throws Error naming TOKENWARDEN_MASTER_KEY when the value is too short.
 */
export function createPrivateJwkSealer(masterKey: string | null | undefined): PrivateJwkSealer {
  if (masterKey === null || masterKey === undefined || masterKey.trim() === '') return plaintextSealer;
  return new MasterKeySealer(deriveKey(masterKey));
}

const plaintextSealer: PrivateJwkSealer = Object.freeze({
  encrypting: false,
  seal: (_kid: string, jwk: JWK) => JSON.stringify(jwk),
  open(kid: string, stored: string): JWK {
    if (stored.startsWith(PREFIX)) {
      throw new SigningKeyUnsealError(
        `Signing key ${kid} is encrypted at rest but ${MASTER_KEY_ENV} is not set: set it to the master key the keys were sealed with`,
      );
    }
    return parseJwk(kid, stored);
  },
  isCurrent: (stored: string) => !stored.startsWith(PREFIX),
});

class MasterKeySealer implements PrivateJwkSealer {
  readonly encrypting = true;

  constructor(private readonly key: Buffer) {}

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
    const bytes = Buffer.from(stored.slice(PREFIX.length), 'base64url');
    let plaintext: string;
    try {
      if (bytes.length <= NONCE_LENGTH + TAG_LENGTH) throw new Error('truncated');
      const decipher = createDecipheriv('aes-256-gcm', this.key, bytes.subarray(0, NONCE_LENGTH), {
        authTagLength: TAG_LENGTH,
      });
      decipher.setAAD(aad(kid));
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_LENGTH));
      plaintext = Buffer.concat([
        decipher.update(bytes.subarray(NONCE_LENGTH, bytes.length - TAG_LENGTH)),
        decipher.final(),
      ]).toString('utf8');
    } catch (cause) {
      throw new SigningKeyUnsealError(
        `${MASTER_KEY_ENV} cannot decrypt signing key ${kid}: it is not the master key the signing keys were sealed with`,
        { cause },
      );
    }
    return parseJwk(kid, plaintext);
  }

  isCurrent(stored: string): boolean {
    return stored.startsWith(PREFIX);
  }
}

// The kid is authenticated too, so a sealed key copied onto another row does not open.
const aad = (kid: string) => Buffer.from(`${PREFIX}${kid}`, 'utf8');

function parseJwk(kid: string, json: string): JWK {
  try {
    return JSON.parse(json) as JWK;
  } catch (cause) {
    throw new SigningKeyUnsealError(`Signing key ${kid} has an unreadable private key`, { cause });
  }
}

/**
 * 32+ bytes as base64 or base64url are used as they are; anything else of at least
 * 32 characters is a passphrase. Either way HKDF-SHA256 makes the AES-256 key.
 */
function deriveKey(raw: string): Buffer {
  const value = raw.trim();
  let material: Buffer | undefined;
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) {
    const decoded = Buffer.from(value, 'base64');
    const canonical = (s: string) => s.replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
    if (decoded.length >= MASTER_KEY_MIN_LENGTH && decoded.toString('base64url') === canonical(value)) {
      material = decoded;
    }
  }
  if (material === undefined) {
    if ([...value].length < MASTER_KEY_MIN_LENGTH) {
      throw new Error(
        `${MASTER_KEY_ENV} must be at least ${MASTER_KEY_MIN_LENGTH} random bytes in base64 or base64url (e.g. \`openssl rand -base64 32\`) or a passphrase of at least ${MASTER_KEY_MIN_LENGTH} characters`,
      );
    }
    material = Buffer.from(value, 'utf8');
  }
  return Buffer.from(hkdfSync('sha256', material, SALT, INFO, 32));
}
