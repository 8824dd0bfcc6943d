import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeHandler, failingAt } from '../../../../test/support/handler-context.js';
import { AdoptSigningAlgorithm } from './command.js';
import { AdoptSigningAlgorithmHandler } from './handler.js';

/** The protected header of an access token. */
const headerOf = (accessToken: string) =>
  JSON.parse(Buffer.from(accessToken.split('.')[0] ?? '', 'base64url').toString('utf8')) as {
    alg: string;
    kid: string;
  };

describeHandler(
  'AdoptSigningAlgorithmHandler (TOKENWARDEN_SIGNING_ALG=ES256)',
  (suite) => {
    const adopt = () =>
      new AdoptSigningAlgorithmHandler(suite.ctx).handle(AdoptSigningAlgorithm({ actor: 'system' }));
    /** What an earlier start with the default setting left: an active EdDSA key (stored as the table has it). */
    const activeEdDsaKey = async () => {
      const { publicKey, privateKey } = generateKeyPairSync('ed25519');
      const kid = `ed-${randomBytes(6).toString('hex')}`;
      await suite.db.transaction().execute(async (trx) => {
        await trx
          .updateTable('signing_keys')
          .set({ status: 'verifying', deactivated_at: suite.clock.now() })
          .where('status', '=', 'active')
          .execute();
        await trx
          .insertInto('signing_keys')
          .values({
            kid,
            algorithm: 'EdDSA',
            public_jwk: JSON.stringify(publicKey.export({ format: 'jwk' })),
            private_jwk: JSON.stringify(privateKey.export({ format: 'jwk' })),
            status: 'active',
            created_at: suite.clock.now(),
            deactivated_at: null,
            retired_at: null,
          })
          .execute();
      });
      return { newKid: kid };
    };

    it('rotates from an EdDSA key to an ES256 one, audited as a rotation; this instance signs ES256 at once', async () => {
      // The core made an ES256 key on its first start; an EdDSA one took over since.
      const { newKid: edKid } = await activeEdDsaKey();
      await suite.core.keyStore.reload();
      suite.clock.advance(1);
      const result = await adopt();
      expect(result).toMatchObject({
        previousKid: edKid,
        previousAlgorithm: 'EdDSA',
        algorithm: 'ES256',
        rotatedAt: suite.clock.now(),
      });
      const rows = await suite.db
        .selectFrom('signing_keys')
        .select(['kid', 'algorithm', 'status'])
        .where('kid', 'in', [edKid, result?.newKid ?? ''])
        .execute();
      expect(rows).toEqual(
        expect.arrayContaining([
          { kid: edKid, algorithm: 'EdDSA', status: 'verifying' },
          { kid: result?.newKid, algorithm: 'ES256', status: 'active' },
        ]),
      );
      expect((await suite.audit('signing_key.rotated', null)).at(-1)).toMatchObject({
        actor: 'system',
        payload: {
          previousKid: edKid,
          newKid: result?.newKid,
          previousAlgorithm: 'EdDSA',
          algorithm: 'ES256',
        },
      });
      expect((await suite.events('SigningKeyRotated')).at(-1)).toMatchObject({
        payload: { newKid: result?.newKid, previousAlgorithm: 'EdDSA' },
      });
      const user = await suite.user({ prefix: 'adopt' });
      expect(headerOf((await suite.login(user)).accessToken)).toMatchObject({
        alg: 'ES256',
        kid: result?.newKid,
      });
    });

    it('does nothing when the active key already is of the configured algorithm', async () => {
      const active = await suite.activeKid();
      const before = await suite.writes();
      expect(await adopt()).toBeNull();
      expect(await suite.activeKid()).toBe(active);
      expect(await suite.writes()).toEqual(before);
    });

    it('changes nothing when the transaction fails', async () => {
      const { newKid: edKid } = await activeEdDsaKey();
      const before = await suite.writes();
      const ctx = failingAt(suite.ctx, 'signingKeys', 'rotateToConfiguredAlgorithm');
      await expect(
        new AdoptSigningAlgorithmHandler(ctx).handle(AdoptSigningAlgorithm({ actor: 'system' })),
      ).rejects.toThrow();
      expect(await suite.activeKid()).toBe(edKid);
      expect(await suite.writes()).toEqual(before);
    });
  },
  { TOKENWARDEN_SIGNING_ALG: 'ES256' },
);
