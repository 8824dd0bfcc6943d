/// <reference lib="dom" />
import { client, enc, type Page, type ServiceClient, type ServiceClientCreated } from '../api.js';
import { confirmInPage } from '../confirm-dialog.js';
import { $, h, table } from '../dom.js';
import { visible, when } from '../format.js';
import { attempt, say } from '../status.js';
import { UserDirectory } from '../user-directory.js';

const directory = new UserDirectory();

/** An admin's email when known, else the actor as sent. */
const byWhom = (actor: string | null): string =>
  actor === null ? '—' : visible(directory.email(actor) ?? actor);

/**
 * The new client's credentials, once: the secret is never shown again, so it gets a copy
 * button and a plain warning. Hidden again on the next action on this page.
 */
function showSecret(created: ServiceClientCreated): void {
  const secret = h('code', { id: 'clients-secret-value', class: 'secret-value' }, created.secret);
  const copy = h('button', { type: 'button', class: 'secondary small', id: 'clients-copy' }, 'Copy secret');
  copy.addEventListener('click', () => {
    void navigator.clipboard.writeText(created.secret).then(
      () => say('Secret copied to the clipboard.'),
      () => say('The browser refused the clipboard: select the secret and copy it by hand.', true),
    );
  });
  const done = h('button', { type: 'button', class: 'secondary small' }, 'I have stored it');
  done.addEventListener('click', () => $('clients-secret').replaceChildren());
  $('clients-secret').replaceChildren(
    h(
      'div',
      { class: 'secret-once', role: 'alert' },
      h(
        'p',
        {},
        h('strong', {}, 'Store this secret now: it is shown this once.'),
        ` Client “${visible(created.name)}”.`,
      ),
      h(
        'dl',
        { class: 'kv' },
        h('dt', {}, 'Client id'),
        h('dd', {}, h('code', { id: 'clients-new-id' }, created.id)),
        h('dt', {}, 'Secret'),
        h('dd', {}, secret),
      ),
      h('div', { class: 'row' }, copy, done),
    ),
  );
}

async function revoke(serviceClient: ServiceClient): Promise<void> {
  const yes = await confirmInPage({
    title: 'Revoke this service client?',
    body: [
      h(
        'p',
        {},
        'The service using ',
        h('strong', {}, visible(serviceClient.name)),
        ' is refused by the revocation feed from now on. This cannot be undone: make a new client instead.',
      ),
    ],
    action: 'Revoke client',
  });
  if (!yes) {
    say('Service client not revoked.');
    return;
  }
  await client.request(`/api/v1/admin/service-clients/${enc(serviceClient.id)}/revocation`, {
    method: 'POST',
  });
  say(`Revoked service client ${visible(serviceClient.name)}.`);
  await loadServiceClients();
}

/** Every client, oldest first, revoked ones included (at most 200 shown). */
export async function loadServiceClients(): Promise<void> {
  const page = await client.request<Page<ServiceClient>>('/api/v1/admin/service-clients', {
    query: { limit: 200 },
  });
  await directory.resolve(
    page.items.flatMap((c) => [c.createdBy, ...(c.revokedBy === null ? [] : [c.revokedBy])]),
  );
  $('clients-results').replaceChildren(
    page.items.length === 0
      ? h('p', {}, 'No service clients yet.')
      : table(
          ['Name', 'Client id', 'Created', 'Revoked', ''],
          page.items.map((c) => {
            let action: Node | string = '';
            if (c.revokedAt === null) {
              action = h('button', { type: 'button', class: 'danger small', 'data-client': c.id }, 'Revoke…');
              action.addEventListener('click', () => void attempt(() => revoke(c)));
            }
            return [
              visible(c.name),
              h('code', {}, c.id),
              h('span', {}, when(c.createdAt), h('br'), h('small', {}, `by ${byWhom(c.createdBy)}`)),
              c.revokedAt === null
                ? '—'
                : h('span', {}, when(c.revokedAt), h('br'), h('small', {}, `by ${byWhom(c.revokedBy)}`)),
              action,
            ];
          }),
          { id: 'clients-table' },
          page.nextCursor === null ? null : 'The first 200 clients',
        ),
  );
}

/** The service clients page: list, create (secret shown once, with a copy button), revoke (confirmed). */
export function initServiceClients(): void {
  $('clients-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void attempt(async () => {
      const input = $<HTMLInputElement>('clients-name');
      const created = await client.request<ServiceClientCreated>('/api/v1/admin/service-clients', {
        method: 'POST',
        body: { name: input.value },
      });
      input.value = '';
      showSecret(created);
      say(`Created service client ${visible(created.name)}.`);
      await loadServiceClients();
    });
  });
}

/** Forgets a secret still on screen (on sign-out). */
export function resetServiceClients(): void {
  $('clients-secret').replaceChildren();
}
