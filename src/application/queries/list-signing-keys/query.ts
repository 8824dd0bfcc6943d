import { ok, type Result } from '../../../domain/result.js';
import type { SigningKeyRecord } from '../../../domain/signing-key.js';
import type { AppContext } from '../../context.js';

/** Every stored signing key, newest first, with statuses as of now; never a private part. */
export class ListSigningKeysQuery {
  constructor(private readonly ctx: AppContext) {}

  async execute(): Promise<Result<readonly SigningKeyRecord[]>> {
    return ok(await this.ctx.uow.read((repos) => repos.signingKeys.list(this.ctx.clock.now())));
  }
}
