import { StringDecoder } from 'node:string_decoder';

/**
 * The control channel's messages: one JSON object a line, each way, over the Unix socket
 * a running server opens inside its data directory (docs/DESIGN.md §9). Bytes of stdin, stdout and stderr travel base64-encoded, so a
 * command's output arrives byte for byte.
 */
export type ClientFrame =
  /** The first frame: the command line and who runs it. */
  | {
      readonly t: 'run';
      readonly argv: readonly string[];
      readonly actor: string;
      readonly stdinIsTTY: boolean;
    }
  | { readonly t: 'stdin'; readonly data: string }
  | { readonly t: 'stdin-end' };

export type ServerFrame =
  | { readonly t: 'stdout'; readonly data: string }
  | { readonly t: 'stderr'; readonly data: string }
  /** The command switched its terminal's echo (a hidden password prompt): the client's own terminal does. */
  | { readonly t: 'raw'; readonly on: boolean }
  | { readonly t: 'exit'; readonly code: number };

/** Commands that need the data directory to themselves: never run through a running server. */
export const NEEDS_DATA_DIR_ALONE: ReadonlySet<string> = new Set(['serve', 'migrate']);

/** The socket's name inside the data directory. */
export const CONTROL_SOCKET_NAME = 'control.sock';

/** A line of a frame; undefined for what is not one (the peer is then disconnected). */
export function parseFrame<T extends { t: string }>(line: string, kinds: readonly T['t'][]): T | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const kind = (value as { t?: unknown }).t;
  return typeof kind === 'string' && (kinds as readonly string[]).includes(kind) ? (value as T) : undefined;
}

export const encodeFrame = (frame: ClientFrame | ServerFrame): string => `${JSON.stringify(frame)}\n`;

/** The longest frame taken: a command line or an output chunk is far shorter. */
const MAX_LINE = 1024 * 1024;

/**
 * Splits a stream of bytes into lines (UTF-8 split across chunks kept whole), calling
 * `onLine` for each; a line longer than {@link MAX_LINE} calls `onOverflow` instead.
 */
export function lineReader(onLine: (line: string) => void, onOverflow: () => void): (chunk: Buffer) => void {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  return (chunk) => {
    pending += decoder.write(chunk);
    let newline = pending.indexOf('\n');
    while (newline !== -1) {
      onLine(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
    }
    if (pending.length > MAX_LINE) {
      pending = '';
      onOverflow();
    }
  };
}
