/**
 * Charts for the benchmarks: a Vega-Lite spec rendered to SVG in Node (no browser, no
 * canvas), written under docs/img/. Vega-Lite 5 / Vega 5: the last majors that run on Node 20.
 *
 *   await lineChart({ file: 'docs/img/x.svg', title, x: 'seconds', y: 'rows', series: 'table', rows });
 *   await lineChart({ ..., xScale: 'log', yScale: 'log', points: true });
 *   await distributionChart({ file, title, value: 'ms', category: 'transport', color: 'change', rows });
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parse as parseVega, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Renders any Vega-Lite spec to an SVG file; returns the SVG. */
export async function renderSvg(spec: TopLevelSpec, file: string): Promise<string> {
  const view = new View(parseVega(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, svg);
  return svg;
}

export interface LineChart {
  readonly file: string;
  readonly title: string;
  /** Field names in `rows`: the x axis, the y axis, the line each row belongs to, and (optional) small multiples. */
  readonly x: string;
  readonly y: string;
  readonly series: string;
  readonly facet?: string;
  readonly xTitle?: string;
  readonly yTitle?: string;
  readonly rows: readonly Record<string, string | number>[];
  readonly width?: number;
  readonly height?: number;
  /** `log` for quantities spanning orders of magnitude (Vega-Lite's own log scale, base 10). */
  readonly xScale?: ScaleType;
  readonly yScale?: ScaleType;
  /** A dot at each measured value: with few x values, a line alone hides where the data is. */
  readonly points?: boolean;
}

type ScaleType = 'linear' | 'log';

/**
 * A log scale ticks at the powers of ten the data spans, labelled 10k / 100k / 1M: Vega's own log
 * ticks fall between measured sizes (30,000, 400,000) and can leave the largest unlabelled.
 */
function scale(type: ScaleType | undefined, field: string, rows: LineChart['rows']) {
  return type === 'log' ? logScale(field, rows) : {};
}

/** {@link scale}'s log case, for specs written by hand (bench/support/peer-chart.ts). */
export function logScale(field: string, rows: readonly Record<string, unknown>[]) {
  const values = rows.map((row) => Number(row[field])).filter((v) => Number.isFinite(v) && v > 0);
  const ticks: number[] = [];
  if (values.length > 0) {
    const low = Math.floor(Math.log10(Math.min(...values)));
    const high = Math.ceil(Math.log10(Math.max(...values)));
    for (let power = low; power <= high; power++) ticks.push(10 ** power);
  }
  return { scale: { type: 'log' as const }, axis: { values: ticks, format: '~s', grid: true } };
}

/** One line per series over x, optionally one panel per `facet` value side by side. */
export function lineChart(chart: LineChart): Promise<string> {
  const unit = {
    mark: { type: 'line' as const, point: chart.points ?? false },
    encoding: {
      x: {
        field: chart.x,
        type: 'quantitative' as const,
        title: chart.xTitle ?? chart.x,
        ...scale(chart.xScale, chart.x, chart.rows),
      },
      y: {
        field: chart.y,
        type: 'quantitative' as const,
        title: chart.yTitle ?? chart.y,
        ...scale(chart.yScale, chart.y, chart.rows),
      },
      // Series names are sentences ("PostgreSQL: UPDATE … SET revoked_at"): never cut them short.
      color: {
        field: chart.series,
        type: 'nominal' as const,
        title: chart.series,
        legend: { labelLimit: 0 },
      },
    },
    width: chart.width ?? 320,
    height: chart.height ?? 220,
  };
  const spec: TopLevelSpec =
    chart.facet === undefined
      ? {
          $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
          title: chart.title,
          data: { values: [...chart.rows] },
          ...unit,
        }
      : {
          $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
          title: chart.title,
          data: { values: [...chart.rows] },
          facet: { column: { field: chart.facet, type: 'nominal', title: null } },
          spec: unit,
          resolve: { scale: { y: 'shared' } },
        };
  return renderSvg({ ...spec, background: 'white' } as TopLevelSpec, chart.file);
}

export interface DistributionChart {
  readonly file: string;
  readonly title: string;
  /** Field names in `rows`: the measured value (x), the row of the chart (y), and the colour of each sample. */
  readonly value: string;
  readonly category: string;
  readonly color: string;
  readonly valueTitle?: string;
  readonly rows: readonly Record<string, string | number>[];
  readonly valueScale?: ScaleType;
  readonly width?: number;
}

/**
 * Each sample as a tick on its category's row, over a box of min / quartiles / median / max:
 * with 10-30 samples per row the ticks show what a box alone would summarise away.
 */
export function distributionChart(chart: DistributionChart): Promise<string> {
  const x = {
    field: chart.value,
    type: 'quantitative' as const,
    title: chart.valueTitle ?? chart.value,
    ...scale(chart.valueScale, chart.value, chart.rows),
  };
  const y = { field: chart.category, type: 'nominal' as const, title: null, axis: { labelLimit: 0 } };
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: chart.title,
    data: { values: [...chart.rows] },
    width: chart.width ?? 480,
    height: { step: 26 },
    layer: [
      {
        mark: {
          type: 'boxplot',
          extent: 'min-max',
          opacity: 0.25,
          color: 'grey',
          median: { color: 'black' },
        },
        encoding: { x, y },
      },
      {
        mark: { type: 'tick', thickness: 1.5 },
        encoding: {
          x,
          y,
          color: { field: chart.color, type: 'nominal', title: chart.color, legend: { labelLimit: 0 } },
        },
      },
    ],
  };
  return renderSvg({ ...spec, background: 'white' } as TopLevelSpec, chart.file);
}
