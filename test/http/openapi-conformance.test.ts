import { randomUUID } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsImport from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import { useListeningApp } from '../support/listening-app.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, USER_PASSWORD } from '../support/test-app.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

/**
 * The OpenAPI document against the server it describes: for every operation the
 * document lists, requests that provoke success, malformed and oversized bodies, wrong
 * content types, missing, invalid and too-weak credentials, unknown ids and unsupported
 * methods; every answer must have a status the operation documents, its documented
 * content type, and a body valid against its documented schema. Nothing here names a
 * route except the fixtures below, so a new route is probed as soon as it is documented.
 */

const addFormats = addFormatsImport as unknown as (ajv: Ajv2020) => Ajv2020;

const BODY_LIMIT = 1024;
const METRICS_TOKEN = 'conformance-metrics-token-0123456789abcdef';
const PROBE_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE'] as const;

type Json = Record<string, unknown>;

interface MediaType {
  readonly schema?: Json;
}
interface ResponseObject {
  readonly description: string;
  readonly content?: Record<string, MediaType>;
}
interface Operation {
  readonly operationId?: string;
  readonly tags?: readonly string[];
  readonly security?: Record<string, string[]>[];
  readonly parameters?: {
    readonly name: string;
    readonly in: string;
    readonly required?: boolean;
    readonly schema?: Json;
  }[];
  readonly requestBody?: { readonly required?: boolean; readonly content: Record<string, MediaType> };
  readonly responses: Record<string, ResponseObject>;
}
interface Document {
  readonly paths: Record<string, Record<string, Operation>>;
  readonly components: {
    readonly schemas?: Record<string, Json>;
    readonly securitySchemes?: Record<string, Json>;
  };
}

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

interface Sent {
  readonly method: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
}

/** One exchange over a real socket (fetch refuses TRACE); an event stream is cut once its head arrived. */
function send(base: string, sent: Sent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${base}${sent.path}`,
      {
        method: sent.method,
        headers: {
          ...(sent.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(sent.body)) }),
          ...sent.headers,
        },
      },
      (res) => {
        if (String(res.headers['content-type']).startsWith('text/event-stream')) {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' });
          res.destroy();
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(sent.body);
  });
}

/** What a probe sends to one operation, besides method and path. */
interface Call {
  readonly params?: Record<string, string>;
  readonly query?: string;
  readonly body?: unknown;
}

/** Credentials fresh for each operation: a success that signs out or rotates cannot spoil the next one. */
interface Actors {
  readonly user: {
    readonly id: string;
    readonly email: string;
    readonly accessToken: string;
    readonly refreshToken: string;
    readonly sessionId: string;
  };
  readonly adminToken: string;
  readonly serviceClient: string;
  readonly api: (sent: Sent) => Promise<Answer>;
  /** One pass of the webhook relay: events become deliveries. */
  readonly runRelay: () => Promise<void>;
}

const authorization = (actors: Actors, scheme: string): Record<string, string> => {
  switch (scheme) {
    case 'bearer':
      return { authorization: `Bearer ${actors.user.accessToken}` };
    case 'admin':
      return { authorization: `Bearer ${actors.adminToken}` };
    case 'serviceClient':
      return { authorization: actors.serviceClient };
    case 'metricsToken':
      return { authorization: `Bearer ${METRICS_TOKEN}` };
    default:
      throw new Error(`no credentials for the security scheme ${scheme}: add them to this test`);
  }
};

const json = (answer: Answer) => JSON.parse(answer.body) as Json;

/**
 * Operations whose success needs more than the document says: a real token, an id that
 * exists, a body whose rule is a pattern. Any other operation succeeds with a body made
 * from its schema. Rotations are dry runs: the probes stay independent.
 */
const FIXTURES: Record<string, (actors: Actors) => Promise<Call>> = {
  changePassword: async () => ({
    body: { currentPassword: USER_PASSWORD, newPassword: 'a new long password' },
  }),
  logIn: async ({ user }) => ({ body: { email: user.email, password: USER_PASSWORD } }),
  revokeMySession: async ({ user }) => ({ params: { id: user.sessionId } }),
  refreshTokens: async ({ user }) => ({ body: { refreshToken: user.refreshToken } }),
  triggerGlobalRotation: async () => ({ body: { reason: 'conformance probe', dryRun: true } }),
  triggerUserRotation: async ({ user }) => ({
    params: { userId: user.id },
    body: { reason: 'conformance probe', dryRun: true },
  }),
  promoteUser: async ({ user }) => ({ params: { userId: user.id }, body: { reason: 'conformance probe' } }),
  listUserSessions: async ({ user }) => ({ params: { userId: user.id } }),
  disableUser: async ({ user }) => ({ params: { userId: user.id }, body: { reason: 'conformance probe' } }),
  enableUser: async ({ user }) => ({ params: { userId: user.id }, body: {} }),
  revokeUserSession: async ({ user }) => ({
    params: { userId: user.id, sessionId: user.sessionId },
    body: { reason: 'conformance probe' },
  }),
  revokeAllUserSessions: async ({ user }) => ({ params: { userId: user.id }, body: {} }),
  createServiceClient: async () => ({ body: { name: 'conformance probe' } }),
  // Every field is optional but one is required (minProperties 1): the default grace, unchanged.
  updateSecurityConfig: async () => ({ body: { gracePeriodSeconds: 300 } }),
  oauthToken: async ({ user }) => ({
    body: { grant_type: 'refresh_token', refresh_token: user.refreshToken },
  }),
  oauthRevoke: async ({ user }) => ({ body: { token: user.refreshToken } }),
  oauthIntrospect: async ({ user }) => ({ body: { token: user.accessToken } }),
  revokeServiceClient: async ({ api, adminToken }) => {
    const created = await api({
      method: 'POST',
      path: '/api/v1/admin/service-clients',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'to revoke' }),
    });
    return { params: { id: String(json(created).id) }, body: {} };
  },
  retireSigningKey: async ({ api, adminToken }) => {
    const headers = { authorization: `Bearer ${adminToken}` };
    await api({ method: 'POST', path: '/api/v1/admin/signing-keys/rotations', headers });
    const keys = json(await api({ method: 'GET', path: '/api/v1/admin/signing-keys', headers }))
      .items as Json[];
    const verifying = keys.find((key) => key.status === 'verifying');
    if (verifying === undefined) throw new Error('a rotation should leave a verifying key');
    return { params: { kid: String(verifying.kid) }, body: {} };
  },
  retryWebhookDelivery: async ({ api, adminToken, runRelay }) => {
    await runRelay();
    const headers = { authorization: `Bearer ${adminToken}` };
    const page = json(await api({ method: 'GET', path: '/api/v1/admin/webhooks/deliveries', headers }));
    const first = (page.items as Json[])[0];
    if (first === undefined) throw new Error('the relay should have made a delivery by now');
    return { params: { id: String(first.id) } };
  },
};

let unique = 0;

/** A value the schema accepts, for operations without a fixture. */
function sample(schema: Json | undefined): unknown {
  if (schema === undefined) return undefined;
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if ('default' in schema) return schema.default;
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = schema[key];
    if (Array.isArray(options)) return sample(options[0] as Json);
  }
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, Json>;
      const required = (schema.required ?? []) as string[];
      return Object.fromEntries(required.map((name) => [name, sample(properties[name])]));
    }
    case 'array':
      return [];
    case 'integer':
    case 'number':
      return typeof schema.minimum === 'number' ? schema.minimum : 0;
    case 'boolean':
      return false;
    case 'null':
      return null;
    case 'string': {
      unique += 1;
      if (schema.format === 'email') return `probe-${unique}-${randomUUID().slice(0, 8)}@example.com`;
      if (schema.format === 'uuid') return randomUUID();
      if (schema.format === 'date-time') return new Date().toISOString();
      const minLength = typeof schema.minLength === 'number' ? schema.minLength : 1;
      return `probe value ${unique}`.padEnd(minLength, 'x');
    }
    default:
      return undefined;
  }
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

describe.each(testDatabases())('the OpenAPI document describes what the server sends, on $name', (target) => {
  let hook: WebhookReceiver;
  const env: Record<string, string> = {
    TOKENWARDEN_BODY_LIMIT_BYTES: String(BODY_LIMIT),
    TOKENWARDEN_METRICS_TOKEN: METRICS_TOKEN,
    TOKENWARDEN_WEBHOOK_SECRET: 'conformance-webhook-secret',
    // The relay runs when a fixture asks (and once at start).
    TOKENWARDEN_WEBHOOK_POLL_INTERVAL_MS: '3600000',
  };
  beforeAll(async () => {
    // Deliveries exist only with a receiver; this one refuses them, so they stay retryable.
    hook = await startWebhookReceiver({ failFirst: 1_000_000, failStatus: 500 });
    env.TOKENWARDEN_WEBHOOK_URLS = hook.url;
  });
  afterAll(async () => {
    await hook?.close();
  });
  const app = useListeningApp(target, env);

  let doc: Document;
  let ajv: Ajv2020;
  const api = (sent: Sent) => send(app.base, sent);

  /** The document as the server serves it, fetched by the first test that needs it. */
  let loaded: Promise<void> | undefined;
  const loadDocument = () => {
    loaded ??= (async () => {
      const answer = await api({ method: 'GET', path: '/openapi.json' });
      expect(answer.status).toBe(200);
      doc = JSON.parse(answer.body) as Document;
      ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
      ajv.addSchema({ $id: 'openapi.json', components: { schemas: doc.components.schemas ?? {} } });
    })();
    return loaded;
  };

  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({
        path,
        method: method.toUpperCase(),
        operation,
      })),
    );

  /** A schema of the document, its component references pointing where ajv has them; compiled once. */
  const validators = new Map<string, ValidateFunction>();
  const validatorFor = (schema: Json): ValidateFunction => {
    const text = JSON.stringify(schema).replaceAll(
      '"$ref":"#/components/',
      '"$ref":"openapi.json#/components/',
    );
    let validate = validators.get(text);
    if (validate === undefined) {
      validate = ajv.compile(JSON.parse(text) as Json);
      validators.set(text, validate);
    }
    return validate;
  };

  /** The heart of it: the answer's status, content type and body are what the document says. */
  const expectDocumented = (what: string, operation: Operation, answer: Answer) => {
    const response = operation.responses[String(answer.status)] ?? operation.responses.default;
    expect(
      response,
      `${what}: ${answer.status} is not documented (${answer.body.slice(0, 300)})`,
    ).toBeDefined();
    if (response === undefined) return;
    if (response.content === undefined) {
      expect(answer.body, `${what}: ${answer.status} is documented without a body`).toBe('');
      return;
    }
    const mediaType = String(answer.headers['content-type']).split(';')[0]?.trim() ?? '';
    expect(Object.keys(response.content), `${what}: ${answer.status} sent as ${mediaType}`).toContain(
      mediaType,
    );
    const schema = response.content[mediaType]?.schema;
    if (schema === undefined || !mediaType.endsWith('json')) return;
    const validate = validatorFor(schema);
    const valid = validate(JSON.parse(answer.body));
    expect(valid, `${what}: body ${answer.body.slice(0, 300)} fails ${JSON.stringify(validate.errors)}`).toBe(
      true,
    );
  };

  /** The query a request sent is one the document accepts: required parameters present, values valid. */
  const expectRequestDocumented = (what: string, operation: Operation, target: string) => {
    const query = new URLSearchParams(target.split('?')[1] ?? '');
    for (const parameter of operation.parameters ?? []) {
      if (parameter.in !== 'query') continue;
      const value = query.get(parameter.name);
      if (value === null) {
        expect(parameter.required ?? false, `${what}: leaves out the required ${parameter.name}`).toBe(false);
        continue;
      }
      const type = (parameter.schema as { type?: unknown } | undefined)?.type;
      const typed = type === 'integer' || type === 'number' ? Number(value) : value;
      const validate = validatorFor(parameter.schema ?? {});
      expect(validate(typed), `${what}: ${parameter.name}=${value} ${JSON.stringify(validate.errors)}`).toBe(
        true,
      );
    }
  };

  const problemValidator = () => validatorFor({ $ref: '#/components/schemas/Problem' });

  async function freshActors(): Promise<Actors> {
    const email = `conformance-${randomUUID()}@example.com`;
    const jsonPost = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      api({
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    const registered = json(await jsonPost('/api/v1/users', { email, password: USER_PASSWORD }));
    // Two sessions: one to be revoked by id, one that keeps signing the requests.
    const other = json(await jsonPost('/api/v1/sessions', { email, password: USER_PASSWORD }));
    const pair = json(await jsonPost('/api/v1/sessions', { email, password: USER_PASSWORD }));
    const admin = json(await jsonPost('/api/v1/sessions', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD }));
    const adminToken = String(admin.accessToken);
    const client = json(
      await jsonPost(
        '/api/v1/admin/service-clients',
        { name: 'conformance' },
        { authorization: `Bearer ${adminToken}` },
      ),
    );
    return {
      user: {
        id: String(registered.id),
        email,
        accessToken: String(pair.accessToken),
        refreshToken: String(pair.refreshToken),
        sessionId: String(other.sessionId),
      },
      adminToken,
      serviceClient: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`,
      api,
      runRelay: async () => {
        await app.tw.webhooks.relay?.runOnce();
      },
    };
  }

  const pathWith = (template: string, params: Record<string, string>) =>
    template.replace(/\{([^}]+)\}/g, (_match, name: string) => params[name] ?? randomUUID());

  const paramNames = (template: string) => [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] as string);

  const requestMediaType = (operation: Operation) => Object.keys(operation.requestBody?.content ?? {})[0];

  const encode = (mediaType: string | undefined, body: unknown): string | undefined => {
    if (body === undefined || mediaType === undefined) return undefined;
    if (mediaType === 'application/x-www-form-urlencoded') {
      return new URLSearchParams(Object.entries(body as Json).map(([k, v]) => [k, String(v)])).toString();
    }
    return JSON.stringify(body);
  };

  it('documents every operation with an id, its security and its problems as application/problem+json', async () => {
    await loadDocument();
    const ids = new Set<string>();
    for (const { path, method, operation } of operations()) {
      const what = `${method} ${path}`;
      expect(operation.operationId, `${what} has no operationId`).toMatch(/^[a-z][A-Za-z0-9]*$/);
      expect(ids.has(operation.operationId as string), `${what}: operationId used twice`).toBe(false);
      ids.add(operation.operationId as string);
      expect(operation.security, `${what} states no security`).toBeDefined();
      // The OAuth routes answer RFC 6749 §5.2 errors (application/json), as OAuth clients expect.
      const oauth = operation.tags?.includes('oauth') === true;
      // The gateway's check answers a status and headers alone: gateways pass on no body.
      const gateway = operation.tags?.includes('gateway') === true;
      for (const [status, response] of Object.entries(operation.responses)) {
        if (Number(status) < 400 || Number(status) >= 500) continue;
        if (gateway) {
          expect(response.content, `${what} ${status}`).toBeUndefined();
          continue;
        }
        if (oauth) {
          expect(Object.keys(response.content ?? {}), `${what} ${status}`).toEqual(['application/json']);
          continue;
        }
        expect(Object.keys(response.content ?? {}), `${what} ${status}`).toEqual([
          'application/problem+json',
        ]);
        expect(response.content?.['application/problem+json']?.schema).toEqual({
          $ref: '#/components/schemas/Problem',
        });
      }
    }
    expect(ids.size).toBeGreaterThan(20);
  });

  it('marks no parameter both required and defaulted', async () => {
    await loadDocument();
    // A validating proxy (prism) refuses a request that leaves out a required parameter, even
    // one the server fills from its default: the walk-through's own audit query got 422.
    const both = operations().flatMap(({ path, method, operation }) =>
      (operation.parameters ?? [])
        .filter((parameter) => parameter.required === true && parameter.schema?.default !== undefined)
        .map((parameter) => `${method} ${path} ${parameter.in}.${parameter.name}`),
    );
    expect(both).toEqual([]);
  });

  it('answers every operation as documented: success, bad bodies, credentials, roles, unknown ids', async () => {
    await loadDocument();
    const problem = problemValidator();
    for (const { path, method, operation } of operations()) {
      const id = operation.operationId as string;
      const actors = await freshActors();
      const schemes = (operation.security ?? []).flatMap((requirement) => Object.keys(requirement));
      // `{}` among the requirements: credentials are optional (checked when sent).
      const optional = (operation.security ?? []).some(
        (requirement) => Object.keys(requirement).length === 0,
      );
      const credentials = schemes.length === 0 || optional ? {} : authorization(actors, schemes[0] as string);
      const call = (await FIXTURES[id]?.(actors)) ?? {};
      const mediaType = requestMediaType(operation);
      const body =
        call.body ??
        (operation.requestBody === undefined
          ? undefined
          : sample(operation.requestBody.content[mediaType as string]?.schema));
      const bodyHeaders = (type: string | undefined): Record<string, string> =>
        type === undefined ? {} : { 'content-type': type };
      const params = call.params ?? {};
      const target = `${pathWith(path, params)}${call.query ?? ''}`;
      // RFC 6749 §5.2: an OAuth route answers every malformed request 400 invalid_request in its
      // own error format (the document says so, and expectDocumented checks the body against it).
      const oauth = operation.tags?.includes('oauth') === true;
      const gateway = operation.tags?.includes('gateway') === true;
      const probe = async (what: string, sent: Sent, expected?: number) => {
        const answer = await api(sent);
        expectDocumented(`${id} ${what}`, operation, answer);
        // What the server accepted, the document must accept too (a validating proxy's check).
        if (answer.status < 400) expectRequestDocumented(`${id} ${what}`, operation, sent.path);
        const wanted = oauth && (expected === 415 || expected === 422) ? 400 : expected;
        if (wanted !== undefined)
          expect(answer.status, `${id} ${what}: ${answer.body.slice(0, 300)}`).toBe(wanted);
        if (answer.status >= 400 && !oauth && !gateway)
          expect(problem(json(answer)), `${id} ${what}`).toBe(true);
        return answer;
      };
      const encoded = encode(mediaType, body);
      const valid = (headers: Record<string, string>): Sent => ({
        method,
        path: target,
        headers: { ...headers, ...(encoded === undefined ? {} : bodyHeaders(mediaType)) },
        ...(encoded === undefined ? {} : { body: encoded }),
      });

      if (BODY_METHODS.has(method)) {
        // With valid credentials: the admin scope checks them before it reads a body.
        if (mediaType === undefined || mediaType === 'application/json') {
          await probe(
            'malformed JSON',
            {
              method,
              path: target,
              headers: { ...credentials, ...bodyHeaders('application/json') },
              body: '{"a":',
            },
            400,
          );
        }
        await probe(
          'a content type it does not read',
          {
            method,
            path: target,
            headers: { ...credentials, ...bodyHeaders('application/xml') },
            body: '<a/>',
          },
          415,
        );
        const big = Buffer.alloc(BODY_LIMIT + 1, 'a');
        await probe(
          'an oversized body',
          {
            method,
            path: target,
            headers: { ...credentials, ...bodyHeaders(mediaType ?? 'application/json') },
            body: big,
          },
          413,
        );
        if (mediaType === 'application/json') {
          await probe(
            'an unknown field',
            {
              method,
              path: target,
              headers: { ...credentials, ...bodyHeaders(mediaType) },
              body: JSON.stringify({ ...(body as Json), unexpectedField: true }),
            },
            422,
          );
        }
      }
      await probe(
        'NUL in the query',
        { ...valid(credentials), path: `${pathWith(path, params)}?probe=%00` },
        422,
      );
      if (paramNames(path).length > 0) {
        await probe(
          'a malformed escape in the path',
          {
            ...valid(credentials),
            path: pathWith(path, Object.fromEntries(paramNames(path).map((n) => [n, '%E0%A4%A']))),
          },
          400,
        );
        await probe('an unknown id', { ...valid(credentials), path: pathWith(path, {}) }, 404);
        await probe(
          'a value that is not an id',
          {
            ...valid(credentials),
            path: pathWith(path, Object.fromEntries(paramNames(path).map((n) => [n, 'not-an-id']))),
          },
          404,
        );
      }
      if (schemes.length > 0) {
        if (!optional) await probe('no credentials', valid({}), 401);
        for (const scheme of schemes) {
          const wrong =
            doc.components.securitySchemes?.[scheme]?.scheme === 'basic'
              ? `Basic ${Buffer.from(`${randomUUID()}:twc_wrong`).toString('base64')}`
              : 'Bearer eyJhbGciOiJFZERTQSJ9.e30.c2lnbmF0dXJl';
          await probe(`wrong ${scheme} credentials`, valid({ authorization: wrong }), 401);
        }
        if (schemes.includes('admin') && !schemes.includes('bearer')) {
          await probe('a user without the admin role', valid(authorization(actors, 'bearer')), 403);
        }
      }
      const success = await probe('success', valid(credentials));
      expect(success.status, `${id} success: ${success.body.slice(0, 300)}`).toBeGreaterThanOrEqual(200);
      expect(success.status, `${id} success: ${success.body.slice(0, 300)}`).toBeLessThan(300);
    }
  }, 600_000);

  it('answers 405 with Allow, as problem+json, for a method a known path does not serve', async () => {
    await loadDocument();
    const problem = problemValidator();
    for (const [path, methods] of Object.entries(doc.paths)) {
      // The gateway's check serves every method (Envoy sends the original one): never 405.
      if (Object.values(methods).some((operation) => operation.tags?.includes('gateway') === true)) {
        for (const method of PROBE_METHODS) {
          const answer = await api({ method, path });
          expect(answer.status, `${method} ${path}`).toBe(401);
          expect(answer.body, `${method} ${path}`).toBe('');
        }
        continue;
      }
      const served = Object.keys(methods).map((m) => m.toUpperCase());
      const allowed = [...served, ...(served.includes('GET') ? ['HEAD'] : [])].sort();
      for (const method of PROBE_METHODS.filter((m) => !served.includes(m))) {
        const answer = await api({ method, path: pathWith(path, {}) });
        const what = `${method} ${path}`;
        expect(answer.status, `${what}: ${answer.body.slice(0, 200)}`).toBe(405);
        expect(answer.headers.allow, what).toBe(allowed.join(', '));
        expect(String(answer.headers['content-type']), what).toMatch(/^application\/problem\+json/);
        expect(problem(json(answer)), what).toBe(true);
        expect(json(answer).code).toBe('method_not_allowed');
      }
    }
    const unknown = await api({ method: 'GET', path: '/api/v1/no-such-thing' });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.allow).toBeUndefined();
  }, 300_000);
});
