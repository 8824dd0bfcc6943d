import { expect, it } from 'vitest';
import { describeHandler } from '../../../../test/support/handler-context.js';
import { TriggerUserTokenRotation } from '../../commands/trigger-user-token-rotation/command.js';
import { TriggerUserTokenRotationHandler } from '../../commands/trigger-user-token-rotation/handler.js';
import { GetRevocationsQuery } from './query.js';

describeHandler('GetRevocationsQuery', (suite) => {
  const feed = (after: number, limit = 100) => new GetRevocationsQuery(suite.ctx).execute({ after, limit });
  const read = async (after: number, limit = 100) => {
    const page = await feed(after, limit);
    if (!page.ok) throw page.error;
    return page.value;
  };
  const rotate = (userId: string) =>
    new TriggerUserTokenRotationHandler(suite.ctx).handle(
      TriggerUserTokenRotation({ userId, triggeredBy: 'cli:test', reason: 'feed query' }),
    );

  it('returns the current state and the changes after a seq, with where to continue', async () => {
    const start = await read(0);
    const user = await suite.user({ prefix: 'feed-query' });
    await rotate(user.id);
    await rotate(user.id);
    const page = await read(start.lastSeq, 1);
    expect(page.changes).toHaveLength(1);
    expect(page.changes[0]).toMatchObject({
      kind: 'user_version',
      userId: user.id,
      details: { minTokenVersion: 2 },
    });
    expect(page.hasMore).toBe(true);
    const next = await read(page.lastSeq, 1);
    expect(next.changes[0]).toMatchObject({ details: { minTokenVersion: 3 } });
    expect(next.hasMore).toBe(false);
    expect(next.lastSeq).toBe(start.lastSeq + 2);
    expect(next.state.globalMinTokenVersion).toBe(start.state.globalMinTokenVersion);
    expect(next.state.signingKeys.some((k) => k.status === 'active')).toBe(true);
    expect(next.accessTokenTtlSeconds).toBe(suite.ctx.policy.accessTokenTtlSeconds);
  });

  it('leaves out changes older than one access-token TTL and the skew margin', async () => {
    const start = await read(0);
    const user = await suite.user({ prefix: 'feed-query-old' });
    await rotate(user.id);
    suite.clock.advance(suite.ctx.policy.accessTokenTtlSeconds + 59);
    expect((await read(start.lastSeq)).changes).toHaveLength(1);
    suite.clock.advance(2);
    const late = await read(start.lastSeq);
    expect(late.changes).toEqual([]);
    expect(late.lastSeq).toBe(start.lastSeq + 1);
  });
});
