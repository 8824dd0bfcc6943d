import { expect, it } from 'vitest';
import { describeEachDatabase } from '../../../../test/support/databases.js';
import { KyselySecurityConfigRepository } from './kysely-security-config-repository.js';
import { KyselyUnitOfWork } from './kysely-unit-of-work.js';

const at = new Date('2030-01-01T00:00:00.000Z');
const graceUntil = new Date('2030-01-01T00:05:00.000Z');

describeEachDatabase('KyselySecurityConfigRepository', (suite) => {
  const config = () => new KyselySecurityConfigRepository(suite.db);

  it('reads the seeded singleton', async () => {
    const current = await config().get();
    expect(current).toMatchObject({ gracePeriodSeconds: 300, lastRotationAt: null, graceUntil: null });
    expect(current.globalMinTokenVersion).toBeGreaterThanOrEqual(1);
    expect(current.updatedAt).toBeInstanceOf(Date);
    expect(Object.keys(current).sort()).toEqual([
      'globalMinTokenVersion',
      'gracePeriodSeconds',
      'graceUntil',
      'lastRotationAt',
      'lastRotationReason',
      'updatedAt',
    ]);
  });

  it('rotates the global version by one and returns the version before', async () => {
    const before = await config().get();
    const { previousVersion, config: after } = await config().rotateGlobal({
      rotatedAt: at,
      reason: 'key leaked',
      graceUntil,
    });
    expect(previousVersion).toBe(before.globalMinTokenVersion);
    expect(after).toEqual({
      globalMinTokenVersion: before.globalMinTokenVersion + 1,
      gracePeriodSeconds: before.gracePeriodSeconds,
      lastRotationAt: at,
      lastRotationReason: 'key leaked',
      graceUntil,
      updatedAt: at,
    });
    expect(await config().get()).toEqual(after);
  });

  it('loses no rotation when 20 transactions rotate at once', async () => {
    const before = (await config().get()).globalMinTokenVersion;
    const uow = new KyselyUnitOfWork(suite.db);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        uow.run((repos) =>
          repos.securityConfig.rotateGlobal({ rotatedAt: at, reason: `r${index}`, graceUntil }),
        ),
      ),
    );
    expect((await config().get()).globalMinTokenVersion).toBe(before + 20);
    expect(results.map((result) => result.previousVersion).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, index) => before + index),
    );
  });

  it('sets the grace period and refuses one outside 0..86400 s', async () => {
    const updated = await config().setGracePeriod(0, at);
    expect(updated).toMatchObject({ gracePeriodSeconds: 0, updatedAt: at });
    expect((await config().setGracePeriod(86_400, at)).gracePeriodSeconds).toBe(86_400);
    await expect(config().setGracePeriod(86_401, at)).rejects.toBeInstanceOf(RangeError);
    await expect(config().setGracePeriod(1.5, at)).rejects.toBeInstanceOf(RangeError);
    await config().setGracePeriod(300, at);
  });

  it('reads the config under a share or update lock inside a transaction', async () => {
    const uow = new KyselyUnitOfWork(suite.db);
    const [shared, updating] = await uow.run(async (repos) => [
      await repos.securityConfig.get('share'),
      await repos.securityConfig.get('update'),
    ]);
    expect(shared).toEqual(updating);
  });
});
