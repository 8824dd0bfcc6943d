import { expect, it } from 'vitest';
import { describeHandler } from '../../../../test/support/handler-context.js';
import { RegisterUser } from './command.js';
import { RegisterUserHandler } from './handler.js';

describeHandler('RegisterUserHandler', (suite) => {
  const register = (email: string, password = 'a long password', role: 'user' | 'admin' = 'user') =>
    new RegisterUserHandler(suite.ctx).handle(RegisterUser({ email, password, role, actor: 'self' }));

  it('stores the normalised email, a hash of the password, and audits the registration as the user itself', async () => {
    suite.clock.advance(1);
    const result = await register('  New.Person@Example.COM ');
    if (!result.ok) throw result.error;
    expect(result.value).toMatchObject({ email: 'new.person@example.com', role: 'user' });
    expect(result.value.createdAt).toEqual(suite.clock.now());

    const row = await suite.db
      .selectFrom('users')
      .selectAll()
      .where('id', '=', result.value.id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ email: 'new.person@example.com', role: 'user', min_token_version: 1 });
    expect(row.password_hash).not.toContain('a long password');
    expect(await suite.ctx.hasher.verify(row.password_hash, 'a long password')).toBe(true);

    const [audit] = await suite.audit('user.registered', result.value.id);
    expect(audit).toMatchObject({ actor: result.value.id, payload: { role: 'user' } });
    const [event] = await suite.events('UserRegistered', result.value.id);
    expect(event?.payload).toMatchObject({ actor: result.value.id, role: 'user' });
  });

  it('records another actor as given, and the role asked for', async () => {
    const result = await new RegisterUserHandler(suite.ctx).handle(
      RegisterUser({
        email: 'made-by-cli@example.com',
        password: 'a long password',
        role: 'admin',
        actor: 'cli:ops',
      }),
    );
    if (!result.ok) throw result.error;
    expect(result.value.role).toBe('admin');
    expect(await suite.audit('user.registered', result.value.id)).toMatchObject([
      { actor: 'cli:ops', payload: { role: 'admin' } },
    ]);
  });

  it('refuses a taken email (in any case) with email_taken and writes nothing', async () => {
    const first = await register('taken@example.com');
    expect(first.ok).toBe(true);
    const before = await suite.writes();
    const again = await register('TAKEN@example.com', 'another password');
    expect(again.ok).toBe(false);
    if (again.ok) return;
    expect(again.error.code).toBe('email_taken');
    expect(await suite.writes()).toEqual(before);
    const rows = await suite.db
      .selectFrom('users')
      .select('id')
      .where('email', '=', 'taken@example.com')
      .execute();
    expect(rows).toHaveLength(1);
  });

  it.each([
    ['not an email', 'a long password', '/email'],
    ['short@example.com', 'short', '/password'],
    ['bidi\u202e@example.com', 'a long password', '/email'],
  ])('refuses %j / %j as validation_failed at %s, writing nothing', async (email, password, path) => {
    const before = await suite.writes();
    const result = await register(email, password);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('validation_failed');
    expect(result.error.extensions.errors).toEqual([expect.objectContaining({ path })]);
    expect(await suite.writes()).toEqual(before);
    const found = await suite.db
      .selectFrom('users')
      .select('id')
      .where('email', '=', email.trim().toLowerCase())
      .execute();
    expect(found).toEqual([]);
  });
});
