import { createInterface } from 'node:readline';
import type { CliIo } from './context.js';
import { CliError, usageError } from './errors.js';

/**
 * A new password, never from argv (it would sit in shell history and `ps`): the
 * first line of stdin when stdin is piped, else a hidden prompt asked twice.
 */
export async function readNewPassword(io: CliIo): Promise<string> {
  if (io.stdin.isTTY !== true) {
    const line = await readFirstLine(io.stdin);
    if (line === null || line === '') throw usageError('no password on stdin: pipe it in as the first line');
    return line;
  }
  const first = await promptHidden(io, 'Password: ');
  const again = await promptHidden(io, 'Repeat password: ');
  if (first !== again) throw usageError('the two passwords differ');
  return first;
}

async function readFirstLine(input: CliIo['stdin']): Promise<string | null> {
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of lines) return line;
    return null;
  } finally {
    lines.close();
    input.pause();
  }
}

interface RawInput {
  setRawMode(mode: boolean): unknown;
}

function promptHidden(io: CliIo, prompt: string): Promise<string> {
  const input = io.stdin as CliIo['stdin'] & RawInput;
  io.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = () => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      io.stderr.write('\n');
    };
    const onData = (chunk: Buffer | string) => {
      for (const character of chunk.toString()) {
        if (character === '\r' || character === '\n') {
          finish();
          resolve(value);
          return;
        }
        if (character === '\u0003' || (character === '\u0004' && value === '')) {
          finish();
          reject(new CliError('cancelled', 130));
          return;
        }
        if (character === '\u007f' || character === '\b') {
          value = [...value].slice(0, -1).join('');
        } else if (character >= ' ') {
          value += character;
        }
      }
    };
    input.setRawMode(true);
    input.on('data', onData);
    input.resume();
  });
}
