import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { decodeProtectedHeader } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../support/databases.js';
import { ManualClock } from '../support/manual-clock.js';
import { startTestApp, useTestApp } from '../support/test-app.js';

const ACCESS_TTL = 900;
const kidOf = (token: string) => decodeProtectedHeader(token).kid;

describe.each(testDatabases())('signing keys over HTTP on $name', (target) => {
  const t = useTestApp(target);
  let admin: string;
  beforeAll(async () => {
    admin = await t.adminToken();
  });

  const jwksKids = async () =>
    ((await t.request('GET', '/.well-known/jwks.json')).json().keys as Array<{ kid: string }>).map(
      (k) => k.kid,
    );
  const me = (token: string) => t.request('GET', '/api/v1/users/me', { token });
  const keys = async () =>
    (await t.request('GET', '/api/v1/admin/signing-keys', { token: admin })).json().items;
  const rotateKey = (body: object = {}) =>
    t.request('POST', '/api/v1/admin/signing-keys/rotations', { token: admin, body });
  const retireKey = (kid: string, body: object = {}) =>
    t.request('POST', `/api/v1/admin/signing-keys/${encodeURIComponent(kid)}/retirement`, {
      token: admin,
      body,
    });
  const audit = async (action: string) =>
    (await t.request('GET', `/api/v1/admin/audit?action=${action}`, { token: admin })).json().items;

  it('lists the signing keys to admins only, never a private part', async () => {
    const res = await t.request('GET', '/api/v1/admin/signing-keys', { token: admin });
    expect(res.statusCode).toBe(200);
    const [key] = res.json().items;
    expect(res.json().items).toHaveLength(1);
    expect(key).toEqual({
      kid: kidOf(admin),
      algorithm: 'EdDSA',
      status: 'active',
      createdAt: expect.any(String),
      deactivatedAt: null,
      retiredAt: null,
      verifiesUntil: null,
    });
    expect(res.body).not.toMatch(/"d"/);
    await t.register('keys-user@example.com');
    const user = await t.login('keys-user@example.com');
    expect(
      (await t.request('GET', '/api/v1/admin/signing-keys', { token: user.accessToken })).statusCode,
    ).toBe(403);
    expect((await t.request('GET', '/api/v1/admin/signing-keys')).statusCode).toBe(401);
  });

  it('rotate: old access tokens still verify, new ones carry the new kid, the JWKS lists both until the window ends', async () => {
    await t.register('rotate-key@example.com');
    const before = await t.login('rotate-key@example.com');
    const oldKid = kidOf(before.accessToken);

    const res = await rotateKey({ reason: 'scheduled' });
    expect(res.statusCode).toBe(201);
    const { previousKid, newKid } = res.json();
    expect(previousKid).toBe(oldKid);
    expect(newKid).not.toBe(oldKid);

    expect((await me(before.accessToken)).statusCode).toBe(200);
    const after = await t.login('rotate-key@example.com');
    expect(kidOf(after.accessToken)).toBe(newKid);
    expect(await jwksKids()).toEqual([newKid, oldKid]);
    expect(await keys()).toMatchObject([
      { kid: newKid, status: 'active' },
      {
        kid: oldKid,
        status: 'verifying',
        deactivatedAt: expect.any(String),
        verifiesUntil: expect.any(String),
      },
    ]);

    const [entry] = await audit('signing_key.rotated');
    expect(entry).toMatchObject({
      actor: (await me(admin)).json().id,
      reason: 'scheduled',
      details: { previousKid: oldKid, newKid, previousStatus: 'verifying' },
    });

    // Past deactivation + access-token TTL no token of the old key can be alive: it leaves the JWKS.
    t.clock.advance(ACCESS_TTL);
    expect(await jwksKids()).toEqual([newKid]);
    admin = await t.adminToken();
    expect((await keys())[1]).toMatchObject({ kid: oldKid, status: 'retired', verifiesUntil: null });
    // Refresh tokens do not depend on the signing key: the session carries on under the new key.
    const refreshed = await t.refresh(before.refreshToken);
    expect(refreshed.statusCode).toBe(200);
    expect(kidOf(refreshed.json().accessToken)).toBe(newKid);
  });

  it('retire: a token signed by the key is refused at once', async () => {
    await t.register('retire-key@example.com');
    const pair = await t.login('retire-key@example.com');
    const oldKid = kidOf(pair.accessToken)!;
    const { newKid } = (await rotateKey()).json();
    admin = await t.adminToken();
    expect((await me(pair.accessToken)).statusCode).toBe(200);

    const res = await retireKey(oldKid, { reason: 'key leaked' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ kid: oldKid, previousStatus: 'verifying', newKid: null });
    const refused = await me(pair.accessToken);
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(await jwksKids()).toEqual([newKid]);
    expect((await keys()).find((k: { kid: string }) => k.kid === oldKid)).toMatchObject({
      status: 'retired',
      retiredAt: expect.any(String),
    });
    expect((await audit('signing_key.retired'))[0]).toMatchObject({
      reason: 'key leaked',
      details: { kid: oldKid, previousStatus: 'verifying', newKid: null },
    });

    // Retiring it again changes nothing.
    const again = await retireKey(oldKid);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ previousStatus: 'retired' });
    expect(await audit('signing_key.retired')).toHaveLength(1);
  });

  it('retire: an unknown kid is 404, the active key is refused unless replaced', async () => {
    const unknown = await retireKey('no-such-kid');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'signing_key_not_found' });

    const activeKid = kidOf(admin)!;
    const refused = await retireKey(activeKid);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().code).toBe('signing_key_active');
    expect(refused.json().detail).toMatch(/active signing key.*rotate first.*replace/);

    const replaced = await retireKey(activeKid, { replace: true, reason: 'suspected leak' });
    expect(replaced.statusCode).toBe(200);
    const { newKid } = replaced.json();
    expect(newKid).toEqual(expect.any(String));
    // The admin's own token was signed by the retired key.
    expect((await me(admin)).statusCode).toBe(401);
    admin = await t.adminToken();
    expect(kidOf(admin)).toBe(newKid);
    expect(await jwksKids()).toEqual([newKid]);
  });

  it('global rotation with rotateSigningKey: every earlier access token dies at once, one-behind refresh tokens refresh in grace', async () => {
    await t.register('breach@example.com');
    const pair = await t.login('breach@example.com');
    const oldKid = kidOf(pair.accessToken);
    // Make a verifying key too: its tokens must die as well.
    await rotateKey();
    admin = await t.adminToken();
    const verifyingKid = oldKid;
    const activeKid = kidOf(admin);

    const dry = await t.request('POST', '/api/v1/admin/security/rotations', {
      token: admin,
      body: { reason: 'signing flaw', rotateSigningKey: true, dryRun: true },
    });
    expect(dry.statusCode).toBe(200);
    expect(dry.json()).toMatchObject({ dryRun: true, retiredSigningKeyId: activeKid });
    expect((await me(admin)).statusCode).toBe(200);

    const res = await t.request('POST', '/api/v1/admin/security/rotations', {
      token: admin,
      body: { reason: 'signing flaw', gracePeriodSeconds: 300, rotateSigningKey: true },
    });
    expect(res.statusCode).toBe(201);
    const result = res.json();
    expect(result).toMatchObject({
      gracePeriodSeconds: 300,
      retiredSigningKeyId: activeKid,
      newSigningKeyId: expect.any(String),
    });

    // Inside the grace window, one-behind access tokens would pass the version check: the key is what kills them.
    expect((await me(pair.accessToken)).statusCode).toBe(401);
    expect((await me(admin)).statusCode).toBe(401);
    expect(await jwksKids()).toEqual([result.newSigningKeyId]);

    const refreshed = await t.refresh(pair.refreshToken);
    expect(refreshed.statusCode).toBe(200);
    const fresh = refreshed.json().accessToken;
    expect(kidOf(fresh)).toBe(result.newSigningKeyId);
    expect((await me(fresh)).statusCode).toBe(200);

    admin = await t.adminToken();
    const [global] = await audit('token_rotation.global');
    expect(global.details).toMatchObject({
      retiredSigningKeyId: activeKid,
      newSigningKeyId: result.newSigningKeyId,
    });
    const [keyAudit] = await audit('signing_key.rotated');
    expect(keyAudit).toMatchObject({
      reason: 'signing flaw',
      details: {
        previousKid: activeKid,
        newKid: result.newSigningKeyId,
        previousStatus: 'retired',
        retiredKids: expect.arrayContaining([activeKid, verifyingKid]),
      },
    });
    const listed = await keys();
    expect(listed.filter((k: { status: string }) => k.status !== 'retired')).toEqual([
      expect.objectContaining({ kid: result.newSigningKeyId, status: 'active' }),
    ]);
  });

  it('writes SigningKeyRotated and SigningKeyRetired to the outbox', async () => {
    const events = await t.tw.db
      .selectFrom('outbox')
      .select('event_type')
      .where('event_type', 'in', ['SigningKeyRotated', 'SigningKeyRetired'])
      .execute();
    const types = events.map((e) => e.event_type);
    expect(types).toContain('SigningKeyRotated');
    expect(types).toContain('SigningKeyRetired');
  });
});

describe.each(testDatabases())('TOKENWARDEN_MASTER_KEY on $name', (target) => {
  const MASTER_KEY = randomBytes(32).toString('base64url');

  it('stores private keys encrypted, restarts with the same key, refuses a different one', async () => {
    const database = await target.create();
    try {
      const clock = new ManualClock();
      const first = await startTestApp(database, { TOKENWARDEN_MASTER_KEY: MASTER_KEY }, clock);
      let token: string;
      try {
        await first.register('sealed@example.com');
        token = (await first.login('sealed@example.com')).accessToken;
        const rows = await first.tw.db.selectFrom('signing_keys').select(['kid', 'private_jwk']).execute();
        expect(rows.length).toBeGreaterThan(0);
        for (const row of rows) {
          expect(row.private_jwk).toMatch(/^tw-sealed:v1:/);
          expect(() => JSON.parse(row.private_jwk)).toThrow();
        }
      } finally {
        await first.close();
      }

      const again = await startTestApp(database, { TOKENWARDEN_MASTER_KEY: MASTER_KEY }, clock);
      try {
        expect((await again.request('GET', '/api/v1/users/me', { token })).statusCode).toBe(200);
        expect(kidOf((await again.login('sealed@example.com')).accessToken)).toBe(kidOf(token));
      } finally {
        await again.close();
      }

      await expect(
        startTestApp(database, { TOKENWARDEN_MASTER_KEY: randomBytes(32).toString('base64url') }, clock),
      ).rejects.toThrow(/TOKENWARDEN_MASTER_KEY cannot decrypt signing key/);
      await expect(startTestApp(database, {}, clock)).rejects.toThrow(/TOKENWARDEN_MASTER_KEY is not set/);
    } finally {
      await database.close();
    }
  });

  it('refuses a master key that is too short, naming the variable', async () => {
    const database = await target.create();
    try {
      await expect(startTestApp(database, { TOKENWARDEN_MASTER_KEY: 'short' })).rejects.toThrow(
        /TOKENWARDEN_MASTER_KEY/,
      );
    } finally {
      await database.close();
    }
  });

  it('refuses a low-entropy master key or a passphrase, saying why and what to do', async () => {
    const database = await target.create();
    try {
      for (const weak of ['a'.repeat(40), 'correct horse battery staple, but longer']) {
        await expect(startTestApp(database, { TOKENWARDEN_MASTER_KEY: weak })).rejects.toThrow(
          /TOKENWARDEN_MASTER_KEY must be at least 32 random bytes.*passphrases are not accepted.*TOKENWARDEN_MASTER_KEY_PREVIOUS/,
        );
      }
      await expect(startTestApp(database, { TOKENWARDEN_MASTER_KEY: 'a'.repeat(64) })).rejects.toThrow(
        /TOKENWARDEN_MASTER_KEY .*not random/,
      );
    } finally {
      await database.close();
    }
  });
});

describe.each(testDatabases())('signing keys across two instances on $name', (target) => {
  it('a token signed with a key rotated in on one instance verifies on the other at once', async () => {
    const database = await target.create();
    try {
      const clock = new ManualClock();
      const a = await startTestApp(database, {}, clock);
      const b = await startTestApp(database, {}, clock);
      try {
        await a.register('two@example.com');
        const adminA = await a.adminToken();
        const rotated = await a.request('POST', '/api/v1/admin/signing-keys/rotations', {
          token: adminA,
          body: {},
        });
        expect(rotated.statusCode).toBe(201);
        const pair = await a.login('two@example.com');
        expect(kidOf(pair.accessToken)).toBe(rotated.json().newKid);
        // b never reloaded: the unknown kid makes it look at the table once.
        expect((await b.request('GET', '/api/v1/users/me', { token: pair.accessToken })).statusCode).toBe(
          200,
        );
        expect(kidOf((await b.login('two@example.com')).accessToken)).toBe(rotated.json().newKid);
      } finally {
        await a.close();
        await b.close();
      }
    } finally {
      await database.close();
    }
  });
});

describe.each(testDatabases())('a signing key pinned by TOKENWARDEN_SIGNING_KEY on $name', (target) => {
  const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const t = useTestApp(target, { TOKENWARDEN_SIGNING_KEY: pem });

  it('refuses to rotate stored keys, saying why, with or without a global rotation', async () => {
    const admin = await t.adminToken();
    // No body at all: every field of this route is optional.
    const res = await t.request('POST', '/api/v1/admin/signing-keys/rotations', { token: admin });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({
      code: 'signing_key_pinned',
      detail: expect.stringMatching(/TOKENWARDEN_SIGNING_KEY/),
    });
    const global = await t.request('POST', '/api/v1/admin/security/rotations', {
      token: admin,
      body: { reason: 'flaw', rotateSigningKey: true },
    });
    expect(global.statusCode).toBe(409);
    const config = (await t.request('GET', '/api/v1/admin/security/config', { token: admin })).json();
    expect(config.globalMinTokenVersion).toBe(1);
  });
});
