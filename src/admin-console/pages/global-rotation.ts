/// <reference lib="dom" />
import { client, type GlobalRotationDryRun, type GlobalRotationResult } from '../api.js';
import { $, h } from '../dom.js';
import { plural, when } from '../format.js';
import { attempt, say } from '../status.js';
import { loadConfig } from './security-config.js';

interface Inputs {
  readonly reason: string;
  readonly gracePeriodSeconds: number;
  readonly rotateSigningKey: boolean;
}

/** The inputs the shown preview was made for; confirming sends exactly these. */
let previewed: Inputs | null = null;

/** Forgets the preview: an edited input needs a new dry run before anything can change. */
export function resetGlobalRotation(): void {
  previewed = null;
  $('global-preview-result').replaceChildren();
  $('global-confirm').hidden = true;
  $('global-cancel').hidden = true;
}

const inputs = (): Inputs => ({
  reason: $<HTMLInputElement>('global-reason').value.trim(),
  gracePeriodSeconds: Number($<HTMLInputElement>('global-grace').value),
  rotateSigningKey: $<HTMLInputElement>('global-signing-key').checked,
});

/**
 * The global rotation card: a dry run shows what would stop working, and only its
 * confirm button (shown in the card, focused) rotates, with exactly the previewed inputs.
 * `afterRotation` refreshes what shows the rotation (the audit log, the chart).
 */
export function initGlobalRotation(afterRotation: () => Promise<void>): void {
  for (const id of ['global-reason', 'global-grace']) $(id).addEventListener('input', resetGlobalRotation);
  $('global-signing-key').addEventListener('change', resetGlobalRotation);

  $('global-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void attempt(async () => {
      const wanted = inputs();
      if (wanted.reason === '') {
        say('A reason is required.', true);
        $('global-reason').focus();
        return;
      }
      const dry = await client.request<GlobalRotationDryRun>('/api/v1/admin/security/rotations', {
        method: 'POST',
        body: { ...wanted, dryRun: true },
      });
      previewed = wanted;
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
        wanted.rotateSigningKey
          ? h(
              'p',
              { id: 'global-preview-key' },
              h('strong', {}, 'The signing key is rotated too: '),
              `key ${dry.retiredSigningKeyId ?? '(none)'} is retired and every access token it signed is refused at once; a new key signs from now.`,
            )
          : '',
        dry.gracePeriodSeconds === 0 ? h('p', {}, 'Your own session ends too: you will sign in again.') : '',
      );
      $('global-confirm').textContent = `Rotate: end ${plural(dry.activeSessions, 'session')}`;
      $('global-confirm').hidden = false;
      $('global-cancel').hidden = false;
      say('Dry run done: nothing changed. Review the numbers, then confirm or cancel.');
      $('global-confirm').focus();
    });
  });

  $('global-cancel').addEventListener('click', () => {
    resetGlobalRotation();
    say('Rotation cancelled.');
    $('global-reason').focus();
  });

  $('global-confirm').addEventListener('click', () => {
    const confirmed = previewed;
    if (confirmed === null) return;
    resetGlobalRotation();
    void attempt(async () => {
      const result = await client.request<GlobalRotationResult>('/api/v1/admin/security/rotations', {
        method: 'POST',
        body: confirmed,
      });
      $('global-result').replaceChildren(
        h(
          'p',
          { id: 'global-result-summary' },
          `Rotated at ${when(result.rotatedAt)}: version ${result.previousVersion} → ${result.newVersion}, ` +
            `grace until ${when(result.graceUntil)}.` +
            (result.newSigningKeyId === undefined
              ? ''
              : ` Signing key ${result.retiredSigningKeyId ?? '(none)'} retired, ${result.newSigningKeyId} signs now.`),
        ),
      );
      say(`Global rotation done: version ${result.newVersion}.`);
      $<HTMLInputElement>('global-reason').value = '';
      $<HTMLInputElement>('global-signing-key').checked = false;
      await loadConfig();
      await afterRotation();
    });
  });
}
