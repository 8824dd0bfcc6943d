import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { runCli } from '../cli/cli-harness.js';
import { caddySite, DOCUMENTED_ADDRESSES, nginxConfig } from '../support/gateway-configs.js';

/*
 * The documentation states facts the code decides: the environment it reads and the
 * defaults, the CLI's commands and options, the test command CI runs. These tests hold the
 * pages to the code, so a setting or a command added, renamed or removed shows up here.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

function filesUnder(dir: string, suffix: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith(suffix))
    .map((name) => join(dir, name));
}

/** The rows of every `| variable | default | meaning |` table of docs/CONFIGURATION.md. */
function documentedVariables(): Map<string, string> {
  const rows = new Map<string, string>();
  for (const line of read('docs/CONFIGURATION.md').split('\n')) {
    const row = /^\| `([A-Z][A-Z0-9_]*)` \| (.*?) \| .* \|$/.exec(line);
    if (row === null) continue;
    expect(rows.has(row[1] as string), `${row[1]} is documented twice`).toBe(false);
    rows.set(row[1] as string, row[2] as string);
  }
  return rows;
}

/** Every environment variable the server and the CLI read: their names in src/ outside tests. */
function variablesInSource(): Set<string> {
  const names = new Set(['PORT', 'HOST', 'LOG_LEVEL', 'REDIS_URL']);
  for (const file of filesUnder('src', '.ts').filter((f) => !f.endsWith('.test.ts'))) {
    for (const match of read(file).matchAll(/\b(TOKENWARDEN_[A-Z0-9_]*[A-Z0-9]|DATABASE_[A-Z_]*[A-Z])\b/g)) {
      names.add(match[1] as string);
    }
  }
  return names;
}

describe('docs/CONFIGURATION.md', () => {
  it('documents every variable the source reads, and none it does not', () => {
    const documented = [...documentedVariables().keys()].sort();
    expect(documented).toEqual([...variablesInSource()].sort());
  });

  it('states the real default of every plain default: setting a variable to it changes nothing', () => {
    const defaults = loadConfig({});
    let checked = 0;
    for (const [name, cell] of documentedVariables()) {
      // A plain value, perhaps with a note in parentheses; not a derived one ("`on` on a loopback…").
      const plain = /^`([^`]+)`(?: \([^`]*\))?$/.exec(cell);
      if (plain === null || (plain[1] as string).startsWith('TOKENWARDEN_')) continue;
      expect(loadConfig({ [name]: plain[1] as string }), `${name}=${plain[1]}`).toEqual(defaults);
      checked++;
    }
    expect(checked).toBeGreaterThan(50);
  });
});

describe('docs/CLI.md', () => {
  const table = read('docs/CLI.md')
    .split('\n')
    .filter((line) => line.startsWith('| `'));
  // `rotate global --reason R [--grace S]`, `config get`: each backticked command line of the table.
  const commands = table.flatMap((line) =>
    [...(line.split(' | ')[0] as string).matchAll(/`([a-z][^`]*)`/g)].map((m) => m[1] as string),
  );

  it('lists every command the CLI has', async () => {
    const help = await runCli(['--help'], {});
    const topLevel = [...help.stdout.matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1] as string);
    const documented = new Set(commands.map((line) => line.split(' ')[0]));
    expect(topLevel.filter((name) => name !== 'help').sort()).toEqual([...documented].sort());
  });

  it.each(commands)('`%s`: the command and each of its options exist', async (line) => {
    const words = line.split(' ');
    const path = words.filter(
      (word, i) => /^[a-z]+$/.test(word) && words.slice(0, i).every((w) => /^[a-z]+$/.test(w)),
    );
    const result = await runCli([...path, '--help'], {});
    expect(result.code, result.stderr).toBe(0);
    for (const option of line.match(/--[a-z][a-z-]*/g) ?? []) {
      expect(result.stdout, `${path.join(' ')} ${option}`).toContain(option);
    }
  });
});

describe('docs/GATEWAYS.md', () => {
  it('shows the nginx and Caddy configurations the gateway tests run, as they run them', () => {
    const page = read('docs/GATEWAYS.md');
    const fences = [...page.matchAll(/^```[a-z]*\n([\s\S]*?)^```/gm)].map((match) => match[1]);
    const nginx = nginxConfig(DOCUMENTED_ADDRESSES);
    for (const config of [nginx.site, nginx.check, nginx.identity, caddySite(DOCUMENTED_ADDRESSES)]) {
      expect(fences).toContain(config);
    }
  });
});

describe('the README', () => {
  const readme = read('README.md');

  it('is a quickstart: at most 400 lines', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(400);
  });

  it('gives the test command CI runs', () => {
    expect(readme).toContain('```sh\nnpm test\n```');
    expect(read('.ci/run')).toMatch(/^npm test\b/m);
  });
});

describe('links between the pages', () => {
  const pages = ['README.md', 'CHANGELOG.md', 'SECURITY.md', ...filesUnder('docs', '.md')].filter(
    (page) => !page.startsWith(join('docs', 'api')),
  );

  /** The anchors GitHub gives a page's headings. */
  function anchors(page: string): Set<string> {
    const found = new Set<string>();
    const seen = new Map<string, number>();
    for (const line of read(page)
      .replace(/^```[\s\S]*?^```/gm, '')
      .split('\n')) {
      const heading = /^#{1,6} (.*)$/.exec(line);
      if (heading === null) continue;
      const slug = (heading[1] as string)
        .toLowerCase()
        .replace(/[^\p{L}\p{N}_\- ]/gu, '')
        .replaceAll(' ', '-');
      const n = seen.get(slug) ?? 0;
      seen.set(slug, n + 1);
      found.add(n === 0 ? slug : `${slug}-${n}`);
    }
    return found;
  }

  it.each(pages)('%s: every relative link reaches a file, and a heading where it names one', (page) => {
    const text = read(page).replace(/^```[\s\S]*?^```/gm, '');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target as string)) continue;
      const [path, anchor] = (target as string).split('#') as [string, string | undefined];
      const file = path === '' ? page : relative(ROOT, join(ROOT, dirname(page), path));
      // The API reference under docs/api/ is generated from the packages, not kept in the repository's pages.
      if (file.startsWith(join('docs', 'api'))) continue;
      expect(() => statSync(join(ROOT, file)), `${page} → ${target}`).not.toThrow();
      if (anchor !== undefined && file.endsWith('.md')) {
        expect(anchors(file), `${page} → ${target}`).toContain(anchor);
      }
    }
  });

  it('no page names an issue number', () => {
    for (const page of pages) expect(read(page), page).not.toMatch(/issue ?#?[0-9]/i);
  });
});
