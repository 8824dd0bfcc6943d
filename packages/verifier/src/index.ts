/**
 * tokenwarden's verifier for Node services: access tokens checked through the JWKS and
 * held against the revocation feed, so rotations and revocations bite at once. See the
 * README, "Protecting your own API".
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
