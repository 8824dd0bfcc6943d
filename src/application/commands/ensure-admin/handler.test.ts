import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeHandler } from '../../../../test/support/handler-context.js';
import { DisableUser } from '../disable-user/command.js';
import { DisableUserHandler } from '../disable-user/handler.js';
import { EnsureAdmin } from './command.js';
import { BOOTSTRAP_REASON, EnsureAdminHandler } from './handler.js';

const ADMIN_PASSWORD = 'the configured admin password';

describeHandler('EnsureAdminHandler', (suite) => {
  const ensure = (email: string, password = ADMIN_PASSWORD) =>
    new EnsureAdminHandler(suite.ctx).handle(EnsureAdmin({ email, password, actor: 'system' }));
  const freshEmail = (prefix: string) => `${prefix}-${randomBytes(5).toString('hex')}@example.com`;
  const userByEmail = (email: string) =>
    suite.db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();

  it('creates the admin when no account has the email, and is unchanged on the next start', async () => {
    const email = freshEmail('bootstrap');
    const created = await ensure(email);
    if (!created.ok) throw created.error;
    expect(created.value).toMatchObject({ outcome: 'created', passwordMatches: true });
    const row = await userByEmail(email);
    expect(row).toMatchObject({ id: created.value.userId, role: 'admin', min_token_version: 1 });
    expect(await suite.ctx.hasher.verify(row?.password_hash ?? '', ADMIN_PASSWORD)).toBe(true);
    expect(await suite.audit('user.registered', created.value.userId)).toMatchObject([
      { actor: 'system', payload: { role: 'admin' } },
    ]);

    const again = await ensure(email);
    expect(again).toEqual({
      ok: true,
      value: { outcome: 'unchanged', userId: created.value.userId, passwordMatches: true },
    });
    expect(await suite.audit('user.admin_bootstrap', created.value.userId)).toMatchObject([
      { actor: 'system', reason: BOOTSTRAP_REASON, payload: { outcome: 'unchanged', passwordMatches: true } },
    ]);
  });

  it('never resets the password of an admin whose password changed since: unchanged, passwordMatches false', async () => {
    const admin = await suite.user({ prefix: 'bootstrap-admin', role: 'admin' });
    const before = await userByEmail(admin.email);
    const result = await ensure(admin.email);
    expect(result).toEqual({
      ok: true,
      value: { outcome: 'unchanged', userId: admin.id, passwordMatches: false },
    });
    expect(await userByEmail(admin.email)).toEqual(before);
  });

  it('promotes an existing user whose password verifies, rotating them', async () => {
    const user = await suite.user({ prefix: 'bootstrap-promote' });
    const result = await ensure(user.email, user.password);
    expect(result).toEqual({
      ok: true,
      value: { outcome: 'promoted', userId: user.id, passwordMatches: true },
    });
    expect(await userByEmail(user.email)).toMatchObject({ role: 'admin', min_token_version: 2 });
    expect(await suite.audit('user.promoted', user.id)).toMatchObject([
      { actor: 'system', reason: BOOTSTRAP_REASON, payload: { role: { from: 'user', to: 'admin' } } },
    ]);
    expect(await suite.events('UserPromoted', user.id)).toHaveLength(1);
  });

  it('refuses to hand admin to an account whose password does not verify, and audits the refusal', async () => {
    const user = await suite.user({ prefix: 'bootstrap-squatter' });
    const before = await userByEmail(user.email);
    const result = await ensure(user.email, 'what the operator configured');
    expect(result.ok ? 'ok' : result.error.code).toBe('forbidden');
    expect(await userByEmail(user.email)).toEqual(before);
    expect(await suite.audit('user.promoted', user.id)).toEqual([]);
    expect(await suite.events('UserPromoted', user.id)).toEqual([]);
    expect(await suite.audit('user.admin_bootstrap', user.id)).toMatchObject([
      { actor: 'system', payload: { outcome: 'refused', why: 'password_mismatch' } },
    ]);
  });

  it('refuses a disabled account even when its password verifies', async () => {
    const user = await suite.user({ prefix: 'bootstrap-disabled' });
    const disabled = await new DisableUserHandler(suite.ctx).handle(
      DisableUser({ userId: user.id, actor: 'cli:ops', reason: null }),
    );
    expect(disabled.ok).toBe(true);
    const result = await ensure(user.email, user.password);
    expect(result.ok ? 'ok' : result.error.code).toBe('forbidden');
    expect(await userByEmail(user.email)).toMatchObject({ role: 'user', min_token_version: 1 });
    expect(await suite.audit('user.admin_bootstrap', user.id)).toMatchObject([
      { payload: { outcome: 'refused', why: 'user_disabled' } },
    ]);
  });

  it('refuses an email that is not one, writing nothing', async () => {
    const before = await suite.writes();
    const result = await ensure('admin');
    expect(result.ok ? 'ok' : result.error.code).toBe('validation_failed');
    expect(await suite.writes()).toEqual(before);
  });
});
