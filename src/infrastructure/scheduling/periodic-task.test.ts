import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PeriodicTask } from './periodic-task.js';

/** A pass the test finishes by hand, to hold one in flight. */
function gate(): { readonly promise: Promise<void>; open(): void; fail(error: Error): void } {
  let open = (): void => {};
  let fail = (_error: Error): void => {};
  const promise = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

describe('PeriodicTask', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs a pass every interval after the previous one ends, the first after one interval', async () => {
    const pass = vi.fn(async () => {});
    const task = new PeriodicTask({ intervalSeconds: 10, pass });
    task.start();
    task.start();
    await vi.advanceTimersByTimeAsync(9_999);
    expect(pass).toHaveBeenCalledTimes(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(pass).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(pass).toHaveBeenCalledTimes(3);
    await task.close();
  });

  it('runs the first pass after firstDelaySeconds when given', async () => {
    const pass = vi.fn(async () => {});
    const task = new PeriodicTask({ intervalSeconds: 10, firstDelaySeconds: 0, pass });
    task.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(pass).toHaveBeenCalledTimes(1);
    await task.close();
  });

  it('does not loop when the interval is 0, yet runs passes asked for', async () => {
    const pass = vi.fn(async () => {});
    const task = new PeriodicTask({ intervalSeconds: 0, pass });
    task.start();
    expect(task.running()).toBe(false);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(pass).not.toHaveBeenCalled();
    expect(await task.runNow(async () => 7)).toBe(7);
  });

  it('never overlaps passes: a pass asked for waits for the background one in flight', async () => {
    const held = gate();
    const events: string[] = [];
    const task = new PeriodicTask({
      intervalSeconds: 1,
      pass: async () => {
        events.push('background start');
        await held.promise;
        events.push('background end');
      },
    });
    task.start();
    await vi.advanceTimersByTimeAsync(1_000);
    const asked = task.runNow(async () => {
      events.push('asked');
    });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(events).toEqual(['background start']);
    held.open();
    await asked;
    expect(events).toEqual(['background start', 'background end', 'asked']);
    await task.close();
  });

  it('does not start the next background pass while one is running, however long it takes', async () => {
    const held = gate();
    const pass = vi.fn(() => held.promise);
    const task = new PeriodicTask({ intervalSeconds: 1, pass });
    task.start();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(pass).toHaveBeenCalledTimes(1);
    held.open();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(pass).toHaveBeenCalledTimes(2);
    await task.close();
  });

  it('close() stops the loop, tells a running pass through closed(), and waits for it', async () => {
    const held = gate();
    const pass = vi.fn(() => held.promise);
    const task = new PeriodicTask({ intervalSeconds: 1, pass });
    task.start();
    expect(task.running()).toBe(true);
    await vi.advanceTimersByTimeAsync(1_000);
    let closed = false;
    const closing = task.close().then(() => {
      closed = true;
    });
    expect(task.closed()).toBe(true);
    expect(task.running()).toBe(false);
    await vi.advanceTimersByTimeAsync(0);
    expect(closed).toBe(false);
    held.open();
    await closing;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(pass).toHaveBeenCalledTimes(1);
    task.start();
    expect(task.running()).toBe(false);
  });

  it('reports a failed pass and keeps going at the interval without backoff', async () => {
    const onError = vi.fn();
    const pass = vi.fn(async () => {
      throw new Error('database down');
    });
    const task = new PeriodicTask({ intervalSeconds: 10, pass, onError });
    task.start();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(pass).toHaveBeenCalledTimes(3);
    expect(onError).toHaveBeenCalledTimes(3);
    expect(onError.mock.calls[0]?.[0]).toMatchObject({ message: 'database down' });
    await task.close();
  });

  it('backs off after failures (interval × 2ⁿ up to the maximum) and returns to the interval after a success', async () => {
    let failing = true;
    const calls: number[] = [];
    const task = new PeriodicTask({
      intervalSeconds: 10,
      firstDelaySeconds: 0,
      maxBackoffSeconds: 50,
      pass: async () => {
        calls.push(Date.now());
        if (failing) throw new Error('down');
      },
    });
    const start = Date.now();
    task.start();
    // Fails at 0, then waits 20, 40, 50, 50 seconds.
    await vi.advanceTimersByTimeAsync(160_000);
    expect(calls.map((at) => (at - start) / 1000)).toEqual([0, 20, 60, 110, 160]);
    failing = false;
    await vi.advanceTimersByTimeAsync(50_000);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(calls.map((at) => (at - start) / 1000).slice(5)).toEqual([210, 220, 230]);
    await task.close();
  });

  it('unrefs its timer: the loop alone never keeps a process alive', () => {
    const spy = vi.spyOn(globalThis, 'setTimeout');
    const task = new PeriodicTask({ intervalSeconds: 10, pass: async () => {} });
    task.start();
    const timer = spy.mock.results[0]?.value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    spy.mockRestore();
    void task.close();
  });
});
