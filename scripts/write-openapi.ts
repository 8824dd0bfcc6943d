/**
 * Writes the OpenAPI document as the server serves it at /openapi.json: the app is
 * built over an in-memory database with the default settings and never listens.
 *
 *   npx tsx scripts/write-openapi.ts [path]   (default .tokenwarden/openapi.json)
 *
 * `npm run lint:openapi` lints what this writes (redocly.yaml).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createTokenwarden } from '../src/composition-root.js';
import { loadConfig } from '../src/config.js';

const path = process.argv[2] ?? '.tokenwarden/openapi.json';
// Only what building needs: the document must not depend on the caller's environment.
// Argon2's cost does not change the document: the cheapest settings make the dummy hash quick.
const config = loadConfig({
  TOKENWARDEN_DATA_DIR: 'memory://',
  TOKENWARDEN_DOCS: 'on',
  TOKENWARDEN_ARGON2_MEMORY_KIB: '64',
  TOKENWARDEN_ARGON2_ITERATIONS: '1',
  LOG_LEVEL: 'silent',
});
const tw = await createTokenwarden(config, { logger: false, defaultMetrics: false });
try {
  await tw.app.ready();
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(tw.app.swagger(), null, 2)}\n`);
  console.log(`wrote ${path}`);
} finally {
  await tw.close();
}
