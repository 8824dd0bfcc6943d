import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeHandler } from '../../../../test/support/handler-context.js';
import { CreateServiceClient } from '../../commands/create-service-client/command.js';
import { CreateServiceClientHandler } from '../../commands/create-service-client/handler.js';
import { RevokeServiceClient } from '../../commands/revoke-service-client/command.js';
import { RevokeServiceClientHandler } from '../../commands/revoke-service-client/handler.js';
import { AuthenticateServiceClientQuery } from './query.js';

describeHandler('AuthenticateServiceClientQuery', (suite) => {
  const authenticate = (clientId: string, secret: string) =>
    new AuthenticateServiceClientQuery(suite.ctx).execute(clientId, secret);
  const client = async (name: string) => {
    const created = await new CreateServiceClientHandler(suite.ctx).handle(
      CreateServiceClient({ name, actor: 'cli:ops' }),
    );
    if (!created.ok) throw created.error;
    return created.value;
  };

  it('accepts the id and secret it issued', async () => {
    const { id, secret } = await client('auth-ok');
    expect(await authenticate(id, secret)).toEqual({ ok: true, value: { clientId: id, name: 'auth-ok' } });
  });

  it('gives one answer for a wrong secret, an unknown id, a malformed id, another client and a revoked client', async () => {
    const { id, secret } = await client('auth-refused');
    const other = await client('auth-other');
    const revoked = await client('auth-revoked');
    const revocation = await new RevokeServiceClientHandler(suite.ctx).handle(
      RevokeServiceClient({ clientId: revoked.id, actor: 'cli:ops' }),
    );
    expect(revocation.ok).toBe(true);
    const attempts: [string, string][] = [
      // One character changed (never the same one: a fixed replacement equals it 1 time in 64).
      [id, `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`],
      [id, ''],
      [randomUUID(), secret],
      ['not-a-uuid', secret],
      [id, other.secret],
      [revoked.id, revoked.secret],
    ];
    for (const [clientId, presented] of attempts) {
      const result = await authenticate(clientId, presented);
      expect(result.ok ? 'ok' : [result.error.code, result.error.message]).toEqual([
        'unauthorized',
        'Invalid service client credentials',
      ]);
    }
  });
});
