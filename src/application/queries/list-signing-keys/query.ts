import type { SigningKeyRecord } from '../../../domain/signing-key.js';
import type { AppContext } from '../../context.js';

/** Every stored signing key, newest first, with statuses as of now; never a private part. */
export class ListSigningKeysQuery {
  constructor(private readonly ctx: AppContext) {}

  execute(): Promise<readonly SigningKeyRecord[]> {
    return this.ctx.uow.read((repos) => repos.signingKeys.list(this.ctx.clock.now()));
  }
}
