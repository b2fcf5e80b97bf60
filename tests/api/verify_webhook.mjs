// The `verifyInnbocksWebhook` function of the public Partner API overview ("Webhook
// Verification"), copied verbatim below this comment: the tests run the very code partners were
// told to use. Do not edit it; if it disagrees with the server, the server is wrong. Its flaws
// (only the first v1= part; throws on another length; no tolerance) are why
// examples/webhooks/ ships corrected verifiers (docs/webhooks.md#verifying-a-delivery).
import crypto from "crypto";

export function verifyInnbocksWebhook(rawBody, timestamp, signatureHeader, secret) {
  const expected = crypto
    .createHmac("sha256", secret)
    .update(timestamp + "." + rawBody)
    .digest("hex");

  const received = signatureHeader
    ?.split(",")
    .map((part) => part.trim())
    .find((part) => part.startsWith("v1="))
    ?.slice(3);

  return Boolean(received) &&
    crypto.timingSafeEqual(Buffer.from(received), Buffer.from(expected));
}
