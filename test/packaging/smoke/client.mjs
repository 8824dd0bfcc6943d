// Run by test/packaging/packages.test.ts from a scratch project that installed the packed
// @tokenwarden/client tarball, as a user would: imports the package by name, logs in and
// refreshes against the tokenwarden at TW_BASE, prints one JSON line of what it saw.
import { createClient, localStorageStorage, TokenwardenClientError } from '@tokenwarden/client';

const { TW_BASE, TW_EMAIL, TW_PASSWORD } = process.env;
const out = {};

try {
  localStorageStorage();
  out.localStorage = 'created';
} catch (error) {
  out.localStorage = error instanceof TokenwardenClientError ? error.code : String(error);
}

const client = createClient({ baseUrl: TW_BASE });
const first = await client.login(TW_EMAIL, TW_PASSWORD);
const refreshed = await client.refresh();
const me = await client.me();
out.loggedIn = typeof first.accessToken === 'string' && first.accessToken.length > 0;
out.refreshed = refreshed.refreshToken !== first.refreshToken && refreshed.accessToken !== first.accessToken;
out.email = me.email;
await client.logout();
out.tokensAfterLogout = await client.tokens();
console.log(JSON.stringify(out));
