/// <reference lib="dom" />
import { $ } from './dom.js';

/** The console's pages, by the hash that opens each. */
export type PageName = 'overview' | 'users' | 'audit' | 'keys' | 'webhooks' | 'clients';
const PAGES: readonly PageName[] = ['overview', 'users', 'audit', 'keys', 'webhooks', 'clients'];

const pageOf = (hash: string): PageName => {
  const name = hash.replace(/^#/, '');
  return (PAGES as readonly string[]).includes(name) ? (name as PageName) : 'overview';
};

/**
 * Hash navigation between the pages: one shown at a time, the tab marked `aria-current`,
 * and `onOpen` called to load its data each time it is opened (data is never stale by more
 * than a click). Back and forward work, and a page can be linked to.
 */
export function initNavigation(onOpen: (page: PageName) => void): { readonly open: () => void } {
  const open = () => {
    const current = pageOf(location.hash);
    for (const page of PAGES) $(`page-${page}`).hidden = page !== current;
    for (const link of Array.from($('pages').querySelectorAll<HTMLAnchorElement>('a[data-page]'))) {
      if (link.dataset.page === current) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    onOpen(current);
  };
  window.addEventListener('hashchange', open);
  return { open };
}
