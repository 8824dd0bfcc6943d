import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deriveWebhookSecret, signWebhook, verifyWebhookSignature } from './webhook-signature.js';

const SECRET = 'whsec-0123456789abcdef';
const BODY = '{"id":"7d4f…","type":"GlobalTokenRotationSucceeded"}';
const SENT = new Date('2026-01-01T00:00:00.000Z');

describe('webhook signature', () => {
  it('is t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">', () => {
    const t = SENT.getTime() / 1000;
    const expected = createHmac('sha256', SECRET).update(`${t}.${BODY}`).digest('hex');
    expect(signWebhook(SECRET, BODY, SENT)).toBe(`t=${t},v1=${expected}`);
  });

  it('verifies the exact body within the tolerance', () => {
    const header = signWebhook(SECRET, BODY, SENT);
    expect(verifyWebhookSignature(SECRET, header, BODY, { now: new Date(SENT.getTime() + 60_000) })).toEqual({
      valid: true,
      timestamp: SENT,
    });
  });

  it('rejects a changed body, another secret, a replay and junk', () => {
    const header = signWebhook(SECRET, BODY, SENT);
    const now = { now: SENT };
    expect(verifyWebhookSignature(SECRET, header, `${BODY} `, now)).toEqual({
      valid: false,
      reason: 'mismatch',
    });
    expect(verifyWebhookSignature('another-secret-000', header, BODY, now)).toEqual({
      valid: false,
      reason: 'mismatch',
    });
    // The timestamp is inside the MAC: moving it breaks the signature, keeping it makes an old one.
    const moved = header.replace(/^t=\d+/, `t=${SENT.getTime() / 1000 + 600}`);
    expect(verifyWebhookSignature(SECRET, moved, BODY, now).valid).toBe(false);
    expect(verifyWebhookSignature(SECRET, header, BODY, { now: new Date(SENT.getTime() + 301_000) })).toEqual(
      { valid: false, reason: 'too_old' },
    );
    for (const junk of [undefined, '', 'v1=abc', 't=abc,v1=00', `t=1,v1=${'z'.repeat(64)}`]) {
      expect(verifyWebhookSignature(SECRET, junk, BODY, now).valid).toBe(false);
    }
  });

  it('accepts any one of several v1 values (secret rotation)', () => {
    const header = signWebhook(SECRET, BODY, SENT);
    const old = signWebhook('the-old-secret-0000', BODY, SENT).split(',')[1];
    expect(verifyWebhookSignature(SECRET, `${header},${old}`, BODY, { now: SENT }).valid).toBe(true);
  });

  it("derives each URL's secret from the master: base64url HMAC-SHA256 of a label and the URL", () => {
    const url = 'https://a.example/hooks?tenant=1';
    const expected = createHmac('sha256', SECRET)
      .update(`tokenwarden-webhook-v1\n${url}`)
      .digest('base64url');
    expect(deriveWebhookSecret(SECRET, url)).toBe(expected);
    expect(deriveWebhookSecret(SECRET, url)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(deriveWebhookSecret(SECRET, 'https://a.example/hooks?tenant=2')).not.toBe(expected);
    expect(deriveWebhookSecret('another-master-secret', url)).not.toBe(expected);
  });

  it('refuses at receiver B what was signed for receiver A (a replay across receivers)', () => {
    const a = deriveWebhookSecret(SECRET, 'https://a.example/hooks');
    const b = deriveWebhookSecret(SECRET, 'https://b.example/hooks');
    const forA = signWebhook(a, BODY, SENT);
    expect(verifyWebhookSignature(a, forA, BODY, { now: SENT })).toMatchObject({ valid: true });
    expect(verifyWebhookSignature(b, forA, BODY, { now: SENT })).toEqual({
      valid: false,
      reason: 'mismatch',
    });
    // Nor does the master secret itself verify what a receiver is sent.
    expect(verifyWebhookSignature(SECRET, forA, BODY, { now: SENT }).valid).toBe(false);
  });
});
