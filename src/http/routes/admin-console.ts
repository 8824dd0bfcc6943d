import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';

const SOURCE_DIR = fileURLToPath(new URL('../../admin-console/', import.meta.url));

/**
 * The console's script, bundled from `src/admin-console/main.ts` (and the client SDK it
 * imports) with esbuild on first request, then kept in memory: `npm start` serves it
 * with no build step, and it can never be stale against the source. One build per process.
 */
let bundle: Promise<string> | undefined;

async function buildBundle(): Promise<string> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [`${SOURCE_DIR}main.ts`],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    legalComments: 'none',
    write: false,
    logLevel: 'silent',
  });
  const output = result.outputFiles[0];
  if (output === undefined) throw new Error('esbuild produced no output for the admin console');
  return output.text;
}

function adminConsoleScript(): Promise<string> {
  bundle ??= buildBundle().catch((error: unknown) => {
    bundle = undefined; // let the next request try again
    throw error;
  });
  return bundle;
}

const page = (file: string) => readFile(`${SOURCE_DIR}${file}`, 'utf8');

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
