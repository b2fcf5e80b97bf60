// receiver.mjs - a minimal Innbocks webhook receiver with Node's http module only.
//
//   INNBOCKS_WEBHOOK_SECRET=whsec_... PORT=8000 node examples/webhooks/receiver.mjs
//
// It reads the raw body, verifies the signature (verify_webhook.mjs), answers 400 to anything
// that does not verify, drops duplicates by Innbocks-Event-Id, and answers 200 quickly: do the
// real work after answering, a delivery that takes longer than 10 s counts as failed.
// Prints "listening on http://HOST:PORT" once ready and one line per event.
import http from 'node:http';
import { verifyInnbocksWebhook } from './verify_webhook.mjs';

const secret = process.env.INNBOCKS_WEBHOOK_SECRET;
if (!secret) {
  console.error('set INNBOCKS_WEBHOOK_SECRET to the endpoint secret (whsec_...)');
  process.exit(2);
}
const host = process.env.HOST || '127.0.0.1';
const port = Number(process.env.PORT || 8000);
const seen = new Set(); // event ids already handled; use your database in production

const server = http.createServer((req, res) => {
  if (req.method !== 'POST') {
    res.writeHead(405, { allow: 'POST' }).end();
    return;
  }
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size > 1024 * 1024) req.destroy(); // events are small; refuse anything huge
    else chunks.push(chunk);
  });
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const ok = verifyInnbocksWebhook(body, req.headers['innbocks-timestamp'],
      req.headers['innbocks-signature'], secret);
    if (!ok) {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"bad signature"}');
      return;
    }
    const event = JSON.parse(body.toString('utf8'));
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    if (seen.has(event.id)) return; // a retry of an event already handled
    seen.add(event.id);
    console.log(`${event.type} ${event.id} ${event.data.object.id ?? ''}`);
  });
});

server.listen(port, host, () => {
  console.log(`listening on http://${host}:${server.address().port}`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)));
