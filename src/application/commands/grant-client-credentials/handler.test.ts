import { expect, it } from 'vitest';
import { describeHandler } from '../../../../test/support/handler-context.js';
import { AuthenticateClientTokenQuery } from '../../queries/authenticate-client-token/query.js';
import { CreateServiceClient } from '../create-service-client/command.js';
import { CreateServiceClientHandler } from '../create-service-client/handler.js';
import { RevokeServiceClient } from '../revoke-service-client/command.js';
import { RevokeServiceClientHandler } from '../revoke-service-client/handler.js';
import { GrantClientCredentials } from './command.js';
import { GrantClientCredentialsHandler } from './handler.js';

describeHandler('GrantClientCredentialsHandler', (suite) => {
  const client = async () => {
    const created = await new CreateServiceClientHandler(suite.ctx).handle(
      CreateServiceClient({ name: 'gateway', actor: 'cli:ops' }),
    );
    if (!created.ok) throw created.error;
    return created.value;
  };
  const grant = (clientId: string, secret: string) =>
    new GrantClientCredentialsHandler(suite.ctx).handle(GrantClientCredentials({ clientId, secret }));

  it('signs a token for a live client that authenticates until the client is revoked', async () => {
    const { id, secret } = await client();
    const granted = await grant(id, secret);
    if (!granted.ok) throw granted.error;
    expect(granted.value).toEqual({ accessToken: expect.any(String), tokenType: 'Bearer', expiresIn: 900 });
    const check = new AuthenticateClientTokenQuery(suite.ctx);
    expect(await check.execute(granted.value.accessToken)).toMatchObject({
      ok: true,
      value: { clientId: id },
    });

    await new RevokeServiceClientHandler(suite.ctx).handle(
      RevokeServiceClient({ clientId: id, actor: 'cli:ops' }),
    );
    expect(await check.execute(granted.value.accessToken)).toMatchObject({
      ok: false,
      error: { code: 'token_revoked' },
    });
    expect(await grant(id, secret)).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
  });

  it('refuses a wrong secret and an unknown id alike, writing nothing', async () => {
    const { id, secret } = await client();
    const before = await suite.writes();
    const wrong = await grant(id, `${secret}x`);
    const unknown = await grant('00000000-0000-4000-8000-000000000000', secret);
    expect(wrong).toEqual(unknown);
    expect(wrong).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
    expect(await suite.writes()).toEqual(before);
  });
});
