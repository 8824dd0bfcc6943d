/**
 * `@tokenwarden/verifier`: tokenwarden's verifier for Node services (Node 20+): access tokens
 * checked through the JWKS and held against the revocation feed, so rotations and revocations
 * bite at once. Start with {@link createVerifier}; {@link tokenwardenFastify} and
 * {@link tokenwardenExpress} protect routes with it. See the README, "Protecting your own API".
 *
 * @packageDocumentation
 */
export { jwkToPem } from './jwk-to-pem.js';
export { tokenwardenExpress, tokenwardenFastify } from './middleware.js';
export type {
  AccessTokenClaims,
  FeedRegression,
  Verifier,
  VerifierOptions,
  VerifierStatus,
  VerifierStatusChange,
  VerifyErrorCode,
  VerifyResult,
} from './verifier.js';
export { createVerifier } from './verifier.js';
