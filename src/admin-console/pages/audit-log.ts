/// <reference lib="dom" />
import { type AuditActions, type AuditEvent, type AuditVerification, client, type Page } from '../api.js';
import { $, h, table } from '../dom.js';
import { valueText, visible, when } from '../format.js';
import { attempt } from '../status.js';
import { UserDirectory } from '../user-directory.js';

const directory = new UserDirectory();

/** Cursors of the pages before the current one (the first page has none). */
let cursors: (string | undefined)[] = [];
let next: string | null = null;
let actionsLoaded = false;

/** The action filter's options, from the server's own table (`GET /admin/audit/actions`). */
async function loadActions(): Promise<void> {
  if (actionsLoaded) return;
  const { items } = await client.request<AuditActions>('/api/v1/admin/audit/actions');
  const select = $<HTMLSelectElement>('audit-action');
  select.replaceChildren(
    h('option', { value: '' }, 'any'),
    ...items.map((a) => h('option', { value: a }, a)),
  );
  actionsLoaded = true;
}

/** A `datetime-local` value (the browser's time zone) as an ISO instant, or undefined. */
const instant = (id: string): string | undefined => {
  const value = $<HTMLInputElement>(id).value;
  return value === '' ? undefined : new Date(value).toISOString();
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Who did it or whom it concerns: a user id as the user's email (the id on hover), other
 * actors (`system`, `system:…`, `self`, `cli:…`) as they are, marked as not a person.
 */
function person(id: string): HTMLElement {
  if (!UUID.test(id)) return h('span', { class: 'system', title: 'not a user account' }, visible(id));
  const email = directory.email(id);
  return email === null
    ? h('code', { title: 'no such user (deleted?)' }, id)
    : h('span', { class: 'person', title: `id ${id}`, 'data-id': id }, visible(email));
}

/** The details object as a key/value list; nested values as one line of JSON. */
function detailsBlock(details: Record<string, unknown>): Node | string {
  const entries = Object.entries(details);
  if (entries.length === 0) return '—';
  return h(
    'dl',
    { class: 'kv' },
    ...entries.flatMap(([key, value]) => [h('dt', {}, visible(key)), h('dd', {}, valueText(value))]),
  );
}

async function load(pageCursors: (string | undefined)[]): Promise<void> {
  const results = $('audit-results');
  const email = $<HTMLInputElement>('audit-user').value.trim();
  let userId: string | undefined;
  if (email !== '') {
    const found = await directory.idOf(email);
    if (found === null) {
      results.replaceChildren(h('p', { id: 'audit-no-user' }, `No user has the email “${visible(email)}”.`));
      cursors = [];
      next = null;
      updatePager();
      return;
    }
    userId = found;
  }
  const page = await client.request<Page<AuditEvent>>('/api/v1/admin/audit', {
    query: {
      action: $<HTMLSelectElement>('audit-action').value,
      userId,
      since: instant('audit-since'),
      until: instant('audit-until'),
      limit: Number($<HTMLSelectElement>('audit-limit').value),
      cursor: pageCursors[pageCursors.length - 1],
    },
  });
  await directory.resolve(page.items.flatMap((e) => (e.userId === null ? [e.actor] : [e.actor, e.userId])));
  cursors = pageCursors;
  next = page.nextCursor;
  results.replaceChildren(
    page.items.length === 0
      ? h('p', {}, 'No audit entries match.')
      : table(
          ['When', 'Action', 'Actor', 'User', 'Reason', 'Details'],
          page.items.map((e) => [
            h('time', { datetime: e.occurredAt }, when(e.occurredAt)),
            h('code', {}, visible(e.action)),
            person(e.actor),
            e.userId === null ? '—' : person(e.userId),
            e.reason === null ? '—' : visible(e.reason),
            detailsBlock(e.details),
          ]),
          { id: 'audit-table' },
        ),
  );
  updatePager();
}

function updatePager(): void {
  $<HTMLButtonElement>('audit-first').disabled = cursors.length === 0;
  $<HTMLButtonElement>('audit-prev').disabled = cursors.length === 0;
  $<HTMLButtonElement>('audit-next').disabled = next === null;
  $('audit-page').textContent = `Page ${cursors.length + 1}`;
}

/** The hash chain's verdict in one line, as `tokenwarden audit verify` prints it (docs/AUDIT.md). */
function verdictLine(v: AuditVerification): string {
  if (v.break !== null) {
    const seq = v.break.seq === null ? 'no seq' : `seq ${v.break.seq}`;
    const at = `${seq}${v.break.id === null ? '' : ` (id ${v.break.id})`}`;
    return `Chain BROKEN: ${v.break.kind} at ${at}: ${v.break.detail}.`;
  }
  const rows = v.rows === 0 ? 'no rows yet' : `${v.rows} rows, seq ${v.firstSeq}..${v.lastSeq}`;
  const proof =
    v.unprovenAfterSeq === null
      ? ''
      : ` Rows after seq ${v.unprovenAfterSeq} are not proven by a checkpoint.`;
  const stored =
    v.storedCheckpoints.lastSeq === null
      ? ''
      : ` Checkpoints stored up to seq ${v.storedCheckpoints.lastSeq} match (compare them with copies kept outside the database).`;
  if (v.anchor !== null && v.anchor.refused !== null) {
    return `Pruning anchor at seq ${v.anchor.seq} REFUSED: ${v.anchor.refused}.`;
  }
  const [refused] = v.storedCheckpoints.refused;
  if (refused !== undefined) {
    return `Stored checkpoint at seq ${refused.seq} REFUSED: ${refused.reason}.`;
  }
  const pending =
    v.pending.count === 0 ? '' : ` ${v.pending.count} row(s) not chained yet (chained within seconds).`;
  return `Chain intact: ${rows}.${proof}${stored}${pending}`;
}

async function verifyChain(): Promise<void> {
  const line = $('audit-verification');
  line.textContent = 'Checking the hash chain…';
  const verdict = await client.request<AuditVerification>('/api/v1/admin/audit/verification');
  line.textContent = visible(verdictLine(verdict));
  line.className = verdict.ok ? '' : 'error';
}

/** The first page with the current filters (after a change elsewhere, or on opening the page). */
export async function loadAudit(): Promise<void> {
  await loadActions();
  await load([]);
}

/** The audit log page: filters by action (the server's list), user email and date range; paged. */
export function initAuditLog(): void {
  $('audit-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void attempt(loadAudit);
  });
  $('audit-verify').addEventListener('click', () => void attempt(verifyChain));
  $('audit-first').addEventListener('click', () => void attempt(() => load([])));
  $('audit-prev').addEventListener('click', () => void attempt(() => load(cursors.slice(0, -1))));
  $('audit-next').addEventListener('click', () => {
    const cursor = next;
    if (cursor !== null) void attempt(() => load([...cursors, cursor]));
  });
}
