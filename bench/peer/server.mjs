/**
 * better-auth in a process of its own, the peer `bench/peer.ts` measures tokenwarden against.
 *
 *   PORT=3600 DATABASE_URL=postgres://… [COOKIE_CACHE=1] [UPDATE_AGE=0] node bench/peer/server.mjs
 *
 * A plain node:http server, as better-auth's Node integration documents it: its handler
 * under /api/auth/*, and one protected route, GET /me, that asks `auth.api.getSession`
 * (the database session check: the cookie's token looked up in `session` joined to
 * `user`), 401 without a session; GET /statements, how many SQL statements it has sent. Migrations are better-auth's own (`getMigrations`), run
 * at start. Options beyond the defaults, and why:
 *   - COOKIE_CACHE=1 turns on the signed cookie cache (off by default);
 *   - UPDATE_AGE=0 makes every getSession extend the session (default: once a day), which
 *     is how its session extension is measured;
 *   - rate limiting off, as tokenwarden's bench server raises its limits: the load is the point.
 *
 * JavaScript, not TypeScript: the root typecheck must not depend on bench/peer's
 * node_modules, which the root `npm ci` does not install.
 */
import { createServer } from 'node:http';
import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import { fromNodeHeaders, toNodeHandler } from 'better-auth/node';
import pg from 'pg';

const port = Number(process.env.PORT);
const baseURL = `http://127.0.0.1:${port}`;
const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.DATABASE_POOL_SIZE ?? 16),
});
// Counts the statements better-auth sends, so the bench can say how many a request costs.
let statements = 0;
pool.on('connect', (client) => {
  const query = client.query.bind(client);
  client.query = (...args) => {
    statements++;
    return query(...args);
  };
});
const cookieCache = process.env.COOKIE_CACHE === '1';
const updateAge = process.env.UPDATE_AGE === undefined ? undefined : Number(process.env.UPDATE_AGE);

const auth = betterAuth({
  baseURL,
  secret: process.env.BETTER_AUTH_SECRET,
  database: pool,
  emailAndPassword: { enabled: true },
  rateLimit: { enabled: false },
  telemetry: { enabled: false },
  session: {
    ...(cookieCache ? { cookieCache: { enabled: true } } : {}),
    ...(updateAge === undefined ? {} : { updateAge }),
  },
  logger: { level: 'error' },
});

const { runMigrations } = await getMigrations(auth.options);
await runMigrations();

const handleAuth = toNodeHandler(auth);

const server = createServer(async (req, res) => {
  try {
    if (req.url === '/ready') {
      res.writeHead(200).end('ok');
      return;
    }
    if (req.url === '/statements') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ statements }));
      return;
    }
    if (req.url?.startsWith('/api/auth/')) {
      await handleAuth(req, res);
      return;
    }
    if (req.url === '/me' && req.method === 'GET') {
      // Headers back as better-auth returns them: the extension path re-sets the cookie.
      const { headers, response } = await auth.api.getSession({
        headers: fromNodeHeaders(req.headers),
        returnHeaders: true,
      });
      const setCookie = headers.getSetCookie();
      if (setCookie.length > 0) res.setHeader('set-cookie', setCookie);
      if (response === null) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
        return;
      }
      res
        .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        .end(JSON.stringify({ id: response.user.id, email: response.user.email }));
      return;
    }
    res.writeHead(404).end();
  } catch (error) {
    console.error(error);
    if (!res.headersSent) res.writeHead(500).end();
  }
});

server.listen(port, '127.0.0.1');

const stop = () => {
  server.close();
  server.closeAllConnections();
  pool.end().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
