// Covers the durability of webhook delivery (docs/webhooks.md#delivery "at least once", the
// graceful stop of docs/operators.md#running-the-server): the server is killed with SIGKILL with
// deliveries due for a retry,
// right after the events were written, and with an attempt in flight to a hanging receiver; or
// stopped with SIGTERM during such an attempt. After a restart on the same database every event is
// delivered (duplicates allowed, always with the same Innbocks-Event-Id and body). A graceful stop
// ends the worker between attempts: one in flight runs to its answer and is logged, once; one
// still running after the stop's 10 s of grace is cut off, unlogged.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createCustomer, ok, sleep } from './lib.mjs';
import {
  WEBHOOK_ENV, receiver, closeReceivers, createEndpoint, waitForLog, assertSigned, assertAllSigned,
  assertDeliveryHeaders,
} from './webhook_lib.mjs';

let srv;

before(async () => {
  srv = await startServer({ env: WEBHOOK_ENV });
});
after(async () => {
  await srv?.stop();
  await closeReceivers();
});

/** The ids of the partner's events of a type, oldest first. */
async function eventIds(partnerId, type) {
  return (await srv.events(partnerId, type)).map((e) => e.id).reverse();
}

/**
 * Asserts that each event reached the receiver with a 2xx answer after the restart, that the log
 * shows a succeeded attempt for it, and that every copy of an event carries the same body.
 */
async function assertDeliveredAfterRestart(api, rcv, ids, what) {
  // A lease taken before the kill lasts timeout + 5 s; allow for it.
  await rcv.until((r) => ids.every((id) => r.answered2xx().some((d) => d.eventId === id)),
    `2xx-answered delivery of every event ${what}`, 20000);
  await waitForLog(api, {}, (l) => ids.every((id) => l.some((d) => d.event_id === id && d.status === 'succeeded')),
    `a succeeded attempt in the log for every event ${what}`, 10000);
  for (const id of ids) {
    const copies = rcv.of(id);
    for (const d of copies) {
      assertDeliveryHeaders(d);
      assert.deepEqual(d.json, copies[0].json, `every copy of ${id} carries the same event`);
      assertSigned(d);
    }
  }
}

test('kill -9 with retries due: the events are delivered after the restart', async () => {
  const t = await srv.tenant();
  const rcv = await receiver(500);
  await createEndpoint(srv, t.partner.id, rcv);
  for (let i = 0; i < 3; i++) await createCustomer(t.api);
  const ids = await eventIds(t.partner.id, 'customer.created');
  assert.equal(ids.length, 3);
  await rcv.waitForEvents(ids); // each attempted once and answered 500: retries are due
  await srv.kill9();
  rcv.script(200);
  await srv.restart();
  await assertDeliveredAfterRestart(t.api, rcv, ids, 'after kill -9 with retries due');
});

test('kill -9 right after the events were written: they are delivered after the restart', async (ctx) => {
  const t = await srv.tenant();
  const rcv = await receiver(200);
  await createEndpoint(srv, t.partner.id, rcv);
  const created = [];
  for (let i = 0; i < 5; i++) created.push(await createCustomer(t.api));
  await srv.kill9(); // at once: most deliveries are not even attempted yet
  ctx.diagnostic(`${rcv.deliveries.length} of 5 events had reached the receiver before the kill`);
  await srv.restart();
  const ids = await eventIds(t.partner.id, 'customer.created');
  assert.equal(ids.length, 5, 'every acknowledged create kept its event');
  await assertDeliveredAfterRestart(t.api, rcv, ids, 'after kill -9 right after the writes');
  const delivered = new Set(rcv.deliveries.map((d) => d.json.data.object.id));
  for (const c of created) assert.ok(delivered.has(c.id), `customer.created of ${c.id} delivered`);
});

test('kill -9 during an attempt in flight: the event is delivered after the restart', async () => {
  const t = await srv.tenant();
  const rcv = await receiver('hang', 200);
  await createEndpoint(srv, t.partner.id, rcv);
  await createCustomer(t.api);
  const [id] = await eventIds(t.partner.id, 'customer.created');
  await rcv.waitFor(1); // the attempt is in flight: the receiver holds the request
  assert.equal(rcv.deliveries[0].action, 'hang');
  await srv.kill9();
  await srv.restart();
  await assertDeliveredAfterRestart(t.api, rcv, [id], 'after kill -9 during an attempt');
});

test('SIGTERM during an attempt to a hanging receiver: exit 0 well within the 10 s grace, delivered after the restart', async () => {
  const t = await srv.tenant();
  const rcv = await receiver('hang', 200);
  await createEndpoint(srv, t.partner.id, rcv);
  await createCustomer(t.api);
  const [id] = await eventIds(t.partner.id, 'customer.created');
  await rcv.waitFor(1);
  const started = Date.now();
  await srv.stop({ keep: true }); // asserts exit code 0 and no sanitizer report
  const took = Date.now() - started;
  assert.ok(took < 8000, `graceful stop took ${took} ms with an attempt in flight`);
  await srv.restart();
  await assertDeliveredAfterRestart(t.api, rcv, [id], 'after SIGTERM during an attempt');
  ok(await t.api.get('/webhook-deliveries'));
});

test('SIGTERM during an attempt the receiver answers 600 ms later: the attempt ends, is logged, and is not made again', async () => {
  const t = await srv.tenant();
  const rcv = await receiver({ status: 200, delay: 600 });
  await createEndpoint(srv, t.partner.id, rcv);
  await createCustomer(t.api);
  const [id] = await eventIds(t.partner.id, 'customer.created');
  await rcv.waitFor(1);
  await srv.stop({ keep: true }); // the worker stops between attempts, after this one
  assert.ok(rcv.of(id)[0].answeredAt, 'the receiver answered the attempt in flight');
  await srv.restart();
  await waitForLog(t.api, {}, (l) => l.some((d) => d.event_id === id && d.status === 'succeeded'),
    'the attempt in flight at the stop, logged as succeeded');
  await sleep(1500); // a retry (1 s schedule) or a redelivery would have come by now
  assert.equal(rcv.of(id).length, 1, 'delivered once');
});

test('SIGTERM while an attempt hangs past the stop\'s 10 s of grace (a 30 s attempt timeout): the stop ends with the grace, the attempt unlogged', async () => {
  const other = await startServer({ env: { ...WEBHOOK_ENV, INNBOCKS_WEBHOOK_TIMEOUT_MS: '30000' } });
  try {
    const t = await other.tenant();
    const rcv = await receiver('hang');
    await createEndpoint(other, t.partner.id, rcv);
    await createCustomer(t.api);
    await rcv.waitFor(1);
    const started = Date.now();
    await other.stop({ keep: true });
    const took = Date.now() - started;
    // It waited for the attempt (the grace), and not for its 30 s timeout.
    assert.ok(took >= 9000 && took < 20000, `the stop took ${took} ms`);
    await other.restart();
    assert.deepEqual(ok(await t.api.get('/webhook-deliveries')).data, [], 'the attempt cut off is not logged');
  } finally {
    await other.stop();
  }
});

test('verifyInnbocksWebhook accepts every delivery received in this file', () => {
  assert.ok(assertAllSigned() >= 10);
});
