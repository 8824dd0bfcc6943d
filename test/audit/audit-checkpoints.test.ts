import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactVerify, importJWK, SignJWT } from 'jose';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenwarden, type Tokenwarden } from '../../src/composition-root.js';
import { loadConfig } from '../../src/config.js';
import {
  checkpointKeys,
  checkpointsInText,
  signCheckpoint,
  verifyCheckpoint,
} from '../../src/domain/audit-checkpoint.js';
import { AuditChainer } from '../../src/infrastructure/audit/audit-chainer.js';
import { AuditCheckpointer } from '../../src/infrastructure/audit/audit-checkpointer.js';
import { AuditCheckpointKeyStore } from '../../src/infrastructure/crypto/audit-checkpoint-key-store.js';
import { createPrivateJwkSealer } from '../../src/infrastructure/crypto/private-jwk-sealer.js';
import { KyselyAuditRepository } from '../../src/infrastructure/database/repositories/kysely-audit-repository.js';
import { samePostgresSchema, type TestDatabase, testDatabases } from '../support/databases.js';
import { captureLogs } from '../support/log-capture.js';
import { ManualClock } from '../support/manual-clock.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, TEST_ENV, USER_PASSWORD } from '../support/test-app.js';

const ROWS = 3;
const SECONDS = 600;

describe.each(testDatabases())('audit checkpoints signed by the server on $name', (target) => {
  let database: TestDatabase;
  let tw: Tokenwarden;
  let dir: string;
  let file: string;
  const clock = new ManualClock();
  const logs = captureLogs();

  beforeAll(async () => {
    database = await target.create();
    dir = await mkdtemp(join(tmpdir(), 'tw-checkpoints-'));
    file = join(dir, 'checkpoints.jsonl');
    const config = loadConfig({
      ...TEST_ENV,
      LOG_LEVEL: 'info',
      TOKENWARDEN_AUDIT_CHECKPOINT_ROWS: String(ROWS),
      TOKENWARDEN_AUDIT_CHECKPOINT_SECONDS: String(SECONDS),
      TOKENWARDEN_AUDIT_CHECKPOINT_FILE: file,
    });
    tw = await createTokenwarden(config, {
      clock,
      database,
      logger: false,
      logStream: logs.sink,
      defaultMetrics: false,
    });
    await tw.app.ready();
    // Passes run when the test says (runOnce), never on the server's timer.
    await tw.core.auditCheckpointer.close();
  });
  afterAll(async () => {
    await tw?.close();
    await database?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const register = async () => {
    const email = `u-${randomBytes(4).toString('hex')}@example.com`;
    const res = await tw.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      payload: { email, password: USER_PASSWORD },
    });
    expect(res.statusCode).toBe(201);
  };
  const head = async () => (await tw.services.auditTrail.state()).head;
  const publishedKeys = async () => {
    const res = await tw.app.inject({ method: 'GET', url: '/.well-known/tokenwarden-audit-keys.json' });
    expect(res.statusCode).toBe(200);
    return res.json() as { keys: Record<string, unknown>[] };
  };

  it('signs the head after N rows: stored, logged, in the outbox, appended to the file; verifies with the published key alone', async () => {
    // Whatever start-up wrote, then enough rows for one checkpoint.
    await tw.core.auditCheckpointer.runOnce();
    for (let i = 0; i < ROWS; i++) await register();
    const pass = await tw.core.auditCheckpointer.runOnce();
    expect(pass.leader).toBe(true);
    const signed = pass.signed;
    expect(signed).not.toBeNull();
    if (signed === null) return;
    expect({ seq: signed.seq, hash: signed.hash }).toEqual(await head());

    const jwks = await publishedKeys();
    expect(jwks.keys).toHaveLength(1);
    const [jwk] = jwks.keys;
    expect(jwk).toMatchObject({
      kty: 'OKP',
      crv: 'Ed25519',
      alg: 'EdDSA',
      kid: signed.kid,
      purpose: 'tokenwarden-audit-checkpoint',
    });
    expect(jwk).not.toHaveProperty('use');
    expect(jwk).not.toHaveProperty('d');
    // Any JOSE library, with the published public key only.
    const { payload } = await compactVerify(signed.checkpoint, await importJWK(jwk as never, 'EdDSA'));
    expect(JSON.parse(new TextDecoder().decode(payload))).toEqual({
      seq: signed.seq,
      hash: signed.hash,
      at: signed.at,
    });

    const stored = await database.db
      .selectFrom('audit_checkpoints')
      .selectAll()
      .where('seq', '=', String(signed.seq))
      .executeTakeFirstOrThrow();
    expect(stored.jws).toBe(signed.checkpoint);
    const event = await database.db
      .selectFrom('outbox')
      .select(['event_type', 'payload'])
      .where('event_type', '=', 'AuditCheckpointSigned')
      .where(sql<boolean>`payload->>'seq' = ${String(signed.seq)}`)
      .executeTakeFirstOrThrow();
    expect(event.payload).toMatchObject({ seq: signed.seq, checkpoint: signed.checkpoint });
    const line = logs.lines
      .map((l) => JSON.parse(l))
      .find((l) => l.name === 'audit-checkpoint' && l.seq === signed.seq);
    expect(line).toMatchObject({ level: 30, checkpoint: signed.checkpoint });
    const fileText = await readFile(file, 'utf8');
    expect(fileText.endsWith('\n')).toBe(true);
    expect(JSON.parse(fileText.trim().split('\n').at(-1) ?? '')).toMatchObject({
      seq: signed.seq,
      checkpoint: signed.checkpoint,
    });

    // Each of the three collected copies checks out under the published JWKS, and proves the chain up to it.
    const keys = checkpointKeys(jwks);
    const collected = [
      JSON.stringify(line),
      JSON.stringify({ id: 'e', type: event.event_type, payload: event.payload }),
      fileText,
    ].join('\n');
    const found = checkpointsInText(collected).map(({ jws }) => verifyCheckpoint(jws, keys));
    expect(found.length).toBeGreaterThanOrEqual(3);
    for (const check of found) expect(check.ok).toBe(true);
    const { verdict } = await tw.services.auditTrail.verify([{ seq: signed.seq, hash: signed.hash }]);
    expect(verdict.break).toBeNull();
    expect(verdict.unprovenAfterSeq).toBeNull();
  });

  it('signs nothing while the head has not moved, and after T seconds for fewer than N rows', async () => {
    expect((await tw.core.auditCheckpointer.runOnce()).signed).toBeNull();
    await register();
    expect((await tw.core.auditCheckpointer.runOnce()).signed).toBeNull();
    clock.advance(SECONDS);
    const signed = (await tw.core.auditCheckpointer.runOnce()).signed;
    expect(signed?.seq).toBe((await head()).seq);
    expect((await tw.core.auditCheckpointer.runOnce()).signed).toBeNull();
  });

  it('refuses a checkpoint with a wrong signature, or signed by another key under its kid', async () => {
    const keys = checkpointKeys(await publishedKeys());
    const { kid } = await tw.core.auditKeys.key();
    const { seq, hash } = await head();
    const other = generateKeyPairSync('ed25519').privateKey;
    const forged = signCheckpoint({ seq, hash, at: clock.now().toISOString(), kid }, other);
    expect(verifyCheckpoint(forged, keys)).toEqual({ ok: false, reason: `wrong signature for kid ${kid}` });
    const genuine = (
      await database.db
        .selectFrom('audit_checkpoints')
        .select('jws')
        .orderBy('seq', 'desc')
        .executeTakeFirstOrThrow()
    ).jws;
    const [h, p, s] = genuine.split('.');
    const flipped = `${h}.${p}.${(s ?? '').startsWith('A') ? 'B' : 'A'}${(s ?? '').slice(1)}`;
    expect(verifyCheckpoint(flipped, keys).ok).toBe(false);
    expect(verifyCheckpoint(genuine, keys).ok).toBe(true);
  });

  it('is never a token key: absent from the token JWKS, and a token signed with it is refused', async () => {
    const key = await tw.core.auditKeys.key();
    const tokenJwks = (await tw.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as {
      keys: { kid: string }[];
    };
    expect(tokenJwks.keys.map((k) => k.kid)).not.toContain(key.kid);
    const login = await tw.app.inject({
      method: 'POST',
      url: '/api/v1/sessions',
      payload: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD },
    });
    const genuine = (login.json() as { accessToken: string }).accessToken;
    const claims = JSON.parse(Buffer.from(genuine.split('.')[1] ?? '', 'base64url').toString('utf8'));
    const header = JSON.parse(Buffer.from(genuine.split('.')[0] ?? '', 'base64url').toString('utf8'));
    const forged = await new SignJWT(claims)
      .setProtectedHeader({ ...header, kid: key.kid })
      .sign(key.privateKey);
    const ok = await tw.app.inject({
      method: 'GET',
      url: '/api/v1/users/me',
      headers: { authorization: `Bearer ${genuine}` },
    });
    expect(ok.statusCode).toBe(200);
    const refused = await tw.app.inject({
      method: 'GET',
      url: '/api/v1/users/me',
      headers: { authorization: `Bearer ${forged}` },
    });
    expect(refused.statusCode).toBe(401);
  });

  it('two checkpointers over one database sign each head once, from one leader at a time: no seq signed twice, one event per checkpoint', async () => {
    const options = { rows: 1, seconds: 3600, file: null };
    const deps = { db: database.db, clock, keys: tw.core.auditKeys, chainer: tw.core.auditChainer };
    const a = new AuditCheckpointer(deps, options);
    const b = new AuditCheckpointer(deps, options);
    const storedBefore = (await database.db.selectFrom('audit_checkpoints').select('seq').execute()).length;
    let signedCount = 0;
    for (let round = 0; round < 5; round++) {
      const email = `u-${randomBytes(4).toString('hex')}@example.com`;
      await tw.app.inject({
        method: 'POST',
        url: '/api/v1/users',
        payload: { email, password: USER_PASSWORD },
      });
      const passes = await Promise.all([a.runOnce(), b.runOnce(), a.runOnce(), b.runOnce()]);
      const signed = passes.filter((p) => p.signed !== null);
      expect(signed.length).toBe(1);
      signedCount += signed.length;
    }
    const rows = await database.db.selectFrom('audit_checkpoints').select('seq').execute();
    expect(new Set(rows.map((r) => r.seq)).size).toBe(rows.length);
    expect(rows.length).toBe(storedBefore + signedCount);
    const events = await database.db
      .selectFrom('outbox')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('event_type', '=', 'AuditCheckpointSigned')
      .executeTakeFirstOrThrow();
    expect(Number(events.n)).toBe(rows.length);
    await a.close();
    await b.close();
  });
  it('verifies against the stored checkpoints, checking each signature again: a forged one is refused', async () => {
    const admin = await tw.app.inject({
      method: 'POST',
      url: '/api/v1/sessions',
      payload: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD },
    });
    const token = (admin.json() as { accessToken: string }).accessToken;
    const verification = async () =>
      (
        await tw.app.inject({
          method: 'GET',
          url: '/api/v1/admin/audit/verification',
          headers: { authorization: `Bearer ${token}` },
        })
      ).json() as {
        ok: boolean;
        storedCheckpoints: {
          accepted: number;
          lastSeq: number | null;
          refused: { seq: number; reason: string }[];
        };
      };
    const newest = await database.db
      .selectFrom('audit_checkpoints')
      .selectAll()
      .orderBy('seq', 'desc')
      .executeTakeFirstOrThrow();
    const good = await verification();
    expect(good.ok).toBe(true);
    expect(good.storedCheckpoints.lastSeq).toBe(Number(newest.seq));
    expect(good.storedCheckpoints.refused).toEqual([]);

    // Re-signed by someone without the key: refused by the route and by the query, never believed.
    const forged = signCheckpoint(
      { seq: Number(newest.seq), hash: newest.hash, at: newest.signed_at.toISOString(), kid: newest.kid },
      generateKeyPairSync('ed25519').privateKey,
    );
    await database.db
      .updateTable('audit_checkpoints')
      .set({ jws: forged })
      .where('seq', '=', newest.seq)
      .execute();
    try {
      const bad = await verification();
      expect(bad.ok).toBe(false);
      expect(bad.storedCheckpoints.refused).toEqual([
        { seq: Number(newest.seq), reason: `wrong signature for kid ${newest.kid}` },
      ]);
      const { stored } = await tw.services.auditTrail.verify([], { stored: true });
      expect(stored?.refused.map((r) => r.seq)).toEqual([Number(newest.seq)]);
    } finally {
      await database.db
        .updateTable('audit_checkpoints')
        .set({ jws: newest.jws })
        .where('seq', '=', newest.seq)
        .execute();
    }
    // A stored checkpoint whose row was rewritten: the chain is broken at it.
    const { verdict } = await tw.services.auditTrail.verify([], { stored: true });
    expect(verdict.break).toBeNull();
    await database.db
      .updateTable('audit_checkpoints')
      .set({ seq: String(Number(newest.seq) + 1000) })
      .where('seq', '=', newest.seq)
      .execute();
    try {
      // Its JWS still says its own seq: a row moved under another seq is refused, not matched.
      const { stored } = await tw.services.auditTrail.verify([], { stored: true });
      expect(stored?.refused[0]?.reason).toBe(`it signs seq ${newest.seq}`);
    } finally {
      await database.db
        .updateTable('audit_checkpoints')
        .set({ seq: newest.seq })
        .where('seq', '=', String(Number(newest.seq) + 1000))
        .execute();
    }
  });

  it('finds the tail cut after a stored and external checkpoint, even with the head moved back', async () => {
    for (let i = 0; i < ROWS; i++) await register();
    const signed = (await tw.core.auditCheckpointer.runOnce()).signed;
    expect(signed).not.toBeNull();
    if (signed === null) return;
    const external = checkpointsInText(await readFile(file, 'utf8'));
    const keys = checkpointKeys(await publishedKeys());
    const points = external.flatMap(({ jws }) => {
      const check = verifyCheckpoint(jws, keys);
      return check.ok ? [{ seq: check.checkpoint.seq, hash: check.checkpoint.hash }] : [];
    });
    expect(points.at(-1)).toEqual({ seq: signed.seq, hash: signed.hash });
    // A careful attacker: the last row removed and the head moved back onto its predecessor.
    const before = await database.db
      .selectFrom('audit_log')
      .select(['seq', 'hash', 'prev_hash'])
      .where('seq', '=', String(signed.seq - 1))
      .executeTakeFirstOrThrow();
    await database.db.deleteFrom('audit_log').where('seq', '=', String(signed.seq)).execute();
    await database.db
      .updateTable('audit_chain_head')
      .set({ seq: String(before.seq), hash: String(before.hash), prev_hash: String(before.prev_hash) })
      .where('id', '=', 1)
      .execute();
    const { verdict } = await tw.services.auditTrail.verify(points);
    expect(verdict.break?.kind).toBe('truncated');
    // The stored copy alone finds it too (an attacker careless enough to leave it).
    const stored = await tw.services.auditTrail.verify([], { stored: true });
    expect(stored.verdict.break?.kind).toBe('truncated');
  });
});

describe.each(testDatabases())('the audit checkpoint key on $name', (target) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await target.create();
  });
  afterAll(async () => {
    await database?.close();
  });

  it('is made once however many instances start together, and sealed under the master key', async () => {
    const sealer = createPrivateJwkSealer(randomBytes(32).toString('base64'));
    const clock = new ManualClock();
    const stores = [1, 2, 3, 4].map(() => new AuditCheckpointKeyStore(database.db, clock, { sealer }));
    await Promise.all(stores.map((store) => store.ensureKey()));
    const rows = await database.db.selectFrom('audit_checkpoint_keys').selectAll().execute();
    expect(rows).toHaveLength(1);
    const [row] = rows;
    expect(row?.private_jwk.startsWith('tw-sealed:v1:')).toBe(true);
    expect(row?.private_jwk).not.toContain('"d"');
    const kids = await Promise.all(stores.map(async (store) => (await store.key()).kid));
    expect(new Set(kids)).toEqual(new Set([row?.kid]));
    // Without the master key the sealed key does not open: refused, not silently replaced.
    const bare = new AuditCheckpointKeyStore(database.db, clock);
    await expect(bare.ensureKey()).rejects.toThrow(/TOKENWARDEN_MASTER_KEY/);
    await expect(
      new AuditCheckpointKeyStore(database.db, clock, {
        sealer: createPrivateJwkSealer(randomBytes(32).toString('base64')),
      }).ensureKey(),
    ).rejects.toThrow(/TOKENWARDEN_MASTER_KEY/);
    expect(await database.db.selectFrom('audit_checkpoint_keys').select('kid').execute()).toHaveLength(1);
  });
});

describe.each(testDatabases())('audit retention by checkpointed segments on $name', (target) => {
  let database: TestDatabase;
  let tw: Tokenwarden;
  const clock = new ManualClock();
  beforeAll(async () => {
    database = await target.create();
    tw = await createTokenwarden(
      loadConfig({ ...TEST_ENV, TOKENWARDEN_AUDIT_CHECKPOINT_ROWS: '2', TOKENWARDEN_RETENTION_AUDIT: '1d' }),
      { clock, database, logger: false, defaultMetrics: false },
    );
    await tw.core.auditCheckpointer.close();
    await tw.pruner.close();
  });
  afterAll(async () => {
    await tw?.close();
    await database?.close();
  });

  const register = async () => {
    const email = `u-${randomBytes(4).toString('hex')}@example.com`;
    const res = await tw.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      payload: { email, password: USER_PASSWORD },
    });
    expect(res.statusCode).toBe(201);
  };
  const seqs = async () =>
    (await database.db.selectFrom('audit_log').select('seq').orderBy('seq').execute()).map((r) =>
      Number(r.seq),
    );

  it('removes only whole segments ending at a checkpoint, keeps a signed anchor, and what remains verifies', async () => {
    for (let i = 0; i < 3; i++) await register();
    const first = (await tw.core.auditCheckpointer.runOnce()).signed;
    expect(first).not.toBeNull();
    for (let i = 0; i < 2; i++) await register();
    clock.advance(2 * 86_400);
    // A row newer than the window, and a checkpoint past it: the second segment holds a young row.
    await register();
    const second = (await tw.core.auditCheckpointer.runOnce()).signed;
    expect(second).not.toBeNull();
    await register();
    if (first === null || second === null) return;

    const report = await tw.pruner.runOnce();
    expect(report.counts.audit_log).toBe(first.seq);
    expect((await seqs())[0]).toBe(first.seq + 1);
    const anchor = await database.db.selectFrom('audit_chain_anchor').selectAll().executeTakeFirstOrThrow();
    expect({ seq: Number(anchor.seq), hash: anchor.hash, checkpoint: anchor.checkpoint }).toEqual({
      seq: first.seq,
      hash: first.hash,
      checkpoint: first.checkpoint,
    });
    const after = await tw.services.auditTrail.verify([], { stored: true });
    expect(after.anchor).toEqual({ seq: first.seq, hash: first.hash, refused: null });
    expect(after.verdict).toMatchObject({
      ok: true,
      break: null,
      unanchoredStart: false,
      firstSeq: first.seq + 1,
    });
    // The externally collected checkpoints (the first one's rows are gone) still verify what remains.
    const external = await tw.services.auditTrail.verify([
      { seq: first.seq, hash: first.hash },
      { seq: second.seq, hash: second.hash },
    ]);
    expect(external.verdict.break).toBeNull();
    // Nothing more is due: the next segment holds a row younger than the window.
    expect((await tw.pruner.runOnce()).counts.audit_log).toBe(0);

    // A row deleted after the anchor is still found.
    const victim = first.seq + 1;
    await database.db.deleteFrom('audit_log').where('seq', '=', String(victim)).execute();
    const gap = await tw.services.auditTrail.verify([], { stored: true });
    expect(gap.verdict.break).toMatchObject({ kind: 'missing', seq: victim + 1 });
  });

  it('keeps a checkpoint it could not append to the file: stored and sent, the failure logged', async () => {
    const errors: { details: object; message: string }[] = [];
    const checkpointer = new AuditCheckpointer(
      {
        db: database.db,
        clock,
        keys: tw.core.auditKeys,
        logger: { info: () => {}, error: (details, message) => errors.push({ details, message }) },
      },
      {
        rows: 1,
        seconds: 3600,
        file: join(tmpdir(), `no-such-dir-${randomBytes(4).toString('hex')}`, 'cp.jsonl'),
      },
    );
    await register();
    const signed = (await checkpointer.runOnce()).signed;
    expect(signed).not.toBeNull();
    const stored = await database.db
      .selectFrom('audit_checkpoints')
      .select('jws')
      .where('seq', '=', String(signed?.seq))
      .executeTakeFirst();
    expect(stored?.jws).toBe(signed?.checkpoint);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toMatch(/not appended to TOKENWARDEN_AUDIT_CHECKPOINT_FILE/);
    await checkpointer.close();
  });

  it('refuses a forged anchor', async () => {
    const anchor = await database.db.selectFrom('audit_chain_anchor').selectAll().executeTakeFirstOrThrow();
    const { kid } = await tw.core.auditKeys.key();
    // Moved on to hide more rows, and signed with a key of the attacker's own.
    const forged = signCheckpoint(
      { seq: Number(anchor.seq) + 1, hash: anchor.hash, at: clock.now().toISOString(), kid },
      generateKeyPairSync('ed25519').privateKey,
    );
    await database.db
      .updateTable('audit_chain_anchor')
      .set({ seq: String(Number(anchor.seq) + 1), checkpoint: forged })
      .execute();
    const forgedCheck = await tw.services.auditTrail.verify([], { stored: true });
    expect(forgedCheck.anchor?.refused).toBe(`wrong signature for kid ${kid}`);
    // Its own genuine checkpoint under another seq: refused too.
    await database.db
      .updateTable('audit_chain_anchor')
      .set({ seq: String(Number(anchor.seq) + 1), checkpoint: anchor.checkpoint })
      .execute();
    const moved = await tw.services.auditTrail.verify([], { stored: true });
    expect(moved.anchor?.refused).toMatch(/not the anchor's seq/);
  });
});

describe.runIf(process.env.DATABASE_URL)('two instances on one PostgreSQL database', () => {
  let database: TestDatabase;
  let second: Awaited<ReturnType<typeof samePostgresSchema>>;
  beforeAll(async () => {
    const [postgres] = testDatabases().filter((t) => t.name === 'postgres');
    if (postgres === undefined) throw new Error('DATABASE_URL is set: PostgreSQL is a target');
    database = await postgres.create();
    second = await samePostgresSchema(database.db, 4);
  });
  afterAll(async () => {
    await second?.close();
    await database?.close();
  });

  it('make one checkpoint key and sign each head from one leader only, over pools of their own', async () => {
    const clock = new ManualClock();
    const keysA = new AuditCheckpointKeyStore(database.db, clock);
    const keysB = new AuditCheckpointKeyStore(second.db, clock);
    await Promise.all([keysA.ensureKey(), keysB.ensureKey()]);
    expect((await keysA.key()).kid).toBe((await keysB.key()).kid);
    const options = { rows: 1, seconds: 3600, file: null };
    // Each instance chains what is pending before it looks at the head.
    const a = new AuditCheckpointer(
      { db: database.db, clock, keys: keysA, chainer: new AuditChainer({ db: database.db }) },
      options,
    );
    const b = new AuditCheckpointer(
      { db: second.db, clock, keys: keysB, chainer: new AuditChainer({ db: second.db }) },
      options,
    );
    const audit = new KyselyAuditRepository(database.db);
    for (let round = 0; round < 5; round++) {
      await audit.append({
        occurredAt: clock.now(),
        actor: 'system',
        action: 'user.registered',
        userId: null,
        reason: null,
        details: { round },
      });
      const passes = await Promise.all([a.runOnce(), b.runOnce(), a.runOnce(), b.runOnce()]);
      expect(passes.filter((p) => p.signed !== null)).toHaveLength(1);
    }
    const rows = await database.db.selectFrom('audit_checkpoints').select('seq').orderBy('seq').execute();
    expect(rows.map((r) => Number(r.seq))).toEqual([1, 2, 3, 4, 5]);
    const events = await database.db
      .selectFrom('outbox')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('event_type', '=', 'AuditCheckpointSigned')
      .executeTakeFirstOrThrow();
    expect(Number(events.n)).toBe(5);
    await a.close();
    await b.close();
  });
});
