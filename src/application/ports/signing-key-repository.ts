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
   * Generates a new key of the configured algorithm (TOKENWARDEN_SIGNING_ALG) and makes it
   * active. The previous active key turns `verifying` (it stopped signing now), or with
   * `retireOthers` it and every verifying key are retired at once.
   */
  rotate(now: Date, options?: { readonly retireOthers?: boolean }): Promise<SigningKeyRotation>;
  /**
   * {@link rotate}, only when the active key is of another algorithm than the configured one:
   * null when it is of that algorithm, or when no key is active. Decided under the signing-key
   * lock, so instances starting together make one new key between them.
   */
  rotateToConfiguredAlgorithm(
    now: Date,
  ): Promise<
    (SigningKeyRotation & { readonly previousAlgorithm: string; readonly algorithm: string }) | null
  >;
  /** Retires a key at once; refuses the active key unless `replace` creates a new active one. */
  retire(kid: string, now: Date, options?: { readonly replace?: boolean }): Promise<SigningKeyRetirement>;
  /** Every key, newest first, with statuses as of `now`. */
  list(now: Date): Promise<readonly SigningKeyRecord[]>;
}
