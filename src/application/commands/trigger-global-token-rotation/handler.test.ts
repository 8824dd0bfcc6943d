import { expect, it } from 'vitest';
import { describeHandler, failingAt, type HandlerSuite } from '../../../../test/support/handler-context.js';
import { TriggerGlobalTokenRotation } from './command.js';
import { TriggerGlobalTokenRotationHandler } from './handler.js';

const configRow = (suite: HandlerSuite) =>
  suite.db.selectFrom('security_config').selectAll().executeTakeFirstOrThrow();

const tokenRows = (suite: HandlerSuite) =>
  suite.db.selectFrom('refresh_tokens').selectAll().orderBy('id').execute();

const keyStatuses = async (suite: HandlerSuite) =>
  new Map(
    (await suite.db.selectFrom('signing_keys').select(['kid', 'status']).execute()).map((row) => [
      row.kid,
      row.status,
    ]),
  );

describeHandler('TriggerGlobalTokenRotationHandler', (suite) => {
  const trigger = (fields: Partial<TriggerGlobalTokenRotation> = {}, ctx = suite.ctx) =>
    new TriggerGlobalTokenRotationHandler(ctx).handle(
      TriggerGlobalTokenRotation({
        triggeredBy: 'cli:ops',
        reason: '  Database breach detected  ',
        ...fields,
      }),
    );
  /** The non-dry-run result, or the test fails. */
  const rotated = async (fields: Partial<TriggerGlobalTokenRotation> = {}) => {
    const result = await trigger(fields);
    if (!result.ok) throw result.error;
    return result.value;
  };

  it('increments the global version with when, why and the grace window, audited, touching no token row', async () => {
    const user = await suite.user({ prefix: 'global' });
    await suite.login(user);
    const before = { config: await configRow(suite), tokens: await tokenRows(suite) };
    suite.clock.advance(1);
    const now = suite.clock.now();

    const result = await rotated();
    const grace = before.config.grace_period_seconds;
    const until = new Date(now.getTime() + grace * 1000);
    expect(result).toEqual({
      previousVersion: before.config.global_min_token_version,
      newVersion: before.config.global_min_token_version + 1,
      gracePeriodSeconds: grace,
      graceUntil: until,
      rotatedAt: now,
    });
    expect(await configRow(suite)).toMatchObject({
      global_min_token_version: result.newVersion,
      last_rotation_at: now,
      last_rotation_reason: 'Database breach detected',
      grace_until: until,
      grace_period_seconds: grace,
    });
    expect(await tokenRows(suite)).toEqual(before.tokens);

    const details = {
      previousVersion: result.previousVersion,
      newVersion: result.newVersion,
      gracePeriodSeconds: grace,
      graceUntil: until.toISOString(),
    };
    expect(await suite.audit('token_rotation.global', null)).toMatchObject([
      { actor: 'cli:ops', reason: 'Database breach detected', payload: details, occurredAt: now },
    ]);
    expect(await suite.events('GlobalTokenRotationAttempted')).toMatchObject([
      { payload: { triggeredBy: 'cli:ops', reason: 'Database breach detected' } },
    ]);
    expect(await suite.events('GlobalTokenRotationSucceeded')).toMatchObject([
      { payload: { ...details, triggeredBy: 'cli:ops', rotatedAt: now.toISOString() } },
    ]);
  });

  it('takes the grace period of the request over the configured one, zero included', async () => {
    const configured = (await configRow(suite)).grace_period_seconds;
    const result = await rotated({ gracePeriodSeconds: 0 });
    expect(result.gracePeriodSeconds).toBe(0);
    expect(result.graceUntil).toEqual(suite.clock.now());
    expect(await configRow(suite)).toMatchObject({
      grace_until: suite.clock.now(),
      grace_period_seconds: configured,
    });
  });

  it.each([
    ['an empty reason', { reason: '  ' }, '/reason'],
    ['a reason over 500 characters', { reason: 'r'.repeat(501) }, '/reason'],
    ['a reason with a bidi control', { reason: 'breach\u202e' }, '/reason'],
    ['a negative grace period', { gracePeriodSeconds: -1 }, '/gracePeriodSeconds'],
    ['a grace period over a day', { gracePeriodSeconds: 86_401 }, '/gracePeriodSeconds'],
    ['a fractional grace period', { gracePeriodSeconds: 2.5 }, '/gracePeriodSeconds'],
  ])('refuses %s as validation_failed, rotating nothing', async (_what, fields, path) => {
    const config = await configRow(suite);
    const before = await suite.writes();
    const result = await trigger(fields);
    expect(result.ok ? 'ok' : result.error.code).toBe('validation_failed');
    if (!result.ok) expect(result.error.extensions.errors).toEqual([expect.objectContaining({ path })]);
    expect(await configRow(suite)).toEqual(config);
    expect(await suite.writes()).toEqual(before);
  });

  it('with rotateSigningKey retires every signing key and makes a new one in the same transaction', async () => {
    const keysBefore = await keyStatuses(suite);
    const active = [...keysBefore].find(([, status]) => status === 'active')?.[0];
    const result = await rotated({ rotateSigningKey: true, reason: 'signing key leaked' });
    expect(result.retiredSigningKeyId).toBe(active);
    expect(result.newSigningKeyId).toBeDefined();

    const keysAfter = await keyStatuses(suite);
    expect(keysAfter.get(result.newSigningKeyId as string)).toBe('active');
    for (const kid of keysBefore.keys()) expect(keysAfter.get(kid)).toBe('retired');
    expect(await suite.audit('signing_key.rotated', null)).toMatchObject([
      {
        reason: 'signing key leaked',
        payload: {
          previousKid: active,
          newKid: result.newSigningKeyId,
          previousStatus: 'retired',
          globalRotation: result.newVersion,
        },
      },
    ]);
    const [audit] = (await suite.audit('token_rotation.global', null)).slice(-1);
    expect(audit?.payload).toMatchObject({
      newVersion: result.newVersion,
      retiredSigningKeyId: active,
      newSigningKeyId: result.newSigningKeyId,
    });
  });

  it('refuses rotateSigningKey while the signing key is pinned, rotating nothing', async () => {
    const config = await configRow(suite);
    const before = await suite.writes();
    const pinned = { ...suite.ctx, keys: { pinned: true, reload: async () => {} } };
    const result = await trigger({ rotateSigningKey: true }, pinned);
    expect(result.ok ? 'ok' : result.error.code).toBe('signing_key_pinned');
    expect(await configRow(suite)).toEqual(config);
    expect(await suite.writes()).toEqual(before);
  });

  it('when the transaction fails, rolls back the attempt, records the failure on its own and rethrows', async () => {
    const config = await configRow(suite);
    const attempts = (await suite.events('GlobalTokenRotationAttempted')).length;
    const failure = new Error('connection lost mid-rotation');

    await expect(
      trigger({ reason: 'doomed rotation' }, failingAt(suite.ctx, 'securityConfig', 'rotateGlobal', failure)),
    ).rejects.toBe(failure);

    expect(await configRow(suite)).toEqual(config);
    expect(await suite.events('GlobalTokenRotationAttempted')).toHaveLength(attempts);
    expect(await suite.audit('token_rotation.global_failed', null)).toMatchObject([
      { actor: 'cli:ops', reason: 'doomed rotation', payload: { error: 'connection lost mid-rotation' } },
    ]);
    expect(await suite.events('GlobalTokenRotationFailed')).toMatchObject([
      {
        payload: { triggeredBy: 'cli:ops', reason: 'doomed rotation', error: 'connection lost mid-rotation' },
      },
    ]);
  });
});
