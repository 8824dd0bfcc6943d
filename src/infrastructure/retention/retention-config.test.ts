import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.js';

describe('retention configuration', () => {
  it('prunes every 10 minutes by default, keeps revoked sessions and delivered events 7 days, audit for ever', () => {
    expect(loadConfig({}).retention).toEqual({
      intervalSeconds: 600,
      batchSize: 1000,
      revokedSessionsSeconds: 7 * 86_400,
      deliveredEventsSeconds: 7 * 86_400,
      unpublishedEventsSeconds: null,
      auditSeconds: null,
    });
  });

  it('reads durations in seconds or with a unit, and "forever"', () => {
    const retention = loadConfig({
      TOKENWARDEN_PRUNE_INTERVAL_SECONDS: '0',
      TOKENWARDEN_PRUNE_BATCH_SIZE: '50',
      TOKENWARDEN_RETENTION_REVOKED_SESSIONS: '90',
      TOKENWARDEN_RETENTION_DELIVERED_EVENTS: '15m',
      TOKENWARDEN_RETENTION_UNPUBLISHED_EVENTS: ' 12H ',
      TOKENWARDEN_RETENTION_AUDIT: '400d',
    }).retention;
    expect(retention).toEqual({
      intervalSeconds: 0,
      batchSize: 50,
      revokedSessionsSeconds: 90,
      deliveredEventsSeconds: 900,
      unpublishedEventsSeconds: 43_200,
      auditSeconds: 400 * 86_400,
    });
    expect(
      loadConfig({ TOKENWARDEN_RETENTION_REVOKED_SESSIONS: 'forever' }).retention.revokedSessionsSeconds,
    ).toBe(null);
  });

  it.each([
    ['TOKENWARDEN_RETENTION_AUDIT', '1y'],
    ['TOKENWARDEN_RETENTION_AUDIT', '-1d'],
    ['TOKENWARDEN_RETENTION_AUDIT', '3651d'],
    ['TOKENWARDEN_RETENTION_REVOKED_SESSIONS', '7 d'],
    ['TOKENWARDEN_RETENTION_REVOKED_SESSIONS', '7d\u0000'],
    ['TOKENWARDEN_RETENTION_DELIVERED_EVENTS', '\u202e7d'],
    ['TOKENWARDEN_RETENTION_DELIVERED_EVENTS', '1.5h'],
    ['TOKENWARDEN_RETENTION_UNPUBLISHED_EVENTS', 'never'],
    ['TOKENWARDEN_RETENTION_UNPUBLISHED_EVENTS', '9'.repeat(40)],
    ['TOKENWARDEN_PRUNE_INTERVAL_SECONDS', '-5'],
    ['TOKENWARDEN_PRUNE_INTERVAL_SECONDS', '86401'],
    ['TOKENWARDEN_PRUNE_BATCH_SIZE', '0'],
  ])('stops start-up naming %s for %j', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(name));
  });
});
