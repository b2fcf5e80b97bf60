// Covers webhook delivery against hostile or broken receivers: a partner whose endpoint hangs
// with many events queued holds only its share of the delivery worker, so another partner's
// event still arrives within seconds, not after the hanging attempts' 8 s; and an answer that never ends is read only up to
// 64 KiB, so the attempt ends at once with the status the receiver sent instead of running
// into the timeout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createCustomer } from '../api/lib.mjs';
import {
  WEBHOOK_ENV, receiver, closeReceivers, createEndpoint, waitForLog,
} from '../api/webhook_lib.mjs';

let srv;
before(async () => {
  srv = await startServer({ env: { ...WEBHOOK_ENV, INNBOCKS_WEBHOOK_TIMEOUT_MS: '8000' } });
});
after(async () => {
  await closeReceivers();
  await srv?.stop();
});

test('a hanging endpoint with 150 events queued does not delay another partner\'s delivery', async () => {
  const slow = await srv.tenant();
  const hang = await receiver('hang');
  await createEndpoint(srv, slow.partner.id, hang);
  await Promise.all(Array.from({ length: 150 }, () => createCustomer(slow.api)));
  // The worker has leased what it may of the hanging endpoint's queue.
  await hang.waitFor(2, 5000);
  const healthy = await srv.tenant();
  const fine = await receiver(200);
  await createEndpoint(srv, healthy.partner.id, fine);
  const t0 = Date.now();
  await createCustomer(healthy.api);
  await fine.waitFor(1, 5000);
  const took = Date.now() - t0;
  assert.ok(took <= 5000, `the healthy partner's event took ${took} ms`);
  // The hanging endpoint got only a few attempts at once, not the whole worker: those that
  // came before the first could time out (on a slow machine, retries may follow).
  const atOnce = hang.deliveries.filter((d) => d.at - hang.deliveries[0].at < 8000).length;
  assert.ok(atOnce <= 8, `${atOnce} attempts hang at once`);
});

test('an answer that never ends is cut after 64 KiB: the attempt succeeds at once with its status', async (t) => {
  const tn = await srv.tenant();
  const flood = await receiver('flood');
  await createEndpoint(srv, tn.partner.id, flood);
  const started = Date.now();
  await createCustomer(tn.api);
  const log = await waitForLog(tn.api, {}, (l) => l.length >= 1, 'the flooded attempt', 6000);
  t.diagnostic(`attempt took ${log[0].duration_ms} ms, seen after ${Date.now() - started} ms`);
  assert.equal(log[0].status, 'succeeded');
  assert.equal(log[0].response_status, 200);
  assert.equal(log[0].error, null);
  assert.ok(log[0].duration_ms < 4000, `the attempt took ${log[0].duration_ms} ms`);
});
