import type {
  SigningKeyStore,
  VerificationKeySet,
} from '../../src/infrastructure/crypto/signing-key-store.js';

/**
 * `keyStore` as an instance that holds no private key would see it (a verifier elsewhere, a
 * retired key's tokens): the same verification keys without the signing one, so a signer over
 * it verifies every token it has not seen rather than recognising its own signature.
 */
export function publicOnlyKeyStore(keyStore: SigningKeyStore): SigningKeyStore {
  const stripped = new WeakMap<VerificationKeySet, VerificationKeySet>();
  return {
    signingKey: () => keyStore.signingKey(),
    reloadForUnknownKid: () => keyStore.reloadForUnknownKid(),
    verificationKeySet: async () => {
      const set = await keyStore.verificationKeySet();
      let view = stripped.get(set);
      if (view === undefined) {
        view = Object.freeze({ ...set, signing: undefined });
        stripped.set(set, view);
      }
      return view;
    },
  } as unknown as SigningKeyStore;
}
