import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { GrantClientCredentials } from '../../application/commands/grant-client-credentials/command.js';
import { RefreshTokens } from '../../application/commands/refresh-tokens/command.js';
import { RevokeToken } from '../../application/commands/revoke-token/command.js';
import type { ServiceClientPrincipal } from '../../application/queries/authenticate-service-client/query.js';
import type { ActiveToken } from '../../application/queries/introspect-token/query.js';
import type { Services } from '../../application/services.js';
import { TokenwardenError } from '../../domain/errors.js';
import { basicCredentials } from '../auth.js';
import { clientFacts, type Guards, noStore, type RateLimits, unwrap } from '../route-kit.js';

/** What the OAuth surface says about itself: the URLs and ids the metadata and tokens carry. */
export interface OAuthOptions {
  /** `iss` of every token and the metadata's `issuer`. */
  readonly issuer: string;
  /** The public base URL the endpoints are under (no trailing slash). */
  readonly publicUrl: string;
  /** The first-party client id: `client_id` of user tokens; the only id a public client may send. */
  readonly clientId: string;
  /** `aud` of user access tokens. */
  readonly audience: string;
  /** Whether `/docs` is served (the metadata's `service_documentation`). */
  readonly docs: boolean;
}

const FORM = 'application/x-www-form-urlencoded';

// RFC 6749 §5.2 defines the codes; tokenwarden's own code rides along as `code` where one applies.
const OAuthErrorSchema = Type.Object(
  {
    error: Type.String(),
    error_description: Type.Optional(Type.String()),
    code: Type.Optional(Type.String()),
    rejection: Type.Optional(Type.String()),
  },
  { description: 'RFC 6749 §5.2 error (application/json)' },
);
const oauthErrors = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((status) => [status, OAuthErrorSchema]));

// Lengths bound what can reach a handler; a token longer than any we issue is simply not one of ours.
const Secret = Type.String({ minLength: 1, maxLength: 512 });
const ClientId = Type.String({ minLength: 1, maxLength: 256 });
const Hint = Type.String({ maxLength: 64 });

const TokenBody = Type.Object({
  grant_type: Type.String({ minLength: 1, maxLength: 64 }),
  refresh_token: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
  client_id: Type.Optional(ClientId),
  client_secret: Type.Optional(Secret),
  scope: Type.Optional(Type.String({ maxLength: 1024 })),
});

const TokenAnswer = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  refresh_token: Type.Optional(Type.String()),
});

const TokenParamBody = Type.Object({
  token: Type.String({ minLength: 1, maxLength: 8192 }),
  token_type_hint: Type.Optional(Hint),
  client_id: Type.Optional(ClientId),
  client_secret: Type.Optional(Secret),
});

const IntrospectionAnswer = Type.Object(
  {
    active: Type.Boolean(),
    sub: Type.Optional(Type.String()),
    sid: Type.Optional(Type.String()),
    exp: Type.Optional(Type.Integer()),
    iat: Type.Optional(Type.Integer()),
    iss: Type.Optional(Type.String()),
    aud: Type.Optional(Type.String()),
    client_id: Type.Optional(Type.String()),
    jti: Type.Optional(Type.String()),
    ver: Type.Optional(Type.Integer()),
    gver: Type.Optional(Type.Integer()),
    token_type: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

const MetadataSchema = Type.Object({
  issuer: Type.String({ format: 'uri' }),
  jwks_uri: Type.String({ format: 'uri' }),
  token_endpoint: Type.String({ format: 'uri' }),
  revocation_endpoint: Type.String({ format: 'uri' }),
  introspection_endpoint: Type.String({ format: 'uri' }),
  grant_types_supported: Type.Array(Type.String()),
  response_types_supported: Type.Array(Type.String()),
  token_endpoint_auth_methods_supported: Type.Array(Type.String()),
  revocation_endpoint_auth_methods_supported: Type.Array(Type.String()),
  introspection_endpoint_auth_methods_supported: Type.Array(Type.String()),
  service_documentation: Type.Optional(Type.String({ format: 'uri' })),
});

/**
 * The standard OAuth 2.0 surface beside `/api/v1` (docs/OAUTH.md):
 * RFC 8414 metadata, the RFC 6749 token endpoint (refresh_token and client_credentials),
 * RFC 7009 revocation and RFC 7662 introspection. Form-encoded in, snake_case JSON out,
 * errors as RFC 6749 §5.2 `{error, error_description}`; the handlers are the ones
 * `/api/v1` runs.
 */
export const oauthRoutes =
  (
    services: Services,
    guards: Guards,
    limits: RateLimits,
    options: OAuthOptions,
  ): FastifyPluginAsyncTypebox =>
  async (app) => {
    // Forms only (RFC 6749 §4.1.3, RFC 7009 §2.1, RFC 7662 §2.1): the JSON and text parsers
    // this scope inherits would let a JSON body rotate or revoke a token. Without a parser a
    // body is 415, answered as 400 invalid_request (the error table's RFC 6749 form).
    app.removeAllContentTypeParsers();
    // Parsed here only: /api/v1 stays JSON (a form there is still 415).
    app.addContentTypeParser(FORM, { parseAs: 'string' }, (_request, body, done) => {
      try {
        done(null, parseForm(body as string));
      } catch (error) {
        done(error as Error, undefined);
      }
    });
    // Every failure in this scope is written as an RFC 6749 §5.2 error by the one error handler.
    app.addHook('onRoute', (route) => {
      route.config = { ...route.config, errorFormat: 'oauth' };
    });

    const endpoint = (path: string) => `${options.publicUrl}${path}`;
    app.get(
      '/.well-known/oauth-authorization-server',
      {
        schema: {
          tags: ['oauth'],
          operationId: 'getAuthorizationServerMetadata',
          summary: 'RFC 8414 authorization server metadata',
          security: [],
          // A query holding NUL or an unpaired surrogate: 400 invalid_request, like every OAuth route.
          response: { 200: MetadataSchema, ...oauthErrors(400, 503) },
        },
      },
      async (_request, reply) => {
        reply.header('cache-control', 'public, max-age=300');
        return {
          issuer: options.issuer,
          jwks_uri: endpoint('/.well-known/jwks.json'),
          token_endpoint: endpoint('/oauth/token'),
          revocation_endpoint: endpoint('/oauth/revoke'),
          introspection_endpoint: endpoint('/oauth/introspect'),
          grant_types_supported: ['refresh_token', 'client_credentials'],
          // No authorization endpoint: logins are POST /api/v1/sessions, so no response type is offered.
          response_types_supported: [],
          token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
          revocation_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
          introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
          ...(options.docs ? { service_documentation: endpoint('/docs') } : {}),
        };
      },
    );

    app.post(
      '/oauth/token',
      {
        onRequest: limits.refresh,
        config: { oauthGrant: true },
        schema: {
          tags: ['oauth'],
          operationId: 'oauthToken',
          summary:
            'RFC 6749 token endpoint: refresh_token (rotation) and client_credentials (service clients)',
          consumes: [FORM],
          // Public clients send no credentials; service clients use Basic or client_secret_post.
          security: [{}, { serviceClient: [] }],
          body: TokenBody,
          response: { 200: TokenAnswer, ...oauthErrors(400, 401, 413, 429, 500, 503) },
        },
      },
      async (request, reply) => {
        noStore(reply);
        const body = request.body;
        const client = presentedClient(request, body);
        if (body.grant_type === 'refresh_token') {
          await refuseClientForRefresh(client);
          if (body.refresh_token === undefined) {
            throw new TokenwardenError(
              'invalid_request',
              'refresh_token is required for grant_type=refresh_token',
            );
          }
          const pair = unwrap(
            await services.refreshTokens.handle(
              RefreshTokens({ refreshToken: body.refresh_token, ...clientFacts(request) }),
            ),
          );
          return {
            access_token: pair.accessToken,
            token_type: pair.tokenType,
            expires_in: pair.expiresIn,
            refresh_token: pair.refreshToken,
          };
        }
        if (body.grant_type === 'client_credentials') {
          if (client.kind !== 'confidential') {
            throw new TokenwardenError(
              'invalid_client',
              'client_credentials needs a service client id and secret',
            );
          }
          const granted = await services.grantClientCredentials.handle(
            GrantClientCredentials({ clientId: client.clientId, secret: client.secret }),
          );
          if (!granted.ok) throw new TokenwardenError('invalid_client', 'Invalid service client credentials');
          return {
            access_token: granted.value.accessToken,
            token_type: granted.value.tokenType,
            expires_in: granted.value.expiresIn,
          };
        }
        throw new TokenwardenError(
          'unsupported_grant_type',
          'grant_type must be refresh_token or client_credentials',
        );
      },
    );

    app.post(
      '/oauth/revoke',
      {
        onRequest: limits.refresh,
        schema: {
          tags: ['oauth'],
          operationId: 'oauthRevoke',
          summary:
            'RFC 7009 revocation: a refresh or access token ends its session; 200 whatever the token, ' +
            'but 400 unsupported_token_type for a client-credentials token',
          consumes: [FORM],
          security: [{}, { serviceClient: [] }],
          body: TokenParamBody,
          response: {
            200: Type.Null({
              description: 'Revoked, or nothing to revoke: the answer never says which (empty body)',
            }),
            ...oauthErrors(400, 401, 413, 429, 500, 503),
          },
        },
      },
      async (request, reply) => {
        noStore(reply);
        const client = presentedClient(request, request.body);
        if (client.kind === 'confidential') await authenticate(client);
        const outcome = unwrap(await services.revokeToken.handle(RevokeToken({ token: request.body.token })));
        if (outcome.unsupported !== undefined) {
          // RFC 7009 §2.2.1: a client-credentials token has no session to end, and is not
          // revoked one by one; revoking its service client stops every token it holds.
          throw new TokenwardenError(
            'unsupported_token_type',
            'Client-credentials tokens are not revocable one by one: revoke the service client',
          );
        }
        // RFC 7009 §2.2: the content of the answer is ignored by the client: none is sent.
        return reply.code(200).send(undefined as never);
      },
    );

    app.post(
      '/oauth/introspect',
      {
        // client_secret_post (openid-client's default) or the guard's Basic / client token.
        preHandler: async (request, reply) => {
          if (request.body.client_secret === undefined) return guards.requireServiceClient(request, reply);
          const client = presentedClient(request, request.body);
          if (client.kind !== 'confidential') {
            throw new TokenwardenError('invalid_client', 'Introspection needs a service client');
          }
          request.serviceClient = await authenticate(client);
        },
        schema: {
          tags: ['oauth'],
          operationId: 'oauthIntrospect',
          summary: 'RFC 7662 introspection, for service clients: is this token good now, and whose is it',
          consumes: [FORM],
          security: [{ serviceClient: [] }, { bearer: [] }],
          body: TokenParamBody,
          response: { 200: IntrospectionAnswer, ...oauthErrors(400, 401, 413, 500, 503) },
        },
      },
      async (request, reply) => {
        noStore(reply);
        const found = unwrap(await services.introspectToken.execute(request.body.token));
        return found === null ? { active: false } : introspectionJson(found, options);
      },
    );

    /** The client a request names, by exactly one method (RFC 6749 §2.3: never two). */
    function presentedClient(
      request: FastifyRequest,
      body: { readonly client_id?: string; readonly client_secret?: string },
    ): PresentedClient {
      const header = request.headers.authorization;
      if (header !== undefined) {
        if (body.client_secret !== undefined) {
          throw new TokenwardenError('invalid_request', 'Use one client authentication method, not two');
        }
        const basic = basicCredentials(header);
        if (basic === null) {
          throw new TokenwardenError(
            'invalid_client',
            'Client authentication must be HTTP Basic (client_secret_basic)',
          );
        }
        if (body.client_id !== undefined && body.client_id !== basic.clientId) {
          throw new TokenwardenError('invalid_request', 'client_id differs from the authenticated client');
        }
        return { kind: 'confidential', clientId: basic.clientId, secret: basic.secret };
      }
      if (body.client_secret !== undefined) {
        if (body.client_id === undefined) {
          throw new TokenwardenError('invalid_request', 'client_secret needs client_id');
        }
        return { kind: 'confidential', clientId: body.client_id, secret: body.client_secret };
      }
      if (body.client_id !== undefined && body.client_id !== options.clientId) {
        throw new TokenwardenError(
          'invalid_client',
          'Unknown public client: only the first-party client id is accepted without a secret',
        );
      }
      return { kind: 'public' };
    }

    async function authenticate(client: ConfidentialClient): Promise<ServiceClientPrincipal> {
      const result = await services.authenticateServiceClient.execute(client.clientId, client.secret);
      if (!result.ok) throw new TokenwardenError('invalid_client', 'Invalid service client credentials');
      return result.value;
    }

    /** Refresh tokens belong to the first-party public client; a service client holds none. */
    async function refuseClientForRefresh(client: PresentedClient): Promise<void> {
      if (client.kind === 'public') return;
      await authenticate(client);
      throw new TokenwardenError(
        'unauthorized_client',
        'Service clients use client_credentials; refresh tokens belong to the first-party client',
      );
    }
  };

type ConfidentialClient = {
  readonly kind: 'confidential';
  readonly clientId: string;
  readonly secret: string;
};
type PresentedClient = { readonly kind: 'public' } | ConfidentialClient;

function introspectionJson(token: ActiveToken, options: OAuthOptions) {
  const common = { active: true, iss: options.issuer, iat: token.iat, exp: token.exp };
  switch (token.kind) {
    case 'access':
      return {
        ...common,
        token_type: 'Bearer',
        sub: token.sub,
        sid: token.sid,
        aud: options.audience,
        client_id: token.clientId ?? options.clientId,
        jti: token.jti,
        ver: token.ver,
        gver: token.gver,
      };
    case 'refresh':
      return {
        ...common,
        // No token_type: RFC 7662 §2.2 takes RFC 6749 §7.1 access token types ("Bearer"), and
        // a refresh token is none; "refresh_token" is only a hint value (RFC 7009 §2.1).
        sub: token.sub,
        sid: token.sid,
        client_id: options.clientId,
        ver: token.ver,
        gver: token.gver,
      };
    case 'client':
      return {
        ...common,
        token_type: 'Bearer',
        sub: token.clientId,
        aud: options.publicUrl,
        client_id: token.clientId,
        jti: token.jti,
      };
  }
}

/**
 * A form body as a null-prototype record. A repeated parameter is refused (RFC 6749
 * §3.1: "Request and response parameters MUST NOT be included more than once"), so
 * two values never race to be the one a check and a handler read.
 */
function parseForm(body: string): Record<string, string> {
  const params: Record<string, string> = Object.create(null);
  for (const [name, value] of new URLSearchParams(body)) {
    if (Object.hasOwn(params, name)) {
      throw Object.assign(new Error(`The parameter ${JSON.stringify(name.slice(0, 64))} is repeated`), {
        statusCode: 400,
      });
    }
    params[name] = value;
  }
  return params;
}
