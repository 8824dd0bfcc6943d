import { createPublicKey, type KeyObject, sign } from 'node:crypto';
import { parseCompactJws } from '@tokenwarden/jws';
import type { ChainPoint } from './audit-chain.js';

/**
 * A signed checkpoint of the audit chain (docs/AUDIT.md): a compact JWS (RFC 7515), EdDSA
 * over Ed25519, whose payload says the chain's head was `(seq, hash)` at `at`. Any JOSE
 * library checks one with the public key alone; a checkpoint kept outside the database turns
 * "consistent" into "proven" up to its seq.
 */

/** The JWS `typ` of a checkpoint: never mistaken for an access token (`at+jwt`). */
const CHECKPOINT_TYP = 'tw-audit-checkpoint+jws';

/** The JWK `use` of the key that signs checkpoints, published apart from the token keys' `sig`. */
const CHECKPOINT_KEY_USE = 'tw-audit';

export interface AuditCheckpoint extends ChainPoint {
  /** When it was signed, ISO-8601. */
  readonly at: string;
  readonly kid: string;
}

/**
 * Signs a checkpoint with an Ed25519 private key.
 *
 * @example
 * const jws = signCheckpoint({ seq: 42, hash, at: new Date().toISOString(), kid }, privateKey);
 */
export function signCheckpoint(checkpoint: AuditCheckpoint, privateKey: KeyObject): string {
  const header = Buffer.from(
    JSON.stringify({ alg: 'EdDSA', kid: checkpoint.kid, typ: CHECKPOINT_TYP }),
  ).toString('base64url');
  const payload = Buffer.from(
    JSON.stringify({ seq: checkpoint.seq, hash: checkpoint.hash, at: checkpoint.at }),
  ).toString('base64url');
  const signature = sign(null, Buffer.from(`${header}.${payload}`), privateKey).toString('base64url');
  return `${header}.${payload}.${signature}`;
}

export type CheckpointCheck =
  | { readonly ok: true; readonly checkpoint: AuditCheckpoint }
  | { readonly ok: false; readonly reason: string };

/**
 * A checkpoint's signature under the public key its `kid` names in `keys`, then its shape.
 * A wrong signature, an unknown kid, another `typ` or algorithm: refused, with why.
 */
export function verifyCheckpoint(jws: string, keys: ReadonlyMap<string, KeyObject>): CheckpointCheck {
  const parsed = parseCompactJws(jws);
  if (parsed === undefined) return { ok: false, reason: 'not a compact JWS' };
  if (parsed.algorithm.name !== 'EdDSA')
    return { ok: false, reason: `algorithm ${parsed.algorithm.name}, not EdDSA` };
  if (parsed.header.typ !== CHECKPOINT_TYP) return { ok: false, reason: `typ is not ${CHECKPOINT_TYP}` };
  const key = keys.get(parsed.kid);
  if (key === undefined) return { ok: false, reason: `no public key with kid ${parsed.kid}` };
  let valid = false;
  try {
    valid = parsed.algorithm.verify(Buffer.from(parsed.signingInput, 'latin1'), key, parsed.signature);
  } catch {
    valid = false;
  }
  if (!valid) return { ok: false, reason: `wrong signature for kid ${parsed.kid}` };
  let payload: unknown;
  try {
    payload = JSON.parse(parsed.payload.toString('utf8'));
  } catch {
    return { ok: false, reason: 'payload is not JSON' };
  }
  const p = payload as Record<string, unknown>;
  if (
    typeof p !== 'object' ||
    p === null ||
    !Number.isSafeInteger(p.seq) ||
    (p.seq as number) < 0 ||
    typeof p.hash !== 'string' ||
    !/^[0-9a-f]{64}$/.test(p.hash) ||
    typeof p.at !== 'string'
  ) {
    return { ok: false, reason: 'payload is not {seq, hash, at}' };
  }
  return { ok: true, checkpoint: { seq: p.seq as number, hash: p.hash, at: p.at, kid: parsed.kid } };
}

/**
 * Ed25519 public keys by kid from a JWK or a JWKS (`{keys:[…]}`): the checkpoint keys
 * (`use` of {@link CHECKPOINT_KEY_USE}, or no `use`), others skipped.
 */
export function checkpointKeys(jwkOrJwks: unknown): Map<string, KeyObject> {
  const list = isObject(jwkOrJwks) && Array.isArray(jwkOrJwks.keys) ? jwkOrJwks.keys : [jwkOrJwks];
  const keys = new Map<string, KeyObject>();
  for (const jwk of list) {
    if (!isObject(jwk) || jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.kid !== 'string') continue;
    if (jwk.use !== undefined && jwk.use !== CHECKPOINT_KEY_USE) continue;
    keys.set(
      jwk.kid,
      createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x as string }, format: 'jwk' }),
    );
  }
  return keys;
}

/**
 * The checkpoints in a file collected from log lines or webhook events: per line a bare
 * compact JWS, or a JSON object holding one under `checkpoint` (a pino log line, a webhook
 * body's `payload`). Lines with neither are skipped; what looks like a checkpoint is returned
 * for {@link verifyCheckpoint} to judge.
 */
export function checkpointsInText(text: string): { readonly line: number; readonly jws: string }[] {
  const found: { line: number; jws: string }[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    if (/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(line)) {
      found.push({ line: i + 1, jws: line });
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return;
    }
    const jws = findCheckpoint(value, 0);
    if (jws !== undefined) found.push({ line: i + 1, jws });
  });
  return found;
}

function findCheckpoint(value: unknown, depth: number): string | undefined {
  if (!isObject(value) || depth > 3) return undefined;
  if (typeof value.checkpoint === 'string') return value.checkpoint;
  for (const inner of Object.values(value)) {
    const found = findCheckpoint(inner, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
