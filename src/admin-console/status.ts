import { TokenwardenClientError } from '@tokenwarden/client';
import { client } from './api.js';
import { $ } from './dom.js';
import { visible } from './format.js';

/** The status line under the header (a polite live region). */
export function say(message: string, bad = false): void {
  const status = $('status');
  status.textContent = message;
  status.classList.toggle('bad', bad);
}

/** A failure as one sentence: the problem's title, its code and the fields it names. */
export function describeError(error: unknown): string {
  if (error instanceof TokenwardenClientError) {
    const fields = error.problem.errors?.map((e) => `${e.path} ${e.message}`).join('; ');
    return visible(`${error.message} (${error.code})${fields ? `: ${fields}` : ''}`);
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs an action, reporting its failure in the status line (sign-outs have their own message).
 *
 * @example
 * button.addEventListener('click', () => void attempt(load));
 */
export async function attempt(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    if ((await client.tokens()) === null) return;
    say(describeError(error), true);
  }
}
