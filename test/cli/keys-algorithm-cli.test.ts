import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliDatabase, cliDatabaseTargets, runJson } from './cli-harness.js';

// Each run opens the database in this process: PGlite takes a second or more on a loaded machine.
const SLOW = 300_000;

interface Keys {
  readonly items: readonly { readonly kid: string; readonly algorithm: string; readonly status: string }[];
}

describe.each(cliDatabaseTargets())(
  'tokenwarden keys rotate and TOKENWARDEN_SIGNING_ALG on $name',
  (target) => {
    let database: CliDatabase;
    beforeAll(async () => {
      database = await target.create();
    }, 300_000);
    afterAll(async () => {
      await database?.drop();
    });

    it(
      'makes a key of the configured algorithm; the key it replaces keeps verifying, whatever its algorithm',
      async () => {
        // The first key, made by the first command to open the database: the default, EdDSA.
        const first = await runJson<Keys>(['keys', 'list'], database.env);
        expect(first.items).toMatchObject([{ algorithm: 'EdDSA', status: 'active' }]);

        const es256 = { ...database.env, TOKENWARDEN_SIGNING_ALG: 'ES256' };
        const rotated = await runJson<{ previousKid: string; newKid: string }>(['keys', 'rotate'], es256);
        expect(rotated.previousKid).toBe(first.items[0]?.kid);
        const after = await runJson<Keys>(['keys', 'list'], es256);
        expect(after.items).toMatchObject([
          { kid: rotated.newKid, algorithm: 'ES256', status: 'active' },
          { kid: rotated.previousKid, algorithm: 'EdDSA', status: 'verifying' },
        ]);
      },
      SLOW,
    );
  },
);
