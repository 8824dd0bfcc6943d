/// <reference lib="dom" />
/**
 * The admin console: a page over the public API, through the client SDK. It renders
 * with textContent and createElement only (nothing the server returns is parsed as
 * HTML) and needs no inline script, so helmet's CSP stays strict.
 */
import {
  createClient,
  localStorageStorage,
  type Session,
  type SignOutReason,
  TokenwardenClientError,
} from '@tokenwarden/client';

interface SecurityConfig {
  globalMinTokenVersion: number;
  gracePeriodSeconds: number;
  lastRotationAt: string | null;
  lastRotationReason: string | null;
  graceUntil: string | null;
  updatedAt: string;
}
interface GlobalDryRun {
  dryRun: true;
  currentVersion: number;
  newVersion: number;
  gracePeriodSeconds: number;
  activeSessions: number;
  activeRefreshTokens: number;
}
interface GlobalResult {
  previousVersion: number;
  newVersion: number;
  gracePeriodSeconds: number;
  graceUntil: string;
  rotatedAt: string;
}
interface User {
  id: string;
  email: string;
  role: string;
  minTokenVersion: number;
  disabledAt: string | null;
  createdAt: string;
}
interface UserDryRun {
  activeSessions: number;
  activeRefreshTokens: number;
  currentVersion: number;
  newVersion: number;
}
interface AuditEvent {
  id: string;
  occurredAt: string;
  actor: string;
  action: string;
  userId: string | null;
  reason: string | null;
  details: Record<string, unknown>;
}
interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`#${id} is missing from the page`);
  return found as T;
};

/** createElement with attributes and children; strings become text nodes, never HTML. */
function h(
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

const when = (iso: string | null) => (iso === null ? '—' : new Date(iso).toLocaleString());
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

const SIGNED_OUT_MESSAGES: Record<SignOutReason, string> = {
  global_rotation: 'Signed out: a global rotation ended your session. Sign in again.',
  user_rotation: 'Signed out: your tokens were rotated. Sign in again.',
  token_reused: 'Signed out: your refresh token was reused, so the session was revoked.',
  token_revoked: 'Signed out: your session was revoked.',
  session_expired: 'Signed out: your session expired.',
  logout: 'Signed out.',
};

const client = createClient({
  baseUrl: location.origin,
  // Per tab: closing the tab forgets the admin's tokens.
  storage: localStorageStorage('tokenwarden.admin', sessionStorage),
});

function say(message: string, bad = false): void {
  const status = $('status');
  status.textContent = message;
  status.classList.toggle('bad', bad);
}

function describeError(error: unknown): string {
  if (error instanceof TokenwardenClientError) {
    const fields = error.problem.errors?.map((e) => `${e.path} ${e.message}`).join('; ');
    return `${error.message} (${error.code})${fields ? `: ${fields}` : ''}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Runs an action, reporting its failure in the status line (sign-outs have their own message). */
async function attempt(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    if ((await client.tokens()) === null) return;
    say(describeError(error), true);
  }
}

function showSignedIn(email: string): void {
  $('sign-in').hidden = true;
  $('console').hidden = false;
  $('who').hidden = false;
  $('who-email').textContent = email;
}

function showSignedOut(): void {
  $('console').hidden = true;
  $('who').hidden = true;
  $('sign-in').hidden = false;
  resetPreview();
  $('global-result').replaceChildren();
  $('user-results').replaceChildren();
}

client.on('signedOut', ({ reason }) => {
  showSignedOut();
  say(SIGNED_OUT_MESSAGES[reason], reason !== 'logout');
  $('sign-in-email').focus();
});

// ---- sign in ---------------------------------------------------------------------------

async function enter(): Promise<boolean> {
  const me = await client.me();
  if (me.role !== 'admin') {
    await client.logout();
    $('sign-in-error').textContent = `${me.email} is not an admin: the console needs the admin role.`;
    say('Access refused: not an admin.', true);
    return false;
  }
  showSignedIn(me.email);
  await Promise.all([loadConfig(), loadAudit([])]);
  return true;
}

$('sign-in-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const form = event.currentTarget as HTMLFormElement;
  const email = (form.elements.namedItem('email') as HTMLInputElement).value;
  const password = form.elements.namedItem('password') as HTMLInputElement;
  $('sign-in-error').textContent = '';
  void (async () => {
    try {
      await client.login(email, password.value);
      password.value = '';
      if (await enter()) {
        say(`Signed in as ${email}.`);
        $('main').focus();
      }
    } catch (error) {
      $('sign-in-error').textContent =
        error instanceof TokenwardenClientError && error.code === 'invalid_credentials'
          ? 'Wrong email or password.'
          : describeError(error);
    }
  })();
});

$('sign-out').addEventListener('click', () => void client.logout());

// ---- security config -------------------------------------------------------------------

let config: SecurityConfig | null = null;

async function loadConfig(): Promise<void> {
  config = await client.request<SecurityConfig>('/api/v1/admin/security/config');
  const facts: [string, string][] = [
    ['Global token version', String(config.globalMinTokenVersion)],
    ['Default grace period', `${config.gracePeriodSeconds} s`],
    ['Last rotation', when(config.lastRotationAt)],
    ['Last reason', config.lastRotationReason ?? '—'],
    ['Grace until', when(config.graceUntil)],
  ];
  $('config').replaceChildren(...facts.flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]));
  const grace = $<HTMLInputElement>('global-grace');
  if (grace.value === '') grace.value = String(config.gracePeriodSeconds);
}

$('config-reload').addEventListener('click', () => void attempt(loadConfig));

// ---- global rotation -------------------------------------------------------------------

/** The inputs the shown preview was made for; confirming sends exactly these. */
let previewed: { reason: string; gracePeriodSeconds: number } | null = null;

function resetPreview(): void {
  previewed = null;
  $('global-preview-result').replaceChildren();
  $('global-confirm').hidden = true;
  $('global-cancel').hidden = true;
}

function globalInputs(): { reason: string; gracePeriodSeconds: number } {
  return {
    reason: $<HTMLInputElement>('global-reason').value.trim(),
    gracePeriodSeconds: Number($<HTMLInputElement>('global-grace').value),
  };
}

for (const id of ['global-reason', 'global-grace']) $(id).addEventListener('input', resetPreview);

$('global-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void attempt(async () => {
    const inputs = globalInputs();
    if (inputs.reason === '') {
      say('A reason is required.', true);
      $('global-reason').focus();
      return;
    }
    const dry = await client.request<GlobalDryRun>('/api/v1/admin/security/rotations', {
      method: 'POST',
      body: { ...inputs, dryRun: true },
    });
    previewed = inputs;
    $('global-preview-result').replaceChildren(
      h(
        'p',
        { id: 'global-preview-summary' },
        h(
          'strong',
          {},
          `${plural(dry.activeSessions, 'active session')} and ${plural(dry.activeRefreshTokens, 'refresh token')}`,
        ),
        ` would stop working${dry.gracePeriodSeconds > 0 ? ` after a grace period of ${dry.gracePeriodSeconds} s` : ' at once'}. ` +
          `Global version ${dry.currentVersion} → ${dry.newVersion}.`,
      ),
      dry.gracePeriodSeconds === 0
        ? h('p', {}, 'With no grace period your own session ends too: you will sign in again.')
        : '',
    );
    $('global-confirm').textContent = `Rotate: end ${plural(dry.activeSessions, 'session')}`;
    $('global-confirm').hidden = false;
    $('global-cancel').hidden = false;
    say('Dry run done: nothing changed. Review the numbers, then confirm or cancel.');
    $('global-confirm').focus();
  });
});

$('global-cancel').addEventListener('click', () => {
  resetPreview();
  say('Rotation cancelled.');
  $('global-reason').focus();
});

$('global-confirm').addEventListener('click', () => {
  const inputs = previewed;
  if (inputs === null) return;
  resetPreview();
  void attempt(async () => {
    const result = await client.request<GlobalResult>('/api/v1/admin/security/rotations', {
      method: 'POST',
      body: inputs,
    });
    $('global-result').replaceChildren(
      h(
        'p',
        { id: 'global-result-summary' },
        `Rotated at ${when(result.rotatedAt)}: version ${result.previousVersion} → ${result.newVersion}, ` +
          `grace until ${when(result.graceUntil)}.`,
      ),
    );
    say(`Global rotation done: version ${result.newVersion}.`);
    $<HTMLInputElement>('global-reason').value = '';
    await loadConfig();
    await loadAudit([]);
  });
});

// ---- users -----------------------------------------------------------------------------

function sessionsTable(sessions: Session[]): HTMLElement {
  if (sessions.length === 0) return h('p', { class: 'muted' }, 'No active sessions.');
  return h(
    'table',
    {},
    h('caption', { class: 'muted' }, plural(sessions.length, 'active session')),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['Session', 'Created', 'Last used', 'IP', 'User agent'].map((c) => h('th', { scope: 'col' }, c)),
      ),
    ),
    h(
      'tbody',
      {},
      ...sessions.map((s) =>
        h(
          'tr',
          {},
          h('td', {}, h('code', {}, s.id)),
          h('td', {}, when(s.createdAt)),
          h('td', {}, when(s.lastUsedAt)),
          h('td', {}, s.ip ?? '—'),
          h('td', {}, s.userAgent ?? '—'),
        ),
      ),
    ),
  );
}

async function renderUser(user: User, container: HTMLElement): Promise<void> {
  const { items } = await client.request<{ items: Session[] }>(
    `/api/v1/admin/users/${encodeURIComponent(user.id)}/sessions`,
  );
  const reasonId = `user-reason-${user.id}`;
  const reason = h('input', { id: reasonId, required: true, maxlength: '500' }) as HTMLInputElement;
  const rotate = h('button', { type: 'submit', class: 'danger' }, 'Rotate this user’s tokens');
  const outcome = h('p', { 'aria-live': 'polite' });
  const form = h(
    'form',
    { class: 'inline', 'aria-label': `Rotate tokens of ${user.email}` },
    h('label', { for: reasonId }, 'Reason'),
    reason,
    rotate,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void attempt(async () => {
      const why = reason.value.trim();
      if (why === '') {
        say('A reason is required.', true);
        reason.focus();
        return;
      }
      const dry = await client.request<UserDryRun>(
        `/api/v1/admin/users/${encodeURIComponent(user.id)}/rotations`,
        {
          method: 'POST',
          body: { reason: why, dryRun: true },
        },
      );
      if (
        !window.confirm(
          `End ${plural(dry.activeSessions, 'session')} and ${plural(dry.activeRefreshTokens, 'refresh token')} of ${user.email}? ` +
            `Version ${dry.currentVersion} → ${dry.newVersion}, no grace period.`,
        )
      ) {
        say('User rotation cancelled.');
        return;
      }
      const result = await client.request<{ newVersion: number }>(
        `/api/v1/admin/users/${encodeURIComponent(user.id)}/rotations`,
        { method: 'POST', body: { reason: why } },
      );
      say(`Rotated the tokens of ${user.email}: version ${result.newVersion}.`);
      await renderUser({ ...user, minTokenVersion: result.newVersion }, container);
      await loadAudit([]);
    });
  });
  container.replaceChildren(
    h('h3', {}, user.email),
    h(
      'p',
      { class: 'muted' },
      `id ${user.id} · role ${user.role} · token version ${user.minTokenVersion}` +
        (user.disabledAt === null ? '' : ` · disabled ${when(user.disabledAt)}`),
    ),
    sessionsTable(items),
    form,
    outcome,
  );
}

$('user-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void attempt(async () => {
    const email = $<HTMLInputElement>('user-email').value.trim();
    const page = await client.request<Page<User>>('/api/v1/admin/users', { query: { email, limit: 10 } });
    const results = $('user-results');
    if (page.items.length === 0) {
      results.replaceChildren(h('p', {}, `No user whose email contains “${email}”.`));
      return;
    }
    const blocks = page.items.map(() => h('div', { class: 'user' }));
    results.replaceChildren(
      h(
        'p',
        { class: 'muted' },
        `${plural(page.items.length, 'user')}${page.nextCursor ? ' (first 10)' : ''}`,
      ),
      ...blocks,
    );
    await Promise.all(page.items.map((user, i) => renderUser(user, blocks[i] as HTMLElement)));
  });
});

// ---- audit log -------------------------------------------------------------------------

/** Cursors of the pages before the current one (the first page has none). */
let auditCursors: (string | undefined)[] = [];
let auditNext: string | null = null;

function auditFilters() {
  return {
    action: $<HTMLSelectElement>('audit-action').value,
    userId: $<HTMLInputElement>('audit-user').value.trim(),
    limit: Number($<HTMLSelectElement>('audit-limit').value),
  };
}

function detailsText(details: Record<string, unknown>): string {
  const entries = Object.entries(details);
  return entries.length === 0
    ? ''
    : entries.map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ');
}

async function loadAudit(cursors: (string | undefined)[]): Promise<void> {
  const cursor = cursors[cursors.length - 1];
  const page = await client.request<Page<AuditEvent>>('/api/v1/admin/audit', {
    query: { ...auditFilters(), cursor },
  });
  auditCursors = cursors;
  auditNext = page.nextCursor;
  $('audit-results').replaceChildren(
    page.items.length === 0
      ? h('p', {}, 'No audit entries match.')
      : h(
          'table',
          { id: 'audit-table' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...['When', 'Action', 'Actor', 'User', 'Reason', 'Details'].map((c) =>
                h('th', { scope: 'col' }, c),
              ),
            ),
          ),
          h(
            'tbody',
            {},
            ...page.items.map((e) =>
              h(
                'tr',
                {},
                h('td', {}, when(e.occurredAt)),
                h('td', {}, h('code', {}, e.action)),
                h('td', {}, h('code', {}, e.actor)),
                h('td', {}, e.userId === null ? '—' : h('code', {}, e.userId)),
                h('td', {}, e.reason ?? '—'),
                h('td', {}, detailsText(e.details)),
              ),
            ),
          ),
        ),
  );
  $<HTMLButtonElement>('audit-first').disabled = cursors.length === 0;
  $<HTMLButtonElement>('audit-prev').disabled = cursors.length === 0;
  $<HTMLButtonElement>('audit-next').disabled = auditNext === null;
  $('audit-page').textContent = `Page ${cursors.length + 1}`;
}

$('audit-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void attempt(() => loadAudit([]));
});
$('audit-first').addEventListener('click', () => void attempt(() => loadAudit([])));
$('audit-prev').addEventListener('click', () => void attempt(() => loadAudit(auditCursors.slice(0, -1))));
$('audit-next').addEventListener('click', () => {
  if (auditNext !== null) void attempt(() => loadAudit([...auditCursors, auditNext as string]));
});

// ---- start -----------------------------------------------------------------------------

void (async () => {
  if ((await client.tokens()) === null) return;
  await attempt(async () => {
    await enter();
  });
})();
