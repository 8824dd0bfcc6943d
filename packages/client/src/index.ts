/**
 * `@tokenwarden/client`: a fetch-only client for tokenwarden (Node 20+ and browsers),
 * with single-flight refresh and sign-out on rotation. No runtime dependencies. Start with
 * {@link createClient}; a refused or failed call rejects with a {@link TokenwardenClientError}.
 *
 * @packageDocumentation
 */
export {
  type ClientOptions,
  createClient,
  type Me,
  type Session,
  type SessionPage,
  type TokenwardenClient,
  type UserRotationResult,
} from './client.js';
export { type ClientProblem, TokenwardenClientError } from './errors.js';
export type { ClientEvents, SignedOutEvent, SignOutReason } from './events.js';
export type { RequestOptions } from './request.js';
export {
  localStorageStorage,
  memoryStorage,
  type StoredTokens,
  type TokenStorage,
  type WebStorageLike,
} from './storage.js';
export type { TokenPair } from './token-keeper.js';
