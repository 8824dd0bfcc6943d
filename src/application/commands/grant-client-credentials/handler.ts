import { ok, type Result } from '../../../domain/result.js';
import type { AppContext } from '../../context.js';
import { AuthenticateServiceClientQuery } from '../../queries/authenticate-service-client/query.js';
import type { GrantClientCredentials } from './command.js';

/** A client-credentials answer: no refresh token (RFC 6749 §4.4.3). */
export interface ClientAccessToken {
  readonly accessToken: string;
  readonly tokenType: 'Bearer';
  readonly expiresIn: number;
}

/**
 * Checks the client's secret (constant time, one answer for unknown, wrong and
 * revoked: `unauthorized`) and signs an access token for it. Nothing is written:
 * the token is checked against the live client on every use, so revoking the client
 * ends it at once.
 *
 * @example
 * const result = await services.grantClientCredentials.handle(GrantClientCredentials({ clientId, secret }));
 */
export class GrantClientCredentialsHandler {
  private readonly clients: AuthenticateServiceClientQuery;

  constructor(private readonly ctx: AppContext) {
    this.clients = new AuthenticateServiceClientQuery(ctx);
  }

  async handle(command: GrantClientCredentials): Promise<Result<ClientAccessToken>> {
    const client = await this.clients.execute(command.clientId, command.secret);
    if (!client.ok) return client;
    const { token, expiresIn } = await this.ctx.signer.signClient(
      client.value.clientId,
      this.ctx.clock.now(),
    );
    return ok({ accessToken: token, tokenType: 'Bearer', expiresIn });
  }
}
