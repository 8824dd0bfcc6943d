import { randomBytes, randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeEachDatabase } from '../../../../test/support/databases.js';
import { InvalidCursorError } from '../../../domain/errors.js';
import { KyselyUnitOfWork } from './kysely-unit-of-work.js';
import { KyselyUserRepository } from './kysely-user-repository.js';

const at = new Date('2030-01-01T00:00:00.000Z');
const later = new Date('2030-01-01T01:00:00.000Z');

function uniqueDomain(): string {
  return `${randomBytes(5).toString('hex')}.example.com`;
}

describeEachDatabase('KyselyUserRepository', (suite) => {
  const users = () => new KyselyUserRepository(suite.db);

  async function addUser(email = `u@${uniqueDomain()}`, createdAt = at): Promise<string> {
    const id = randomUUID();
    expect(await users().insert({ id, email, passwordHash: 'hash', role: 'user', createdAt })).toBe(
      'inserted',
    );
    return id;
  }

  it('stores the email lower-cased and finds the user by id and by any casing of the email', async () => {
    const domain = uniqueDomain();
    const id = await addUser(`Alice@${domain.toUpperCase()}`);
    const expected = {
      id,
      email: `alice@${domain}`,
      passwordHash: 'hash',
      role: 'user',
      minTokenVersion: 1,
      disabledAt: null,
      createdAt: at,
    };
    expect(await users().findById(id)).toEqual(expected);
    expect(await users().findByEmail(`ALICE@${domain}`)).toEqual(expected);
  });

  it('answers email_taken for a duplicate that differs only in case, and keeps the first user', async () => {
    const domain = uniqueDomain();
    const first = await addUser(`bob@${domain}`);
    const outcome = await users().insert({
      id: randomUUID(),
      email: `BOB@${domain}`,
      passwordHash: 'other',
      role: 'admin',
      createdAt: at,
    });
    expect(outcome).toBe('email_taken');
    expect((await users().findByEmail(`bob@${domain}`))?.id).toBe(first);
  });

  it('finds nothing for an unknown or malformed id', async () => {
    expect(await users().findById(randomUUID())).toBeNull();
    expect(await users().findById('not-a-uuid')).toBeNull();
    expect(await users().findByEmail(`nobody@${uniqueDomain()}`)).toBeNull();
    expect(await users().incrementMinTokenVersion('not-a-uuid', at)).toBeNull();
  });

  it('increments the min token version and returns the versions before and after', async () => {
    const id = await addUser();
    expect(await users().incrementMinTokenVersion(id, later)).toEqual({ previousVersion: 1, newVersion: 2 });
    expect(await users().incrementMinTokenVersion(id, later)).toEqual({ previousVersion: 2, newVersion: 3 });
    expect((await users().findById(id))?.minTokenVersion).toBe(3);
    expect(await users().incrementMinTokenVersion(randomUUID(), later)).toBeNull();
  });

  it('loses no increment when 50 transactions rotate the same user at once', async () => {
    const id = await addUser();
    const uow = new KyselyUnitOfWork(suite.db);
    const results = await Promise.all(
      Array.from({ length: 50 }, () => uow.run((repos) => repos.users.incrementMinTokenVersion(id, later))),
    );
    expect((await users().findById(id))?.minTokenVersion).toBe(51);
    const newVersions = results.map((result) => result?.newVersion).sort((a = 0, b = 0) => a - b);
    expect(newVersions).toEqual(Array.from({ length: 50 }, (_, index) => index + 2));
  });

  it('updates the password hash and the role', async () => {
    const id = await addUser();
    await users().updatePasswordHash(id, 'new-hash', later);
    await users().setRole(id, 'admin', later);
    const row = await suite.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ password_hash: 'new-hash', role: 'admin', updated_at: later });
  });

  it('locks the row for update inside a transaction', async () => {
    const id = await addUser();
    const found = await new KyselyUnitOfWork(suite.db).run((repos) => repos.users.findById(id, 'update'));
    expect(found?.id).toBe(id);
  });

  it('lists users oldest first, page by page, filtered by part of the email', async () => {
    const domain = uniqueDomain();
    const ids: string[] = [];
    for (let index = 0; index < 5; index++) {
      // Two share a creation time: the id breaks the tie.
      ids.push(
        await addUser(`user${index}@${domain}`, new Date(at.getTime() + Math.floor(index / 2) * 1000)),
      );
    }
    await addUser(`someone@${uniqueDomain()}`);
    const expected = [...ids].sort((a, b) => {
      const byTime = Math.floor(ids.indexOf(a) / 2) - Math.floor(ids.indexOf(b) / 2);
      return byTime !== 0 ? byTime : a < b ? -1 : 1;
    });

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await users().list({
        email: domain.toUpperCase(),
        limit: 2,
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...page.items.map((user) => user.id));
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor !== undefined);
    expect(seen).toEqual(expected);
    expect(pages).toBe(3);
  });

  it('treats % and _ in the email filter as plain characters', async () => {
    const domain = uniqueDomain();
    await addUser(`under_score@${domain}`);
    await addUser(`underXscore@${domain}`);
    const page = await users().list({ email: `under_score@${domain}`, limit: 10 });
    expect(page.items.map((user) => user.email)).toEqual([`under_score@${domain}`]);
    expect((await users().list({ email: `%@${domain}`, limit: 10 })).items).toEqual([]);
  });

  it('rejects a cursor it did not issue', async () => {
    await expect(users().list({ limit: 10, cursor: 'garbage' })).rejects.toBeInstanceOf(InvalidCursorError);
    await expect(
      users().list({ limit: 10, cursor: Buffer.from('["x","y"]').toString('base64url') }),
    ).rejects.toMatchObject({ code: 'validation_failed', status: 422 });
  });
});
