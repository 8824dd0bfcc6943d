/// <reference lib="dom" />
/**
 * The admin console: pages over the public API, through the client SDK. It renders with
 * textContent and createElement only (nothing the server returns is parsed as HTML) and
 * needs no inline script or style, so helmet's CSP stays strict. This file signs the
 * admin in and out and hands each page its part of the document (pages/*.ts).
 */
import { type SignOutReason, TokenwardenClientError } from '@tokenwarden/client';
import { client } from './api.js';
import { $ } from './dom.js';
import { visible } from './format.js';
import { initNavigation, type PageName } from './navigation.js';
import { initActivityChart, loadActivity } from './pages/activity-chart.js';
import { initAuditLog, loadAudit } from './pages/audit-log.js';
import { initGlobalRotation, resetGlobalRotation } from './pages/global-rotation.js';
import { initSecurityConfig, loadConfig } from './pages/security-config.js';
import { initServiceClients, loadServiceClients, resetServiceClients } from './pages/service-clients.js';
import { initSigningKeys, loadSigningKeys } from './pages/signing-keys.js';
import { initUsers, resetUsers } from './pages/users.js';
import { initWebhookDeliveries, loadWebhookDeliveries } from './pages/webhook-deliveries.js';
import { attempt, describeError, say } from './status.js';

const SIGNED_OUT_MESSAGES: Record<SignOutReason, string> = {
  global_rotation: 'Signed out: a global rotation ended your session. Sign in again.',
  user_rotation: 'Signed out: your tokens were rotated. Sign in again.',
  token_reused: 'Signed out: your refresh token was reused, so the session was revoked.',
  token_revoked: 'Signed out: your session was revoked.',
  session_expired: 'Signed out: your session expired.',
  logout: 'Signed out.',
};

const LOADERS: Record<PageName, () => Promise<void>> = {
  overview: async () => {
    await loadConfig();
    await loadActivity();
  },
  users: async () => {},
  audit: loadAudit,
  keys: loadSigningKeys,
  webhooks: loadWebhookDeliveries,
  clients: loadServiceClients,
};

let signedIn = false;
const navigation = initNavigation((page) => {
  if (signedIn) void attempt(LOADERS[page]);
});

/** After a rotation: what shows it is reloaded (the audit log and the chart). */
const afterRotation = async () => {
  await loadAudit();
  await loadActivity();
};

initSecurityConfig();
initGlobalRotation(afterRotation);
initActivityChart();
initUsers(afterRotation);
initAuditLog();
initSigningKeys();
initWebhookDeliveries();
initServiceClients();

function showSignedIn(email: string): void {
  signedIn = true;
  $('sign-in').hidden = true;
  $('console').hidden = false;
  $('pages').hidden = false;
  $('who').hidden = false;
  $('who-email').textContent = visible(email);
  navigation.open();
}

function showSignedOut(): void {
  signedIn = false;
  $('console').hidden = true;
  $('pages').hidden = true;
  $('who').hidden = true;
  $('sign-in').hidden = false;
  resetGlobalRotation();
  $('global-result').replaceChildren();
  resetUsers();
  resetServiceClients();
  const dialog = $<HTMLDialogElement>('confirm');
  if (dialog.open) dialog.close();
}

client.on('signedOut', ({ reason }) => {
  showSignedOut();
  say(SIGNED_OUT_MESSAGES[reason], reason !== 'logout');
  $('sign-in-email').focus();
});

/** Admits an admin (anyone else is logged out again) and opens the page in the address. */
async function enter(): Promise<boolean> {
  const me = await client.me();
  if (me.role !== 'admin') {
    await client.logout();
    $('sign-in-error').textContent =
      `${visible(me.email)} is not an admin: the console needs the admin role.`;
    say('Access refused: not an admin.', true);
    return false;
  }
  showSignedIn(me.email);
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
        say(`Signed in as ${visible(email)}.`);
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

void (async () => {
  if ((await client.tokens()) === null) return;
  await attempt(async () => {
    await enter();
  });
})();
