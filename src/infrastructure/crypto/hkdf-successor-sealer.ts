import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { SuccessorSealer } from '../../application/ports/successor-sealer.js';

const VERSION = 1;
const SALT_LENGTH = 16;
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
const HEADER_LENGTH = 1 + SALT_LENGTH + NONCE_LENGTH;
const INFO = 'tokenwarden/successor/v1';
const AAD = Buffer.from([VERSION]);

function deriveKey(parentToken: string, salt: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(parentToken, 'utf8'), salt, INFO, 32));
}

/**
 * Seals a successor refresh token under AES-256-GCM with a key derived (HKDF-SHA256)
 * from the parent token's plaintext, which the database never holds.
 *
 * Format: base64url(version 0x01 | salt 16 | nonce 12 | ciphertext | tag 16).
 *
 * @example
 * const sealer = new HkdfSuccessorSealer();
 * const sealed = sealer.seal(parent, successor);
 * sealer.open(parent, sealed); // successor
 * sealer.open(otherToken, sealed); // null
 */
export class HkdfSuccessorSealer implements SuccessorSealer {
  seal(parentToken: string, successorToken: string): string {
    const salt = randomBytes(SALT_LENGTH);
    const nonce = randomBytes(NONCE_LENGTH);
    const cipher = createCipheriv('aes-256-gcm', deriveKey(parentToken, salt), nonce, {
      authTagLength: TAG_LENGTH,
    });
    cipher.setAAD(AAD);
    const ciphertext = Buffer.concat([cipher.update(successorToken, 'utf8'), cipher.final()]);
    return Buffer.concat([AAD, salt, nonce, ciphertext, cipher.getAuthTag()]).toString('base64url');
  }

  open(parentToken: string, sealed: string): string | null {
    try {
      const bytes = Buffer.from(sealed, 'base64url');
      // Buffer's base64url decoder skips junk silently; insist the input was canonical.
      if (bytes.toString('base64url') !== sealed) return null;
      if (bytes.length < HEADER_LENGTH + TAG_LENGTH || bytes[0] !== VERSION) return null;
      const salt = bytes.subarray(1, 1 + SALT_LENGTH);
      const nonce = bytes.subarray(1 + SALT_LENGTH, HEADER_LENGTH);
      const ciphertext = bytes.subarray(HEADER_LENGTH, bytes.length - TAG_LENGTH);
      const tag = bytes.subarray(bytes.length - TAG_LENGTH);
      const decipher = createDecipheriv('aes-256-gcm', deriveKey(parentToken, salt), nonce, {
        authTagLength: TAG_LENGTH,
      });
      decipher.setAAD(AAD);
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
    } catch {
      return null;
    }
  }
}
