import { describe, expect, it } from 'vitest';
import {
  formatDuration,
  nextDueAfter,
  parseDuration,
  type RotationSchedule,
  resolveScheduleSettings,
  scheduleStep,
} from './rotation-schedule.js';

const at = (iso: string) => new Date(iso);

describe('rotation schedule rules', () => {
  it.each([
    ['90d', 7_776_000],
    ['12h', 43_200],
    ['30m', 1_800],
    ['45s', 45],
    ['3600', 3_600],
    [' 7d ', 604_800],
    [86_400, 86_400],
  ])('reads %j as %i seconds', (raw, seconds) => {
    expect(parseDuration(raw)).toEqual({ ok: true, value: seconds });
  });

  it.each([
    '',
    'abc',
    '-1d',
    '1.5h',
    '1e3',
    '90 d',
    '2w',
    '90D',
    '٩٠d',
    '90d\u0000',
    '9'.repeat(13),
    -1,
    1.5,
    1e300,
    null,
  ])('refuses %j', (raw) => {
    expect(parseDuration(raw).ok).toBe(false);
  });

  it('spells a duration the shortest exact way', () => {
    expect([7_776_000, 5_400, 3_600, 90, 0].map(formatDuration)).toEqual(['90d', '90m', '1h', '90s', '0s']);
  });

  it('the next due time after missed periods is the first on the cadence after now', () => {
    const due = at('2026-01-01T00:00:00Z');
    expect(nextDueAfter(due, 86_400, at('2026-01-01T00:00:00Z'))).toEqual(at('2026-01-02T00:00:00Z'));
    expect(nextDueAfter(due, 86_400, at('2026-01-03T12:00:00Z'))).toEqual(at('2026-01-04T00:00:00Z'));
    expect(nextDueAfter(due, 86_400, at('2026-01-04T00:00:00Z'))).toEqual(at('2026-01-05T00:00:00Z'));
  });

  it('owes nothing, then the notice, then the rotation', () => {
    const schedule: RotationSchedule = {
      intervalSeconds: 86_400,
      gracePeriodSeconds: null,
      reason: 'r',
      noticeLeadSeconds: 3_600,
      nextDueAt: at('2026-01-02T00:00:00Z'),
      noticeSentFor: null,
      lastDueAt: null,
    };
    expect(scheduleStep(null, at('2030-01-01T00:00:00Z'))).toBe('idle');
    expect(scheduleStep(schedule, at('2026-01-01T22:59:59Z'))).toBe('idle');
    expect(scheduleStep(schedule, at('2026-01-01T23:00:00Z'))).toBe('notice');
    const noticed = { ...schedule, noticeSentFor: schedule.nextDueAt };
    expect(scheduleStep(noticed, at('2026-01-01T23:30:00Z'))).toBe('idle');
    expect(scheduleStep(noticed, at('2026-01-02T00:00:00Z'))).toBe('rotate');
  });

  it('a lead time defaults to a week or half the interval, and one asked for must fit', () => {
    const on = (input: Parameters<typeof resolveScheduleSettings>[0]) => resolveScheduleSettings(input, null);
    expect(on({ interval: '90d' })).toMatchObject({ ok: true, value: { noticeLeadSeconds: 604_800 } });
    expect(on({ interval: '2h' })).toMatchObject({ ok: true, value: { noticeLeadSeconds: 3_600 } });
    expect(on({ interval: '2h', noticeLead: '2h' }).ok).toBe(false);
    expect(on({ reason: 'no interval' }).ok).toBe(false);
  });
});
