import { expect, it } from 'vitest';
import { describeHandler, type HandlerSuite } from '../../../../test/support/handler-context.js';
import { RotateSigningKey } from '../rotate-signing-key/command.js';
import { RotateSigningKeyHandler } from '../rotate-signing-key/handler.js';
import { RetireSigningKey } from './command.js';
import { RetireSigningKeyHandler } from './handler.js';

const keyRow = (suite: HandlerSuite, kid: string) =>
  suite.db
    .selectFrom('signing_keys')
    .select(['status', 'retired_at'])
    .where('kid', '=', kid)
    .executeTakeFirstOrThrow();

describeHandler('RetireSigningKeyHandler', (suite) => {
  const retire = (fields: Omit<RetireSigningKey, 'actor'>) =>
    new RetireSigningKeyHandler(suite.ctx).handle(RetireSigningKey({ actor: 'cli:ops', ...fields }));
  /** A key that stopped signing but still verifies: the one a rotation leaves behind. */
  const verifyingKey = async () => {
    const rotated = await new RotateSigningKeyHandler(suite.ctx).handle(
      RotateSigningKey({ actor: 'cli:ops' }),
    );
    if (!rotated.ok || rotated.value.previousKid === null) throw new Error('rotation failed');
    return rotated.value.previousKid;
  };

  it('retires a verifying key at once, audited, and does nothing more the second time', async () => {
    const kid = await verifyingKey();
    suite.clock.advance(1);
    const result = await retire({ kid: ` ${kid} `, reason: 'key leaked' });
    expect(result).toEqual({
      ok: true,
      value: { kid, previousStatus: 'verifying', newKid: null, retiredAt: suite.clock.now() },
    });
    expect(await keyRow(suite, kid)).toEqual({ status: 'retired', retired_at: suite.clock.now() });
    expect(await suite.audit('signing_key.retired', null)).toMatchObject([
      { actor: 'cli:ops', reason: 'key leaked', payload: { kid, previousStatus: 'verifying', newKid: null } },
    ]);
    expect(await suite.events('SigningKeyRetired')).toMatchObject([{ payload: { kid } }]);

    const retiredAt = suite.clock.now();
    suite.clock.advance(60);
    const before = await suite.writes();
    const again = await retire({ kid });
    expect(again).toEqual({ ok: true, value: { kid, previousStatus: 'retired', newKid: null, retiredAt } });
    expect(await suite.writes()).toEqual(before);
  });

  it('refuses the active key without a replacement, changing nothing', async () => {
    const active = await suite.activeKid();
    const before = await suite.writes();
    const result = await retire({ kid: active });
    expect(result.ok ? 'ok' : result.error.code).toBe('signing_key_active');
    expect((await keyRow(suite, active)).status).toBe('active');
    expect(await suite.writes()).toEqual(before);
  });

  it('retires the active key with replace, making its replacement active in the same transaction', async () => {
    const active = await suite.activeKid();
    const result = await retire({ kid: active, replace: true });
    if (!result.ok) throw result.error;
    expect(result.value).toMatchObject({ kid: active, previousStatus: 'active' });
    expect(result.value.newKid).not.toBeNull();
    expect((await keyRow(suite, active)).status).toBe('retired');
    expect(await suite.activeKid()).toBe(result.value.newKid);
    const [row] = (await suite.audit('signing_key.retired', null)).slice(-1);
    expect(row?.payload).toEqual({ kid: active, previousStatus: 'active', newKid: result.value.newKid });
  });

  it.each([
    ['an unknown kid', 'no-such-kid', {}, 'signing_key_not_found'],
    ['an empty kid', '   ', {}, 'signing_key_not_found'],
    ['an overlong kid', 'k'.repeat(257), {}, 'signing_key_not_found'],
    ['an invalid reason', null, { reason: 'tab\there' }, 'validation_failed'],
    ['a replacement while the key is pinned', null, { replace: true }, 'signing_key_pinned'],
  ])('refuses %s as %s, writing nothing', async (_what, kid, fields, code) => {
    const active = await suite.activeKid();
    const ctx =
      code === 'signing_key_pinned'
        ? { ...suite.ctx, keys: { pinned: true, reload: async () => {} } }
        : suite.ctx;
    const before = await suite.writes();
    const result = await new RetireSigningKeyHandler(ctx).handle(
      RetireSigningKey({ actor: 'cli:ops', kid: kid ?? active, ...fields }),
    );
    expect(result.ok ? 'ok' : result.error.code).toBe(code);
    expect(await suite.activeKid()).toBe(active);
    expect(await suite.writes()).toEqual(before);
  });
});
