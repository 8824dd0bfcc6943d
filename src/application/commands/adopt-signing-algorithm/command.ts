/**
 * At start: when the active signing key is of another algorithm than TOKENWARDEN_SIGNING_ALG,
 * rotate to a key of the configured one. The old key keeps verifying for one access-token
 * TTL, as after any rotation, so the tokens it signed live out their lives.
 *
 * @example
 * await new AdoptSigningAlgorithmHandler(ctx).handle(AdoptSigningAlgorithm({ actor: 'system' }));
 */
export interface AdoptSigningAlgorithm {
  /** Who the audit row names: `system` at start. */
  readonly actor: string;
}

export const AdoptSigningAlgorithm = (fields: AdoptSigningAlgorithm): AdoptSigningAlgorithm =>
  Object.freeze({ ...fields });
