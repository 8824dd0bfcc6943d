import { randomBytes, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { describeEachDatabase } from '../../../test/support/databases.js';
import { checkRefreshToken } from '../../domain/token-validity.js';
import { liveTokens } from './live-token-query.js';

const T0 = Date.UTC(2030, 0, 1);
const at = (seconds: number) => new Date(T0 + seconds * 1000);

// Small offsets around "now" so the boundaries (expiry == now, graceUntil == now) come up
// often, and flags mostly false so many tokens get as far as the version checks.
const offset = fc.integer({ min: -1, max: 2 });
const rarely = fc.constantFrom(false, false, false, true);

const tokenState = fc.record({
  userIndex: fc.nat(2),
  userVersion: fc.integer({ min: 1, max: 3 }),
  globalVersion: fc.integer({ min: 1, max: 4 }),
  used: rarely,
  revoked: rarely,
  expiresIn: offset,
  sessionRevoked: rarely,
  sessionExpiresIn: offset,
});

const worldState = fc.record({
  globalMin: fc.integer({ min: 1, max: 4 }),
  graceUntil: fc.option(offset, { freq: 4 }),
  users: fc.array(fc.record({ minTokenVersion: fc.integer({ min: 1, max: 3 }), disabled: rarely }), {
    minLength: 3,
    maxLength: 3,
  }),
  tokens: fc.array(tokenState, { minLength: 1, maxLength: 10 }),
});

describeEachDatabase('liveTokens (the SQL twin of checkRefreshToken)', (suite) => {
  it('counts exactly the unused tokens the domain rule accepts', async () => {
    await fc.assert(
      fc.asyncProperty(worldState, async (world) => {
        const db = suite.db;
        await db.deleteFrom('refresh_tokens').execute();
        await db.deleteFrom('sessions').execute();
        await db.deleteFrom('users').execute();
        await db
          .updateTable('security_config')
          .set({
            global_min_token_version: world.globalMin,
            grace_until: world.graceUntil === null ? null : at(world.graceUntil),
          })
          .execute();
        const userIds = world.users.map(() => randomUUID());
        for (const [i, user] of world.users.entries()) {
          await db
            .insertInto('users')
            .values({
              id: userIds[i] as string,
              email: `u${i}-${randomBytes(4).toString('hex')}@example.com`,
              password_hash: 'h',
              role: 'user',
              min_token_version: user.minTokenVersion,
              disabled_at: user.disabled ? at(-100) : null,
              created_at: at(-100),
              updated_at: at(-100),
            })
            .execute();
        }
        let expected = 0;
        for (const token of world.tokens) {
          const sessionId = randomUUID();
          const userId = userIds[token.userIndex] as string;
          const user = world.users[token.userIndex] as { minTokenVersion: number; disabled: boolean };
          await db
            .insertInto('sessions')
            .values({
              id: sessionId,
              user_id: userId,
              created_at: at(-100),
              last_used_at: at(-100),
              expires_at: at(token.sessionExpiresIn),
              revoked_at: token.sessionRevoked ? at(-1) : null,
              revoked_reason: null,
              user_agent: null,
              ip: null,
            })
            .execute();
          await db
            .insertInto('refresh_tokens')
            .values({
              id: randomUUID(),
              session_id: sessionId,
              user_id: userId,
              token_hash: randomBytes(32).toString('hex'),
              user_version: token.userVersion,
              global_version: token.globalVersion,
              created_at: at(-100),
              expires_at: at(token.expiresIn),
              used_at: token.used ? at(-1) : null,
              revoked_at: token.revoked ? at(-1) : null,
              parent_id: null,
              successor_id: null,
              successor_sealed: null,
            })
            .execute();
          const validity = checkRefreshToken(
            {
              token: {
                expiresAt: at(token.expiresIn),
                revokedAt: token.revoked ? at(-1) : null,
                stamp: { userVersion: token.userVersion, globalVersion: token.globalVersion },
              },
              session: {
                revokedAt: token.sessionRevoked ? at(-1) : null,
                expiresAt: at(token.sessionExpiresIn),
              },
              user: { minTokenVersion: user.minTokenVersion, disabledAt: user.disabled ? at(-100) : null },
              globalMinTokenVersion: world.globalMin,
              graceUntil: world.graceUntil === null ? null : at(world.graceUntil),
            },
            at(0),
          );
          if (validity.valid && !token.used) expected++;
        }
        const row = await liveTokens(db, at(0))
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .executeTakeFirstOrThrow();
        expect(Number(row.n)).toBe(expected);
      }),
      { numRuns: 60 },
    );
  });
});
