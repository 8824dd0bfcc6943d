import type { AccessTokenClaims, Verifier, VerifyResult } from './verifier.js';

/** The problem document a refused request is answered with, like tokenwarden's own 401s. */
interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: 401;
  readonly detail: string;
  readonly code: string;
  readonly rejection?: string;
}

const TITLES: Record<string, string> = {
  unauthorized: 'Unauthorized',
  token_invalid: 'Token invalid',
  token_expired: 'Token expired',
  token_revoked: 'Token revoked',
  token_rotated: 'Token rotated',
  feed_stale: 'Token not checked',
};

const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

interface Refusal {
  readonly problem: Problem;
  readonly challenge: string;
}

function refusal(result: Exclude<VerifyResult, { ok: true }> | null): Refusal {
  if (result === null) {
    // RFC 6750 §3.1: a request with no credentials gets a challenge with no error code.
    return {
      problem: {
        type: 'urn:tokenwarden:problem:unauthorized',
        title: TITLES.unauthorized ?? 'Unauthorized',
        status: 401,
        detail: 'A bearer access token is required',
        code: 'unauthorized',
      },
      challenge: 'Bearer',
    };
  }
  return {
    problem: {
      type: `urn:tokenwarden:problem:${result.code.replaceAll('_', '-')}`,
      title: TITLES[result.code] ?? 'Unauthorized',
      status: 401,
      detail: result.message,
      code: result.code,
      ...(result.rejection === undefined ? {} : { rejection: result.rejection }),
    },
    challenge: `Bearer error="invalid_token", error_description="${result.code}"`,
  };
}

const bearer = (header: string | string[] | undefined): string | null => {
  if (typeof header !== 'string') return null;
  const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(header);
  return match?.[1] ?? null;
};

async function check(verifier: Verifier, header: string | string[] | undefined) {
  const token = bearer(header);
  if (token === null) return { claims: null, refused: refusal(null) };
  const result = await verifier.verify(token);
  return result.ok ? { claims: result.claims, refused: null } : { claims: null, refused: refusal(result) };
}

/**
 * The parts of a Fastify instance the plugin uses (structural: the verifier does not import fastify).
 *
 * @inline
 */
interface FastifyLike {
  decorateRequest(name: string, value: unknown): unknown;
  addHook(
    name: 'preHandler',
    hook: (
      request: { headers: Record<string, string | string[] | undefined>; tokenwarden?: unknown },
      reply: {
        code(status: number): { header(name: string, value: string): unknown };
        header(name: string, value: string): unknown;
        send(payload: unknown): unknown;
      },
    ) => Promise<unknown>,
  ): unknown;
}

/**
 * A Fastify plugin: every route registered in its scope needs a valid access token; the
 * claims are on `request.tokenwarden` (to type it, add `tokenwarden: AccessTokenClaims | null`
 * to `FastifyRequest` with `declare module 'fastify'`), a refused request gets tokenwarden's 401
 * `application/problem+json` with `WWW-Authenticate: Bearer …` (RFC 6750): `unauthorized` with
 * a bare `Bearer` challenge when there is no bearer token, else the {@link VerifyErrorCode} with
 * `error="invalid_token"`. It does not import fastify (4 or 5 both work).
 *
 * @param verifier - The verifier that judges each request's token.
 * @returns The plugin, to `register` (not encapsulated: its hook applies to the scope that
 *   registers it, as `fastify-plugin` would make it).
 *
 * @example
 * const verifier = createVerifier({ baseUrl, audience: 'tokenwarden', clientId, clientSecret });
 * await app.register(async (api) => {
 *   await api.register(tokenwardenFastify(verifier));
 *   api.get('/orders', async (request) => ({ user: request.tokenwarden?.sub }));
 * });
 */
export function tokenwardenFastify(verifier: Verifier) {
  const plugin = async (app: FastifyLike) => {
    app.decorateRequest('tokenwarden', null);
    app.addHook('preHandler', async (request, reply) => {
      const { claims, refused } = await check(verifier, request.headers.authorization);
      if (refused !== null) {
        reply.code(401).header('content-type', PROBLEM_CONTENT_TYPE);
        reply.header('www-authenticate', refused.challenge);
        return reply.send(refused.problem);
      }
      request.tokenwarden = claims;
      return undefined;
    });
  };
  // Fastify's `skip-override`: the hook applies to the scope that registers the plugin.
  return Object.assign(plugin, { [Symbol.for('skip-override')]: true });
}

/**
 * The parts of Express's request the middleware uses (structural: no express import).
 *
 * @inline
 */
interface ExpressRequestLike {
  headers: Record<string, string | string[] | undefined>;
  tokenwarden?: AccessTokenClaims;
}
/**
 * The parts of Express's response the middleware uses.
 *
 * @inline
 */
interface ExpressResponseLike {
  status(code: number): this;
  set(name: string, value: string): this;
  send(body: string): unknown;
}

/**
 * An Express middleware: a request with a valid access token goes on with its claims on
 * `req.tokenwarden`; any other gets tokenwarden's 401 `application/problem+json` with
 * `WWW-Authenticate: Bearer …` (RFC 6750), as {@link tokenwardenFastify} does. A failure of the
 * verifier itself goes to `next(error)`. It does not import express (4 or 5 both work); with
 * `@types/express` installed, `req.tokenwarden` is typed.
 *
 * @param verifier - The verifier that judges each request's token.
 * @returns The middleware, to `app.use`.
 *
 * @example
 * const app = express();
 * app.use('/api', tokenwardenExpress(verifier));
 * app.get('/api/orders', (req, res) => res.json({ user: req.tokenwarden?.sub }));
 */
export function tokenwardenExpress(verifier: Verifier) {
  return (req: ExpressRequestLike, res: ExpressResponseLike, next: (error?: unknown) => void): void => {
    check(verifier, req.headers.authorization).then(({ claims, refused }) => {
      if (refused !== null) {
        res
          .status(401)
          .set('content-type', PROBLEM_CONTENT_TYPE)
          .set('www-authenticate', refused.challenge)
          .send(JSON.stringify(refused.problem));
        return;
      }
      if (claims !== null) req.tokenwarden = claims;
      next();
    }, next);
  };
}

declare global {
  // Express's own way to add a request property (its types merge into this namespace).
  namespace Express {
    interface Request {
      /** The verified access token's claims (set by `tokenwardenExpress`). */
      tokenwarden?: AccessTokenClaims;
    }
  }
}
