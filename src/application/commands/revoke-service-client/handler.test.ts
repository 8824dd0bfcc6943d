import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeHandler } from '../../../../test/support/handler-context.js';
import { AuthenticateServiceClientQuery } from '../../queries/authenticate-service-client/query.js';
import { CreateServiceClient } from '../create-service-client/command.js';
import { CreateServiceClientHandler } from '../create-service-client/handler.js';
import { RevokeServiceClient } from './command.js';
import { RevokeServiceClientHandler } from './handler.js';

describeHandler('RevokeServiceClientHandler', (suite) => {
  const client = async (name: string) => {
    const created = await new CreateServiceClientHandler(suite.ctx).handle(
      CreateServiceClient({ name, actor: 'cli:ops' }),
    );
    if (!created.ok) throw created.error;
    return created.value;
  };
  const revoke = (clientId: string, reason?: string) =>
    new RevokeServiceClientHandler(suite.ctx).handle(
      RevokeServiceClient({ clientId, actor: 'cli:sec', reason }),
    );

  it('revokes with its audit row and event; the secret stops authenticating', async () => {
    const { id, secret } = await client('orders-api');
    suite.clock.advance(5);
    const result = await revoke(id, ' secret leaked ');
    if (!result.ok) throw result.error;
    expect(result.value).toEqual({
      changed: true,
      client: {
        id,
        name: 'orders-api',
        createdAt: new Date(suite.clock.now().getTime() - 5000),
        createdBy: 'cli:ops',
        revokedAt: suite.clock.now(),
        revokedBy: 'cli:sec',
      },
    });
    const audit = (await suite.audit('service_client.revoked', null)).filter(
      (a) => a.payload.clientId === id,
    );
    expect(audit).toMatchObject([
      { actor: 'cli:sec', reason: 'secret leaked', occurredAt: suite.clock.now() },
    ]);
    const events = (await suite.events('ServiceClientRevoked')).filter((e) => e.payload.clientId === id);
    expect(events).toMatchObject([
      { payload: { actor: 'cli:sec', reason: 'secret leaked', name: 'orders-api' } },
    ]);

    const auth = await new AuthenticateServiceClientQuery(suite.ctx).execute(id, secret);
    expect(auth.ok ? 'ok' : auth.error.code).toBe('unauthorized');
  });

  it('takes no reason, and is idempotent: revoking again reports the first time and writes nothing', async () => {
    const { id } = await client('idempotent');
    // After the commit, once: the instances end the revocation streams the client opened.
    const told: string[] = [];
    const stop = suite.core.onServiceClientRevoked((clientId) => told.push(clientId));
    const first = await revoke(id);
    if (!first.ok) throw first.error;
    expect(
      (await suite.audit('service_client.revoked', null)).find((a) => a.payload.clientId === id),
    ).toMatchObject({ reason: null });
    suite.clock.advance(60);
    const before = await suite.writes();
    const again = await revoke(id, 'again');
    expect(again).toEqual({ ok: true, value: { changed: false, client: first.value.client } });
    stop();
    expect(told).toEqual([id]);
    expect(await suite.writes()).toEqual(before);
  });

  it.each([
    ['an unknown id', randomUUID()],
    ['a malformed id', 'not-a-uuid'],
  ])('answers service_client_not_found for %s and writes nothing', async (_what, clientId) => {
    const before = await suite.writes();
    const result = await revoke(clientId);
    expect(result.ok ? 'ok' : result.error.code).toBe('service_client_not_found');
    expect(await suite.writes()).toEqual(before);
  });

  it('refuses a reason with control characters and leaves the client working', async () => {
    const { id, secret } = await client('bad-reason');
    const result = await revoke(id, 'leak\u001b[2J');
    expect(result.ok ? 'ok' : result.error.code).toBe('validation_failed');
    const auth = await new AuthenticateServiceClientQuery(suite.ctx).execute(id, secret);
    expect(auth.ok).toBe(true);
  });
});
