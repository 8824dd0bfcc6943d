/**
 * `@tokenwarden/jws`: tokenwarden's access tokens as compact JWS, the one implementation the
 * server and `@tokenwarden/verifier` both use. Parse strictly (`parseCompactJws`), pick the
 * key by kid (`keyForKid`), check the signature, `typ` and registered claims as jose's
 * `jwtVerify` does (`verifyJws`), then the issuer's bounds (`issuanceRefusal`). Node built-ins
 * only; the algorithms are a table (`jwsAlgorithm`).
 */
export { type JwsAlgorithm, jwsAlgorithm } from './algorithms.js';
export {
  type CompactJws,
  MAX_COMPACT_JWS_LENGTH,
  MAX_PROTECTED_HEADER_LENGTH,
  parseCompactJws,
  unverifiedClaims,
} from './compact-jws.js';
export { type ImplausibleReason, issuanceRefusal, MAX_ISSUED_AT_SKEW_SECONDS } from './issuance.js';
export type { ClaimsRules } from './registered-claims.js';
export { type JwsCheck, keyForKid, verifyJws } from './verify-jws.js';
