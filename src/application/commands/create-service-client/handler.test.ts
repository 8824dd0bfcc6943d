import { createHash } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeHandler } from '../../../../test/support/handler-context.js';
import { CreateServiceClient } from './command.js';
import { CreateServiceClientHandler } from './handler.js';

describeHandler('CreateServiceClientHandler', (suite) => {
  const create = (name: string) =>
    new CreateServiceClientHandler(suite.ctx).handle(CreateServiceClient({ name, actor: 'cli:ops' }));

  it('returns a twc_ secret once and stores only its SHA-256, with its audit row and event', async () => {
    const result = await create('  orders-api  ');
    if (!result.ok) throw result.error;
    const { id, secret } = result.value;
    expect(result.value).toEqual({ id, name: 'orders-api', secret, createdAt: suite.clock.now() });
    expect(secret).toMatch(/^twc_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(secret.slice(4), 'base64url')).toHaveLength(32);

    const row = await suite.db
      .selectFrom('service_clients')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({
      id,
      name: 'orders-api',
      secret_hash: createHash('sha256').update(secret).digest('hex'),
      created_at: suite.clock.now(),
      created_by: 'cli:ops',
      revoked_at: null,
      revoked_by: null,
    });
    expect(JSON.stringify(row)).not.toContain(secret.slice(4));

    const audit = (await suite.audit('service_client.created', null)).filter(
      (a) => a.payload.clientId === id,
    );
    expect(audit).toMatchObject([{ actor: 'cli:ops', payload: { clientId: id, name: 'orders-api' } }]);
    const events = (await suite.events('ServiceClientCreated')).filter((e) => e.payload.clientId === id);
    expect(events).toMatchObject([{ payload: { actor: 'cli:ops', clientId: id, name: 'orders-api' } }]);
    expect(JSON.stringify([audit, events])).not.toContain(secret);
  });

  it('gives every client its own id and secret, even under the same name', async () => {
    const first = await create('billing');
    const second = await create('billing');
    if (!first.ok || !second.ok) throw new Error('create failed');
    expect(second.value.id).not.toBe(first.value.id);
    expect(second.value.secret).not.toBe(first.value.secret);
  });

  it.each([
    ['an empty name', '   '],
    ['a name over 100 characters', 'x'.repeat(101)],
    ['a NUL', 'orders\u0000api'],
    ['an ESC', 'orders\u001b[2Japi'],
    ['a right-to-left override', 'orders\u202eipa'],
  ])('refuses %s with validation_failed and writes nothing', async (_what, name) => {
    const before = await suite.writes();
    const result = await create(name);
    expect(result.ok ? 'ok' : result.error.code).toBe('validation_failed');
    expect(await suite.writes()).toEqual(before);
  });

  it('takes a name of exactly 100 characters', async () => {
    const result = await create('é'.repeat(100));
    expect(result.ok ? result.value.name : result.error.message).toBe('é'.repeat(100));
  });
});
