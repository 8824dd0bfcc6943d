import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';

describe('revocation feed configuration', () => {
  it('beats every 5 s by default, and inside a shorter request timeout', () => {
    expect(loadConfig({}).feed).toEqual({ heartbeatSeconds: 5, maxStreams: 1000, maxStreamsPerClient: 4 });
    expect(
      loadConfig({ TOKENWARDEN_REQUEST_TIMEOUT_SECONDS: '3', TOKENWARDEN_HEADERS_TIMEOUT_SECONDS: '2' }).feed
        .heartbeatSeconds,
    ).toBe(2);
  });

  it('refuses a heartbeat no shorter than the request timeout, naming both variables', () => {
    expect(() =>
      loadConfig({ TOKENWARDEN_FEED_HEARTBEAT_SECONDS: '30', TOKENWARDEN_REQUEST_TIMEOUT_SECONDS: '30' }),
    ).toThrow(/TOKENWARDEN_FEED_HEARTBEAT_SECONDS must be shorter than TOKENWARDEN_REQUEST_TIMEOUT_SECONDS/);
  });
});
