/**
 * `tokenwarden/client`: a fetch-only client for tokenwarden (Node 20+ and browsers),
 * with single-flight refresh and sign-out on rotation. No runtime dependencies.
 *
 * @packageDocumentation
 */
export {
  type ClientEvents,
  type ClientOptions,
  createClient,
  type Me,
  type RequestOptions,
  type Session,
  type SessionPage,
  type SignedOutEvent,
  type SignOutReason,
  type TokenPair,
  type TokenwardenClient,
  type UserRotationResult,
} from './client.js';
export { type ClientProblem, TokenwardenClientError } from './errors.js';
export {
  localStorageStorage,
  memoryStorage,
  type StoredTokens,
  type TokenStorage,
  type WebStorageLike,
} from './storage.js';
