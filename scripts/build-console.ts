/**
 * `npm run build`'s second step: bundles the admin console into `<outDir>/admin-console/`
 * (default dist), so a built server serves it without esbuild.
 *
 *   tsx scripts/build-console.ts [outDir]
 */
import { resolve } from 'node:path';
import { writeAdminConsole } from '../src/http/admin-console-assets.js';

const outDir = resolve(process.argv[2] ?? 'dist', 'admin-console');
await writeAdminConsole(resolve('src/admin-console'), outDir);
process.stdout.write(`admin console bundled into ${outDir}\n`);
