/// <reference lib="dom" />
import { type Activity, client } from '../api.js';
import { $, h } from '../dom.js';
import { plural } from '../format.js';
import { attempt } from '../status.js';

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 960;
const PANEL = 90;
const GAP = 34;
const LEFT = 44;
const HEIGHT = GAP + PANEL + GAP + PANEL + 24;

/** An SVG element; attributes are set one by one and text stays text. */
function s(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  if (text !== undefined) el.textContent = text;
  return el;
}

type Bucket = Activity['buckets'][number];
interface Series {
  readonly label: string;
  readonly className: string;
  readonly value: (b: Bucket) => number;
}

/** One panel: stacked bars per interval, a title with its total, and the y scale's top. */
function panel(top: number, title: string, series: readonly Series[], activity: Activity): SVGElement {
  const g = s('g', { class: 'panel' });
  const buckets = activity.buckets;
  const totals = buckets.map((b) => series.reduce((sum, one) => sum + one.value(b), 0));
  const max = Math.max(1, ...totals);
  const slot = (WIDTH - LEFT) / Math.max(1, buckets.length);
  const barWidth = Math.max(1, slot * 0.8);
  const grand = totals.reduce((a, b) => a + b, 0);
  g.append(
    s('text', { x: 0, y: top - 10, class: 'chart-title' }, `${title}: ${grand}`),
    s('line', { x1: LEFT, y1: top + PANEL, x2: WIDTH, y2: top + PANEL, class: 'axis' }),
    s('text', { x: LEFT - 6, y: top + 10, class: 'tick', 'text-anchor': 'end' }, String(max)),
    s('text', { x: LEFT - 6, y: top + PANEL, class: 'tick', 'text-anchor': 'end' }, '0'),
  );
  buckets.forEach((bucket, i) => {
    let base = top + PANEL;
    const x = LEFT + i * slot + (slot - barWidth) / 2;
    for (const one of series) {
      const value = one.value(bucket);
      if (value === 0) continue;
      const height = (value / max) * PANEL;
      base -= height;
      const bar = s('rect', { x, y: base, width: barWidth, height, class: one.className });
      bar.append(s('title', {}, `${new Date(bucket.start).toLocaleString()}: ${value} ${one.label}`));
      g.append(bar);
    }
  });
  return g;
}

/**
 * Rotations and the refusals they caused, per interval, as inline SVG built with DOM calls
 * (no library, nothing for the CSP to allow). The totals are in the text and the title, so
 * the picture is never the only way to read them.
 */
function renderActivity(activity: Activity): HTMLElement {
  const rotations: Series[] = [
    { label: 'global rotations', className: 'bar series-global', value: (b) => b.globalRotations },
    { label: 'user rotations', className: 'bar series-user', value: (b) => b.userRotations },
  ];
  const rejections: Series[] = [
    {
      label: 'rejected after a global rotation',
      className: 'bar series-global',
      value: (b) => b.rejectedGlobal,
    },
    { label: 'rejected after a user rotation', className: 'bar series-user', value: (b) => b.rejectedUser },
  ];
  const sum = (f: (b: Bucket) => number) => activity.buckets.reduce((a, b) => a + f(b), 0);
  const summary =
    `${plural(
      sum((b) => b.globalRotations),
      'global rotation',
    )}, ${plural(
      sum((b) => b.userRotations),
      'user rotation',
    )}, ` +
    `${plural(
      sum((b) => b.rejectedGlobal + b.rejectedUser),
      'rejected token',
    )} ` +
    `from ${new Date(activity.since).toLocaleString()} to ${new Date(activity.until).toLocaleString()}.`;
  const svg = s('svg', {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: 'img',
    'aria-label': summary,
    class: 'chart',
  });
  svg.append(
    panel(GAP, 'Rotations', rotations, activity),
    panel(GAP + PANEL + GAP, 'Rejected tokens', rejections, activity),
    s('text', { x: LEFT, y: HEIGHT - 4, class: 'tick' }, new Date(activity.since).toLocaleString()),
    s(
      'text',
      { x: WIDTH, y: HEIGHT - 4, class: 'tick', 'text-anchor': 'end' },
      new Date(activity.until).toLocaleString(),
    ),
  );
  return h(
    'figure',
    { id: 'activity-figure' },
    svg as unknown as HTMLElement,
    h(
      'figcaption',
      { id: 'activity-summary' },
      summary,
      ' ',
      h('span', { class: 'key series-global' }, 'global'),
      ' ',
      h('span', { class: 'key series-user' }, 'user'),
    ),
  );
}

/**
 * Draws the 24 intervals of the chosen size up to the server's now (not the browser's: a
 * skewed desk clock must not hide the last hour).
 */
export async function loadActivity(): Promise<void> {
  const bucketSeconds = Number($<HTMLSelectElement>('activity-range').value);
  const activity = await client.request<Activity>('/api/v1/admin/audit/activity', {
    query: { bucketSeconds },
  });
  $('activity-chart').replaceChildren(renderActivity(activity));
}

/** Wires the window selector. */
export function initActivityChart(): void {
  $('activity-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void attempt(loadActivity);
  });
}
