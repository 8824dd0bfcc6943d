import type { SigningKeyRecord } from '../../domain/signing-key.js';

export interface SigningKeyRotation {
  /** The key that was active before, if there was one. */
  readonly previousKid: string | null;
  readonly newKid: string;
  /** Keys retired outright by this rotation (only with `retireOthers`). */
  readonly retiredKids: readonly string[];
}

export type SigningKeyRetirement =
  | {
      readonly outcome: 'retired';
      readonly previousStatus: 'active' | 'verifying';
      /** The key made active in its place (only when an active key was retired with `replace`). */
      readonly newKid: string | null;
    }
  | { readonly outcome: 'already_retired'; readonly retiredAt: Date | null }
  | { readonly outcome: 'not_found' }
  /** The key is the active one and no replacement was asked for. */
  | { readonly outcome: 'active_key' };

/** Signing keys; generating a key happens inside the transaction that stores it. */
export interface SigningKeyRepository {
  /**
   * Generates a new Ed25519 key and makes it active. The previous active key turns
   * `verifying` (it stopped signing now), or with `retireOthers` it and every
   * verifying key are retired at once.
   */
  rotate(now: Date, options?: { readonly retireOthers?: boolean }): Promise<SigningKeyRotation>;
  /** Retires a key at once; refuses the active key unless `replace` creates a new active one. */
  retire(kid: string, now: Date, options?: { readonly replace?: boolean }): Promise<SigningKeyRetirement>;
  /** Every key, newest first, with statuses as of `now`. */
  list(now: Date): Promise<readonly SigningKeyRecord[]>;
}
