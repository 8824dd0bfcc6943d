/// <reference lib="dom" />
import type { Session, SessionPage, UserRotationResult } from '@tokenwarden/client';
import { client, enc, type Page, type User, type UserRotationDryRun } from '../api.js';
import { confirmInPage } from '../confirm-dialog.js';
import { $, h, table } from '../dom.js';
import { plural, visible, when } from '../format.js';
import { attempt, say } from '../status.js';

function sessionsTable(sessions: readonly Session[], logOut: (session: Session) => void): HTMLElement {
  if (sessions.length === 0) return h('p', { class: 'muted' }, 'No active sessions.');
  return table(
    ['Session', 'Created', 'Last used', 'IP', 'User agent', ''],
    sessions.map((s) => {
      const button = h('button', { type: 'button', class: 'secondary' }, 'Log out');
      button.addEventListener('click', () => logOut(s));
      return [
        h('code', {}, s.id),
        when(s.createdAt),
        when(s.lastUsedAt),
        s.ip === null ? '—' : visible(s.ip),
        s.userAgent === null ? '—' : visible(s.userAgent),
        button,
      ];
    }),
    {},
    plural(sessions.length, 'active session'),
  );
}

/** The reason typed for this user, or none (disable, enable and log-outs take one optionally). */
const optionalReason = (input: HTMLInputElement): { reason?: string } => {
  const why = input.value.trim();
  return why === '' ? {} : { reason: why };
};

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
  const again = (changed: User) => renderUser(changed, container, afterRotation);
  const base = `/api/v1/admin/users/${enc(user.id)}`;

  const logOut = (session: Session) =>
    void attempt(async () => {
      const yes = await confirmInPage({
        title: 'Log this session out?',
        body: [
          h(
            'p',
            {},
            'Session ',
            h('code', {}, session.id),
            ' of ',
            h('strong', {}, email),
            ' and its refresh tokens stop working now.',
          ),
        ],
        action: 'Log out this session',
      });
      if (!yes) {
        say('Log-out cancelled.');
        return;
      }
      await client.request(`${base}/sessions/${enc(session.id)}/revocation`, {
        method: 'POST',
        body: optionalReason(reason),
      });
      say(`Logged out a session of ${email}.`);
      await again(user);
    });

  const logOutAll = h('button', { type: 'button', class: 'danger' }, 'Log out all sessions');
  logOutAll.addEventListener('click', () => {
    void attempt(async () => {
      const yes = await confirmInPage({
        title: 'Log out every session?',
        body: [
          h(
            'p',
            {},
            `All ${plural(items.length, 'active session')} of `,
            h('strong', {}, email),
            ' end now.',
          ),
        ],
        action: `Log out ${plural(items.length, 'session')}`,
      });
      if (!yes) {
        say('Log-out cancelled.');
        return;
      }
      const done = await client.request<{ revokedSessions: number }>(`${base}/sessions/revocation`, {
        method: 'POST',
        body: optionalReason(reason),
      });
      say(`Logged out ${plural(done.revokedSessions, 'session')} of ${email}.`);
      await again(user);
    });
  });

  const disabled = user.disabledAt !== null;
  const access = h(
    'button',
    { type: 'button', class: disabled ? 'secondary' : 'danger' },
    disabled ? 'Enable account' : 'Disable account',
  );
  access.addEventListener('click', () => {
    void attempt(async () => {
      const yes = await confirmInPage(
        disabled
          ? {
              title: 'Enable this account?',
              body: [
                h(
                  'p',
                  {},
                  h('strong', {}, email),
                  ' may log in again. Its tokens from before stay refused: the user is rotated.',
                ),
              ],
              action: 'Enable account',
            }
          : {
              title: 'Disable this account?',
              body: [
                h(
                  'p',
                  {},
                  'Every token of ',
                  h('strong', {}, email),
                  ' is refused from the next request, and it cannot log in until enabled.',
                ),
              ],
              action: 'Disable account',
            },
      );
      if (!yes) {
        say(disabled ? 'Enabling cancelled.' : 'Disabling cancelled.');
        return;
      }
      const changed = await client.request<User>(`${base}/${disabled ? 'enable' : 'disable'}`, {
        method: 'POST',
        body: optionalReason(reason),
      });
      say(`${disabled ? 'Enabled' : 'Disabled'} ${email}.`);
      await again(changed);
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
    sessionsTable(items, logOut),
    form,
    h('p', { class: 'inline' }, access, items.length > 0 ? logOutAll : ''),
  );
}

/** Users shown a page at a time: an empty search lists them all. */
const PAGE_SIZE = 10;

/**
 * The users page: every account a page at a time, or those whose email contains a term; each
 * with its sessions (log one or all out), disable/enable, and a user rotation, each confirmed
 * in the page.
 */
export function initUsers(afterRotation: () => Promise<void>): void {
  const show = (email: string, cursor: string | undefined) =>
    attempt(async () => {
      const page = await client.request<Page<User>>('/api/v1/admin/users', {
        query: {
          ...(email === '' ? {} : { email }),
          limit: PAGE_SIZE,
          ...(cursor === undefined ? {} : { cursor }),
        },
      });
      const results = $('user-results');
      if (page.items.length === 0) {
        results.replaceChildren(
          h('p', {}, email === '' ? 'No users yet.' : `No user whose email contains “${visible(email)}”.`),
        );
        return;
      }
      const blocks = page.items.map(() => h('div', { class: 'user' }));
      const more = h('button', { type: 'button', class: 'secondary', id: 'user-more' }, 'Next users');
      more.addEventListener('click', () => void show(email, page.nextCursor ?? undefined));
      results.replaceChildren(
        h(
          'p',
          { class: 'muted' },
          `${plural(page.items.length, 'user')}${email === '' ? '' : ` whose email contains “${visible(email)}”`}` +
            (page.nextCursor ? ', more after these' : ''),
        ),
        ...blocks,
        page.nextCursor ? more : '',
      );
      await Promise.all(
        page.items.map((user, i) => renderUser(user, blocks[i] as HTMLElement, afterRotation)),
      );
    });
  $('user-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void show($<HTMLInputElement>('user-email').value.trim(), undefined);
  });
}

/** Forgets the shown users (on sign-out). */
export function resetUsers(): void {
  $('user-results').replaceChildren();
}
