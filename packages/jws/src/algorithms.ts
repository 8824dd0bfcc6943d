import { type KeyObject, sign, verify } from 'node:crypto';

/**
 * A JWS algorithm as tokenwarden takes it (RFC 7518 §3.1): the key it needs, the length of
 * its signatures, and how node:crypto makes and checks one. The parser, the key choice and
 * the verification read all they need from here, so another algorithm is another entry in
 * the table below.
 */
export interface JwsAlgorithm {
  /** The protected header's `alg`. */
  readonly name: string;
  /** `KeyObject.asymmetricKeyType` of its keys. */
  readonly keyType: string;
  /** `asymmetricKeyDetails.namedCurve` of its keys, for a key type with several curves (`ec`). */
  readonly namedCurve?: string;
  /** Every signature is this many bytes. */
  readonly signatureBytes: number;
  /** {@link signatureBytes} as unpadded base64url characters: the parser's bound on the third part. */
  readonly encodedSignatureLength: number;
  /**
   * One key signs one input one way only (Ed25519, RFC 8032 §5.1.6): a token of a key held
   * privately is then checked by signing its input again, cheaper than a verify.
   */
  readonly deterministic: boolean;
  readonly sign: (input: Buffer, privateKey: KeyObject) => Buffer;
  /** OpenSSL's answer; a key of another type is the caller's to refuse first ({@link keyFits}). */
  readonly verify: (input: Buffer, publicKey: KeyObject, signature: Buffer) => boolean;
}

const encodedLength = (bytes: number) => Math.ceil((bytes * 4) / 3);

/** EdDSA on Ed25519 only (RFC 8037 §3.1 allows Ed448 too; tokenwarden never signs with it). */
const EDDSA: JwsAlgorithm = Object.freeze({
  name: 'EdDSA',
  keyType: 'ed25519',
  signatureBytes: 64,
  encodedSignatureLength: encodedLength(64),
  deterministic: true,
  sign: (input: Buffer, privateKey: KeyObject) => sign(null, input, privateKey),
  verify: (input: Buffer, publicKey: KeyObject, signature: Buffer) =>
    verify(null, input, publicKey, signature),
});

/**
 * ECDSA on P-256 with SHA-256 (RFC 7518 §3.4). The signature is the JOSE form, R || S as two
 * 32-byte big-endian integers (`dsaEncoding: 'ieee-p1363'`), never DER; OpenSSL's verify
 * refuses R or S of zero or not below the group order. Not deterministic: each sign draws a
 * fresh nonce, so a token is checked by a verify only.
 */
const ES256: JwsAlgorithm = Object.freeze({
  name: 'ES256',
  keyType: 'ec',
  namedCurve: 'prime256v1',
  signatureBytes: 64,
  encodedSignatureLength: encodedLength(64),
  deterministic: false,
  sign: (input: Buffer, privateKey: KeyObject) =>
    sign('sha256', input, { key: privateKey, dsaEncoding: 'ieee-p1363' }),
  verify: (input: Buffer, publicKey: KeyObject, signature: Buffer) =>
    verify('sha256', input, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature),
});

const ALGORITHMS: ReadonlyMap<string, JwsAlgorithm> = new Map([
  [EDDSA.name, EDDSA],
  [ES256.name, ES256],
]);

/**
 * The table's entry for a header's `alg` (any JSON value), or undefined: an algorithm not in
 * the table is refused. A Map, so `__proto__` or `toString` name nothing.
 *
 * @example
 * jwsAlgorithm('EdDSA')?.signatureBytes; // 64
 * jwsAlgorithm('ES256')?.namedCurve; // 'prime256v1'
 * jwsAlgorithm('none'); // undefined
 */
export function jwsAlgorithm(alg: unknown): JwsAlgorithm | undefined {
  return typeof alg === 'string' ? ALGORITHMS.get(alg) : undefined;
}

/**
 * Whether `key` is of the algorithm's type (and curve): a token's `alg` never chooses how a
 * key is used, so a kid naming a key of another type refuses the token (RFC 8725 §3.1).
 */
export function keyFits(algorithm: JwsAlgorithm, key: KeyObject): boolean {
  if (key.asymmetricKeyType !== algorithm.keyType) return false;
  return algorithm.namedCurve === undefined || key.asymmetricKeyDetails?.namedCurve === algorithm.namedCurve;
}
