/// <reference lib="dom" />
import { client, enc, type Page, type WebhookDelivery, type WebhookSetup } from '../api.js';
import { confirmInPage } from '../confirm-dialog.js';
import { $, h, table } from '../dom.js';
import { visible, when } from '../format.js';
import { attempt, say } from '../status.js';

const PAGE_SIZE = 20;
let cursor: string | undefined;
let next: string | null = null;

async function retry(delivery: WebhookDelivery): Promise<void> {
  const yes = await confirmInPage({
    title: 'Send this delivery again?',
    body: [
      h('p', {}, `${visible(delivery.eventType)} to `, h('code', {}, visible(delivery.url))),
      h(
        'p',
        {},
        delivery.state === 'delivered'
          ? 'It was delivered already: the receiver gets it twice (it should dedupe on the event id).'
          : 'It is queued again, due now, with its attempts reset.',
      ),
    ],
    action: 'Retry delivery',
  });
  if (!yes) {
    say('Delivery not retried.');
    return;
  }
  await client.request<WebhookDelivery>(`/api/v1/admin/webhooks/deliveries/${enc(delivery.id)}/retry`, {
    method: 'POST',
  });
  say(`Delivery of ${visible(delivery.eventType)} queued again.`);
  await load(cursor);
}

function lastOutcome(d: WebhookDelivery): string {
  const status = d.lastStatus === null ? '' : `HTTP ${d.lastStatus}`;
  const error = d.lastError === null ? '' : visible(d.lastError);
  // The relay's error for a refused delivery usually is the status itself: say it once.
  if (error.startsWith(status)) return error || '—';
  return [status, error].filter((s) => s !== '').join(' · ');
}

/** Says how many receivers are configured, and what an empty list means when none is. */
function showSetup(setup: WebhookSetup): void {
  $('webhooks-setup').replaceChildren(
    setup.receivers === 0
      ? h(
          'p',
          { id: 'webhooks-none', class: 'notice' },
          'No webhook receivers are configured (TOKENWARDEN_WEBHOOK_URLS is unset): events wait in the ' +
            'outbox and nothing is delivered. Deliveries listed here are from when receivers were set.',
        )
      : h(
          'p',
          { class: 'muted' },
          `${setup.receivers === 1 ? '1 receiver' : `${setup.receivers} receivers`} configured.`,
        ),
  );
}

/**
 * A page of deliveries; with `withSetup`, also the receivers line (they come from the
 * server's configuration, fixed while it runs: asked once per visit of the page, not per page).
 */
async function load(at: string | undefined, withSetup = false): Promise<void> {
  const state = $<HTMLSelectElement>('webhooks-state').value;
  const [page, setup] = await Promise.all([
    client.request<Page<WebhookDelivery>>('/api/v1/admin/webhooks/deliveries', {
      query: { state, limit: PAGE_SIZE, cursor: at },
    }),
    withSetup ? client.request<WebhookSetup>('/api/v1/admin/webhooks') : null,
  ]);
  cursor = at;
  next = page.nextCursor;
  if (setup !== null) showSetup(setup);
  $('webhooks-results').replaceChildren(
    page.items.length === 0
      ? h('p', {}, state === 'dead' ? 'No dead letters.' : 'No deliveries match.')
      : table(
          ['Event', 'Receiver', 'State', 'Attempts', 'Last outcome', 'Next / dead at', ''],
          page.items.map((d) => {
            const button = h('button', { type: 'button', class: 'small', 'data-delivery': d.id }, 'Retry…');
            button.addEventListener('click', () => void attempt(() => retry(d)));
            return [
              h(
                'span',
                { title: `event ${d.eventId}` },
                visible(d.eventType),
                h('br'),
                h('small', {}, when(d.occurredAt)),
              ),
              h('code', {}, visible(d.url)),
              h('span', { class: `state ${d.state}` }, d.state),
              String(d.attempts),
              lastOutcome(d),
              d.state === 'dead'
                ? when(d.deadAt)
                : d.state === 'pending'
                  ? when(d.nextAttemptAt)
                  : when(d.deliveredAt),
              button,
            ];
          }),
          { id: 'webhooks-table' },
        ),
  );
  $<HTMLButtonElement>('webhooks-first').disabled = at === undefined;
  $<HTMLButtonElement>('webhooks-next').disabled = next === null;
}

/** The first page of deliveries in the chosen state (dead letters by default). */
export const loadWebhookDeliveries = (): Promise<void> => load(undefined, true);

/** The webhook deliveries page: pending, delivered or dead ones, and a confirmed retry of each. */
export function initWebhookDeliveries(): void {
  $('webhooks-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void attempt(loadWebhookDeliveries);
  });
  $('webhooks-first').addEventListener('click', () => void attempt(loadWebhookDeliveries));
  $('webhooks-next').addEventListener('click', () => {
    const at = next;
    if (at !== null) void attempt(() => load(at));
  });
}
