/**
 * The peer comparison in one picture (Vega-Lite, rendered by bench/support/chart.ts): requests/s
 * of each per-request path as bars, and the time until an ended session is refused
 * against the number of live sessions, both axes logarithmic.
 */
import type { TopLevelSpec } from 'vega-lite';
import { logScale, renderSvg } from './chart.js';
import type { Revocation } from './peer-revocation.js';
import type { Figure } from './peer-throughput.js';

/** The table's labels without their parentheses, short enough for an axis. */
function short(who: string): string {
  return who
    .replace(/ \(.*\)$/, '')
    .replace('getSession, ', '')
    .replace('getSession ', '');
}

export function peerChart(
  file: string,
  title: string,
  figures: readonly Figure[],
  revocations: readonly Revocation[],
): Promise<string> {
  const bars = figures.map((f) => ({
    part: f.part,
    who: short(f.who),
    rps: Math.round(f.requestsPerSecond),
  }));
  const lines = revocations
    .filter((r) => r.effectMs !== null)
    .map((r) => ({ action: r.action, sessions: r.sessions, ms: r.effectMs }));
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    background: 'white',
    hconcat: [
      {
        title: 'Requests/s, 16 connections (higher is better)',
        data: { values: bars },
        mark: { type: 'bar' },
        encoding: {
          y: { field: 'who', type: 'nominal', title: null, sort: null, axis: { labelLimit: 400 } },
          x: { field: 'rps', type: 'quantitative', title: 'requests/s (mean of rounds)' },
          color: {
            field: 'part',
            type: 'nominal',
            title: null,
            legend: { orient: 'bottom', columns: 1, labelLimit: 400 },
          },
        },
        width: 300,
        height: 200,
      },
      {
        title: 'Until an ended session is refused (lower is better)',
        data: { values: lines },
        mark: { type: 'line', point: true },
        encoding: {
          x: {
            field: 'sessions',
            type: 'quantitative',
            title: 'live sessions',
            ...logScale('sessions', lines),
          },
          y: { field: 'ms', type: 'quantitative', title: 'ms (log)', ...logScale('ms', lines) },
          color: {
            field: 'action',
            type: 'nominal',
            title: null,
            legend: { orient: 'bottom', columns: 1, labelLimit: 400 },
          },
        },
        width: 300,
        height: 200,
      },
    ],
    resolve: { scale: { color: 'independent' } },
  } as TopLevelSpec;
  return renderSvg(spec, file);
}
