import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { createTokenwarden, type Tokenwarden, type TokenwardenOverrides } from './composition-root.js';
import { type Config, isLoopbackHost } from './config.js';
import { redactUrl } from './domain/redact-url.js';
import type { EnvFileOutcome } from './env-file.js';
import { installDrain } from './http/drain.js';
import { StartupError } from './startup-error.js';

/** After the drain deadline, how long closing the database and the rest may take before the process gives up. */
const CLOSE_GRACE_MS = 10_000;

/**
 * `npm start` and `tokenwarden serve`: build everything over `config`, listen, and stop
 * cleanly on SIGINT or SIGTERM: no new connections, requests in flight finish (for up to
 * `TOKENWARDEN_SHUTDOWN_TIMEOUT_SECONDS`), feed streams end, the rejection roll-up writes
 * its last window, the database closes (PGlite's lock released), then exit 0.
 *
 * @example
 * await serve(loadConfig());
 */
export async function serve(
  config: Config,
  overrides: TokenwardenOverrides = {},
  options: { readonly envFile?: EnvFileOutcome } = {},
): Promise<Tokenwarden> {
  // Before anything is written (the admin bootstrap, migrations): a port in use fails the start at once.
  await assertCanListen(config.host, config.port);
  const tokenwarden = await createTokenwarden(config, overrides);
  const { app } = tokenwarden;
  const drain = installDrain(app);
  let channel: { readonly path: string; close(): Promise<void> } | null = null;
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      app.log.warn({ signal }, 'already shutting down (SIGKILL stops at once, without closing the database)');
      return;
    }
    stopping = true;
    const delayMs = config.shutdownDelaySeconds * 1000;
    // The drain's deadline runs from the end of the announcement, when the listener closes.
    const signalledAt = Date.now();
    const started = signalledAt + delayMs;
    const drainMs = config.shutdownTimeoutSeconds * 1000;
    app.log.info(
      { signal, timeoutSeconds: config.shutdownTimeoutSeconds, delaySeconds: config.shutdownDelaySeconds },
      delayMs > 0
        ? 'shutting down: /ready answers 503 now, new connections refused after the delay, then the requests in flight finish'
        : 'shutting down: refusing new connections, finishing the requests in flight',
    );
    const giveUp = setTimeout(
      () => {
        app.log.error('shutdown did not finish in time: exiting without a clean close');
        process.exit(1);
      },
      delayMs + drainMs + CLOSE_GRACE_MS,
    );
    let forced: NodeJS.Timeout | undefined;
    try {
      await drain(drainMs, delayMs);
      // fastify's close waits for every request in flight: past the deadline, their sockets go.
      forced = setTimeout(
        () => {
          app.log.warn(
            'requests still in flight at TOKENWARDEN_SHUTDOWN_TIMEOUT_SECONDS: closing their connections',
          );
          app.server.closeAllConnections();
        },
        Math.max(0, started + drainMs - Date.now()),
      );
      // CLI commands running for a CLI beside the server finish first; no new one is taken.
      await channel?.close();
      // Ends feed streams and idle connections, then the webhook relay, the roll-up, the database.
      await tokenwarden.close();
    } catch (error) {
      app.log.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
    clearTimeout(forced);
    clearTimeout(giveUp);
    app.log.info({ signal, ms: Date.now() - signalledAt }, 'stopped');
    process.exit(0);
  };
  process.on('SIGINT', (signal) => void stop(signal));
  process.on('SIGTERM', (signal) => void stop(signal));
  // Before listening: by the time the start-up line says ready, the CLI can reach this server too.
  channel =
    config.database.kind === 'pglite' && overrides.database === undefined
      ? await openControlChannel(tokenwarden, config.database.dataDir)
      : null;
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    // Taken between the check and now: the same one line, and nothing left open.
    await channel?.close().catch(() => {});
    await tokenwarden.close().catch(() => {});
    throw listenError(error, config.host, config.port) ?? error;
  }
  logDecisions(tokenwarden, config, options.envFile, channel?.path ?? null);
  return tokenwarden;
}

/** What the environment made of this start, one line each where an operator would look. */
function logDecisions(
  tokenwarden: Tokenwarden,
  config: Config,
  envFile: EnvFileOutcome | undefined,
  controlChannel: string | null,
): void {
  const log = tokenwarden.app.log;
  const invalidation = tokenwarden.invalidation();
  log.info(
    {
      database:
        config.database.kind === 'pglite'
          ? { kind: 'pglite', dataDir: config.database.dataDir }
          : { kind: 'postgres', url: redactUrl(config.database.url), poolSize: config.database.poolSize },
      invalidation: { transport: invalidation.transport, state: invalidation.state },
      redis: config.redisUrl === null ? 'off' : redactUrl(config.redisUrl),
      publicUrl: config.publicUrlConfigured
        ? config.publicUrl
        : `${config.publicUrl} (derived: TOKENWARDEN_PUBLIC_URL unset)`,
      corsOrigins: config.corsOrigins.length === 0 ? 'none' : config.corsOrigins,
      feed: config.feed,
      webhooks:
        config.webhooks.urls.length === 0 ? 'off (events wait in the outbox)' : config.webhooks.urls.length,
      admin: '/admin',
      // The embedded database is this process's alone: the CLI beside it sends its commands here.
      cliChannel: controlChannel ?? 'off',
      envFile:
        envFile === undefined || envFile.path === null
          ? 'none'
          : { path: envFile.path, loaded: envFile.loaded.length, shadowedByEnvironment: envFile.shadowed },
      docs: config.docs ? '/docs' : 'off',
    },
    'tokenwarden is ready',
  );
  if (config.masterKey === null) {
    log.warn(
      'TOKENWARDEN_MASTER_KEY is unset: private signing keys are stored unencrypted in the database (docs/OPERATIONS.md, "Signing keys")',
    );
  }
  if (!config.publicUrlConfigured && config.database.kind === 'postgres') {
    // On PostgreSQL there may be several instances: each would derive its own issuer from its
    // port and refuse the others' tokens (and publish a different OAuth issuer).
    log.warn(
      { issuer: config.issuer },
      'TOKENWARDEN_PUBLIC_URL is unset: the issuer is derived from HOST and PORT; set it (the same on every instance) to the address clients use',
    );
  }
  if (config.metricsEndpoint.offByDefault !== null) log.info(config.metricsEndpoint.offByDefault);
  if (!isLoopbackHost(config.host)) {
    const open = [
      ...(config.metricsEndpoint.enabled && config.metricsEndpoint.token === null ? ['/metrics'] : []),
      ...(config.docs ? ['/docs', '/openapi.json'] : []),
    ];
    if (open.length > 0)
      log.warn(
        { host: config.host, paths: open },
        'public on a non-loopback address: set TOKENWARDEN_METRICS_TOKEN, TOKENWARDEN_METRICS=off or TOKENWARDEN_DOCS=off',
      );
  }
}

/**
 * The Unix socket in the data directory the CLI sends its commands to while this server
 * holds the embedded database (docs/DESIGN.md §9). Off,
 * with a warning, where the socket cannot be made (a path longer than a socket's 107 bytes).
 */
async function openControlChannel(
  tokenwarden: Tokenwarden,
  dataDir: string,
): Promise<{ readonly path: string; close(): Promise<void> } | null> {
  const [{ startControlServer }, { CONTROL_SOCKET_NAME }, { run, SERVING }] = await Promise.all([
    import('./cli/control-channel/control-server.js'),
    import('./cli/control-channel/frames.js'),
    import('./cli/main.js'),
  ]);
  const path = resolve(dataDir, CONTROL_SOCKET_NAME);
  try {
    return await startControlServer(path, async ({ argv, actor, stdin, stdout, stderr }) => {
      const code = await run(argv, {
        stdin,
        stdout,
        stderr,
        env: process.env,
        server: { core: tokenwarden.core, actor },
      });
      return code === SERVING ? 2 : code;
    });
  } catch (error) {
    tokenwarden.app.log.warn(
      { path, err: String(error) },
      'the CLI control channel is off: the CLI cannot run commands while this server runs',
    );
    return null;
  }
}

/**
 * Listens on HOST:PORT for a moment and lets go: a port another process holds (or one this
 * user may not bind) is a {@link StartupError} before the database is touched.
 */
async function assertCanListen(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  try {
    await new Promise<void>((resolveListen, rejectListen) => {
      probe.once('error', rejectListen);
      probe.listen({ host, port, exclusive: true }, resolveListen);
    });
  } catch (error) {
    throw listenError(error, host, port) ?? error;
  } finally {
    await new Promise<void>((resolveClose) => probe.close(() => resolveClose()));
  }
}

function listenError(error: unknown, host: string, port: number): StartupError | null {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === 'EADDRINUSE') {
    return new StartupError(
      'port_in_use',
      `port ${port} on ${host} is in use by another process: stop it, or set PORT (and HOST) to a free one`,
      { cause: error },
    );
  }
  if (code === 'EACCES') {
    return new StartupError(
      'port_not_permitted',
      `this user may not listen on port ${port} on ${host} (ports below 1024 need privileges): set PORT to 1024 or above`,
      { cause: error },
    );
  }
  if (code === 'EADDRNOTAVAIL') {
    return new StartupError(
      'port_not_permitted',
      `HOST ${host} is not an address of this machine: set HOST to one of its addresses (0.0.0.0 for all)`,
      { cause: error },
    );
  }
  return null;
}
