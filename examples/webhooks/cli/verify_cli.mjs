// verify_cli.mjs - runs ../verify_webhook.mjs on test cases: reads a JSON array of
// {body_b64, timestamp, signature, secret, tolerance?, now?} on stdin and prints a JSON array
// of the results (true / false, or "error: ..." when the verifier threw). Used by
// tests/api/webhook_verifiers.test.mjs.
import { verifyInnbocksWebhook } from '../verify_webhook.mjs';

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const cases = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const results = cases.map((c) => {
  const opts = {};
  if (c.tolerance !== undefined && c.tolerance !== null) opts.toleranceSeconds = c.tolerance;
  if (c.now !== undefined && c.now !== null) opts.now = c.now;
  try {
    return verifyInnbocksWebhook(Buffer.from(c.body_b64, 'base64'), c.timestamp ?? undefined,
      c.signature ?? undefined, c.secret, opts);
  } catch (e) {
    return `error: ${e.message}`;
  }
});
process.stdout.write(`${JSON.stringify(results)}\n`);
