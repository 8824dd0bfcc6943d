/** CPU seconds of processes over a window of work, sampled from /proc (bench/support/proc-stat.ts). */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Probe } from './database-probe.js';
import { cpuSeconds } from './proc-stat.js';

/**
 * CPU seconds of a changing set of processes over a window: sampled every half second,
 * so a backend that comes or goes during the window is counted up to its last sample
 * (one that starts inside the window is counted from zero).
 */
export class CpuWindow {
  readonly #first = new Map<number, number>();
  readonly #last = new Map<number, number>();
  #sampled = false;

  record(pids: readonly number[]): void {
    for (const pid of pids) {
      const seconds = cpuSeconds(pid);
      if (seconds === null) continue;
      if (!this.#first.has(pid)) this.#first.set(pid, this.#sampled ? 0 : seconds);
      this.#last.set(pid, seconds);
    }
    this.#sampled = true;
  }

  seconds(): number {
    let total = 0;
    for (const [pid, last] of this.#last) total += last - (this.#first.get(pid) ?? 0);
    return total;
  }
}

/**
 * CPU seconds of the server (when a pid is given) and of this database's backends while
 * `work` runs and `settleMs` after, sampled every half second.
 */
export async function cpuDuring<T>(
  probe: Probe,
  serverPid: number | null,
  settleMs: number,
  work: () => Promise<T>,
): Promise<{ result: T; server: number; backends: number }> {
  const server = new CpuWindow();
  const backends = new CpuWindow();
  const sample = async () => {
    const pids = await probe.pids();
    if (serverPid !== null) server.record([serverPid]);
    backends.record(pids.backends);
  };
  await sample();
  let running = true;
  const sampler = (async () => {
    while (running) {
      await sleep(500);
      await sample();
    }
  })();
  let result: T;
  try {
    result = await work();
    if (settleMs > 0) await sleep(settleMs);
  } finally {
    running = false;
    await sampler;
  }
  await sample();
  return { result, server: server.seconds(), backends: backends.seconds() };
}
