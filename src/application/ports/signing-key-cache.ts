/**
 * This instance's in-memory copy of the signing keys. Handlers that change keys
 * reload it after commit; other instances hear of it through
 * `VersionChangeListener.signingKeysChanged()`.
 */
export interface SigningKeyCache {
  /**
   * True when TOKENWARDEN_SIGNING_KEY pins the signing key: stored keys then only
   * verify, so rotating them would not change what signs.
   */
  readonly pinned: boolean;
  reload(): Promise<void>;
}
