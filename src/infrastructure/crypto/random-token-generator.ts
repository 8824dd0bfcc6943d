import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { TokenGenerator } from '../../application/ports/token-generator.js';

const REFRESH_TOKEN_PREFIX = 'twr_';
const REFRESH_TOKEN_SHAPE = /^twr_[A-Za-z0-9_-]{43}$/;
const SERVICE_CLIENT_SECRET_PREFIX = 'twc_';
// Compared against when there is no stored hash, so an unknown client costs what a wrong secret does.
const NO_CLIENT_HASH = Buffer.alloc(32);

/**
 * Refresh tokens are `twr_` + base64url of 32 random bytes (43 characters, unpadded);
 * only their hex SHA-256 is ever stored.
 *
 * @example
 * const tokens = new RandomTokenGenerator();
 * const token = tokens.refreshToken(); // 'twr_…'
 * tokens.hashRefreshToken(token); // 64 hex characters
 */
export class RandomTokenGenerator implements TokenGenerator {
  refreshToken(): string {
    return REFRESH_TOKEN_PREFIX + randomBytes(32).toString('base64url');
  }

  hashRefreshToken(token: string): string {
    return createHash('sha256').update(token, 'utf8').digest('hex');
  }

  isWellFormedRefreshToken(token: string): boolean {
    return REFRESH_TOKEN_SHAPE.test(token);
  }

  serviceClientSecret(): string {
    return SERVICE_CLIENT_SECRET_PREFIX + randomBytes(32).toString('base64url');
  }

  hashServiceClientSecret(secret: string): string {
    return createHash('sha256').update(secret, 'utf8').digest('hex');
  }

  serviceClientSecretMatches(secret: string, storedHash: string | null): boolean {
    const presented = createHash('sha256').update(secret, 'utf8').digest();
    const stored = storedHash === null ? null : Buffer.from(storedHash, 'hex');
    const against = stored !== null && stored.length === presented.length ? stored : NO_CLIENT_HASH;
    return timingSafeEqual(presented, against) && against !== NO_CLIENT_HASH;
  }

  id(): string {
    return randomUUID();
  }
}
