/**
 * Charts for the benchmarks: a Vega-Lite spec rendered to SVG in Node (no browser, no
 * canvas), written under docs/img/. Vega-Lite 5 / Vega 5: the last majors that run on Node 20.
 *
 *   await lineChart({ file: 'docs/img/x.svg', title, x: 'seconds', y: 'rows', series: 'table', rows });
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
}

/** One line per series over x, optionally one panel per `facet` value side by side. */
export function lineChart(chart: LineChart): Promise<string> {
  const unit = {
    mark: { type: 'line' as const, point: false },
    encoding: {
      x: { field: chart.x, type: 'quantitative' as const, title: chart.xTitle ?? chart.x },
      y: { field: chart.y, type: 'quantitative' as const, title: chart.yTitle ?? chart.y },
      color: { field: chart.series, type: 'nominal' as const, title: chart.series },
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
