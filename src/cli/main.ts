import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { errorSummary } from '../domain/error-summary.js';
import { TokenwardenError } from '../domain/errors.js';
import { loadEnvFile } from '../env-file.js';
import { StartupError } from '../startup-error.js';
import { registerAudit } from './audit.js';
import { registerClients } from './clients.js';
import { registerConfig } from './config.js';
import type { CliIo } from './context.js';
import { forwardToRunningServer } from './control-channel/forward.js';
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, fromTokenwardenError } from './errors.js';
import { registerKeys } from './keys.js';
import { registerMigrate } from './migrate.js';
import { visible } from './output.js';
import { registerPrune } from './prune.js';
import { registerRotate } from './rotate.js';
import { registerServe } from './serve.js';
import { registerSessions } from './sessions.js';
import { registerUsers } from './users.js';
import { registerWebhooks } from './webhooks.js';

/** The CLI is still running: `serve` listens until a signal stops it. */
export const SERVING = 'serving';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

/**
 * Runs one `tokenwarden` command line against the configured database, through the
 * same handlers the HTTP server uses.
 *
 * @example
 * const code = await run(['rotate', 'global', '--reason', 'db leak', '--dry-run']);
 * @returns the exit code, or {@link SERVING} when `serve` is now listening
 */
export async function run(
  argv: readonly string[],
  io: CliIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env },
): Promise<number | typeof SERVING> {
  let serving = false;
  const program = new Command('tokenwarden')
    .description(
      'Operate tokenwarden from a shell: works on the database directly, with or without the server.',
    )
    .version(version, '-V, --version')
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // run() prints the one-line message itself.
      outputError: () => {},
    })
    .exitOverride()
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      '\nThe database comes from the environment, as for the server: TOKENWARDEN_DATA_DIR (PGlite,\n' +
        'default ./.tokenwarden) or DATABASE_URL. Changes are audited as cli:<os user>.\n' +
        'Exit codes: 0 done, 1 failed, 2 bad command line or environment.',
    );
  registerServe(program, io, () => {
    serving = true;
  });
  registerMigrate(program, io);
  registerRotate(program, io);
  registerConfig(program, io);
  registerAudit(program, io);
  registerUsers(program, io);
  registerSessions(program, io);
  registerKeys(program, io);
  registerWebhooks(program, io);
  registerClients(program, io);
  registerPrune(program, io);

  const fail = (message: string, code: number) => {
    // Messages may quote what was typed or stored: control, bidi and line-break characters are
    // shown escaped, so a failure is always one line that cannot rewrite the terminal.
    io.stderr.write(`tokenwarden: ${visible(message)}\n`);
    return code;
  };
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return serving ? SERVING : EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return EXIT_OK;
      // A group without its subcommand has printed its help already.
      if (error.code === 'commander.help') return EXIT_USAGE;
      // Commander puts its "(Did you mean …?)" on a line of its own: the same line here.
      return fail(
        `${error.message.replace(/^error: /, '').replace(/\n(?=\(Did you mean)/, ' ')} (see --help)`,
        EXIT_USAGE,
      );
    }
    if (error instanceof CliError) return fail(error.message, error.exitCode);
    // Queries return their failures; should a coded one be thrown all the same, it reads like theirs.
    if (error instanceof TokenwardenError) {
      const cli = fromTokenwardenError(error);
      return fail(cli.message, cli.exitCode);
    }
    // The environment is wrong (data directory in use or never set up, database unreachable or
    // behind): its message says what to do, so it is not "unexpected", and it exits 2.
    if (error instanceof StartupError) return fail(error.message, EXIT_USAGE);
    const message = errorSummary(error);
    if (io.env.TOKENWARDEN_DEBUG !== undefined && error instanceof Error) io.stderr.write(`${error.stack}\n`);
    return fail(
      `${message}${io.env.TOKENWARDEN_DEBUG === undefined ? ' (TOKENWARDEN_DEBUG=1 shows the stack)' : ''}`,
      EXIT_FAILURE,
    );
  }
}

/** The `tokenwarden` executable: run, then exit with the code (unless serving). */
export async function main(): Promise<void> {
  // `tokenwarden audit list | head`: the reader left, which is not an error of ours.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  // Configuration from ./.env too, as `npm start` takes it (the environment wins).
  loadEnvFile();
  const argv = process.argv.slice(2);
  const io: CliIo = {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  };
  let code: number | typeof SERVING;
  try {
    code = (await forwardToRunningServer(argv, io)) ?? (await run(argv, io));
  } catch (error) {
    process.stderr.write(`tokenwarden: ${visible(error instanceof Error ? error.message : String(error))}\n`);
    code = EXIT_FAILURE;
  }
  if (code === SERVING) return;
  process.exitCode = code;
  // Everything was closed; should a stray handle linger, do not leave the operator's shell hanging.
  setTimeout(() => process.exit(code), 3000).unref();
}
