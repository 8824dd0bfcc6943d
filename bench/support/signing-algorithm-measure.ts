/**
 * EdDSA against ES256 (TOKENWARDEN_SIGNING_ALG): signing, a token's first verify and the
 * bearer check, in process, one core each on PGlite, alternated in rounds; then
 * `GET /api/v1/users/me` under autocannon with a token the server has not seen on every
 * request (bench/signing-algorithms.ts runs it, as does the suite with `--only signing-alg`).
 */
import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import { CreateSession } from '../../src/application/commands/create-session/command.js';
import { RegisterUser } from '../../src/application/commands/register-user/command.js';
import type { AccessTokenInput } from '../../src/application/ports/access-token-signer.js';
import { createTokenwarden, type Tokenwarden } from '../../src/composition-root.js';
import { type Config, loadConfig } from '../../src/config.js';
import { JwsAccessTokenSigner } from '../../src/infrastructure/crypto/jws-access-token-signer.js';
import { CHEAP_ARGON2_ENV, int, load, median, ms, type Row, scratchDir } from './env.js';
import { publicOnlyKeyStore } from './public-only-key-store.js';

const ALGORITHMS = ['EdDSA', 'ES256'] as const;
type Algorithm = (typeof ALGORITHMS)[number];
const ROUNDS = 4;

interface Side {
  readonly algorithm: Algorithm;
  readonly tw: Tokenwarden;
  readonly base: string;
  readonly input: AccessTokenInput;
  /** Another instance over the same keys: its tokens are new to the server's signer. */
  readonly elsewhere: JwsAccessTokenSigner;
  /** A signer holding no private key (a verifier elsewhere, a rotated-out key's tokens): always a verify. */
  readonly verifyOnly: JwsAccessTokenSigner;
  close(): Promise<void>;
}

interface Stats {
  readonly samples: number[];
  readonly loads: string[];
  cpu: number;
  wallMs: number;
}

const stats = (): Stats => ({ samples: [], loads: [], cpu: 0, wallMs: 0 });

async function timeEach<T>(
  items: readonly T[],
  into: Stats,
  fn: (item: T) => Promise<unknown>,
): Promise<void> {
  const cpu = process.cpuUsage();
  const wall = performance.now();
  for (const item of items) {
    const began = performance.now();
    await fn(item);
    into.samples.push((performance.now() - began) * 1000);
  }
  into.wallMs += performance.now() - wall;
  const used = process.cpuUsage(cpu);
  into.cpu += used.user + used.system;
  into.loads.push(load().replace('load ', ''));
}

async function openSide(algorithm: Algorithm): Promise<Side> {
  const dir = await scratchDir();
  const config: Config = loadConfig({
    TOKENWARDEN_DATA_DIR: dir.dir,
    TOKENWARDEN_SIGNING_ALG: algorithm,
    LOG_LEVEL: 'silent',
    ...CHEAP_ARGON2_ENV,
    TOKENWARDEN_RATE_LIMIT_MAX: '100000000',
  });
  const tw = await createTokenwarden(config, { logger: false, defaultMetrics: false });
  await tw.app.listen({ host: '127.0.0.1', port: 0 });
  const email = `${algorithm.toLowerCase()}@example.com`;
  const password = 'benchmark password';
  const registered = await tw.services.registerUser.handle(
    RegisterUser({ email, password, role: 'user', actor: 'bench' }),
  );
  if (!registered.ok) throw registered.error;
  const login = await tw.services.createSession.handle(
    CreateSession({ email, password, userAgent: null, ip: null }),
  );
  if (!login.ok) throw login.error;
  const verified = await tw.context.signer.verify(login.value.accessToken, tw.context.clock.now());
  if (!verified.ok) throw new Error(`a fresh ${algorithm} token did not verify`);
  const { sub, sid, role, ver, gver } = verified.claims;
  const options = { issuer: config.issuer, audience: config.audience, clientId: config.clientId };
  return {
    algorithm,
    tw,
    base: `http://127.0.0.1:${(tw.app.server.address() as AddressInfo).port}`,
    input: { sub, sid, role, ver, gver },
    elsewhere: new JwsAccessTokenSigner({ keyStore: tw.keyStore, ...options }),
    verifyOnly: new JwsAccessTokenSigner({ keyStore: publicOnlyKeyStore(tw.keyStore), ...options }),
    async close() {
      await tw.close();
      await dir.remove();
    },
  };
}

function row(what: string, s: Stats): Row {
  const mean = s.samples.reduce((sum, x) => sum + x, 0) / s.samples.length;
  return [
    what,
    s.samples.length.toLocaleString('en'),
    `${median(s.samples).toFixed(1)} µs`,
    `${mean.toFixed(1)} µs`,
    `${(s.cpu / s.samples.length).toFixed(1)} µs`,
    int((s.samples.length / s.wallMs) * 1000),
    `load ${s.loads.join(' / ')}`,
  ];
}

const parts = <T>(items: readonly T[]): T[][] => {
  const size = Math.ceil(items.length / ROUNDS);
  return Array.from({ length: ROUNDS }, (_, i) => items.slice(i * size, (i + 1) * size));
};

export const SIGNING_ALGORITHM_HEADER: Row = [
  'what',
  'tokens',
  'median',
  'mean',
  'CPU per token',
  'per second (one loop)',
  'load average per round',
];

export const SIGNING_ALGORITHM_HTTP_HEADER: Row = [
  'algorithm',
  'connections',
  'requests/s',
  'non-2xx / errors',
  'p50 (median of rounds)',
  'p99 (median of rounds)',
  'load average per round',
];

/**
 * @example
 * const { inProcess, http } = await signingAlgorithms(false); // 20 000 tokens per figure, 3 × 5 s of HTTP per algorithm
 */
export async function signingAlgorithms(quick: boolean): Promise<{ inProcess: Row[]; http: Row[] }> {
  const perFigure = quick ? 2_000 : 20_000;
  const sides: Side[] = [];
  try {
    for (const algorithm of ALGORITHMS) sides.push(await openSide(algorithm));
    const now = () => new Date();
    const indices = Array.from({ length: perFigure }, (_, i) => i);
    // Warm the JIT and each key before anything is timed.
    for (const side of sides) {
      for (let i = 0; i < 500; i++) {
        const { token } = await side.elsewhere.sign(side.input, now());
        await side.verifyOnly.verify(token, now());
        await side.tw.services.authenticateAccessToken.execute(token);
      }
    }
    const sign = new Map(sides.map((side) => [side.algorithm, stats()]));
    const verifyPublic = new Map(sides.map((side) => [side.algorithm, stats()]));
    const verifySigning = new Map(sides.map((side) => [side.algorithm, stats()]));
    const bearer = new Map(sides.map((side) => [side.algorithm, stats()]));
    const fresh = async (side: Side) =>
      Promise.all(indices.map(async () => (await side.elsewhere.sign(side.input, now())).token));
    const tokens = new Map<Algorithm, { publicOnly: string[][]; signing: string[][]; bearer: string[][] }>();
    for (const side of sides) {
      tokens.set(side.algorithm, {
        publicOnly: parts(await fresh(side)),
        signing: parts(await fresh(side)),
        bearer: parts(await fresh(side)),
      });
    }
    for (let r = 0; r < ROUNDS; r++) {
      for (const side of sides) {
        const its = tokens.get(side.algorithm);
        if (its === undefined) throw new Error('no tokens');
        await timeEach(parts(indices)[r] ?? [], sign.get(side.algorithm) as Stats, () =>
          side.tw.context.signer.sign(side.input, now()),
        );
        await timeEach(its.publicOnly[r] ?? [], verifyPublic.get(side.algorithm) as Stats, async (token) => {
          if (!(await side.verifyOnly.verify(token, now())).ok)
            throw new Error('a fresh token did not verify');
        });
        await timeEach(its.signing[r] ?? [], verifySigning.get(side.algorithm) as Stats, async (token) => {
          if (!(await side.tw.context.signer.verify(token, now())).ok)
            throw new Error('a fresh token did not verify');
        });
        await timeEach(its.bearer[r] ?? [], bearer.get(side.algorithm) as Stats, async (token) => {
          const result = await side.tw.services.authenticateAccessToken.execute(token);
          if (!result.ok) throw result.error;
        });
      }
    }
    const inProcess: Row[] = [];
    for (const side of sides) {
      const a = side.algorithm;
      inProcess.push(
        row(`${a}: sign an access token`, sign.get(a) as Stats),
        row(`${a}: verify a token's first sight, public key only`, verifyPublic.get(a) as Stats),
        row(
          `${a}: verify a token's first sight, the instance holding the signing key${a === 'EdDSA' ? ' (signed again and compared)' : ' (a verify: ECDSA is not deterministic)'}`,
          verifySigning.get(a) as Stats,
        ),
        row(
          `${a}: bearer check, a token's first sight, issued by another instance (whole query)`,
          bearer.get(a) as Stats,
        ),
      );
    }

    // Over HTTP: a token the server has never seen on every request, signed by "another
    // instance"; the algorithms alternate in rounds, so a change of load sways both alike.
    const connections = 8;
    const httpRounds = 3;
    const perRound = quick ? 1 : 5;
    const totals = new Map(
      sides.map((side) => [
        side.algorithm,
        { ok: 0, bad: 0, failed: 0, p50: [] as number[], p99: [] as number[], loads: [] as string[] },
      ]),
    );
    const pools = new Map<Algorithm, { tokens: string[]; next: number }>();
    for (const side of sides) {
      const tokens = await Promise.all(
        Array.from(
          { length: quick ? 10_000 : 60_000 },
          async () => (await side.elsewhere.sign(side.input, now())).token,
        ),
      );
      pools.set(side.algorithm, { tokens, next: 0 });
    }
    for (let r = 0; r < httpRounds; r++) {
      for (const side of sides) {
        const pool = pools.get(side.algorithm) as { tokens: string[]; next: number };
        const total = totals.get(side.algorithm) as NonNullable<ReturnType<typeof totals.get>>;
        const result = await autocannon({
          url: side.base,
          connections,
          duration: perRound,
          requests: [
            {
              method: 'GET',
              path: '/api/v1/users/me',
              setupRequest: (request) => ({
                ...request,
                headers: {
                  ...request.headers,
                  authorization: `Bearer ${pool.tokens[pool.next++ % pool.tokens.length]}`,
                },
              }),
            },
          ],
        });
        total.ok += result['2xx'];
        total.bad += result.non2xx;
        total.failed += result.errors + result.timeouts;
        total.p50.push(result.latency.p50);
        total.p99.push(result.latency.p99);
        total.loads.push(load().replace('load ', ''));
      }
    }
    const http: Row[] = [];
    for (const side of sides) {
      const pool = pools.get(side.algorithm) as { tokens: string[]; next: number };
      if (pool.next > pool.tokens.length)
        console.warn(`${side.algorithm}: the pool of ${pool.tokens.length} tokens went round`);
      const total = totals.get(side.algorithm) as NonNullable<ReturnType<typeof totals.get>>;
      http.push([
        side.algorithm,
        String(connections),
        int(total.ok / (httpRounds * perRound)),
        `${total.bad} / ${total.failed}`,
        ms(median(total.p50)),
        ms(median(total.p99)),
        `load ${total.loads.join(' / ')}`,
      ]);
    }
    return { inProcess, http };
  } finally {
    for (const side of sides) await side.close();
  }
}
