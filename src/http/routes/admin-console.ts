import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { ADMIN_CONSOLE_SCRIPT, bundleAdminConsole, hasBuiltScript } from '../admin-console-assets.js';

/**
 * src/admin-console/ when run from the TypeScript source, dist/admin-console/ when built:
 * the same relative place, so one path serves both.
 */
const CONSOLE_DIR = fileURLToPath(new URL('../../admin-console/', import.meta.url));

/**
 * The console's script: read as `npm run build` wrote it, or (run from the source, where
 * there is no built file) bundled with esbuild on first request so it is never stale
 * against the source. Either way once per process, then kept in memory.
 */
let script: Promise<string> | undefined;

async function loadScript(): Promise<string> {
  if (await hasBuiltScript(CONSOLE_DIR)) return readFile(`${CONSOLE_DIR}${ADMIN_CONSOLE_SCRIPT}`, 'utf8');
  return bundleAdminConsole(CONSOLE_DIR);
}

function adminConsoleScript(): Promise<string> {
  script ??= loadScript().catch((error: unknown) => {
    script = undefined; // let the next request try again
    throw error;
  });
  return script;
}

const page = (file: string) => readFile(`${CONSOLE_DIR}${file}`, 'utf8');

/** Serves the admin console at `/admin`: one HTML page, its stylesheet and its script. */
export const adminConsoleRoutes = (): FastifyPluginAsync => async (app) => {
  const send = (reply: FastifyReply, type: string, body: string) =>
    // no-cache: revalidated on every load, so an upgrade takes effect at once.
    reply.type(type).header('cache-control', 'no-cache').send(body);
  const hide = { schema: { hide: true } };

  app.get('/admin', hide, async (_request, reply) =>
    send(reply, 'text/html; charset=utf-8', await page('index.html')),
  );
  app.get('/admin/', hide, async (_request, reply) => reply.redirect('/admin'));
  app.get('/admin/app.css', hide, async (_request, reply) =>
    send(reply, 'text/css; charset=utf-8', await page('app.css')),
  );
  app.get('/admin/app.js', hide, async (_request, reply) =>
    send(reply, 'text/javascript; charset=utf-8', await adminConsoleScript()),
  );
};
