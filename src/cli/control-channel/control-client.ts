import { connect } from 'node:net';
import type { CliIo } from '../context.js';
import { CliError } from '../errors.js';
import { type ClientFrame, encodeFrame, lineReader, parseFrame, type ServerFrame } from './frames.js';

/** Socket errors that mean no server listens there (none started, or one that died). */
const NO_SERVER = new Set(['ENOENT', 'ECONNREFUSED', 'ENOTSOCK', 'ENAMETOOLONG']);

/**
 * Sends a command line to the server listening on `socketPath` and relays its output,
 * stdin and terminal mode; resolves with the command's exit code, or null when no server
 * listens there (the caller then opens the database itself).
 *
 * @example
 * const code = await forwardToServer('/srv/tw/.tokenwarden/control.sock', ['users', 'list'], io, 'cli:ops');
 */
export function forwardToServer(
  socketPath: string,
  argv: readonly string[],
  io: CliIo,
  actor: string,
  /** Written to stderr once the server has taken the command (before its output). */
  preface = '',
): Promise<number | null> {
  return new Promise((resolveForward, rejectForward) => {
    const socket = connect({ path: socketPath });
    let connected = false;
    let exitCode: number | null = null;
    const stdin = io.stdin as CliIo['stdin'] & { setRawMode?(on: boolean): unknown };
    const send = (frame: ClientFrame) => {
      if (!socket.destroyed) socket.write(encodeFrame(frame));
    };
    const onStdin = (chunk: Buffer | string) =>
      send({ t: 'stdin', data: Buffer.from(chunk).toString('base64') });
    const onStdinEnd = () => send({ t: 'stdin-end' });
    const finish = () => {
      stdin.off('data', onStdin);
      stdin.off('end', onStdinEnd);
      if (stdin.isTTY === true) stdin.setRawMode?.(false);
      stdin.pause();
    };
    socket.on('connect', () => {
      connected = true;
      if (preface !== '') io.stderr.write(preface);
      send({ t: 'run', argv: [...argv], actor, stdinIsTTY: stdin.isTTY === true });
      stdin.on('data', onStdin);
      stdin.on('end', onStdinEnd);
    });
    socket.on(
      'data',
      lineReader(
        (line) => {
          const frame = parseFrame<ServerFrame>(line, ['stdout', 'stderr', 'raw', 'exit']);
          if (frame === undefined) return;
          if (frame.t === 'stdout') io.stdout.write(Buffer.from(frame.data, 'base64'));
          else if (frame.t === 'stderr') io.stderr.write(Buffer.from(frame.data, 'base64'));
          else if (frame.t === 'raw') {
            if (stdin.isTTY === true) stdin.setRawMode?.(frame.on);
          } else exitCode = frame.code;
        },
        () => socket.destroy(),
      ),
    );
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (connected) return;
      finish();
      if (NO_SERVER.has(error.code ?? '')) resolveForward(null);
      else if (error.code === 'EACCES') {
        rejectForward(
          new CliError(
            `a running server holds the data directory, and its control channel ${socketPath} is not this user's: run the command as the user the server runs as`,
          ),
        );
      } else rejectForward(error);
    });
    socket.on('close', () => {
      finish();
      if (!connected) return;
      if (exitCode !== null) resolveForward(exitCode);
      else rejectForward(new Error('the server closed the control channel before the command finished'));
    });
  });
}
