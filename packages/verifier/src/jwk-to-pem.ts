import { createPublicKey, type JsonWebKey } from 'node:crypto';

/**
 * A public JWK from tokenwarden's JWKS (Ed25519 `OKP`, or any key type Node reads) as an
 * SPKI PEM, for libraries that take PEM only: `get-jwks`' own `getPublicKey` converts
 * with `jwk-to-pem`, which knows RSA and EC but not OKP, so `@fastify/jwt` needs this.
 * A private JWK yields its public half; the private part never reaches the PEM.
 *
 * @example
 * import buildGetJwks from 'get-jwks';
 * import { jwkToPem } from '@tokenwarden/verifier';
 * const jwks = buildGetJwks();
 * await app.register(fastifyJwt, {
 *   decode: { complete: true },
 *   secret: async (_request, token) => {
 *     const { header, payload } = token as { header: { kid: string; alg: string }; payload: { iss: string } };
 *     return jwkToPem(await jwks.getJwk({ domain: payload.iss, kid: header.kid, alg: header.alg }));
 *   },
 *   verify: { algorithms: ['EdDSA'], allowedIss: 'https://auth.example.com', allowedAud: 'tokenwarden' },
 * });
 */
export function jwkToPem(jwk: JsonWebKey): string {
  return createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
}
