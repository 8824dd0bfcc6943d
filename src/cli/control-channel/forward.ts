import { resolve } from 'node:path';
import { type CliIo, cliActor, cliConfig } from '../context.js';
import { forwardToServer } from './control-client.js';
import { CONTROL_SOCKET_NAME, NEEDS_DATA_DIR_ALONE } from './frames.js';

const HELP_OR_VERSION: ReadonlySet<string> = new Set(['-h', '--help', '-V', '--version']);

/**
 * On the embedded database, a server that is running holds the data directory: the
 * command goes to it over its control channel (`<data dir>/control.sock`) and runs there,
 * with the same handlers, output and exit code. Resolves null when the command is to run
 * here: PostgreSQL (any number of processes share it), no server listening, or a command
 * that runs without one.
 *
 * @example
 * const code = (await forwardToRunningServer(argv, io)) ?? (await run(argv, io));
 */
export async function forwardToRunningServer(argv: readonly string[], io: CliIo): Promise<number | null> {
  // Help and the version need no database; serve and migrate need it to themselves.
  const command = argv.find((arg) => !arg.startsWith('-'));
  if (
    command === undefined ||
    NEEDS_DATA_DIR_ALONE.has(command) ||
    command === 'help' ||
    argv.some((arg) => HELP_OR_VERSION.has(arg))
  )
    return null;
  let dataDir: string;
  try {
    const config = cliConfig(io.env);
    if (config.database.kind !== 'pglite') return null;
    dataDir = config.database.dataDir;
  } catch {
    // A bad environment: run() reports it as it does for every command.
    return null;
  }
  // The server names its database; that this one was chosen over an empty DATABASE_URL is ours to say.
  const note =
    io.env.DATABASE_URL === '' ? 'tokenwarden: DATABASE_URL is set but empty: treated as unset\n' : '';
  const socketPath = resolve(dataDir, CONTROL_SOCKET_NAME);
  return forwardToServer(socketPath, withAbsolutePaths(argv), io, cliActor(io), note);
}

/** Options whose value is a file: the server runs in its own directory, so they travel absolute. */
const PATH_OPTIONS: ReadonlySet<string> = new Set(['--output', '--from', '--checkpoints', '--public-key']);

function withAbsolutePaths(argv: readonly string[]): readonly string[] {
  return argv.map((arg, i) => {
    const eq = arg.indexOf('=');
    if (eq > 0 && PATH_OPTIONS.has(arg.slice(0, eq)))
      return `${arg.slice(0, eq)}=${resolve(arg.slice(eq + 1))}`;
    const previous = argv[i - 1];
    return previous !== undefined && PATH_OPTIONS.has(previous) ? resolve(arg) : arg;
  });
}
