import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { distributionChart, lineChart } from '../../bench/support/chart.js';

const dir = await mkdtemp(join(tmpdir(), 'tw-chart-test-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

/** The text of every <text> element of an SVG, in order. */
const texts = (svg: string) => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1] ?? '');

describe('bench charts', () => {
  it('puts decades on a log axis and writes the file it returns', async () => {
    const file = join(dir, 'log.svg');
    const svg = await lineChart({
      file,
      title: 'rotation',
      x: 'tokens',
      y: 'ms',
      series: 'what',
      xScale: 'log',
      yScale: 'log',
      points: true,
      rows: [10_000, 100_000, 1_000_000].flatMap((tokens) => [
        { what: 'PostgreSQL: UPDATE … SET revoked_at', tokens, ms: tokens / 30 },
        { what: 'PostgreSQL: global rotation (median)', tokens, ms: 4 },
      ]),
    });
    expect(await readFile(file, 'utf8')).toBe(svg);
    const labels = texts(svg);
    // A linear axis starts at 0; a log axis cannot.
    expect(labels).not.toContain('0');
    // Ticks at the decades the data spans, every one labelled, none between them.
    expect(labels).toEqual(expect.arrayContaining(['10k', '100k', '1M']));
    expect(labels.filter((label) => /^[0-9.]+[kM]?$/.test(label) && !/^1(0|00)?[kM]?$/.test(label))).toEqual(
      [],
    );
    expect(labels).toContain('PostgreSQL: UPDATE … SET revoked_at');
  });

  it('keeps long category labels whole', async () => {
    const rows = [3, 5, 8, 13].map((ms) => ({
      row: 'Redis pub/sub + NOTIFY · global rotation',
      change: 'global',
      ms,
    }));
    const svg = await distributionChart({
      file: join(dir, 'dist.svg'),
      title: 'propagation',
      value: 'ms',
      category: 'row',
      color: 'change',
      rows,
    });
    expect(texts(svg)).toContain('Redis pub/sub + NOTIFY · global rotation');
  });
});
