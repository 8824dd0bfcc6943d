import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { redactUrl } from './redact-url.js';

describe('redactUrl', () => {
  it.each([
    ['postgres://app:s3cret@db:5432/prod', 'postgres://app:***@db:5432/prod'],
    ['postgres://app@db/prod', 'postgres://app@db/prod'],
    [
      'postgres://u:p@h/db?sslmode=require&password=hunter2&sslpassword=x',
      'postgres://u:***@h/db?sslmode=require&password=***&sslpassword=***',
    ],
    ['redis://:hunter2@127.0.0.1:6379/0', 'redis://:***@127.0.0.1:6379/0'],
    [
      'rediss://default:pw@cache:6380?tls=true&token=abc',
      'rediss://default:***@cache:6380?tls=true&token=***',
    ],
    ['mysql://user:pass@db/x', 'mysql://user:***@db/x'],
  ])('masks the secrets of %s', (raw, shown) => {
    expect(redactUrl(raw)).toBe(shown);
  });

  it('shows only the scheme of something that is not a URL', () => {
    expect(redactUrl('postgres://u:pa ss@[bad/db')).toBe('postgres:… (not a parseable URL)');
    expect(redactUrl('hunter2')).toBe('(not a parseable URL)');
  });

  it('never shows a password, wherever it was put', () => {
    const secret = fc.stringMatching(/^[A-Za-z0-9]{8,20}$/);
    fc.assert(
      fc.property(secret, fc.constantFrom('password', 'sslpassword', 'sslkey', 'apikey'), (pw, param) => {
        const shown = redactUrl(
          `postgres://user:${pw}@db.internal:5432/app?${param}=${pw}&sslmode=verify-full`,
        );
        expect(shown).not.toContain(pw);
        expect(shown).toContain('sslmode=verify-full');
        expect(shown).toContain('db.internal:5432/app');
      }),
    );
  });
});
