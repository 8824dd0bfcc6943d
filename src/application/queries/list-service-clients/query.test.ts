import { expect, it } from 'vitest';
import { describeHandler } from '../../../../test/support/handler-context.js';
import { CreateServiceClient } from '../../commands/create-service-client/command.js';
import { CreateServiceClientHandler } from '../../commands/create-service-client/handler.js';
import { ListServiceClientsQuery } from './query.js';

describeHandler('ListServiceClientsQuery', (suite) => {
  const list = (filter: { limit: number; cursor?: string }) =>
    new ListServiceClientsQuery(suite.ctx).execute(filter);

  it('pages oldest first and never shows a secret or its hash', async () => {
    const secrets: string[] = [];
    for (const name of ['list-a', 'list-b', 'list-c']) {
      suite.clock.advance(1);
      const created = await new CreateServiceClientHandler(suite.ctx).handle(
        CreateServiceClient({ name, actor: 'cli:ops' }),
      );
      if (!created.ok) throw created.error;
      secrets.push(created.value.secret);
    }
    const names: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await list({ limit: 2, ...(cursor === undefined ? {} : { cursor }) });
      if (!page.ok) throw page.error;
      expect(page.value.items.length).toBeLessThanOrEqual(2);
      for (const item of page.value.items) {
        expect(Object.keys(item).sort()).toEqual([
          'createdAt',
          'createdBy',
          'id',
          'name',
          'revokedAt',
          'revokedBy',
        ]);
        names.push(item.name);
      }
      const text = JSON.stringify(page.value);
      for (const secret of secrets) expect(text).not.toContain(secret.slice(4));
      cursor = page.value.nextCursor ?? undefined;
    } while (cursor !== undefined);
    expect(names.filter((n) => n.startsWith('list-'))).toEqual(['list-a', 'list-b', 'list-c']);
  });

  it('refuses a cursor it did not issue with validation_failed', async () => {
    const result = await list({ limit: 10, cursor: 'bm90LWEtY3Vyc29y' });
    expect(result.ok ? 'ok' : result.error.code).toBe('validation_failed');
  });
});
