/**
 * A refresh with none of tokenwarden's code around it: the floor any implementation on
 * this stack (fastify 5, node-postgres, node:crypto) stands on. Started by
 * bench/refresh-floor.ts in a child process, like the real server, with `FLOOR_STAGE`:
 *
 * - `http`: fastify parses the JSON body and answers a token pair of the real size; no database.
 * - `sql`: and runs the refresh's two statements, the repository's own
 *   (bench/support/refresh-statements.ts),
 *   as named prepared statements on a pool of 16, as the server does.
 * - `crypto`: and does the crypto of a refresh: the presented token's SHA-256, a random
 *   successor and its SHA-256, the successor sealed (HKDF + AES-GCM), an Ed25519 JWT signed.
 *
 * Token n (a decimal string) names the row bench/support/seed.ts seeded for n: the floor
 * skips the domain rules, the audit of failures, the fallbacks and every check a real
 * refresh makes, so its speed is an upper bound, not a competitor.
 */
import {
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  randomBytes,
  randomUUID,
  sign,
} from 'node:crypto';
import Fastify from 'fastify';
import pg from 'pg';
import { HkdfSuccessorSealer } from '../../src/infrastructure/crypto/hkdf-successor-sealer.js';
import { findQuery, rotateQuery, seededHash } from './refresh-statements.js';

const stage = process.env.FLOOR_STAGE ?? 'crypto';
if (stage !== 'http' && stage !== 'sql' && stage !== 'crypto') throw new Error(`FLOOR_STAGE ${stage}?`);
const port = Number(process.env.PORT);

const sha256 = (text: string) => createHash('sha256').update(text).digest('base64url');
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

const { privateKey } = generateKeyPairSync('ed25519');
const signingKey = createPrivateKey(privateKey.export({ format: 'pem', type: 'pkcs8' }));
const header = b64({ alg: 'EdDSA', typ: 'at+jwt', kid: 'floor-key-0000000000000000000000000000000000' });
const sealer = new HkdfSuccessorSealer();
// The size of a real access token, for the http stage's answer.
const fixedAccessToken = `${header}.${b64({ sub: randomUUID(), sid: randomUUID(), jti: randomUUID(), uv: 1, gv: 1, role: 'user', iss: 'http://localhost', aud: 'tokenwarden', iat: 1, exp: 2 })}.${'x'.repeat(86)}`;

const pool =
  stage === 'http'
    ? null
    : new pg.Pool({
        connectionString: process.env.DATABASE_URL,
        max: 16,
        options: '-c search_path=tokenwarden',
      });

interface Row {
  readonly id: string;
  readonly session_id: string;
  readonly user_id: string;
  readonly used_at: Date | null;
}

async function refresh(token: string): Promise<{ accessToken: string; refreshToken: string } | null> {
  const successor = randomBytes(32).toString('base64url');
  if (pool === null) return { accessToken: fixedAccessToken, refreshToken: successor };
  const n = Number(token);
  const found = await pool.query<Row>(findQuery(seededHash(n)));
  const row = found.rows[0];
  if (row === undefined || row.used_at !== null) return null;
  const successorId = randomUUID();
  let successorHash = seededHash(successorId);
  let sealed =
    'v1.AAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB';
  let accessToken = fixedAccessToken;
  if (stage === 'crypto') {
    sha256(token);
    successorHash = sha256(successor);
    sealed = sealer.seal(token, successor);
    const now = Math.floor(Date.now() / 1000);
    const payload = b64({
      sub: row.user_id,
      sid: row.session_id,
      jti: randomUUID(),
      uv: 1,
      gv: 1,
      role: 'user',
      iss: 'http://localhost',
      aud: 'tokenwarden',
      iat: now,
      exp: now + 900,
    });
    const input = `${header}.${payload}`;
    accessToken = `${input}.${sign(null, Buffer.from(input), signingKey).toString('base64url')}`;
  }
  const written = await pool.query<{ written: number }>(
    rotateQuery({
      parentId: row.id,
      successorId,
      sessionId: row.session_id,
      userId: row.user_id,
      tokenHash: successorHash,
      successorSealed: sealed,
    }),
  );
  return written.rows[0]?.written === 1 ? { accessToken, refreshToken: successor } : null;
}

const app = Fastify({ logger: false });
app.get('/ready', async () => ({ status: 'ready' }));
app.post<{ Body: { refreshToken: string } }>(
  '/api/v1/tokens',
  {
    schema: {
      body: {
        type: 'object',
        required: ['refreshToken'],
        properties: { refreshToken: { type: 'string', minLength: 1, maxLength: 512 } },
      },
      response: {
        200: {
          type: 'object',
          properties: {
            accessToken: { type: 'string' },
            refreshToken: { type: 'string' },
            tokenType: { type: 'string' },
            expiresIn: { type: 'integer' },
          },
        },
      },
    },
  },
  async (request, reply) => {
    const pair = await refresh(request.body.refreshToken);
    if (pair === null) return reply.code(401).send({ code: 'token_invalid' });
    reply.header('cache-control', 'no-store');
    return { ...pair, tokenType: 'Bearer', expiresIn: 900 };
  },
);
await app.listen({ port, host: '127.0.0.1' });
const stop = async () => {
  await app.close();
  await pool?.end();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
