/**
 * Start-up cost of the CLI and the server, from the TypeScript source through tsx (what
 * `npm start` and the bin did before `npm run build` existed) and from dist/ with plain node.
 * Needs a build (`npm run build`). Each figure is the median of `--runs` (default 5) starts
 * over a data directory migrated beforehand, so PGlite's first initdb is not counted.
 *
 *   npx tsx bench/startup.ts [--runs 5]
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const ROOT = resolve(import.meta.dirname, '..');
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 5;
const run = promisify(execFile);
const TSX_CLI = join(ROOT, 'node_modules/tsx/dist/cli.mjs');
const CLI_SCRIPT = (entry: string) =>
  `process.argv.splice(1, 0, 'tokenwarden'); const { main } = await import(${JSON.stringify(entry)}); await main();`;

/** How each side runs a CLI command line. */
const CLI = {
  source: (args: string[]) => [
    '--import',
    'tsx',
    '--input-type=module',
    '-e',
    CLI_SCRIPT(join(ROOT, 'src/cli/main.ts')),
    // The end of node's own options: --help is the CLI's.
    '--',
    ...args,
  ],
  dist: (args: string[]) => [join(ROOT, 'bin/tokenwarden.mjs'), ...args],
};
/** How each side starts the server: `tsx src/main.ts` (the old npm start) or `node dist/main.js`. */
const SERVER = { source: [TSX_CLI, 'src/main.ts'], dist: ['dist/main.js'] };

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function timeCli(side: keyof typeof CLI, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await run(process.execPath, CLI[side](args), { cwd: ROOT, env });
    times.push(performance.now() - started);
  }
  return median(times);
}

/** Resident memory of a process and its children (tsx runs the server in a child), in MiB. */
function treeRssMiB(pid: number): number {
  const rss = (id: number) => {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${id}/status`, 'utf8'));
    return Number(match?.[1] ?? 0) / 1024;
  };
  let total = rss(pid);
  const children = `/proc/${pid}/task/${pid}/children`;
  if (existsSync(children)) {
    for (const child of readFileSync(children, 'utf8').trim().split(/\s+/).filter(Boolean)) {
      total += treeRssMiB(Number(child));
    }
  }
  return total;
}

async function timeServer(side: keyof typeof SERVER, env: NodeJS.ProcessEnv) {
  const times: number[] = [];
  const memory: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const child = spawn(process.execPath, SERVER[side], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((ready) => {
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('tokenwarden is ready')) ready();
      });
    });
    times.push(performance.now() - started);
    memory.push(treeRssMiB(child.pid!));
    const exited = new Promise((done) => child.on('exit', done));
    child.kill('SIGTERM');
    await exited;
  }
  return { ms: median(times), rssMiB: median(memory) };
}

const dataDir = await mkdtemp(join(tmpdir(), 'tw-startup-'));
const { DATABASE_URL: _db, REDIS_URL: _redis, ...base } = process.env;
const env = { ...base, TOKENWARDEN_DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info' };
try {
  await run(process.execPath, CLI.dist(['migrate']), { cwd: ROOT, env });
  const rows: string[] = [];
  for (const [label, args] of [
    ['`tokenwarden --help`', ['--help']],
    ['`tokenwarden config get`', ['config', 'get']],
  ] as const) {
    const before = await timeCli('source', [...args], env);
    const after = await timeCli('dist', [...args], env);
    rows.push(`| ${label} | ${before.toFixed(0)} ms | ${after.toFixed(0)} ms |`);
  }
  const before = await timeServer('source', env);
  const after = await timeServer('dist', env);
  rows.push(`| server start (spawn → ready) | ${before.ms.toFixed(0)} ms | ${after.ms.toFixed(0)} ms |`);
  rows.push(`| server RSS when ready | ${before.rssMiB.toFixed(0)} MiB | ${after.rssMiB.toFixed(0)} MiB |`);
  process.stdout.write(
    `Median of ${runs} runs, node ${process.version}, load average ${loadavg()[0]!.toFixed(1)} at the end\n\n` +
      '| | from source (tsx) | built (dist/, node) |\n|---|---|---|\n' +
      `${rows.join('\n')}\n`,
  );
} finally {
  await rm(dataDir, { recursive: true, force: true });
}
