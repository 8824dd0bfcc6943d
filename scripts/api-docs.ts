/**
 * The library packages' API reference: TypeDoc (options in typedoc.json, markdown through
 * typedoc-plugin-markdown) reads each package's TSDoc from its `src/index.ts` and writes
 * docs/api/<package>/. Every export and every public member must have a comment: TypeDoc's
 * `notDocumented` validation, its warnings as errors, fails the run otherwise.
 *
 *   npm run docs:api            regenerate docs/api/client and docs/api/verifier
 *   npm run docs:api -- --check what CI runs: the same validation, and the pages generated
 *                               into a temp dir must equal the committed ones
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const TYPEDOC = join(ROOT, 'node_modules/typedoc/bin/typedoc');
/** The docs/api/ folder of each package (its directory under packages/). */
const PACKAGES = ['client', 'verifier'] as const;

const check = process.argv.includes('--check');

/** Every file under `dir`, as paths relative to it, sorted. */
async function files(dir: string, under = ''): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(join(dir, under), { withFileTypes: true }).catch(() => [])) {
    const path = join(under, entry.name);
    if (entry.isDirectory()) found.push(...(await files(dir, path)));
    else if (entry.isFile()) found.push(path);
  }
  return found.sort();
}

/** The files that differ between two trees (missing on either side included). */
async function differences(expected: string, actual: string): Promise<string[]> {
  const [want, have] = await Promise.all([files(expected), files(actual)]);
  const names = [...new Set([...want, ...have])].sort();
  const differing: string[] = [];
  for (const name of names) {
    const [a, b] = await Promise.all([
      readFile(join(expected, name), 'utf8').catch(() => null),
      readFile(join(actual, name), 'utf8').catch(() => null),
    ]);
    if (a !== b) differing.push(name);
  }
  return differing;
}

/** Runs TypeDoc for one package into `out`: whether it passed, and what it printed. */
async function generate(name: string, out: string): Promise<{ readonly ok: boolean; readonly log: string }> {
  const args = [
    TYPEDOC,
    '--options',
    join(ROOT, 'typedoc.json'),
    '--entryPoints',
    join(ROOT, 'packages', name, 'src/index.ts'),
    '--tsconfig',
    join(ROOT, 'packages', name, 'tsconfig.json'),
    '--out',
    out,
    '--logLevel',
    'Warn',
  ];
  try {
    const { stdout, stderr } = await run(process.execPath, args, {
      cwd: ROOT,
      // Plain text: the output goes to a log (.ci/run), not a terminal.
      env: { ...process.env, NO_COLOR: '1' },
      maxBuffer: 16 << 20,
    });
    return { ok: true, log: stdout + stderr };
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    const why = `@tokenwarden/${name}: TypeDoc failed (above): an export or public member without a TSDoc comment, a broken {@link}, or a type it cannot name\n`;
    return { ok: false, log: stdout + stderr + why };
  }
}

const scratch = check ? await mkdtemp(join(tmpdir(), 'tokenwarden-api-docs-')) : null;
let failed = false;
try {
  const outOf = (name: string) => (scratch === null ? join(ROOT, 'docs/api', name) : join(scratch, name));
  // Both at once (each is a TypeScript program of its own); their output in order after.
  const runs = await Promise.all(PACKAGES.map((name) => generate(name, outOf(name))));
  for (const [index, name] of PACKAGES.entries()) {
    const committed = join(ROOT, 'docs/api', name);
    const out = outOf(name);
    const { ok, log } = runs[index] ?? { ok: false, log: '' };
    process.stdout.write(log);
    if (!ok) {
      failed = true;
      continue;
    }
    if (scratch === null) {
      console.log(`@tokenwarden/${name}: wrote ${relative(ROOT, out)}/`);
      continue;
    }
    const stale = await differences(committed, out);
    if (stale.length === 0) {
      console.log(`@tokenwarden/${name}: every export documented, docs/api/${name}/ current`);
    } else {
      failed = true;
      console.log(
        `@tokenwarden/${name}: docs/api/${name}/ is not what the comments generate (run npm run docs:api):`,
      );
      for (const file of stale) console.log(`  ${file}`);
    }
  }
} finally {
  if (scratch !== null) await rm(scratch, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;
