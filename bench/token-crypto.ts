import { CreateSession } from '../src/application/commands/create-session/command.js';
import { RegisterUser } from '../src/application/commands/register-user/command.js';
import { createCore } from '../src/composition-root.js';
import { loadConfig } from '../src/config.js';
import { CHEAP_ARGON2_ENV, parseFlags, scratchDir, table } from './support/env.js';
import { TOKEN_CRYPTO_HEADER, tokenCrypto } from './support/token-crypto-measure.js';

if (import.meta.url === `file://${process.argv[1]}`) {
  const flags = parseFlags(process.argv);
  const dir = await scratchDir();
  const config = loadConfig({
    TOKENWARDEN_DATA_DIR: dir.dir,
    LOG_LEVEL: 'silent',
    ...CHEAP_ARGON2_ENV,
  });
  const core = await createCore(config, { defaultMetrics: false });
  try {
    const email = 'crypto@example.com';
    const password = 'benchmark password';
    const registered = await core.services.registerUser.handle(
      RegisterUser({ email, password, role: 'user', actor: 'bench' }),
    );
    if (!registered.ok) throw registered.error;
    const login = await core.services.createSession.handle(
      CreateSession({ email, password, userAgent: null, ip: null }),
    );
    if (!login.ok) throw login.error;
    const verified = await core.context.signer.verify(login.value.accessToken, core.context.clock.now());
    if (!verified.ok) throw new Error('fresh token did not verify');
    const { sub, sid, role, ver, gver } = verified.claims;
    console.log(
      table(TOKEN_CRYPTO_HEADER, await tokenCrypto(core, { sub, sid, role, ver, gver }, flags.quick)),
    );
  } finally {
    await core.close();
    await dir.remove();
  }
}
