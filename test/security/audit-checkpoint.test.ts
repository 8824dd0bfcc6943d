// Beside the domain code it tests, but here: it checks the signatures with jose, which src/domain may not import.
import { generateKeyPairSync } from 'node:crypto';
import { compactVerify, importJWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { type ChainRow, chainHash, GENESIS_HASH, verifyChain } from '../../src/domain/audit-chain.js';
import {
  checkpointKeys,
  checkpointsInText,
  signCheckpoint,
  verifyCheckpoint,
} from '../../src/domain/audit-checkpoint.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'audit-1', use: 'tw-audit' };
const keys = checkpointKeys({ keys: [jwk] });
const hash = 'a'.repeat(64);

describe('audit checkpoints', () => {
  it('signs a checkpoint any JOSE library verifies with the public key alone', async () => {
    const jws = signCheckpoint({ seq: 7, hash, at: '2026-12-06T15:00:00.000Z', kid: 'audit-1' }, privateKey);
    const { payload, protectedHeader } = await compactVerify(jws, await importJWK(jwk, 'EdDSA'));
    expect(protectedHeader).toEqual({ alg: 'EdDSA', kid: 'audit-1', typ: 'tw-audit-checkpoint+jws' });
    expect(JSON.parse(new TextDecoder().decode(payload))).toEqual({
      seq: 7,
      hash,
      at: '2026-12-06T15:00:00.000Z',
    });
    expect(verifyCheckpoint(jws, keys)).toEqual({
      ok: true,
      checkpoint: { seq: 7, hash, at: '2026-12-06T15:00:00.000Z', kid: 'audit-1' },
    });
  });

  it('refuses a checkpoint with a wrong signature, another key, or an altered payload', () => {
    const jws = signCheckpoint({ seq: 7, hash, at: '2026-12-06T15:00:00.000Z', kid: 'audit-1' }, privateKey);
    const other = generateKeyPairSync('ed25519').privateKey;
    const forged = signCheckpoint({ seq: 7, hash, at: '2026-12-06T15:00:00.000Z', kid: 'audit-1' }, other);
    expect(verifyCheckpoint(forged, keys)).toEqual({ ok: false, reason: 'wrong signature for kid audit-1' });
    const [h, , s] = jws.split('.');
    const altered = `${h}.${Buffer.from(JSON.stringify({ seq: 9, hash, at: 'x' })).toString('base64url')}.${s}`;
    expect(verifyCheckpoint(altered, keys)).toMatchObject({
      ok: false,
      reason: 'wrong signature for kid audit-1',
    });
    const unknown = signCheckpoint({ seq: 7, hash, at: 'x', kid: 'audit-2' }, privateKey);
    expect(verifyCheckpoint(unknown, keys)).toMatchObject({
      ok: false,
      reason: 'no public key with kid audit-2',
    });
    expect(verifyCheckpoint('not.a.jws', keys)).toMatchObject({ ok: false });
  });

  it('takes only Ed25519 keys meant for checkpoints from a JWKS', () => {
    const sig = {
      ...generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }),
      kid: 'token-key',
      use: 'sig',
    };
    expect([...checkpointKeys({ keys: [sig, jwk] }).keys()]).toEqual(['audit-1']);
  });

  it('finds checkpoints in log lines, webhook bodies and bare lines', () => {
    const jws = signCheckpoint({ seq: 1, hash, at: 'x', kid: 'audit-1' }, privateKey);
    const text = [
      JSON.stringify({ level: 30, msg: 'audit checkpoint', checkpoint: jws }),
      JSON.stringify({ type: 'AuditCheckpointSigned', payload: { seq: 1, checkpoint: jws } }),
      'unrelated log line',
      jws,
    ].join('\n');
    expect(checkpointsInText(text)).toEqual([
      { line: 1, jws },
      { line: 2, jws },
      { line: 4, jws },
    ]);
  });

  it('lets verification find a truncated tail once a later checkpoint exists', () => {
    const rows: ChainRow[] = [];
    let prev = GENESIS_HASH;
    for (let seq = 1; seq <= 4; seq++) {
      const content = {
        occurredAt: '2026-12-06T15:00:00.000000Z',
        actor: 'system',
        action: 'x',
        userId: null,
        reason: null,
        details: {},
      };
      const h = chainHash(seq, prev, content);
      rows.push({ id: String(seq), seq, prevHash: prev, hash: h, content });
      prev = h;
    }
    const checkpoint = verifyCheckpoint(
      signCheckpoint({ seq: 4, hash: (rows[3] as ChainRow).hash, at: 'x', kid: 'audit-1' }, privateKey),
      keys,
    );
    if (!checkpoint.ok) throw new Error(checkpoint.reason);
    // The head row moved back with the cut: only the external checkpoint shows it.
    const cut = rows.slice(0, 2);
    const head = { seq: 2, hash: (rows[1] as ChainRow).hash };
    expect(verifyChain(cut, { head }).ok).toBe(true);
    expect(verifyChain(cut, { head, checkpoints: [checkpoint.checkpoint] }).break).toMatchObject({
      kind: 'truncated',
      seq: 3,
    });
    expect(verifyChain(rows, { checkpoints: [checkpoint.checkpoint] })).toMatchObject({
      ok: true,
      unprovenAfterSeq: null,
    });
  });
});
