/// <reference lib="dom" />
/**
 * The console's only way to make elements: strings become text nodes, never HTML, so
 * nothing the server returns is ever parsed as markup.
 */

/** The element with this id; a missing one is a bug in index.html, so it throws. */
export const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`#${id} is missing from the page`);
  return found as T;
};

/**
 * createElement with attributes and children; strings become text nodes.
 *
 * @example
 * h('p', { class: 'muted' }, 'Signed in as ', h('strong', {}, email));
 */
export function h(
  tag: string,
  attrs: Record<string, string | boolean> = {},
  ...children: (Node | string | null)[]
): HTMLElement {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false) continue;
    el.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children) if (child !== null) el.append(child);
  return el;
}

/**
 * A table with a header row and one row per item; `caption` is read out by screen readers.
 *
 * @example
 * table(['Kid', 'State'], keys.map((k) => [h('code', {}, k.kid), k.status]), { id: 'keys-table' });
 */
export function table(
  columns: readonly string[],
  rows: readonly (readonly (Node | string)[])[],
  attrs: Record<string, string> = {},
  caption: string | null = null,
): HTMLElement {
  return h(
    'table',
    attrs,
    caption === null ? null : h('caption', { class: 'muted' }, caption),
    h('thead', {}, h('tr', {}, ...columns.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, ...rows.map((cells) => h('tr', {}, ...cells.map((cell) => h('td', {}, cell))))),
  );
}
