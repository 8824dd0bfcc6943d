/**
 * RFC 7662 introspection cost over HTTP, on PostgreSQL.
 *
 *   npx tsx bench/introspection.ts [--quick] [--no-write]
 *
 * A server on a scratch PostgreSQL database, 16 users with a session each and one
 * service client; autocannon POSTs `/oauth/introspect` (form-encoded) for their access
 * tokens with Basic client authentication (a client lookup and SHA-256 per request, then
 * the bearer check from the warm cache), the same with a client-credentials Bearer token,
 * and for their refresh tokens (one unlocked read of token, session, user and versions).
 */
import autocannon from 'autocannon';
import {
  CHEAP_ARGON2_ENV,
  int,
  load,
  ms,
  parseFlags,
  type Row,
  scratchPostgres,
  table,
  writeSection,
} from './support/env.js';
import { sessions, startServer } from './support/server.js';

const ADMIN = { email: 'bench-admin@example.com', password: 'benchmark admin password' };

async function postJson(base: string, path: string, body: unknown, token?: string) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
  });
  return (await res.json()) as Record<string, unknown>;
}

export async function introspection(quick: boolean): Promise<string> {
  const scratch = await scratchPostgres('introspect');
  const rows: Row[] = [];
  try {
    const server = await startServer({
      env: {
        DATABASE_URL: scratch.url,
        DATABASE_POOL_SIZE: '8',
        ...CHEAP_ARGON2_ENV,
        TOKENWARDEN_ADMIN_EMAIL: ADMIN.email,
        TOKENWARDEN_ADMIN_PASSWORD: ADMIN.password,
      },
      maxSeconds: 180,
    });
    try {
      const admin = (await postJson(server.base, '/api/v1/sessions', ADMIN)).accessToken as string;
      const client = (await postJson(
        server.base,
        '/api/v1/admin/service-clients',
        { name: 'bench' },
        admin,
      )) as {
        id: string;
        secret: string;
      };
      const basic = `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`;
      const granted = await fetch(`${server.base}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
        body: 'grant_type=client_credentials',
      });
      const clientToken = ((await granted.json()) as { access_token: string }).access_token;
      const users = await sessions(server.base, 16);
      const seconds = quick ? 2 : 10;
      const runs = [
        {
          what: 'access tokens, Basic client auth',
          auth: basic,
          token: (u: (typeof users)[number]) => u.accessToken,
        },
        {
          what: 'access tokens, client-credentials Bearer',
          auth: `Bearer ${clientToken}`,
          token: (u: (typeof users)[number]) => u.accessToken,
        },
        {
          what: 'refresh tokens, Basic client auth',
          auth: basic,
          token: (u: (typeof users)[number]) => u.refreshToken,
        },
      ];
      for (const run of runs) {
        const result = await autocannon({
          url: server.base,
          connections: 16,
          duration: seconds,
          requests: users.map((u) => ({
            method: 'POST' as const,
            path: '/oauth/introspect',
            headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: run.auth },
            body: `token=${encodeURIComponent(run.token(u))}`,
          })),
        });
        rows.push([
          `POST /oauth/introspect: ${run.what}`,
          '16',
          int(result['2xx'] / seconds),
          failures(result),
          ms(result.latency.p50),
          ms(result.latency.p99),
          load(),
        ]);
      }
    } finally {
      await server.stop();
    }
  } finally {
    await scratch.drop();
  }
  return table(
    ['route', 'connections', 'requests/s', 'non-2xx / errors', 'p50', 'p99', 'load average'],
    rows,
  );
}

/** Non-2xx answers and errors, with the status codes and errors seen: a failed run says why. */
function failures(result: autocannon.Result): string {
  const codes = Object.entries(result.statusCodeStats ?? {})
    .filter(([code]) => !code.startsWith('2'))
    .map(([code, { count }]) => `${count}× ${code}`);
  const errors = [
    ...(result.timeouts > 0 ? [`${result.timeouts} timeouts`] : []),
    ...(result.errors > result.timeouts ? [`${result.errors - result.timeouts} socket errors`] : []),
  ];
  const detail = [...codes, ...errors];
  return `${result.non2xx} / ${result.errors}${detail.length > 0 ? ` (${detail.join(', ')})` : ''}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { quick, write } = parseFlags(process.argv.slice(2));
  const markdown = `### Introspection, PostgreSQL over HTTP${quick ? ' (quick)' : ''}

The server, PostgreSQL and autocannon share the two cores; the load average of each run is
beside its figure.

${await introspection(quick)}`;
  console.log(markdown);
  if (write) await writeSection(quick ? 'introspection-quick' : 'introspection', markdown);
}
