// The dashboard's delivery log of a webhook endpoint through its JSON API, without a browser (the
// page itself: dashboard_webhooks.test.mjs): a developer resends an event and every delivery that
// failed for good since a time; viewers read the log but cannot resend; other partners see
// nothing; bad input is refused; the log keeps the first 4 KiB of an answer as text. It runs in
// every stage of the suite, the sanitizer build's and PostgreSQL's included.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, assertError, createCustomer, sleep, TIME } from './lib.mjs';
import { WEBHOOK_ENV, receiver, closeReceivers, waitForLog } from './webhook_lib.mjs';
import { dashUser } from './dashboard_lib.mjs';

let srv, partner, key, rcv, dev, endpointId, eventId, failedId;

before(async () => {
  // One retry a second after the first attempt: a failing receiver fails for good quickly.
  srv = await startServer({ env: { ...WEBHOOK_ENV, INNBOCKS_WEBHOOK_RETRY_SCHEDULE: '1', INNBOCKS_SIGNIN_ADDRESS_BURST: 10000 } });
  partner = await srv.createPartner({ name: 'Delivery Cowork' });
  key = await srv.createKey(partner.id);
  rcv = await receiver(200, 200, { status: 500, body: 'receiver down' }, { status: 500, body: 'receiver down' }, 200);
  dev = await dashUser(srv, 'developer', partner);
  const ep = await dev.dash.post('/webhook-endpoints', { url: rcv.url, enabled_events: ['customer.created'] });
  assert.equal(ep.status, 201, ep.text);
  endpointId = ep.body.id;
});
after(async () => { await closeReceivers(); await srv?.stop(); });

test('Resend and "Resend failed since…": the same event again, then every delivery that failed for good', async () => {
  const api = srv.api(key.secret);
  await createCustomer(api);
  await rcv.waitFor(1);
  eventId = rcv.deliveries[0].eventId;
  const again = await dev.dash.post(`/webhook-endpoints/${endpointId}/resend`, { event_id: eventId });
  assert.equal(again.status, 202, again.text);
  await rcv.waitFor(2);
  assert.equal(rcv.deliveries[1].eventId, eventId, 'the same Innbocks-Event-Id');

  await createCustomer(api);
  await rcv.waitFor(4); // the first attempt and its one retry, both refused
  failedId = rcv.deliveries[2].eventId;
  assert.equal(rcv.deliveries[3].eventId, failedId);
  await waitForLog(api, { event_id: failedId }, (l) => l.length === 2 && l.every((d) => d.status === 'failed'),
    'both attempts failed in the log');
  const since = new Date(Date.now() - 3600e3).toISOString();
  const resent = await dev.dash.post(`/webhook-endpoints/${endpointId}/resend-failed`, { since });
  assert.equal(resent.status, 202, resent.text);
  assert.equal(resent.body.resent, 1, 'the failed event, not the delivered one');
  await rcv.waitFor(5);
  assert.equal(rcv.deliveries[4].eventId, failedId, 'the failed event, with its own id');
  assert.equal(rcv.of(eventId).length, 2, 'the succeeded one is not sent again');
});

test('viewers read the log but cannot resend, other partners see nothing, bad input is refused', async () => {
  assert.ok(failedId, 'the first test made the deliveries');
  const viewer = await dashUser(srv, 'viewer', partner);
  const log = await viewer.dash.get(`/webhook-endpoints/${endpointId}/deliveries?limit=2`);
  assert.equal(log.status, 200, log.text);
  assert.equal(log.body.data.length, 2);
  assert.equal(log.body.has_more, true);
  const d = log.body.data[0];
  assert.equal(d.object, 'webhook_delivery');
  assert.equal(d.endpoint_id, endpointId);
  assert.match(d.attempted_at, TIME);
  assert.equal(d.request_body, undefined, 'the list leaves the bodies out');
  const older = await viewer.dash.get(`/webhook-endpoints/${endpointId}/deliveries?limit=100&starting_after=${d.id}`);
  assert.ok(older.body.data.length >= 3 && !older.body.data.some((x) => x.id === d.id), older.text);
  const failed = await viewer.dash.get(`/webhook-endpoints/${endpointId}/deliveries?status=failed`);
  assert.ok(failed.body.data.length >= 2 && failed.body.data.every((x) => x.status === 'failed'));
  const one = await viewer.dash.get(`/webhook-endpoints/${endpointId}/deliveries/${d.id}`);
  assert.equal(one.status, 200, one.text);
  assert.equal(typeof one.body.request_body, 'string');
  assert.equal(JSON.parse(one.body.request_body).id, d.event_id);
  assertError(await viewer.dash.get(`/webhook-endpoints/${endpointId}/deliveries/whd_nope`), 404, 'not_found');
  assertError(await viewer.dash.get(`/webhook-endpoints/we_nope/deliveries/${d.id}`), 404, 'not_found');
  assertError(await viewer.dash.post(`/webhook-endpoints/${endpointId}/resend`, { event_id: eventId }), 403, 'insufficient_role');
  assertError(await viewer.dash.post(`/webhook-endpoints/${endpointId}/resend-failed`, { since: '2020-01-01T00:00:00Z' }), 403, 'insufficient_role');

  assertError(await dev.dash.post(`/webhook-endpoints/${endpointId}/resend`, { event_id: 'evt_nope' }), 404, 'not_found', 'event_id');
  assertError(await dev.dash.post(`/webhook-endpoints/${endpointId}/resend`, {}), 422, 'validation_failed', 'event_id');
  assertError(await dev.dash.post(`/webhook-endpoints/${endpointId}/resend-failed`, { since: 'yesterday' }), 422, 'validation_failed', 'since');
  assertError(await dev.dash.post(`/webhook-endpoints/${endpointId}/resend-failed`, { since: '2020-01-01T00:00:00Z', until: 'now' }), 400, 'unknown_parameter', 'until');
  assertError(await dev.dash.post('/webhook-endpoints/we_nope/resend-failed', { since: '2020-01-01T00:00:00Z' }), 404, 'not_found');
  const none = await dev.dash.post(`/webhook-endpoints/${endpointId}/resend-failed`, { since: new Date(Date.now() + 3600e3).toISOString() });
  assert.equal(none.status, 202, none.text);
  assert.equal(none.body.resent, 0);

  const other = await dashUser(srv, 'owner');
  assertError(await other.dash.get(`/webhook-endpoints/${endpointId}/deliveries`), 404, 'not_found');
  assertError(await other.dash.get(`/webhook-endpoints/${endpointId}/deliveries/${d.id}`), 404, 'not_found');
  assertError(await other.dash.post(`/webhook-endpoints/${endpointId}/resend`, { event_id: eventId }), 404, 'not_found');
  // Another partner's event cannot be sent to this endpoint.
  const otherKey = await srv.createKey(other.partner.id);
  await createCustomer(srv.api(otherKey.secret));
  const theirs = (await srv.events(other.partner.id, 'customer.created'))[0];
  assertError(await dev.dash.post(`/webhook-endpoints/${endpointId}/resend`, { event_id: theirs.id }), 404, 'not_found', 'event_id');

  // The resends are in the audit log, with the endpoint they acted on.
  const owner = await dashUser(srv, 'owner', partner);
  const audit = await owner.dash.get('/audit-log?limit=100');
  assert.equal(audit.status, 200, audit.text);
  const resends = audit.body.data.filter((a) => /resend/.test(JSON.stringify(a)));
  assert.ok(resends.length >= 3, JSON.stringify(audit.body.data.slice(0, 5)));
  assert.ok(resends.every((a) => JSON.stringify(a).includes(endpointId)));
});

test('the log keeps the first 4 KiB of an answer, as text even when the receiver sends other bytes', async () => {
  assert.ok(endpointId, 'the set-up made an endpoint');
  const bytes = Buffer.concat([Buffer.from('ok'), Buffer.from([0, 0xff, 0xc3]), Buffer.alloc(6000, 'y')]);
  const other = await receiver({ status: 202, headers: { 'content-type': 'application/octet-stream' }, body: bytes });
  const ep = await dev.dash.post('/webhook-endpoints', { url: other.url, mode: 'live', enabled_events: ['customer.created'] });
  assert.equal(ep.status, 201, ep.text);
  await createCustomer(srv.api(key.secret));
  await other.waitFor(1);
  let log;
  for (let i = 0; i < 100; i++) {
    log = await dev.dash.get(`/webhook-endpoints/${ep.body.id}/deliveries`);
    if (log.body.data.length) break;
    await sleep(50);
  }
  assert.equal(log.body.data.length, 1, log.text);
  assert.equal(log.body.data[0].response_status, 202);
  const one = await dev.dash.get(`/webhook-endpoints/${ep.body.id}/deliveries/${log.body.data[0].id}`);
  assert.equal(one.status, 200, one.text);
  assert.equal(one.body.response_body, `ok???${'y'.repeat(4096 - 5)}`);
  assert.equal(one.body.request_body, other.deliveries[0].body.toString('utf8'), 'the bytes sent, exactly');
  // The first endpoint's log does not show it.
  const firstLog = await dev.dash.get(`/webhook-endpoints/${endpointId}/deliveries?limit=100`);
  assert.ok(firstLog.body.data.every((d) => d.endpoint_id === endpointId));
  // A cursor must be a delivery of this endpoint's log, not any delivery of the partner.
  const theirs = log.body.data[0].id;
  for (const cursor of ['starting_after', 'ending_before']) {
    assertError(await dev.dash.get(`/webhook-endpoints/${endpointId}/deliveries?${cursor}=${theirs}`),
      400, 'invalid_request', cursor);
    const own = await dev.dash.get(`/webhook-endpoints/${ep.body.id}/deliveries?${cursor}=${theirs}`);
    assert.equal(own.status, 200, own.text);
    assert.deepEqual(own.body.data, [], 'nothing before or after the only delivery');
  }
});
