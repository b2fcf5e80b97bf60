// Covers durability (docs/api.md#idempotency, docs/operators.md#running-the-server): a stream of idempotent creates from several
// clients while the server is killed with SIGKILL at a random moment, three times over. After each
// restart on the same database every create that was answered 201 exists, replaying its key
// returns the same customer, no request created two customers, no event is missing or doubled,
// and mailbox numbers stay unique and keep increasing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, customerBody, ok, listAll, uniq, sleep, createCustomer,
} from './lib.mjs';

let srv;
let t;

before(async () => {
  srv = await startServer();
  t = await srv.tenant();
});
after(() => srv?.stop());

/**
 * Sends creates from `workers` parallel clients until `stop()` returns true. Returns
 * {acked: [{key, body, id}], attempted: [{key, body}], unexpected: [responses that were not 201]}.
 */
function stream(api, workers, stop) {
  const out = { acked: [], attempted: [], unexpected: [] };
  const one = async () => {
    while (!stop()) {
      const key = uniq('crash-');
      const body = customerBody();
      out.attempted.push({ key, body });
      try {
        const r = await api.post('/customers', body, { idem: key, timeout: 10000 });
        if (r.status === 201) out.acked.push({ key, body, id: r.body.id });
        else out.unexpected.push(r);
      } catch {
        // The connection died with the server: the outcome of this request is unknown.
      }
    }
  };
  out.done = Promise.all(Array.from({ length: workers }, one));
  return out;
}

test('kill -9 during a stream of idempotent creates loses no acknowledged create', async (ctx) => {
  const everything = []; // every attempted request over all rounds
  const acknowledged = [];
  for (let round = 0; round < 3; round++) {
    let stopped = false;
    const s = stream(t.api, 4, () => stopped);
    const deadline = Date.now() + 20000;
    while (s.acked.length < 10 + round * 5 && Date.now() < deadline) await sleep(5);
    assert.ok(s.acked.length >= 10, `only ${s.acked.length} creates were acknowledged in 20 s`);
    await sleep(Math.floor(Math.random() * 150));
    stopped = true; // no new requests; the ones in flight die with the server
    await srv.kill9();
    await s.done;
    assert.deepEqual(s.unexpected.map((r) => `${r.status} ${r.text}`), [], 'every answered create was a 201');
    everything.push(...s.attempted);
    acknowledged.push(...s.acked);
    ctx.diagnostic(`round ${round}: ${s.acked.length} acknowledged, ${s.attempted.length - s.acked.length} cut off by the kill`);
    await srv.restart();

    for (const a of acknowledged) {
      const got = await t.api.get(`/customers/${a.id}`);
      assert.equal(got.status, 200, `acknowledged customer ${a.id} is gone after kill -9 (round ${round})`);
      assert.equal(got.body.email, a.body.email);
      const replay = await t.api.post('/customers', a.body, { idem: a.key });
      assert.equal(replay.status, 201, replay.text);
      assert.equal(replay.headers.get('idempotent-replayed'), 'true', `replay of ${a.key} after restart`);
      assert.equal(replay.body.id, a.id);
    }
  }

  // Requests whose answer was lost: a retry either replays or runs now; never both.
  for (const r of everything) {
    const retry = await t.api.post('/customers', r.body, { idem: r.key });
    assert.equal(retry.status, 201, retry.text);
  }
  const customers = await listAll(t.api, '/customers');
  const byEmail = new Map();
  for (const c of customers) byEmail.set(c.email, (byEmail.get(c.email) ?? 0) + 1);
  for (const r of everything) assert.equal(byEmail.get(r.body.email), 1, `${r.body.email} must exist exactly once`);
  assert.equal(customers.length, everything.length);

  // Events were written with their changes: one customer.created per customer.
  const created = await srv.events(t.partner.id, 'customer.created');
  assert.deepEqual(created.map((e) => e.data.object.id).sort(), customers.map((c) => c.id).sort());

  // Mailbox numbers are unique and a new customer gets a number above all of them.
  const numbers = [];
  for (const c of customers) numbers.push(Number(ok(await t.api.get(`/customers/${c.id}/mailbox`)).number));
  assert.equal(new Set(numbers).size, numbers.length, 'mailbox numbers are unique');
  const fresh = await createCustomer(t.api);
  const freshNumber = Number(ok(await t.api.get(`/customers/${fresh.id}/mailbox`)).number);
  assert.ok(freshNumber > Math.max(...numbers), `new number ${freshNumber} must exceed all earlier ones`);
});
