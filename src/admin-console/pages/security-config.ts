/// <reference lib="dom" />
import { client, type SecurityConfig } from '../api.js';
import { confirmInPage } from '../confirm-dialog.js';
import { $, h } from '../dom.js';
import { valueText, visible, when } from '../format.js';
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

/**
 * The rotation schedule, a field another feature adds to the security config. Shown only
 * when the server sends it; edited as JSON and sent back as `PATCH { rotationSchedule }`, so
 * the console needs no change when its shape grows.
 */
function renderSchedule(config: SecurityConfig): void {
  const slot = $('schedule');
  if (!('rotationSchedule' in config)) {
    slot.hidden = true;
    slot.replaceChildren();
    return;
  }
  const schedule = config.rotationSchedule;
  const editor = h('textarea', {
    id: 'schedule-json',
    rows: '3',
    spellcheck: 'false',
  }) as HTMLTextAreaElement;
  editor.value = JSON.stringify(schedule ?? null, null, 2);
  const form = h(
    'form',
    { id: 'schedule-form' },
    h(
      'label',
      { for: 'schedule-json' },
      'Rotation schedule ',
      h('span', { class: 'muted' }, '(JSON; null for none)'),
    ),
    editor,
    h('div', { class: 'row' }, h('button', { type: 'submit' }, 'Save schedule')),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void attempt(async () => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(editor.value);
      } catch {
        say('The rotation schedule is not valid JSON.', true);
        editor.focus();
        return;
      }
      const yes = await confirmInPage({
        title: 'Change the rotation schedule?',
        body: [
          h('p', {}, 'Scheduled global rotations end sessions on their own. New schedule:'),
          h('pre', {}, valueText(parsed)),
        ],
        action: 'Save schedule',
      });
      if (!yes) return say('Schedule unchanged.');
      await client.request('/api/v1/admin/security/config', {
        method: 'PATCH',
        body: { rotationSchedule: parsed },
      });
      say('Rotation schedule saved.');
      await loadConfig();
    });
  });
  slot.replaceChildren(form);
  slot.hidden = false;
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
