import { access, copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The console's page and stylesheet, copied as they are; its script is bundled. */
const ADMIN_CONSOLE_STATIC_FILES = ['index.html', 'app.css'] as const;

/** The bundled script's name, beside the static files (`dist/admin-console/app.js`). */
export const ADMIN_CONSOLE_SCRIPT = 'app.js';

/**
 * Bundles `main.ts` in `sourceDir` (and the client SDK it imports) into one browser
 * module with esbuild. `npm run build` writes it under dist/; a server run from the
 * TypeScript source calls it on first request. esbuild is a dev dependency: it is
 * loaded only here, never by a built server.
 *
 * @example
 * const script = await bundleAdminConsole('src/admin-console/');
 */
export async function bundleAdminConsole(sourceDir: string): Promise<string> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [join(sourceDir, 'main.ts')],
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

/**
 * Writes the console a built server serves: the bundled script and the static files,
 * into `outDir` (dist/admin-console/).
 *
 * @example
 * await writeAdminConsole('src/admin-console/', 'dist/admin-console/');
 */
export async function writeAdminConsole(sourceDir: string, outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, ADMIN_CONSOLE_SCRIPT), await bundleAdminConsole(sourceDir));
  for (const file of ADMIN_CONSOLE_STATIC_FILES) await copyFile(join(sourceDir, file), join(outDir, file));
}

/** Whether `dir` holds a prebuilt script (a built server) rather than the source. */
export async function hasBuiltScript(dir: string): Promise<boolean> {
  try {
    await access(join(dir, ADMIN_CONSOLE_SCRIPT));
    return true;
  } catch {
    return false;
  }
}
