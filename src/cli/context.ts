import { userInfo } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import type { UserView } from '../application/queries/list-users/query.js';
import type { Core } from '../composition-root.js';
import { type Config, ConfigError, loadConfig } from '../config.js';
import { fromTokenwardenError, usageError } from './errors.js';
import { holdStopSignals } from './stop-signals.js';

/** The process's streams and environment, passed in so the CLI can run in-process too. */
export interface CliIo {
  readonly stdin: (Readable | NodeJS.ReadableStream) & { readonly isTTY?: boolean };
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * Set when a running server runs the command for a CLI beside it (its control channel):
   * its core instead of opening the database, and the actor the CLI process named.
   */
  readonly server?: {
    readonly core: Core;
    readonly actor: string;
  };
}

/** Who the audit log names for a CLI action: `cli:<os user>` (docs/DESIGN.md §2), of the CLI's process. */
export function cliActor(io: Pick<CliIo, 'env' | 'server'>): string {
  if (io.server !== undefined) return io.server.actor;
  const env = io.env;
  let name: string | undefined;
  try {
    name = userInfo().username;
  } catch {
    // No passwd entry for this uid (some containers): fall back to the environment.
  }
  return `cli:${name || env.USER || env.LOGNAME || `uid-${process.getuid?.() ?? 'unknown'}`}`;
}

/**
 * The same configuration the server reads; a bad variable is a usage error on one line.
 * Logs default to warnings only for the short-lived commands (`LOG_LEVEL` still wins).
 */
export function cliConfig(env: CliIo['env'], defaultLogLevel = 'warn'): Config {
  try {
    return loadConfig(env.LOG_LEVEL ? env : { ...env, LOG_LEVEL: defaultLogLevel });
  } catch (error) {
    if (error instanceof ConfigError) throw usageError(error.message.replace(/:?\n\s*/g, ': ').trim());
    throw error;
  }
}

/**
 * Opens the configured database, runs `work` over the same handlers the server uses,
 * and closes it whatever happens (a stop signal included: holdStopSignals). Unlike the server it creates and migrates nothing:
 * a data directory or schema never set up (a typo in TOKENWARDEN_DATA_DIR, another
 * working directory) or one behind this version's migrations is refused with what to
 * run (`tokenwarden migrate`), so every command, including ones added later, gets that.
 */
export async function withCore<T>(io: CliIo, work: (core: Core) => Promise<T>): Promise<T> {
  // Run by the server for a CLI beside it: its database, its caches (they change at once).
  if (io.server !== undefined) {
    io.stderr.write(
      `tokenwarden: through the running server (pid ${process.pid}), on ${io.server.core.where}\n`,
    );
    return work(io.server.core);
  }
  const config = cliConfig(io.env);
  // Loaded on demand: --help and bad command lines answer without loading the database stack.
  const { createCore } = await import('../composition-root.js');

  const release = holdStopSignals(io, config.shutdownTimeoutSeconds);
  try {
    // Logs go to stderr: stdout carries the result, which --json callers parse.
    const core = await createCore(config, {
      logStream: { write: (line) => io.stderr.write(line) },
      migrations: 'require-current',
      // Nothing serves /metrics here, and the default collectors (an event-loop-delay monitor,
      // a GC observer) are never stopped: run() in-process would leave one set per command.
      defaultMetrics: false,
    });
    // Which database a command acts on is never a guess (a relative TOKENWARDEN_DATA_DIR, another
    // working directory, an empty DATABASE_URL): said once it is open (a failure to open names
    // it already), on stderr, so stdout stays the result.
    io.stderr.write(`tokenwarden: on ${core.where}${emptyDatabaseUrlNote(io.env)}\n`);
    try {
      return await work(core);
    } finally {
      await core.close();
    }
  } finally {
    release();
  }
}

/** A user named by id or email, or a failure naming what was asked for. */
export async function resolveUser(core: Core, idOrEmail: string): Promise<UserView> {
  if (idOrEmail.trim() === '') throw usageError('a user id or email is required');
  const user = await core.services.findUser.execute(idOrEmail);
  // command-kit's unwrap, inline: command-kit imports this module.
  if (!user.ok) throw fromTokenwardenError(user.error);
  return user.value;
}

function emptyDatabaseUrlNote(env: CliIo['env']): string {
  return env.DATABASE_URL === '' ? ' (DATABASE_URL is set but empty: treated as unset)' : '';
}
