import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhookSignature } from './webhook-signature.js';

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
});
