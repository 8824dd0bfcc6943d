import { chmod, lstat, unlink } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import {
  type ClientFrame,
  encodeFrame,
  lineReader,
  NEEDS_DATA_DIR_ALONE,
  parseFrame,
  type ServerFrame,
} from './frames.js';

/** What the server runs for a forwarded command line: the CLI's own `run`, over the server's core. */
export type ForwardedRun = (request: {
  readonly argv: readonly string[];
  readonly actor: string;
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY: boolean; setRawMode(on: boolean): void };
  readonly stdout: Writable;
  readonly stderr: Writable;
}) => Promise<number>;

/**
 * Listens on a Unix socket inside the data directory (mode 0600, in a directory only its
 * owner may enter) for `tokenwarden` command lines, and runs each with `run` (the CLI's
 * handlers over this server's database and caches): how the CLI works beside a running
 * server that holds the embedded database (docs/DESIGN.md §9).
 *
 * @example
 * const channel = await startControlServer(join(dataDir, CONTROL_SOCKET_NAME), run);
 * // … on shutdown:
 * await channel.close();
 */
export async function startControlServer(
  socketPath: string,
  run: ForwardedRun,
): Promise<{ readonly path: string; close(): Promise<void> }> {
  // A socket left by a server that died: this process holds the data directory's lock, so it is no one's.
  const existing = await lstat(socketPath).catch(() => null);
  if (existing?.isSocket() === true) await unlink(socketPath);
  const running = new Set<Promise<void>>();
  const server: Server = createServer((socket) => {
    const served = serveConnection(socket, run).catch(() => {
      socket.destroy();
    });
    running.add(served);
    void served.finally(() => running.delete(served));
  });
  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen({ path: socketPath, exclusive: true }, () => {
      server.off('error', rejectListen);
      resolveListen();
    });
  });
  await chmod(socketPath, 0o600);
  return {
    path: socketPath,
    async close() {
      await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
      // Commands already running finish (their transaction and audit row commit or roll back whole).
      await Promise.allSettled([...running]);
      await unlink(socketPath).catch(() => {});
    },
  };
}

async function serveConnection(socket: Socket, run: ForwardedRun): Promise<void> {
  const send = (frame: ServerFrame) => {
    if (!socket.destroyed) socket.write(encodeFrame(frame));
  };
  const stdin = Object.assign(new PassThrough(), {
    isTTY: false,
    setRawMode(on: boolean) {
      send({ t: 'raw', on });
    },
  });
  const started = new Promise<Extract<ClientFrame, { t: 'run' }>>((resolveRun, rejectRun) => {
    let first: Extract<ClientFrame, { t: 'run' }> | undefined;
    const read = lineReader(
      (line) => {
        const frame = parseFrame<ClientFrame>(line, ['run', 'stdin', 'stdin-end']);
        if (frame === undefined) {
          socket.destroy();
          rejectRun(new Error('not a control frame'));
          return;
        }
        if (frame.t === 'run') {
          if (first !== undefined) return;
          first = frame;
          resolveRun(frame);
        } else if (frame.t === 'stdin') stdin.write(Buffer.from(frame.data, 'base64'));
        else stdin.end();
      },
      () => {
        socket.destroy();
        rejectRun(new Error('control frame too long'));
      },
    );
    socket.on('data', read);
    socket.on('close', () => {
      stdin.end();
      rejectRun(new Error('closed before a command line'));
    });
    socket.on('error', () => {});
  });
  const request = await started;
  if (!isRunFrame(request)) {
    socket.destroy();
    return;
  }
  stdin.isTTY = request.stdinIsTTY;
  const output = (kind: 'stdout' | 'stderr') =>
    new Writable({
      write(chunk: Buffer | string, _encoding, done) {
        send({ t: kind, data: Buffer.from(chunk).toString('base64') });
        done();
      },
    });
  const stdout = output('stdout');
  const stderr = output('stderr');
  let code: number;
  const command = request.argv.find((arg) => !arg.startsWith('-'));
  if (command !== undefined && NEEDS_DATA_DIR_ALONE.has(command)) {
    stderr.write(`tokenwarden: \`${command}\` needs the data directory to itself: stop the server first\n`);
    code = 2;
  } else {
    code = await run({ argv: request.argv, actor: request.actor, stdin, stdout, stderr });
  }
  send({ t: 'exit', code });
  socket.end();
}

function isRunFrame(frame: Extract<ClientFrame, { t: 'run' }>): boolean {
  return (
    Array.isArray(frame.argv) &&
    frame.argv.length <= 256 &&
    frame.argv.every((arg) => typeof arg === 'string') &&
    typeof frame.actor === 'string' &&
    /^cli:[^\s]{1,200}$/.test(frame.actor) &&
    typeof frame.stdinIsTTY === 'boolean'
  );
}
