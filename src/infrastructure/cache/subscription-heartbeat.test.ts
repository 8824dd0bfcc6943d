import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SubscriptionHeartbeat } from './subscription-heartbeat.js';

describe('SubscriptionHeartbeat', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const setup = (echo: { on: boolean }) => {
    const sent: string[] = [];
    const dead: number[] = [];
    const heartbeat: SubscriptionHeartbeat = new SubscriptionHeartbeat(
      { intervalMs: 1_000, deadAfterMs: 3_000 },
      {
        send: async (payload) => {
          sent.push(payload);
          // What the channel does: our own payload comes back, unless the connection died.
          if (echo.on) queueMicrotask(() => heartbeat.receive(payload));
        },
        onDead: (silentMs) => dead.push(silentMs),
        now: () => Date.now(),
      },
    );
    return { heartbeat, sent, dead };
  };

  it('stays alive while its heartbeats come back, one a second', async () => {
    const { heartbeat, sent, dead } = setup({ on: true });
    heartbeat.start();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(dead).toEqual([]);
    expect(sent.length).toBeGreaterThanOrEqual(10);
    expect(sent.length).toBeLessThanOrEqual(12);
    heartbeat.stop();
  });

  it('declares the subscription dead once, within a quarter beat of the bound, when they stop coming back', async () => {
    const echo = { on: true };
    const { heartbeat, dead } = setup(echo);
    heartbeat.start();
    await vi.advanceTimersByTimeAsync(2_000);
    echo.on = false;
    await vi.advanceTimersByTimeAsync(3_000);
    expect(dead).toEqual([]);
    await vi.advanceTimersByTimeAsync(1_300);
    expect(dead).toHaveLength(1);
    expect(dead[0]).toBeGreaterThan(3_000);
    expect(dead[0]).toBeLessThanOrEqual(4_250);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(dead).toHaveLength(1);
  });

  it("tells heartbeats (anyone's) from messages, and only its own count as heard", async () => {
    const { heartbeat, dead } = setup({ on: false });
    heartbeat.start();
    expect(heartbeat.receive('{"v":1,"o":"x","k":"global"}')).toBe(false);
    for (let i = 0; i < 40; i++) {
      expect(heartbeat.receive(`hb:someone-else:${i}`)).toBe(true);
      await vi.advanceTimersByTimeAsync(100);
    }
    expect(dead).toHaveLength(1);
  });
});
