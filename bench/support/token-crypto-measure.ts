/**
 * Access-token crypto measured in process: jose through WebCrypto against node:crypto
 * KeyObjects, alternated in rounds (bench/token-crypto.ts runs it alone; bench/access-and-login.ts
 * puts it beside the login figures).
 */
import type { KeyObject } from 'node:crypto';
import { createLocalJWKSet, importJWK, type JWK, jwtVerify, SignJWT } from 'jose';
import type { AccessTokenInput } from '../../src/application/ports/access-token-signer.js';
import type { Core } from '../../src/composition-root.js';
import { JwsAccessTokenSigner } from '../../src/infrastructure/crypto/jws-access-token-signer.js';
import { load, median, type Row } from './env.js';
import { publicOnlyKeyStore } from './public-only-key-store.js';

const ROUNDS = 4;

interface Stats {
  readonly samples: number[];
  readonly loads: string[];
  /** CPU time (user + system) of the process over the timed calls, µs: less swayed by other load. */
  cpu: number;
}

const stats = (): Stats => ({ samples: [], loads: [], cpu: 0 });

/** Per-call µs for each item, appended to `into`; `round` also records the load average. */
async function timeEach<T>(
  items: readonly T[],
  into: Stats,
  fn: (item: T) => Promise<unknown>,
  round = true,
): Promise<void> {
  const cpu = process.cpuUsage();
  for (const item of items) {
    const began = performance.now();
    await fn(item);
    into.samples.push((performance.now() - began) * 1000);
  }
  const used = process.cpuUsage(cpu);
  into.cpu += used.user + used.system;
  if (round) into.loads.push(load().replace('load ', ''));
}

function row(what: string, s: Stats): Row {
  const mean = s.samples.reduce((sum, x) => sum + x, 0) / s.samples.length;
  return [
    what,
    s.samples.length.toLocaleString('en'),
    `${median(s.samples).toFixed(1)} µs`,
    `${mean.toFixed(1)} µs`,
    `${(s.cpu / s.samples.length).toFixed(1)} µs`,
    `load ${s.loads.join(' / ')}`,
  ];
}

function chunks<T>(items: readonly T[], count: number): T[][] {
  const size = Math.ceil(items.length / count);
  return Array.from({ length: count }, (_, i) => items.slice(i * size, (i + 1) * size));
}

/**
 * @example
 * const rows = await tokenCrypto(core, input, false); // 20 000 tokens per figure
 */
export async function tokenCrypto(core: Core, input: AccessTokenInput, quick: boolean): Promise<Row[]> {
  const { context, services, keyStore } = core;
  const perFigure = quick ? 2_000 : 20_000;
  const now = () => context.clock.now();

  // The previous path: a WebCrypto CryptoKey from the private JWK, jose's SignJWT and jwtVerify.
  const { kid, privateKey } = await keyStore.signingKey();
  const joseKey = await importJWK((privateKey as KeyObject).export({ format: 'jwk' }) as JWK, 'EdDSA');
  const jwks = createLocalJWKSet({ keys: [...(await keyStore.jwks()).keys] });
  const probe = await context.signer.sign(input, now());
  // The issuer and audience as configured, read back from a token the signer wrote.
  const {
    iss: issuer,
    aud,
    client_id: clientId,
  } = JSON.parse(Buffer.from(probe.token.split('.')[1] ?? '', 'base64url').toString()) as {
    iss: string;
    aud: string;
    client_id: string;
  };
  // Another instance over the same keys: its tokens are new to this one's signer.
  const elsewhere = new JwsAccessTokenSigner({ keyStore, issuer, audience: aud, clientId });
  // A signer that holds no private key for the tokens' kid (a retired key's tokens, a
  // verifier elsewhere): every first sight is an Ed25519 verify.
  const verifyOnly = new JwsAccessTokenSigner({
    keyStore: publicOnlyKeyStore(keyStore),
    issuer,
    audience: aud,
    clientId,
  });
  const joseSign = () => {
    const iat = Math.floor(now().getTime() / 1000);
    return new SignJWT({ client_id: clientId, ...input })
      .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'at+jwt' })
      .setIssuer(issuer)
      .setAudience(aud)
      .setSubject(input.sub)
      .setJti(crypto.randomUUID())
      .setIssuedAt(iat)
      .setExpirationTime(iat + 900)
      .sign(joseKey);
  };
  const joseVerify = (token: string) =>
    jwtVerify(token, jwks, {
      algorithms: ['EdDSA'],
      issuer,
      audience: aud,
      typ: 'at+jwt',
      currentDate: now(),
      requiredClaims: ['iss', 'aud', 'sub', 'sid', 'jti', 'iat', 'exp', 'role', 'ver', 'gver'],
    });

  // Warm the JIT and both keys before anything is timed.
  for (let i = 0; i < 500; i++) {
    await joseVerify(await joseSign());
    await context.signer.verify((await context.signer.sign(input, now())).token, now());
  }

  const signJose = stats();
  const signNode = stats();
  const indices = Array.from({ length: perFigure }, (_, i) => i);
  for (const part of chunks(indices, ROUNDS)) {
    await timeEach(part, signJose, joseSign);
    await timeEach(part, signNode, () => context.signer.sign(input, now()));
  }

  // Fresh tokens for each first-sight figure: none of them was seen before. Signed
  // by the other instance, except those this instance issued itself (it remembers them).
  const signMany = async (signer: Pick<JwsAccessTokenSigner, 'sign'>) =>
    Promise.all(indices.map(async () => (await signer.sign(input, now())).token));
  const forJose = await signMany(elsewhere);
  const forNode = await signMany(elsewhere);
  const forVerifyOnly = await signMany(elsewhere);
  const forBearer = await signMany(elsewhere);
  const verifyJose = stats();
  const verifyNode = stats();
  const verifyPublic = stats();
  const bearerNode = stats();
  const bearerOwn = stats();
  const joseParts = chunks(forJose, ROUNDS);
  const nodeParts = chunks(forNode, ROUNDS);
  const publicParts = chunks(forVerifyOnly, ROUNDS);
  const bearerParts = chunks(forBearer, ROUNDS);
  const ownParts = chunks(indices, ROUNDS);
  for (let r = 0; r < ROUNDS; r++) {
    await timeEach(joseParts[r] ?? [], verifyJose, joseVerify);
    await timeEach(nodeParts[r] ?? [], verifyNode, async (token) => {
      const result = await context.signer.verify(token, now());
      if (!result.ok) throw new Error(`a fresh token did not verify: ${result.reason}`);
    });
    await timeEach(publicParts[r] ?? [], verifyPublic, async (token) => {
      const result = await verifyOnly.verify(token, now());
      if (!result.ok) throw new Error(`a fresh token did not verify: ${result.reason}`);
    });
    const check = async (token: string) => {
      const result = await services.authenticateAccessToken.execute(token);
      if (!result.ok) throw result.error;
    };
    await timeEach(bearerParts[r] ?? [], bearerNode, check);
    // As a client does: it gets a token (login, refresh) and presents it. Only the check is timed.
    for (const _ of ownParts[r] ?? []) {
      const { token } = await context.signer.sign(input, now());
      await timeEach([token], bearerOwn, check, false);
    }
    bearerOwn.loads.push(load().replace('load ', ''));
  }
  return [
    row('sign an access token: jose SignJWT (WebCrypto)', signJose),
    row('sign an access token: node:crypto KeyObject (now)', signNode),
    row("verify a token's first sight: jose jwtVerify (WebCrypto)", verifyJose),
    row(
      "verify a token's first sight: node:crypto, a key without its private half here (Ed25519 verify)",
      verifyPublic,
    ),
    row(
      "verify a token's first sight: node:crypto, the key that signs now (signed again and compared)",
      verifyNode,
    ),
    row("bearer check, a token's first sight, issued by another instance (whole query)", bearerNode),
    row("bearer check, a token's first sight, issued by this instance (whole query)", bearerOwn),
  ];
}

export const TOKEN_CRYPTO_HEADER: Row = [
  'what',
  'tokens',
  'median',
  'mean',
  'CPU per token',
  'load average per round',
];
