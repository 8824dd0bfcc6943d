import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { TokenGenerator } from '../../application/ports/token-generator.js';

const REFRESH_TOKEN_PREFIX = 'twr_';
const REFRESH_TOKEN_SHAPE = /^twr_[A-Za-z0-9_-]{43}$/;

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

  id(): string {
    return randomUUID();
  }
}
