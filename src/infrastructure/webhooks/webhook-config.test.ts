import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config.js';

const SECRET = 'a-secret-of-16-chars-or-more';

describe('webhook configuration', () => {
  it('is off by default, with defaults for the relay', () => {
    expect(loadConfig({}).webhooks).toEqual({
      urls: [],
      secret: null,
      maxAttempts: 12,
      timeoutMs: 10_000,
      backoffBaseMs: 5_000,
      backoffMaxMs: 3_600_000,
      pollIntervalMs: 1_000,
    });
    expect(loadConfig({}).rejectionRollupIntervalMs).toBe(60_000);
  });

  it('reads comma-separated http(s) URLs', () => {
    const config = loadConfig({
      TOKENWARDEN_WEBHOOK_URLS: ' https://hooks.example.com/tw , http://127.0.0.1:3400/in?k=v',
      TOKENWARDEN_WEBHOOK_SECRET: SECRET,
      TOKENWARDEN_WEBHOOK_MAX_ATTEMPTS: '3',
    });
    expect(config.webhooks).toMatchObject({
      urls: ['https://hooks.example.com/tw', 'http://127.0.0.1:3400/in?k=v'],
      secret: SECRET,
      maxAttempts: 3,
    });
  });

  it('stops start-up naming the variable for a bad URL, a missing or short secret', () => {
    const bad = (env: Record<string, string>) => () => loadConfig(env);
    expect(bad({ TOKENWARDEN_WEBHOOK_URLS: 'not a url', TOKENWARDEN_WEBHOOK_SECRET: SECRET })).toThrow(
      /TOKENWARDEN_WEBHOOK_URLS: "not a url" is not a URL/,
    );
    expect(
      bad({ TOKENWARDEN_WEBHOOK_URLS: 'ftp://example.com/x', TOKENWARDEN_WEBHOOK_SECRET: SECRET }),
    ).toThrow(/ftp: URLs are not supported/);
    expect(
      bad({
        TOKENWARDEN_WEBHOOK_URLS: 'https://a.example/x,https://a.example/x',
        TOKENWARDEN_WEBHOOK_SECRET: SECRET,
      }),
    ).toThrow(/listed twice/);
    expect(bad({ TOKENWARDEN_WEBHOOK_URLS: 'https://a.example/x' })).toThrow(
      /TOKENWARDEN_WEBHOOK_SECRET is required/,
    );
    expect(
      bad({ TOKENWARDEN_WEBHOOK_URLS: 'https://a.example/x', TOKENWARDEN_WEBHOOK_SECRET: 'short' }),
    ).toThrow(ConfigError);
    expect(bad({ TOKENWARDEN_WEBHOOK_MAX_ATTEMPTS: '0' })).toThrow(/TOKENWARDEN_WEBHOOK_MAX_ATTEMPTS/);
    expect(
      bad({ TOKENWARDEN_WEBHOOK_URLS: 'https://user:pw@a.example/x', TOKENWARDEN_WEBHOOK_SECRET: SECRET }),
    ).toThrow(/credentials in the URL/);
    expect(
      bad({
        TOKENWARDEN_WEBHOOK_URLS: 'https://a.example/x',
        TOKENWARDEN_WEBHOOK_SECRET: SECRET,
        DATABASE_URL: 'postgres://db/tw',
        DATABASE_POOL_SIZE: '1',
      }),
    ).toThrow(/DATABASE_POOL_SIZE must be at least 2/);
  });
});
