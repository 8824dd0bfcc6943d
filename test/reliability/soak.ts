/**
 * The reliability and security suites run twice over: a short form inside `npm test`
 * and a long form under `npm run test:soak` (TOKENWARDEN_SOAK=1). Sizes come from here.
 */
export const SOAK = process.env.TOKENWARDEN_SOAK === '1';

/** `short` inside `npm test`, `long` under `npm run test:soak`. */
export const scale = (short: number, long: number): number => (SOAK ? long : short);

/** The claims of a JWT, unverified (tests only read what the server signed). */
export function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
}
