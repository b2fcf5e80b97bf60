// verify_webhook.mjs - checks the signature of an Innbocks webhook delivery (Node 18+, no
// dependencies). See docs/webhooks.md, "Verifying a delivery".
//
//   import { verifyInnbocksWebhook } from './verify_webhook.mjs';
//   verifyInnbocksWebhook(rawBody, req.headers['innbocks-timestamp'],
//                         req.headers['innbocks-signature'], process.env.INNBOCKS_WEBHOOK_SECRET);
//
// rawBody must be the bytes as received (a Buffer or a string), before any JSON parsing.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const DEFAULT_TOLERANCE_SECONDS = 300;

/**
 * Returns true when one of the `v1=` signatures of signatureHeader is the HMAC-SHA256 of
 * `timestamp + "." + rawBody` under secret, and the timestamp lies within toleranceSeconds of
 * now (in either direction). Never throws on malformed input: it returns false.
 * `now` (unix seconds) is for tests; it defaults to the clock.
 */
export function verifyInnbocksWebhook(rawBody, timestamp, signatureHeader, secret,
  { toleranceSeconds = DEFAULT_TOLERANCE_SECONDS, now = Date.now() / 1000 } = {}) {
  if (typeof timestamp !== 'string' || !/^\d{1,15}$/.test(timestamp)) return false;
  if (typeof signatureHeader !== 'string' || typeof secret !== 'string' || secret === '') return false;
  if (rawBody === undefined || rawBody === null) return false;
  if (Math.abs(now - Number(timestamp)) > toleranceSeconds) return false;

  const expected = Buffer.from(createHmac('sha256', secret)
    .update(`${timestamp}.`).update(rawBody).digest('hex'));
  // During a secret rotation the header carries one v1= part per secret: accept any of them.
  let valid = false;
  for (const part of signatureHeader.split(',')) {
    const item = part.trim();
    if (!item.startsWith('v1=')) continue;
    const received = Buffer.from(item.slice(3));
    // timingSafeEqual throws on buffers of different lengths; a length says nothing secret.
    if (received.length === expected.length && timingSafeEqual(received, expected)) valid = true;
  }
  return valid;
}
