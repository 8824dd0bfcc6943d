import { expect, it } from 'vitest';
import { describeHandler, failingAt, type HandlerSuite } from '../../test/support/handler-context.js';
import { IntrospectTokenQuery } from './queries/introspect-token/query.js';
import { checkGlobalVersion, checkUserVersion } from './version-regression.js';

const globalVersion = async (suite: HandlerSuite) =>
  (await suite.db.selectFrom('security_config').select('global_min_token_version').executeTakeFirstOrThrow())
    .global_min_token_version;
const userVersion = async (suite: HandlerSuite, id: string) =>
  (
    await suite.db
      .selectFrom('users')
      .select('min_token_version')
      .where('id', '=', id)
      .executeTakeFirstOrThrow()
  ).min_token_version;

describeHandler('versions below the high-water mark', (suite) => {
  it('at or above the mark: current, nothing written', async () => {
    const version = await globalVersion(suite);
    const before = await suite.writes();
    const check = await checkGlobalVersion(suite.ctx, { globalMinTokenVersion: version });
    expect(check).toEqual({ ok: true, value: 'current' });
    expect(suite.ctx.versionMarks.global()).toBeGreaterThanOrEqual(version);
    expect(await suite.writes()).toEqual(before);
  });

  it('below it and the raise cannot commit: service_unavailable, nothing raised or audited', async () => {
    const version = await globalVersion(suite);
    suite.ctx.versionMarks.observeGlobal(version + 3);
    const before = await suite.writes();
    const failing = failingAt(suite.ctx, 'securityConfig', 'rotateGlobal', new Error('read-only standby'));
    const check = await checkGlobalVersion(failing, { globalMinTokenVersion: version });
    expect(check.ok ? 'ok' : check.error.code).toBe('service_unavailable');
    expect(await globalVersion(suite)).toBe(version);
    expect(await suite.audit('token_rotation.global', null)).toEqual([]);
    expect((await suite.writes()).audit).toBe(before.audit);
  });

  it('below it: raised past the mark, once for concurrent checks, audited with the regression', async () => {
    const version = await globalVersion(suite);
    const seen = suite.ctx.versionMarks.global();
    expect(seen).toBeGreaterThan(version);
    const checks = await Promise.all(
      [1, 2, 3, 4].map(() => checkGlobalVersion(suite.ctx, { globalMinTokenVersion: version })),
    );
    for (const check of checks) expect(check).toEqual({ ok: true, value: 'raised' });
    expect(await globalVersion(suite)).toBe(seen + 1);
    expect(await suite.audit('token_rotation.global', null)).toMatchObject([
      {
        actor: 'system:regression',
        reason: `version regression: global version ${seen} was in force, the database had ${version}`,
        payload: {
          previousVersion: version,
          newVersion: seen + 1,
          gracePeriodSeconds: 0,
          regression: { seen, databaseHad: version },
        },
      },
    ]);
    expect(await suite.events('GlobalTokenRotationSucceeded')).toMatchObject([
      { payload: { triggeredBy: 'system:regression', previousVersion: version, newVersion: seen + 1 } },
    ]);
    // A check that read the old value before the raise committed finds it done: no second raise.
    expect(await checkGlobalVersion(suite.ctx, { globalMinTokenVersion: version })).toEqual({
      ok: true,
      value: 'raised',
    });
    expect(await suite.audit('token_rotation.global', null)).toHaveLength(1);
  });

  it('a user version below the one remembered: an audited user rotation past it', async () => {
    const user = await suite.user({ prefix: 'regress' });
    suite.ctx.versionMarks.observeUser(user.id, 4);
    const check = await checkUserVersion(suite.ctx, user.id, 1);
    expect(check).toEqual({ ok: true, value: 'raised' });
    expect(await userVersion(suite, user.id)).toBe(5);
    expect(await suite.audit('token_rotation.user', user.id)).toMatchObject([
      {
        actor: 'system:regression',
        reason: 'version regression: user version 4 was in force, the database had 1',
        payload: { previousVersion: 1, newVersion: 5 },
      },
    ]);
    expect(await checkUserVersion(suite.ctx, user.id, 5)).toEqual({ ok: true, value: 'current' });
  });

  it('introspection never reports a refresh token active on versions below the mark', async () => {
    const user = await suite.user({ prefix: 'introspect' });
    const pair = await suite.login(user);
    const introspect = () => new IntrospectTokenQuery(suite.ctx).execute(pair.refreshToken);
    expect(await introspect()).toMatchObject({ ok: true, value: { kind: 'refresh', sub: user.id } });
    // As if this user's rotation had been seen, then lost with the database's writes.
    suite.ctx.versionMarks.observeUser(user.id, 2);
    expect(await introspect()).toEqual({ ok: true, value: null });
    suite.ctx.versionMarks.observeGlobal((await globalVersion(suite)) + 1);
    const other = await suite.login(await suite.user({ prefix: 'introspect' }));
    expect(await new IntrospectTokenQuery(suite.ctx).execute(other.refreshToken)).toEqual({
      ok: true,
      value: null,
    });
  });
});
