import { createTokenwarden, type Tokenwarden, type TokenwardenOverrides } from './composition-root.js';
import type { Config } from './config.js';

/**
 * `npm start` and `tokenwarden serve`: build everything over `config`, listen, and
 * stop cleanly on SIGINT or SIGTERM.
 *
 * @example
 * await serve(loadConfig());
 */
export async function serve(config: Config, overrides: TokenwardenOverrides = {}): Promise<Tokenwarden> {
  const tokenwarden = await createTokenwarden(config, overrides);
  const { app } = tokenwarden;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down');
    await tokenwarden.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  await app.listen({ port: config.port, host: config.host });
  app.log.info(
    {
      database: config.database.kind,
      ...(config.database.kind === 'pglite' ? { dataDir: config.database.dataDir } : {}),
    },
    'tokenwarden is ready',
  );
  if (!isLoopback(config.host)) {
    const open = [
      ...(config.metricsEndpoint.enabled && config.metricsEndpoint.token === null ? ['/metrics'] : []),
      ...(config.docs ? ['/docs', '/openapi.json'] : []),
    ];
    if (open.length > 0)
      app.log.warn(
        { host: config.host, paths: open },
        'public on a non-loopback address: set TOKENWARDEN_METRICS_TOKEN, TOKENWARDEN_METRICS=off or TOKENWARDEN_DOCS=off',
      );
  }
  return tokenwarden;
}

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || host.startsWith('127.');
