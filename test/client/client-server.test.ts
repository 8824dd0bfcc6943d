import {
  createClient,
  memoryStorage,
  type SignedOutEvent,
  TokenwardenClientError,
} from '@tokenwarden/client';
import { beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import { useListeningApp } from '../support/listening-app.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, USER_PASSWORD } from '../support/test-app.js';

const REFRESH = ['POST', '/api/v1/tokens'] as const;

describe.each(testDatabases())('client SDK against a listening server on $name', (target) => {
  const server = useListeningApp(target);
  let userNumber = 0;

  /** A fresh user, signed in through a new client whose clock follows the server's manual clock. */
  async function signedInClient() {
    const email = `sdk-${++userNumber}@example.com`;
    const storage = memoryStorage();
    const client = createClient({ baseUrl: server.base, storage, now: () => server.clock.now().getTime() });
    const registered = await fetch(`${server.base}/api/v1/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: USER_PASSWORD }),
    });
    expect(registered.status).toBe(201);
    await client.login(email, USER_PASSWORD);
    const signedOut: SignedOutEvent[] = [];
    client.on('signedOut', (event) => signedOut.push(event));
    return { client, storage, signedOut, email };
  }

  beforeAll(() => {
    server.resetCounts();
  });

  it('sends one refresh for 50 parallel calls whose access token the client knows has expired', async () => {
    const { client } = await signedInClient();
    server.clock.advance(16 * 60); // past the 15-minute access token
    server.resetCounts();
    const responses = await Promise.all(Array.from({ length: 50 }, () => client.fetch('/api/v1/users/me')));
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(server.count(...REFRESH)).toBe(1);
    expect(server.count('GET', '/api/v1/users/me')).toBe(50);
  });

  it('sends one refresh when 50 parallel calls meet 401 token_expired, then retries each once', async () => {
    const { client } = await signedInClient();
    server.clock.advance(16 * 60);
    server.resetCounts();
    // The client's clock is behind the server's: it believes the token is still good.
    const lagging = createClient({
      baseUrl: server.base,
      storage: memoryStorage((await client.tokens())!),
      now: () => server.clock.now().getTime() - 16 * 60 * 1000,
    });
    const responses = await Promise.all(Array.from({ length: 50 }, () => lagging.fetch('/api/v1/users/me')));
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(server.count(...REFRESH)).toBe(1);
    expect(server.count('GET', '/api/v1/users/me')).toBe(100);
  });

  it('signs out with global_rotation after a rotation past grace, and never refreshes again', async () => {
    const a = await signedInClient();
    const b = await signedInClient();
    const admin = createClient({ baseUrl: server.base, now: () => server.clock.now().getTime() });
    await admin.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    await admin.request('/api/v1/admin/security/rotations', {
      method: 'POST',
      body: { reason: 'sdk test', gracePeriodSeconds: 0 },
    });
    server.resetCounts();

    // a: the access token is still fresh locally; the server refuses it as rotated.
    const responses = await Promise.all(Array.from({ length: 10 }, () => a.client.fetch('/api/v1/users/me')));
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(401));
    expect(a.signedOut).toEqual([expect.objectContaining({ reason: 'global_rotation' })]);
    expect(await a.client.tokens()).toBeNull();
    expect(server.count(...REFRESH)).toBe(0);
    await expect(a.client.fetch('/api/v1/users/me')).rejects.toMatchObject({ code: 'not_signed_in' });

    // b: the access token expired locally, so the refresh meets the rotation: one attempt, no loop.
    server.clock.advance(16 * 60);
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => b.client.fetch('/api/v1/users/me')),
    );
    for (const result of results) {
      expect(result.status).toBe('rejected');
      const error = (result as PromiseRejectedResult).reason as TokenwardenClientError;
      expect(error).toBeInstanceOf(TokenwardenClientError);
      expect(error).toMatchObject({ code: 'token_rotated', status: 401 });
    }
    expect(b.signedOut).toHaveLength(1);
    expect(b.signedOut[0]?.reason).toBe('global_rotation');
    expect(server.count(...REFRESH)).toBe(1);
    await expect(b.client.fetch('/api/v1/users/me')).rejects.toMatchObject({ code: 'not_signed_in' });
    expect(server.count(...REFRESH)).toBe(1);

    // Signing in again works: the new tokens carry the new version.
    await a.client.login(a.email, USER_PASSWORD);
    expect((await a.client.fetch('/api/v1/users/me')).status).toBe(200);
  });

  it('manages sessions: list, revoke another, change password, log out everywhere, log out', async () => {
    const { client, email, signedOut } = await signedInClient();
    const other = createClient({ baseUrl: server.base, now: () => server.clock.now().getTime() });
    await other.login(email, USER_PASSWORD);
    const otherSignedOut: SignedOutEvent[] = [];
    other.on('signedOut', (e) => otherSignedOut.push(e));

    const sessions = await client.listSessions();
    expect(sessions).toHaveLength(2);
    expect(sessions.filter((s) => s.current)).toHaveLength(1);
    const otherId = (await other.tokens())!.sessionId;
    await client.revokeSession(otherId);
    expect((await other.fetch('/api/v1/users/me')).status).toBe(401);
    expect(otherSignedOut.map((e) => e.reason)).toEqual(['token_revoked']);

    await client.changePassword(USER_PASSWORD, 'a brand new passphrase');
    expect((await client.me()).email).toBe(email);
    const third = createClient({ baseUrl: server.base, now: () => server.clock.now().getTime() });
    await expect(third.login(email, USER_PASSWORD)).rejects.toMatchObject({ code: 'invalid_credentials' });
    await third.login(email, 'a brand new passphrase');

    const rotation = await client.logoutEverywhere('lost my laptop');
    expect(rotation.newVersion).toBe(rotation.previousVersion + 1);
    expect(signedOut.map((e) => e.reason)).toEqual(['logout']);
    expect(await client.tokens()).toBeNull();
    const thirdSignedOut: SignedOutEvent[] = [];
    third.on('signedOut', (e) => thirdSignedOut.push(e));
    expect((await third.fetch('/api/v1/users/me')).status).toBe(401);
    expect(thirdSignedOut.map((e) => e.reason)).toEqual(['user_rotation']);

    await third.login(email, 'a brand new passphrase');
    await third.logout();
    expect(await third.tokens()).toBeNull();
    expect(thirdSignedOut.map((e) => e.reason)).toEqual(['user_rotation', 'logout']);
  });
});
