/**
 * Writes the revocation feed's conformance fixtures (conformance/feed/) from
 * test/conformance/feed-fixtures.ts, or checks that they are current.
 *
 *   npm run conformance:feed             # check: exit 1 when a file differs
 *   npm run conformance:feed -- --write  # write them
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildFeedFixtures, FIXTURE_DIR } from '../test/conformance/feed-fixtures.js';

const write = process.argv.includes('--write');
let stale = 0;
for (const [name, text] of Object.entries(buildFeedFixtures())) {
  const path = join(FIXTURE_DIR, name);
  let current: string | null = null;
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    current = null;
  }
  if (current === text) continue;
  if (write) {
    writeFileSync(path, text);
    console.log(`wrote ${path}`);
  } else {
    stale++;
    console.error(`${path} is not current: run npm run conformance:feed -- --write`);
  }
}
process.exitCode = stale === 0 ? 0 : 1;
