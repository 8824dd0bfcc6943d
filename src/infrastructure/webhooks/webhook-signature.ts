import { createHmac, timingSafeEqual } from 'node:crypto';

/** Domain separation of the per-URL secrets; a new scheme gets a new label. */
const SECRET_LABEL = 'tokenwarden-webhook-v1\n';

/**
 * The signing secret of one receiver URL, derived from `TOKENWARDEN_WEBHOOK_SECRET`:
 * base64url(HMAC-SHA256(master, "tokenwarden-webhook-v1\n" + url)), `url` exactly as
 * configured (normalised by `new URL(…).href`). Each receiver holds only its own, so
 * what one receiver is sent does not verify at another, and a receiver's secret does
 * not let it sign for any other. `tokenwarden webhooks secret <url>` prints it.
 *
 * @example
 * deriveWebhookSecret(process.env.TOKENWARDEN_WEBHOOK_SECRET, 'https://hooks.example.com/tw'); // 'q3Jx…'
 */
export function deriveWebhookSecret(masterSecret: string, url: string): string {
  return createHmac('sha256', masterSecret).update(`${SECRET_LABEL}${url}`, 'utf8').digest('base64url');
}

/**
 * The `X-Tokenwarden-Signature` value for a body sent at `timestamp`:
 * `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. The timestamp is
 * inside the MAC, so a receiver that rejects old timestamps rejects replays. The
 * relay signs with the receiving URL's {@link deriveWebhookSecret}, never the master.
 *
 * @example
 * signWebhook('s3cret', '{"id":"…"}', new Date()); // 't=1767225600,v1=5f0c…'
 */
export function signWebhook(secret: string, body: string, timestamp: Date): string {
  const t = Math.floor(timestamp.getTime() / 1000);
  return `t=${t},v1=${hmac(secret, `${t}.${body}`)}`;
}

export type SignatureCheck =
  | { readonly valid: true; readonly timestamp: Date }
  | { readonly valid: false; readonly reason: 'malformed' | 'mismatch' | 'too_old' | 'in_future' };

/**
 * Checks a signature header against the raw body (the exact bytes received, not a
 * re-serialised object), in constant time, and that its timestamp lies within
 * `toleranceSeconds` (default 300) of `now`. `secret` is the receiver's own
 * (derived) secret: a delivery meant for another URL is a `mismatch`.
 *
 * @example
 * const check = verifyWebhookSignature(secret, req.headers['x-tokenwarden-signature'], rawBody);
 * if (!check.valid) return res.writeHead(401).end();
 */
export function verifyWebhookSignature(
  secret: string,
  header: string | undefined,
  body: string,
  options: { readonly now?: Date; readonly toleranceSeconds?: number } = {},
): SignatureCheck {
  const parts = new Map<string, string[]>();
  for (const item of (header ?? '').split(',')) {
    const eq = item.indexOf('=');
    if (eq <= 0) continue;
    const key = item.slice(0, eq).trim();
    parts.set(key, [...(parts.get(key) ?? []), item.slice(eq + 1).trim()]);
  }
  const t = parts.get('t')?.[0];
  const signatures = parts.get('v1') ?? [];
  if (t === undefined || !/^\d{1,12}$/.test(t) || signatures.length === 0) {
    return { valid: false, reason: 'malformed' };
  }
  const expected = Buffer.from(hmac(secret, `${t}.${body}`), 'hex');
  // Several v1 values are allowed, so a sender can sign with an old and a new secret while rotating.
  const matches = signatures.some((candidate) => {
    if (!/^[0-9a-f]{64}$/.test(candidate)) return false;
    return timingSafeEqual(Buffer.from(candidate, 'hex'), expected);
  });
  if (!matches) return { valid: false, reason: 'mismatch' };
  const tolerance = options.toleranceSeconds ?? 300;
  const ageSeconds = ((options.now ?? new Date()).getTime() - Number(t) * 1000) / 1000;
  if (ageSeconds > tolerance) return { valid: false, reason: 'too_old' };
  if (ageSeconds < -tolerance) return { valid: false, reason: 'in_future' };
  return { valid: true, timestamp: new Date(Number(t) * 1000) };
}

function hmac(secret: string, data: string): string {
  return createHmac('sha256', secret).update(data, 'utf8').digest('hex');
}
