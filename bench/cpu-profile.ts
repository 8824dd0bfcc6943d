/**
 * The top functions of a V8 .cpuprofile (`node --cpu-prof`, e.g. from
 * `bench/refresh-cpu.ts --cpu-prof dir`): self time, inclusive time, and self time per
 * package or source file.
 *
 *   npx tsx bench/cpu-profile.ts <file.cpuprofile> [--top 30] [--match refresh]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
  readonly children?: readonly number[];
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const file = process.argv[2];
if (file === undefined) throw new Error('usage: npx tsx bench/cpu-profile.ts <file.cpuprofile> [--top 30]');
const at = process.argv.indexOf('--top');
const top = at >= 0 ? Number(process.argv[at + 1]) : 30;
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const short = (url: string) =>
  url
    .replace(/^file:\/\//, '')
    .replace(/.*\/node_modules\//, 'npm:')
    .replace(/.*\/(src|bench|packages)\//, '$1/');
const label = (n: ProfileNode) =>
  `${n.callFrame.functionName || '(anonymous)'} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
const area = (n: ProfileNode) => {
  const url = short(n.callFrame.url);
  if (url === '') return n.callFrame.functionName; // (garbage collector), (program), (idle)
  if (url.startsWith('npm:'))
    return url
      .split('/')
      .slice(0, url.startsWith('npm:@') ? 2 : 1)
      .join('/');
  if (url.startsWith('node:')) return url;
  return url;
};

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
const areas = new Map<string, number>();
let total = 0;
let idle = 0;
for (const [i, id] of profile.samples.entries()) {
  const dt = profile.timeDeltas[i] ?? 0;
  const node = byId.get(id);
  if (node === undefined) continue;
  if (node.callFrame.functionName === '(idle)') {
    idle += dt;
    continue;
  }
  total += dt;
  self.set(label(node), (self.get(label(node)) ?? 0) + dt);
  areas.set(area(node), (areas.get(area(node)) ?? 0) + dt);
  const seen = new Set<string>();
  for (let n: ProfileNode | undefined = node; n !== undefined; n = byId.get(parent.get(n.id) ?? -1)) {
    const l = label(n);
    if (seen.has(l)) continue;
    seen.add(l);
    inclusive.set(l, (inclusive.get(l) ?? 0) + dt);
  }
}

const print = (title: string, values: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [name, us] of [...values].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(
      `${((us / total) * 100).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(6)} ms  ${name}`,
    );
  }
};
console.log(`busy ${(total / 1000).toFixed(0)} ms, idle ${(idle / 1000).toFixed(0)} ms`);
print('self time', self);
print('inclusive time', inclusive);
print('self time by package or file', areas);
