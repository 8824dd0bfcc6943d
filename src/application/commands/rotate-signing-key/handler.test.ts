import { expect, it } from 'vitest';
import { describeHandler } from '../../../../test/support/handler-context.js';
import { RotateSigningKey } from './command.js';
import { RotateSigningKeyHandler } from './handler.js';

/** The `kid` in an access token's protected header. */
const kidOf = (accessToken: string) =>
  (JSON.parse(Buffer.from(accessToken.split('.')[0] ?? '', 'base64url').toString('utf8')) as { kid: string })
    .kid;

describeHandler('RotateSigningKeyHandler', (suite) => {
  const rotate = (reason?: string) =>
    new RotateSigningKeyHandler(suite.ctx).handle(RotateSigningKey({ actor: 'cli:ops', reason }));

  it('makes a new key active and the old one verifying, audited; this instance signs with the new key at once', async () => {
    const previous = await suite.activeKid();
    suite.clock.advance(1);
    const result = await rotate('  scheduled  ');
    if (!result.ok) throw result.error;
    expect(result.value).toMatchObject({ previousKid: previous, rotatedAt: suite.clock.now() });
    expect(result.value.newKid).not.toBe(previous);

    const rows = await suite.db
      .selectFrom('signing_keys')
      .select(['kid', 'status', 'deactivated_at'])
      .where('kid', 'in', [previous, result.value.newKid])
      .execute();
    expect(rows).toEqual(
      expect.arrayContaining([
        { kid: previous, status: 'verifying', deactivated_at: suite.clock.now() },
        { kid: result.value.newKid, status: 'active', deactivated_at: null },
      ]),
    );
    expect(await suite.audit('signing_key.rotated', null)).toMatchObject([
      {
        actor: 'cli:ops',
        reason: 'scheduled',
        payload: { previousKid: previous, newKid: result.value.newKid, previousStatus: 'verifying' },
      },
    ]);
    expect(await suite.events('SigningKeyRotated')).toMatchObject([
      { payload: { newKid: result.value.newKid } },
    ]);

    const user = await suite.user({ prefix: 'rotate-key' });
    expect(kidOf((await suite.login(user)).accessToken)).toBe(result.value.newKid);
  });

  it('audits a blank reason as none', async () => {
    const result = await rotate('   ');
    if (!result.ok) throw result.error;
    const rows = await suite.audit('signing_key.rotated', null);
    expect(rows.find((row) => row.payload.newKid === result.value.newKid)?.reason).toBeNull();
  });

  it('refuses an invalid reason as validation_failed and keeps the active key', async () => {
    const active = await suite.activeKid();
    const before = await suite.writes();
    const result = await rotate('x'.repeat(501));
    expect(result.ok ? 'ok' : result.error.code).toBe('validation_failed');
    expect(await suite.activeKid()).toBe(active);
    expect(await suite.writes()).toEqual(before);
  });

  it('refuses while TOKENWARDEN_SIGNING_KEY pins the key, writing nothing', async () => {
    const active = await suite.activeKid();
    const before = await suite.writes();
    const pinned = { ...suite.ctx, keys: { pinned: true, reload: async () => {} } };
    const result = await new RotateSigningKeyHandler(pinned).handle(RotateSigningKey({ actor: 'cli:ops' }));
    expect(result.ok ? 'ok' : result.error.code).toBe('signing_key_pinned');
    expect(await suite.activeKid()).toBe(active);
    expect(await suite.writes()).toEqual(before);
  });
});
