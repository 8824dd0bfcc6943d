import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { err, ok } from '../../domain/result.js';
import { RotationScheduleTimer } from './rotation-schedule-timer.js';

const idle = ok({ step: 'idle' as const, dueAt: null, nextDueAt: null, noticeWritten: false });

describe('RotationScheduleTimer', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('checks once at start, then every checkSeconds', async () => {
    const run = vi.fn(async () => idle);
    const timer = new RotationScheduleTimer({ run }, { checkSeconds: 30 });
    timer.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(run).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(run).toHaveBeenCalledTimes(3);
    await timer.close();
  });

  it('backs off after a check throws, but not after one that returns an expected failure', async () => {
    const logger = { info: vi.fn(), error: vi.fn() };
    const throwing = vi.fn(async () => {
      throw new Error('database down');
    });
    const broken = new RotationScheduleTimer({ run: throwing, logger }, { checkSeconds: 30 });
    broken.start();
    // Checks at 0, 60 (30 × 2), 180 (+120): three by 200 s instead of seven.
    await vi.advanceTimersByTimeAsync(200_000);
    expect(throwing).toHaveBeenCalledTimes(3);
    expect(logger.error).toHaveBeenCalledTimes(3);
    await broken.close();

    const refusing = vi.fn(async () => err(new Error('refused') as never));
    const refused = new RotationScheduleTimer({ run: refusing }, { checkSeconds: 30 });
    refused.start();
    await vi.advanceTimersByTimeAsync(200_000);
    expect(refusing).toHaveBeenCalledTimes(7);
    await refused.close();
  });

  it('logs a rotation it ran', async () => {
    const logger = { info: vi.fn(), error: vi.fn() };
    const dueAt = new Date('2026-01-01T00:00:00Z');
    const run = vi.fn(async () =>
      ok({ step: 'rotate' as const, dueAt, nextDueAt: null, noticeWritten: false }),
    );
    const timer = new RotationScheduleTimer({ run, logger }, { checkSeconds: 30 });
    timer.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(logger.info).toHaveBeenCalledWith(
      expect.objectContaining({ step: 'rotate', dueAt }),
      'scheduled global rotation done',
    );
    await timer.close();
  });
});
