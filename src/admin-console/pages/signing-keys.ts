/// <reference lib="dom" />
import {
  client,
  enc,
  type SigningKey,
  type SigningKeyList,
  type SigningKeyRetirement,
  type SigningKeyRotation,
} from '../api.js';
import { confirmInPage } from '../confirm-dialog.js';
import { $, h, table } from '../dom.js';
import { visible, when } from '../format.js';
import { attempt, say } from '../status.js';

const STATE_TEXT: Record<SigningKey['status'], string> = {
  active: 'active (signs new tokens)',
  verifying: 'verifying (old tokens only)',
  retired: 'retired',
};

/** The optional reason of the card, left out when blank (the API refuses an empty one). */
const reasonBody = (): { reason?: string } => {
  const reason = $<HTMLInputElement>('keys-reason').value.trim();
  return reason === '' ? {} : { reason };
};

async function retire(key: SigningKey): Promise<void> {
  const active = key.status === 'active';
  const yes = await confirmInPage({
    title: `Retire signing key ${visible(key.kid)}?`,
    body: [
      h('p', {}, 'Every token this key signed is refused from now on, including sessions still in use.'),
      active
        ? h('p', {}, 'It is the active key: a new key is made in the same step and signs from now on.')
        : '',
    ],
    action: active ? 'Retire and replace' : 'Retire key',
  });
  if (!yes) {
    say('Key not retired.');
    return;
  }
  const result = await client.request<SigningKeyRetirement>(
    `/api/v1/admin/signing-keys/${enc(key.kid)}/retirement`,
    { method: 'POST', body: { ...reasonBody(), ...(active ? { replace: true } : {}) } },
  );
  say(
    `Retired ${visible(result.kid)}${result.newKid === null ? '' : `; ${visible(result.newKid)} signs from now on`}.`,
  );
  await loadSigningKeys();
}

/** The key list: newest first, a retire button on every key not yet retired. */
export async function loadSigningKeys(): Promise<void> {
  const { items } = await client.request<SigningKeyList>('/api/v1/admin/signing-keys');
  $('keys-results').replaceChildren(
    table(
      ['Key id', 'State', 'Algorithm', 'Created', 'Verifies until', 'Retired', ''],
      items.map((key) => {
        const button =
          key.status === 'retired'
            ? ''
            : h('button', { type: 'button', class: 'danger small', 'data-kid': key.kid }, 'Retire…');
        if (button !== '') button.addEventListener('click', () => void attempt(() => retire(key)));
        return [
          h('code', {}, visible(key.kid)),
          h('span', { class: `state ${key.status}` }, STATE_TEXT[key.status]),
          visible(key.algorithm),
          when(key.createdAt),
          key.status === 'verifying' ? when(key.verifiesUntil) : '—',
          when(key.retiredAt),
          button,
        ];
      }),
      { id: 'keys-table' },
    ),
  );
}

/** The signing-keys page: list, rotate, retire (the active one with a replacement), each confirmed. */
export function initSigningKeys(): void {
  $('keys-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void attempt(async () => {
      const yes = await confirmInPage({
        title: 'Rotate the signing key?',
        body: [
          h(
            'p',
            {},
            'A new key signs from now on. The current one keeps verifying the tokens it signed until they expire: nobody is signed out.',
          ),
        ],
        action: 'Rotate key',
      });
      if (!yes) {
        say('Signing key not rotated.');
        return;
      }
      const result = await client.request<SigningKeyRotation>('/api/v1/admin/signing-keys/rotations', {
        method: 'POST',
        body: reasonBody(),
      });
      say(`New signing key ${visible(result.newKid)}.`);
      $<HTMLInputElement>('keys-reason').value = '';
      await loadSigningKeys();
    });
  });
}
