/// <reference lib="dom" />
import type { Session, SessionPage, UserRotationResult } from '@tokenwarden/client';
import { client, enc, type Page, type User, type UserRotationDryRun } from '../api.js';
import { confirmInPage } from '../confirm-dialog.js';
import { $, h, table } from '../dom.js';
import { plural, visible, when } from '../format.js';
import { attempt, say } from '../status.js';

function sessionsTable(sessions: readonly Session[]): HTMLElement {
  if (sessions.length === 0) return h('p', { class: 'muted' }, 'No active sessions.');
  return table(
    ['Session', 'Created', 'Last used', 'IP', 'User agent'],
    sessions.map((s) => [
      h('code', {}, s.id),
      when(s.createdAt),
      when(s.lastUsedAt),
      s.ip === null ? '—' : visible(s.ip),
      s.userAgent === null ? '—' : visible(s.userAgent),
    ]),
    {},
    plural(sessions.length, 'active session'),
  );
}

async function renderUser(
  user: User,
  container: HTMLElement,
  afterRotation: () => Promise<void>,
): Promise<void> {
  const { items } = await client.request<SessionPage>(`/api/v1/admin/users/${enc(user.id)}/sessions`);
  const email = visible(user.email);
  const reasonId = `user-reason-${user.id}`;
  const reason = h('input', { id: reasonId, required: true, maxlength: '500' }) as HTMLInputElement;
  const form = h(
    'form',
    { class: 'inline', 'aria-label': `Rotate tokens of ${email}` },
    h('label', { for: reasonId }, 'Reason'),
    reason,
    h('button', { type: 'submit', class: 'danger' }, 'Rotate this user’s tokens'),
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
      const path = `/api/v1/admin/users/${enc(user.id)}/rotations`;
      const dry = await client.request<UserRotationDryRun>(path, {
        method: 'POST',
        body: { reason: why, dryRun: true },
      });
      const yes = await confirmInPage({
        title: 'Rotate this user’s tokens?',
        body: [
          h(
            'p',
            {},
            `End ${plural(dry.activeSessions, 'session')} and ${plural(dry.activeRefreshTokens, 'refresh token')} of `,
            h('strong', {}, email),
            `? Version ${dry.currentVersion} → ${dry.newVersion}, no grace period.`,
          ),
        ],
        action: `Rotate: end ${plural(dry.activeSessions, 'session')}`,
      });
      if (!yes) {
        say('User rotation cancelled.');
        return;
      }
      const result = await client.request<UserRotationResult>(path, {
        method: 'POST',
        body: { reason: why },
      });
      say(`Rotated the tokens of ${email}: version ${result.newVersion}.`);
      await renderUser({ ...user, minTokenVersion: result.newVersion }, container, afterRotation);
      await afterRotation();
    });
  });
  container.replaceChildren(
    h('h3', {}, email),
    h(
      'p',
      { class: 'muted' },
      `id ${user.id} · role ${visible(user.role)} · token version ${user.minTokenVersion}` +
        (user.disabledAt === null ? '' : ` · disabled ${when(user.disabledAt)}`),
    ),
    sessionsTable(items),
    form,
  );
}

/** The users page: look accounts up by email, see their sessions, rotate one user (confirmed in the page). */
export function initUsers(afterRotation: () => Promise<void>): void {
  $('user-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void attempt(async () => {
      const email = $<HTMLInputElement>('user-email').value.trim();
      const page = await client.request<Page<User>>('/api/v1/admin/users', { query: { email, limit: 10 } });
      const results = $('user-results');
      if (page.items.length === 0) {
        results.replaceChildren(h('p', {}, `No user whose email contains “${visible(email)}”.`));
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
      await Promise.all(
        page.items.map((user, i) => renderUser(user, blocks[i] as HTMLElement, afterRotation)),
      );
    });
  });
}

/** Forgets the shown users (on sign-out). */
export function resetUsers(): void {
  $('user-results').replaceChildren();
}
