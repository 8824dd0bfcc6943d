import { TokenwardenError } from '../../../domain/errors.js';
import { err, ok, type Result } from '../../../domain/result.js';
import type { AppContext } from '../../context.js';
import type { ClientTokenClaims } from '../../ports/access-token-signer.js';
import { signatureRefusal } from '../authenticate-access-token/query.js';
import type { ServiceClientPrincipal } from '../authenticate-service-client/query.js';

/** A service client authenticated by its client-credentials token, with the token's claims. */
export interface ClientTokenPrincipal extends ServiceClientPrincipal {
  readonly claims: ClientTokenClaims;
}

/**
 * Checks a client-credentials access token (`POST /oauth/token`, grant_type=client_credentials):
 * the signature and lifetime, then the client itself, read on every call so a revoked
 * client's tokens stop working at its next request, on every instance.
 *
 * @example
 * const result = await services.authenticateClientToken.execute(bearerToken);
 * if (result.ok) request.serviceClient = result.value;
 */
export class AuthenticateClientTokenQuery {
  constructor(private readonly ctx: AppContext) {}

  async execute(token: string): Promise<Result<ClientTokenPrincipal>> {
    const verified = await this.ctx.signer.verifyClient(token, this.ctx.clock.now());
    if (!verified.ok) {
      return err(signatureRefusal(verified.reason));
    }
    const { claims } = verified;
    const client = await this.ctx.uow.read((repos) => repos.serviceClients.findById(claims.clientId));
    if (client === null || client.revokedAt !== null) {
      return err(new TokenwardenError('token_revoked', 'The service client has been revoked'));
    }
    return ok({ clientId: client.id, name: client.name, claims });
  }
}
