import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DisableUser } from '../../src/application/commands/disable-user/command.js';
import { testDatabases } from './databases.js';
import { freePort } from './free-port.js';
import {
  type Gateway,
  type GatewayKind,
  gatewayAvailable,
  startGateway,
  startUpstream,
  type Upstream,
} from './gateway.js';
import { useListeningApp } from './listening-app.js';
import { okValue } from './result.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, USER_PASSWORD } from './test-app.js';

/**
 * The documented configuration of a real gateway (docs/GATEWAYS.md) in front of an upstream
 * that echoes the identity headers it got, checking with tokenwarden on each request. One
 * gateway for the file; tokenwarden runs on each database in turn at one fixed port.
 */
export function describeGateway(kind: GatewayKind): void {
  const available = gatewayAvailable(kind);
  describe.skipIf(!available)(`${kind.name} in front of tokenwarden`, () => {
    let upstream: Upstream;
    let gateway: Gateway;
    let tokenwardenPort = 0;

    beforeAll(async () => {
      tokenwardenPort = await freePort();
      upstream = await startUpstream();
      gateway = await startGateway(kind, {
        tokenwarden: `127.0.0.1:${tokenwardenPort}`,
        upstream: upstream.address,
      });
    });
    afterAll(async () => {
      await gateway?.stop();
      await upstream?.close();
    });

    describe.each(testDatabases())('on $name', (target) => {
      // The gateway's config names one tokenwarden address: each database's app takes that
      // port in turn (read when the app starts, after the file's beforeAll picked it).
      const app = useListeningApp(target, {
        get PORT() {
          return String(tokenwardenPort);
        },
      } as Record<string, string>);

      const through = (
        path: string,
        init: { token?: string; method?: string; headers?: Record<string, string>; body?: string } = {},
      ) =>
        fetch(`${gateway.base}${path}`, {
          method: init.method ?? 'GET',
          headers: {
            ...(init.token === undefined ? {} : { authorization: `Bearer ${init.token}` }),
            ...init.headers,
          },
          ...(init.body === undefined ? {} : { body: init.body }),
        });
      const login = async (email: string, password = USER_PASSWORD) => {
        const res = await fetch(`${app.base}/api/v1/sessions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email, password }),
        });
        expect(res.status).toBe(201);
        return (await res.json()) as { accessToken: string; sessionId: string };
      };
      const newUser = async (email: string) => {
        const res = await fetch(`${app.base}/api/v1/users`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email, password: USER_PASSWORD }),
        });
        expect(res.status).toBe(201);
        const { id } = (await res.json()) as { id: string };
        return { id, ...(await login(email)) };
      };
      const expectPassed = async (res: Response, user: { id: string; sessionId: string }, role = 'user') => {
        expect(res.status, await res.clone().text()).toBe(200);
        const echo = (await res.json()) as { identity: Record<string, string> };
        expect(echo.identity).toEqual({
          'x-tokenwarden-sub': user.id,
          'x-tokenwarden-sid': user.sessionId,
          'x-tokenwarden-role': role,
        });
      };
      const expectRefused = async (res: Response, challenge: RegExp) => {
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(challenge);
        await res.body?.cancel();
      };

      it('passes a request with a valid token upstream with the identity headers, and a forged one never', async () => {
        const user = await newUser(`${kind.name}-${target.name}-valid@example.com`);
        const before = upstream.received.length;
        await expectPassed(
          await through('/orders/42?page=2', {
            token: user.accessToken,
            headers: {
              'x-tokenwarden-sub': '00000000-0000-4000-8000-000000000000',
              'x-tokenwarden-role': 'admin',
              'x-tokenwarden-sid': 'forged',
              // Read as X-Tokenwarden-Sub by servers that map `_` to `-` (CGI, WSGI, PHP).
              x_tokenwarden_sub: 'forged-underscore',
            },
          }),
          user,
        );
        // Any method, a body included: the check reads neither.
        await expectPassed(
          await through('/orders', {
            method: 'POST',
            token: user.accessToken,
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ item: 'book' }),
          }),
          user,
        );
        expect(upstream.received.slice(before).map((r) => `${r.method} ${r.url}`)).toEqual([
          'GET /orders/42?page=2',
          'POST /orders',
        ]);
      });

      it('refuses a request with no token or a bad one, with the challenge, before the upstream', async () => {
        const before = upstream.received.length;
        await expectRefused(
          await through('/orders', {
            headers: { 'x-tokenwarden-sub': 'forged', 'x-tokenwarden-role': 'admin' },
          }),
          /^Bearer realm="tokenwarden"$/,
        );
        await expectRefused(await through('/orders', { token: 'not.a.token' }), /error="invalid_token"/);
        expect(upstream.received.length).toBe(before);
      });

      it('refuses on the very next request after a user rotation, a logout and a disable', async () => {
        const rotated = await newUser(`${kind.name}-${target.name}-rotated@example.com`);
        await expectPassed(await through('/a', { token: rotated.accessToken }), rotated);
        const rotation = await fetch(`${app.base}/api/v1/users/me/rotations`, {
          method: 'POST',
          headers: { authorization: `Bearer ${rotated.accessToken}`, 'content-type': 'application/json' },
          body: '{}',
        });
        expect(rotation.status).toBe(201);
        await expectRefused(
          await through('/a', { token: rotated.accessToken }),
          /error="invalid_token", error_description="token_rotated"/,
        );

        const loggedOut = await newUser(`${kind.name}-${target.name}-logout@example.com`);
        await expectPassed(await through('/b', { token: loggedOut.accessToken }), loggedOut);
        const logout = await fetch(`${app.base}/api/v1/sessions/current`, {
          method: 'DELETE',
          headers: { authorization: `Bearer ${loggedOut.accessToken}` },
        });
        expect(logout.status).toBe(204);
        await expectRefused(await through('/b', { token: loggedOut.accessToken }), /token_revoked/);

        const disabled = await newUser(`${kind.name}-${target.name}-disabled@example.com`);
        await expectPassed(await through('/c', { token: disabled.accessToken }), disabled);
        okValue(
          await app.tw.services.disableUser.handle(
            DisableUser({ userId: disabled.id, actor: 'cli:operator', reason: 'compromised' }),
          ),
        );
        await expectRefused(await through('/c', { token: disabled.accessToken }), /token_revoked/);
      });

      it('answers 403 on the admin-only route for a user token, and passes an admin', async () => {
        const user = await newUser(`${kind.name}-${target.name}-role@example.com`);
        const before = upstream.received.length;
        const refused = await through('/admin/reports', { token: user.accessToken });
        expect(refused.status).toBe(403);
        await refused.body?.cancel();
        expect(upstream.received.length).toBe(before);
        // The same user elsewhere: passed.
        await expectPassed(await through('/reports', { token: user.accessToken }), user);

        const admin = await login(ADMIN_EMAIL, ADMIN_PASSWORD);
        const meRes = await fetch(`${app.base}/api/v1/users/me`, {
          headers: { authorization: `Bearer ${admin.accessToken}` },
        });
        const me = (await meRes.json()) as { id: string };
        await expectPassed(
          await through('/admin/reports', { token: admin.accessToken }),
          { id: me.id, sessionId: admin.sessionId },
          'admin',
        );
      });
    });
  });
}
