/// <reference lib="dom" />
import { client, type SecurityConfig } from '../api.js';
import { confirmInPage } from '../confirm-dialog.js';
import { $, h } from '../dom.js';
import { visible, when } from '../format.js';
import { attempt, say } from '../status.js';

/**
 * The security config card: the current versions, the default grace period of future
 * global rotations (editable, with confirmation), and the rotation schedule when the
 * server has one.
 */
export async function loadConfig(): Promise<SecurityConfig> {
  const config = await client.request<SecurityConfig>('/api/v1/admin/security/config');
  const facts: [string, string][] = [
    ['Global token version', String(config.globalMinTokenVersion)],
    ['Default grace period', `${config.gracePeriodSeconds} s`],
    ['Last rotation', when(config.lastRotationAt)],
    ['Last reason', config.lastRotationReason === null ? '—' : visible(config.lastRotationReason)],
    ['Grace until', when(config.graceUntil)],
  ];
  $('config').replaceChildren(...facts.flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]));
  $<HTMLInputElement>('grace-default').value = String(config.gracePeriodSeconds);
  const grace = $<HTMLInputElement>('global-grace');
  if (grace.value === '') grace.value = String(config.gracePeriodSeconds);
  renderSchedule(config);
  return config;
}

/** Seconds as the shortest duration the server reads back (`90d`, `12h`, `30m`, `45s`). */
function duration(seconds: number): string {
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
  ] as const) {
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}

/** A labelled text input of the schedule form. */
function field(id: string, label: string, hint: string, value: string): [HTMLElement, HTMLInputElement] {
  const input = h('input', { id, name: id, maxlength: '500', autocomplete: 'off' }) as HTMLInputElement;
  input.value = value;
  return [h('label', { for: id }, `${label} `, h('span', { class: 'muted' }, hint)), input];
}

/**
 * The rotation schedule as a form: its state in words (off, or the next due time with its
 * time zone and how far off it is, and the advance notice), and the interval, grace, reason
 * and notice to set; saving and turning off each ask first. Sent as `PATCH { rotationSchedule }`.
 */
function renderSchedule(config: SecurityConfig): void {
  const slot = $('schedule');
  const schedule = config.rotationSchedule;
  const status = h(
    'p',
    { id: 'schedule-status' },
    schedule === null
      ? 'Scheduled rotation: off.'
      : `Scheduled rotation: every ${schedule.interval}. Next at ${when(schedule.nextDueAt)} (${fromNow(schedule.nextDueAt)}); ` +
          `advance notice ${schedule.noticeSent ? 'sent' : `at ${when(schedule.noticeAt)}`}.` +
          (schedule.lastDueAt === null ? '' : ` Last at ${when(schedule.lastDueAt)}.`),
  );
  const [intervalLabel, interval, graceLabel, grace, reasonLabel, reason, noticeLabel, notice] = (
    [
      ['schedule-interval', 'Every', '(90d, 12h…; at least 1h)', schedule?.interval ?? ''],
      [
        'schedule-grace',
        'Grace period in seconds',
        '(empty: the default grace period at the time)',
        schedule === null || schedule.gracePeriodSeconds === null ? '' : String(schedule.gracePeriodSeconds),
      ],
      ['schedule-reason', 'Reason', '(kept in the audit log)', schedule?.reason ?? ''],
      [
        'schedule-notice',
        'Advance notice',
        '(7d, 12h…; empty: 7d or half the interval)',
        schedule === null ? '' : duration(schedule.noticeLeadSeconds),
      ],
    ] as const
  ).flatMap(([id, label, hint, value]) => field(id, label, hint, value)) as [
    HTMLElement,
    HTMLInputElement,
    HTMLElement,
    HTMLInputElement,
    HTMLElement,
    HTMLInputElement,
    HTMLElement,
    HTMLInputElement,
  ];
  const off = h('button', { type: 'button', class: 'secondary', id: 'schedule-off' }, 'Turn off');
  const form = h(
    'form',
    { id: 'schedule-form' },
    status,
    intervalLabel,
    interval,
    graceLabel,
    grace,
    reasonLabel,
    reason,
    noticeLabel,
    notice,
    h(
      'div',
      { class: 'row' },
      h('button', { type: 'submit' }, schedule === null ? 'Turn on' : 'Save schedule'),
      schedule === null ? '' : off,
    ),
  );
  const save = (rotationSchedule: Record<string, unknown> | null, question: string) =>
    attempt(async () => {
      const yes = await confirmInPage({
        title: rotationSchedule === null ? 'Turn scheduled rotation off?' : 'Change the rotation schedule?',
        body: [h('p', {}, question)],
        action: rotationSchedule === null ? 'Turn off' : 'Save schedule',
      });
      if (!yes) return say('Schedule unchanged.');
      await client.request('/api/v1/admin/security/config', { method: 'PATCH', body: { rotationSchedule } });
      say(rotationSchedule === null ? 'Scheduled rotation turned off.' : 'Rotation schedule saved.');
      await loadConfig();
    });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const every = interval.value.trim();
    if (every === '') {
      say('An interval is required (90d, 12h…).', true);
      interval.focus();
      return;
    }
    const graceText = grace.value.trim();
    if (graceText !== '' && !/^\d+$/.test(graceText)) {
      say('The grace period is whole seconds, or empty for the default.', true);
      grace.focus();
      return;
    }
    const wanted: Record<string, unknown> = {
      interval: every,
      gracePeriodSeconds: graceText === '' ? null : Number(graceText),
      ...(reason.value.trim() === '' ? {} : { reason: reason.value.trim() }),
      ...(notice.value.trim() === '' ? {} : { noticeLead: notice.value.trim() }),
    };
    void save(
      wanted,
      `Every ${every}, a global rotation ends sessions on its own (grace ${graceText === '' ? 'the default' : `${graceText} s`}).`,
    );
  });
  off.addEventListener(
    'click',
    () => void save(null, 'No more scheduled global rotations until turned on again.'),
  );
  slot.replaceChildren(form);
  slot.hidden = false;
}

/** `in 3 days`, `in 5 hours`, `2 minutes ago`: how far a time is from now. */
function fromNow(iso: string): string {
  const seconds = Math.round((new Date(iso).getTime() - Date.now()) / 1000);
  const format = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  const abs = Math.abs(seconds);
  if (abs >= 86_400) return format.format(Math.round(seconds / 86_400), 'day');
  if (abs >= 3_600) return format.format(Math.round(seconds / 3_600), 'hour');
  if (abs >= 60) return format.format(Math.round(seconds / 60), 'minute');
  return format.format(seconds, 'second');
}

/** Wires the grace form and the reload button (once, at start). */
export function initSecurityConfig(): void {
  $('grace-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void attempt(async () => {
      const seconds = Number($<HTMLInputElement>('grace-default').value);
      const yes = await confirmInPage({
        title: 'Change the default grace period?',
        body: [
          h(
            'p',
            {},
            `Future global rotations will let one-behind tokens work for ${seconds} s ` +
              `(0: every token stops at once). Rotations already made keep their grace window.`,
          ),
        ],
        action: `Set ${seconds} s`,
      });
      if (!yes) {
        say('Default grace period unchanged.');
        return;
      }
      const updated = await client.request<SecurityConfig>('/api/v1/admin/security/config', {
        method: 'PATCH',
        body: { gracePeriodSeconds: seconds },
      });
      say(`Default grace period: ${updated.gracePeriodSeconds} s.`);
      $<HTMLInputElement>('global-grace').value = String(updated.gracePeriodSeconds);
      await loadConfig();
    });
  });
  $('config-reload').addEventListener('click', () => void attempt(async () => void (await loadConfig())));
}
