import { TokenwardenError } from '../../../domain/errors.js';
import { err, ok, type Result } from '../../../domain/result.js';
import type { AppContext } from '../../context.js';

/** An authenticated service client, as a guard hands it to a route. */
export interface ServiceClientPrincipal {
  readonly clientId: string;
  readonly name: string;
}

// One answer for every refusal, so a caller cannot tell an unknown id from a wrong secret.
const refused = () => new TokenwardenError('unauthorized', 'Invalid service client credentials');

/**
 * Checks a client id and secret: the client is looked up by id and the secret's SHA-256
 * compared with the stored one in constant time. An unknown id is compared against a
 * dummy hash, so it takes the time a wrong secret takes; unknown, wrong and revoked all
 * answer the same `unauthorized`.
 */
export class AuthenticateServiceClientQuery {
  constructor(private readonly ctx: AppContext) {}

  async execute(clientId: string, secret: string): Promise<Result<ServiceClientPrincipal>> {
    const client = await this.ctx.uow.read((repos) => repos.serviceClients.findById(clientId));
    const matches = this.ctx.tokens.serviceClientSecretMatches(secret, client?.secretHash ?? null);
    if (client === null || !matches || client.revokedAt !== null) return err(refused());
    return ok({ clientId: client.id, name: client.name });
  }
}
