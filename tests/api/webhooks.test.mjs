// Covers webhooks (docs/webhooks.md, docs/operators.md#webhook-endpoints and #settings) with real receivers on
// 127.0.0.1: the event catalogue, endpoint management, every documented state change delivered
// with the object as GET returns it and a signature the overview's verifyInnbocksWebhook accepts,
// the delivery log (shape, filters, paging, tenancy), retries (500, 500, 200; a dead receiver gets
// 8 attempts), timeouts, answers whose body stalls or is cut, refused connections, redirects not
// followed, 410 disabling, secret rotation, event-type filters, several endpoints and disabled
// endpoints.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, ok, assertError, createCustomer, assertRecentTime, closedPort, sleep, qs, ALL_SCOPES, TIME,
  customerBody,
} from './lib.mjs';
import { eligibleCustomer, createMail, requestAction, completeAction, failAction } from './mail_lib.mjs';
import {
  WEBHOOK_ENV, EVENT_TYPES, ENDPOINT_KEYS, EVENT_KEYS, receiver, closeReceivers, createEndpoint,
  patchEndpoint, deliveryLog, waitForLog, newestEvent, hmacHex, assertDeliveryShape,
  assertDeliveryHeaders, assertSigned, assertAllSigned,
} from './webhook_lib.mjs';
import { verifyInnbocksWebhook } from './verify_webhook.mjs';
import { dashUser } from './dashboard_lib.mjs';

let srv;

before(async () => {
  srv = await startServer({ env: WEBHOOK_ENV });
});
after(async () => {
  await srv?.stop();
  await closeReceivers();
});

const seconds = (t) => Date.parse(t) / 1000;

test('GET /webhook-events lists exactly the 13 event types of docs/webhooks.md#events, each with a description', async () => {
  const t = await srv.tenant(['webhooks:read']);
  const r = await t.api.get('/webhook-events');
  const body = ok(r);
  assert.equal(body.object, 'list');
  assert.equal(body.has_more, false);
  assert.deepEqual(body.data.map((e) => e.type).sort(), [...EVENT_TYPES].sort());
  for (const e of body.data) {
    assert.deepEqual(Object.keys(e).sort(), ['description', 'object', 'type']);
    assert.equal(e.object, 'webhook_event_type');
    assert.ok(typeof e.description === 'string' && e.description.length > 0, JSON.stringify(e));
  }

  // Both webhook routes need webhooks:read.
  const other = await srv.tenant(ALL_SCOPES.filter((s) => s !== 'webhooks:read'));
  for (const p of ['/webhook-events', '/webhook-deliveries']) {
    const e = assertError(await other.api.get(p), 403, 'insufficient_scope');
    assert.match(e.message, /webhooks:read/);
  }
});

test('GET /webhook-events pages like every list: limit, starting_after and ending_before take a type', async () => {
  const t = await srv.tenant(['webhooks:read']);
  const all = ok(await t.api.get('/webhook-events')).data.map((e) => e.type);
  assert.equal(all.length, EVENT_TYPES.length);

  const forward = [];
  let after;
  for (let i = 0; i < 10; i++) {
    const r = ok(await t.api.get(`/webhook-events${qs({ limit: 5, starting_after: after })}`));
    assert.ok(r.data.length >= 1 && r.data.length <= 5);
    forward.push(...r.data.map((e) => e.type));
    assert.equal(r.has_more, forward.length < all.length, `has_more after ${forward.length}`);
    if (!r.has_more) break;
    after = r.data.at(-1).type;
  }
  assert.deepEqual(forward, all, 'forward pages follow the unpaged order');

  const backward = [];
  let before = all.at(-1);
  for (let i = 0; i < 10; i++) {
    const r = ok(await t.api.get(`/webhook-events${qs({ limit: 5, ending_before: before })}`));
    backward.unshift(...r.data.map((e) => e.type));
    assert.equal(r.has_more, backward.length < all.length - 1, `has_more after ${backward.length}`);
    if (!r.has_more) break;
    before = r.data[0].type;
  }
  assert.deepEqual(backward, all.slice(0, -1), 'backward pages end where the forward ones start');

  assert.deepEqual(ok(await t.api.get(`/webhook-events${qs({ starting_after: all.at(-1) })}`)).data, []);
  assert.equal(ok(await t.api.get('/webhook-events?limit=100')).has_more, false);
  assertError(await t.api.get('/webhook-events?limit=0'), 400, 'invalid_request', 'limit');
  assertError(await t.api.get('/webhook-events?starting_after=customer.bogus'), 400, 'invalid_request', 'starting_after');
  assertError(await t.api.get('/webhook-events?ending_before=customer.bogus'), 400, 'invalid_request', 'ending_before');
  assertError(await t.api.get('/webhook-events?bogus=1'), 400, 'unknown_parameter', 'bogus');
});

test('operator endpoints: create shows the secret once; list and get hide it; update and rotate', async () => {
  // This partner never has events: nothing is ever delivered to these URLs.
  const partner = await srv.createPartner();
  const admin = srv.admin();
  const url = 'https://crm.example.com/hooks/innbocks';
  const created = ok(await admin.post(`/partners/${partner.id}/webhook-endpoints`, { url }), 201);
  assert.deepEqual(Object.keys(created).sort(), [...ENDPOINT_KEYS, 'secret'].sort());
  assert.match(created.id, /^we_[A-Za-z0-9]+$/);
  assert.equal(created.object, 'webhook_endpoint');
  assert.equal(created.partner_id, partner.id);
  assert.equal(created.url, url);
  assert.deepEqual(created.enabled_events, ['*']);
  assert.equal(created.status, 'enabled');
  assert.match(created.secret, /^whsec_[A-Za-z0-9]{24,}$/);
  assertRecentTime(created.created_at);
  assertRecentTime(created.updated_at);

  const second = ok(await admin.post(`/partners/${partner.id}/webhook-endpoints`,
    { url: 'https://crm.example.com/hooks/other', enabled_events: ['package.arrived', 'mail.arrived'] }), 201);
  assert.deepEqual(second.enabled_events, ['package.arrived', 'mail.arrived']);
  assert.notEqual(second.secret, created.secret);

  const { secret, ...visible } = created;
  const list = ok(await admin.get(`/partners/${partner.id}/webhook-endpoints`));
  assert.equal(list.object, 'list');
  assert.deepEqual(list.data.map((e) => e.id), [second.id, created.id], 'newest first');
  for (const e of list.data) assert.equal(e.secret, undefined, 'a list never shows secrets');
  assert.deepEqual(list.data[1], visible);
  assert.deepEqual(ok(await admin.get(`/webhook-endpoints/${created.id}`)), visible);

  // Update url, events, enabled.
  const patched = ok(await admin.patch(`/webhook-endpoints/${created.id}`,
    { url: 'https://crm.example.com/hooks/v2', enabled_events: ['customer.created'], enabled: false }));
  assert.equal(patched.secret, undefined);
  assert.equal(patched.url, 'https://crm.example.com/hooks/v2');
  assert.deepEqual(patched.enabled_events, ['customer.created']);
  assert.equal(patched.status, 'disabled');
  const got = ok(await admin.get(`/webhook-endpoints/${created.id}`));
  assert.equal(got.status, 'disabled');
  assert.equal(got.url, 'https://crm.example.com/hooks/v2');
  assert.deepEqual(got.enabled_events, ['customer.created']);
  assert.equal(ok(await admin.patch(`/webhook-endpoints/${created.id}`, { enabled: true })).status, 'enabled');
  // A change to nothing (no field, or the values it has) keeps updated_at, as a customer's does.
  const current = ok(await admin.get(`/webhook-endpoints/${created.id}`));
  await sleep(1100);
  for (const body of [{}, { enabled: true, url: current.url, enabled_events: current.enabled_events }]) {
    assert.deepEqual(ok(await admin.patch(`/webhook-endpoints/${created.id}`, body)), current);
  }

  // Rotation answers the new secret, once.
  const rotated = ok(await admin.post(`/webhook-endpoints/${created.id}/rotate-secret`));
  assert.equal(rotated.id, created.id);
  assert.match(rotated.secret, /^whsec_[A-Za-z0-9]{24,}$/);
  assert.notEqual(rotated.secret, secret);
  assert.equal(ok(await admin.get(`/webhook-endpoints/${created.id}`)).secret, undefined);

  // enabled_events must be a non-empty array of known types, each once, or "*" alone; nothing is
  // created otherwise.
  const badEvents = [[], ['nope.happened'], 'customer.created', [1], ['customer.created', 'bogus'], null,
    ['customer.created', 'customer.created'], ['*', '*'], ['*', 'customer.created'], ['customer.created', '*']];
  for (const bad of badEvents) {
    assertError(await admin.post(`/partners/${partner.id}/webhook-endpoints`, { url, enabled_events: bad }),
      422, 'validation_failed', 'enabled_events');
    assertError(await admin.patch(`/webhook-endpoints/${created.id}`, { enabled_events: bad }),
      422, 'validation_failed', 'enabled_events');
  }
  assertError(await admin.post(`/partners/${partner.id}/webhook-endpoints`, {}), 422, 'validation_failed', 'url');
  const after = ok(await admin.get(`/partners/${partner.id}/webhook-endpoints`));
  assert.deepEqual(after.data.map((e) => e.id), [second.id, created.id], 'refused requests create nothing');
  assert.deepEqual(ok(await admin.get(`/webhook-endpoints/${created.id}`)).enabled_events, ['customer.created']);

  assertError(await admin.post('/partners/ptn_doesnotexist000000000000/webhook-endpoints', { url }), 404, 'not_found');
  assertError(await admin.get('/webhook-endpoints/we_doesnotexist0000000000000'), 404, 'not_found');
  assertError(await admin.patch('/webhook-endpoints/we_doesnotexist0000000000000', { enabled: false }), 404, 'not_found');
});

test('every documented state change is delivered, signed, with the object as GET returns it', async () => {
  const t = await srv.tenant();
  const rcv = await receiver(200);
  const ep = await createEndpoint(srv, t.partner.id, rcv);
  const admin = srv.admin();
  const expected = new Map(); // event id -> object as GET returned it right after the change

  // Runs change(), then reads[type](value) for every event it emitted; asserts `types` among them.
  const step = async (types, change, reads) => {
    const { value, events } = await srv.captureEvents(t.partner.id, change);
    for (const type of types) assert.ok(events.some((e) => e.type === type), `${type} emitted; got ${events.map((e) => e.type)}`);
    for (const e of events) {
      const read = reads[e.type];
      assert.ok(read, `unexpected event ${e.type}`);
      expected.set(e.id, { type: e.type, object: await read(value) });
    }
    return value;
  };
  const getCustomer = (id) => async () => ok(await t.api.get(`/customers/${id}`));
  const getMail = (id) => async () => ok(await t.api.get(`/mail/${id}`));
  const getAction = (mailId, actId) => async () => {
    const m = ok(await t.api.get(`/mail/${mailId}`));
    const a = m.actions.find((x) => x.id === actId);
    assert.ok(a, `action ${actId} in GET /mail/${mailId}`);
    return a;
  };

  const c = await step(['customer.created'], () => createCustomer(t.api, { prepay: true }), {
    'customer.created': (v) => getCustomer(v.id)(),
  });
  await step(['customer.updated'], async () => ok(await t.api.patch(`/customers/${c.id}`, { name: 'Jane Webhook' })), {
    'customer.updated': getCustomer(c.id),
  });
  await step(['customer.activated'], async () => ok(await admin.post(`/customers/${c.id}/accept-invite`)), {
    'customer.activated': getCustomer(c.id), 'customer.updated': getCustomer(c.id),
  });
  const compliance = async () => ok(await t.api.get(`/customers/${c.id}/compliance`));
  const mailbox = async () => ok(await t.api.get(`/customers/${c.id}/mailbox`));
  await step(['compliance.updated'], async () => ok(await admin.post(`/customers/${c.id}/compliance`, { form_1583: 'submitted' })), {
    'compliance.updated': compliance, 'customer.updated': getCustomer(c.id),
  });
  await step(['compliance.updated', 'mailbox.activated'],
    async () => ok(await admin.post(`/customers/${c.id}/compliance`, { form_1583: 'approved', identity: 'verified' })), {
      'compliance.updated': compliance, 'mailbox.activated': mailbox, 'customer.updated': getCustomer(c.id),
    });
  const letter = await step(['mail.arrived'], () => createMail(t.api, c.id, { type: 'letter' }), {
    'mail.arrived': (v) => getMail(v.id)(),
  });
  const pkg = await step(['package.arrived'], () => createMail(t.api, c.id, { type: 'package', tracking_number: '1Z999' }), {
    'package.arrived': (v) => getMail(v.id)(),
  });
  const doomed = await step(['mail.arrived'], () => createMail(t.api, c.id, { type: 'periodical' }), {
    'mail.arrived': (v) => getMail(v.id)(),
  });
  const doomedBefore = ok(await t.api.get(`/mail/${doomed.id}`));
  await step(['mail.deleted'], async () => ok(await t.api.del(`/mail/${doomed.id}`)), {
    // Deleted mail has no GET any more: the object is the item as GET showed it just before.
    'mail.deleted': async () => doomedBefore,
  });
  const scan = await step(['mail_action.requested'], () => requestAction(t.api, letter.id, 'scan'), {
    'mail_action.requested': (v) => getAction(letter.id, v.id)(),
  });
  await step(['mail_action.completed'], () => completeAction(srv, scan), {
    'mail_action.completed': getAction(letter.id, scan.id),
  });
  const fwd = await step(['mail_action.requested'], () => requestAction(t.api, pkg.id, 'forward'), {
    'mail_action.requested': (v) => getAction(pkg.id, v.id)(),
  });
  await step(['mail_action.failed'], () => failAction(srv, fwd), {
    'mail_action.failed': getAction(pkg.id, fwd.id),
  });
  await step(['customer.deactivated', 'mailbox.closed'], async () => ok(await t.api.post(`/customers/${c.id}/deactivate`, {})), {
    'customer.deactivated': getCustomer(c.id), 'mailbox.closed': mailbox,
  });

  const ids = [...expected.keys()];
  assert.deepEqual([...new Set([...expected.values()].map((x) => x.type))].sort(), [...EVENT_TYPES].sort(),
    'the scenario covers all 13 event types');
  await rcv.waitForEvents(ids, 20000);

  const outbox = new Map((await srv.events(t.partner.id)).map((e) => [e.id, e]));
  for (const id of ids) {
    const want = expected.get(id);
    for (const d of rcv.of(id)) {
      assertDeliveryHeaders(d);
      assert.equal(d.path, '/hooks');
      assert.deepEqual(Object.keys(d.json).sort(), EVENT_KEYS);
      assert.equal(d.json.object, 'event');
      assert.equal(d.json.api_version, 'v1');
      assert.match(d.json.created_at, TIME);
      assert.equal(d.json.type, want.type);
      assert.deepEqual(Object.keys(d.json.data), ['object']);
      assert.deepEqual(d.json.data.object, want.object, `${want.type}: data.object must equal GET right after the change`);
      assert.deepEqual(d.json, outbox.get(id), `${want.type}: the body is the event as GET /admin/v1/events shows it`);
      assertSigned(d);
    }
  }
  // Only this partner's events reached its endpoint.
  for (const d of rcv.deliveries) assert.ok(expected.has(d.eventId), `unexpected delivery ${d.type} ${d.eventId}`);

  // The log shows one succeeded attempt per event, for this endpoint.
  const log = await waitForLog(t.api, {}, (l) => ids.every((id) => l.some((d) => d.event_id === id && d.status === 'succeeded')),
    'a succeeded attempt for every event');
  for (const d of log) {
    assertDeliveryShape(d);
    assert.equal(d.endpoint_id, ep.id);
    assert.equal(d.url, rcv.url);
    assert.equal(d.event_type, expected.get(d.event_id)?.type);
  }
});

test('the delivery log: shape, newest first, filters, paging, and only the caller partner', async () => {
  const t = await srv.tenant();
  const other = await srv.tenant();
  const rcv = await receiver(200);
  const ep = await createEndpoint(srv, t.partner.id, rcv);
  const otherRcv = await receiver(200);
  await createEndpoint(srv, other.partner.id, otherRcv);

  const c1 = await createCustomer(t.api);
  await sleep(1100); // a later second, so newest-first is visible in attempted_at
  const c2 = await createCustomer(t.api);
  ok(await t.api.patch(`/customers/${c2.id}`, { name: 'Renamed' }));
  await createCustomer(other.api);
  const evs = await srv.events(t.partner.id);
  assert.equal(evs.length, 3);
  const updated = evs.find((e) => e.type === 'customer.updated');
  const firstCreated = evs.find((e) => e.type === 'customer.created' && e.data.object.id === c1.id);

  const log = await waitForLog(t.api, {}, (l) => l.filter((d) => d.status === 'succeeded').length >= 3, '3 succeeded deliveries');
  assert.equal(log.length, 3, JSON.stringify(log));
  for (const d of log) {
    assertDeliveryShape(d);
    assert.equal(d.endpoint_id, ep.id);
    assert.equal(d.url, rcv.url);
    assert.equal(d.attempt, 1);
    assert.equal(d.status, 'succeeded');
    assert.equal(d.response_status, 200);
    assert.equal(d.next_attempt_at, null);
    assertRecentTime(d.attempted_at);
  }
  assert.deepEqual(new Set(log.map((d) => d.event_id)), new Set(evs.map((e) => e.id)));
  assert.equal(log.at(-1).event_id, firstCreated.id, 'the oldest attempt is last');
  for (let i = 1; i < log.length; i++) assert.ok(log[i - 1].attempted_at >= log[i].attempted_at, 'newest first');

  // Filters.
  const byEvent = ok(await t.api.get(`/webhook-deliveries?event_id=${updated.id}`));
  assert.equal(byEvent.object, 'list');
  assert.deepEqual(byEvent.data.map((d) => d.event_id), [updated.id]);
  const byType = ok(await t.api.get('/webhook-deliveries?event_type=customer.created'));
  assert.equal(byType.data.length, 2);
  for (const d of byType.data) assert.equal(d.event_type, 'customer.created');
  assert.equal(ok(await t.api.get('/webhook-deliveries?event_type=mail.arrived')).data.length, 0);
  assert.equal(ok(await t.api.get('/webhook-deliveries?status=succeeded')).data.length, 3);
  assert.equal(ok(await t.api.get('/webhook-deliveries?status=failed')).data.length, 0);
  assertError(await t.api.get('/webhook-deliveries?status=bogus'), 400, 'invalid_request');
  assertError(await t.api.get('/webhook-deliveries?event_type=customer.exploded'), 400, 'invalid_request');

  // Paging.
  const p1 = ok(await t.api.get('/webhook-deliveries?limit=2'));
  assert.equal(p1.data.length, 2);
  assert.equal(p1.has_more, true);
  const p2 = ok(await t.api.get(`/webhook-deliveries?limit=2&starting_after=${p1.data[1].id}`));
  assert.equal(p2.data.length, 1);
  assert.equal(p2.has_more, false);
  assert.deepEqual([...p1.data, ...p2.data].map((d) => d.id), log.map((d) => d.id));
  const back = ok(await t.api.get(`/webhook-deliveries?limit=2&ending_before=${p2.data[0].id}`));
  assert.deepEqual(back.data.map((d) => d.id), p1.data.map((d) => d.id));

  // Tenancy: the other partner sees only its own delivery, never these.
  const theirs = await waitForLog(other.api, {}, (l) => l.length >= 1, "the other partner's delivery");
  assert.equal(theirs.length, 1);
  assert.notEqual(theirs[0].endpoint_id, ep.id);
  assert.deepEqual(ok(await other.api.get(`/webhook-deliveries?event_id=${updated.id}`)).data, []);
  assert.ok(!theirs.some((d) => log.some((x) => x.id === d.id)));
  assertError(await other.api.get(`/webhook-deliveries?starting_after=${log[0].id}`), 400, 'invalid_request');
  for (const d of rcv.deliveries) assertSigned(d);
});

test('a receiver answering 500, 500, 200 gets exactly three attempts and the log shows them', async () => {
  const t = await srv.tenant();
  const rcv = await receiver(500, 500, 200);
  const ep = await createEndpoint(srv, t.partner.id, rcv);
  await createCustomer(t.api);
  const ev = await newestEvent(srv, t.partner.id, 'customer.created');

  await rcv.waitFor(3, 15000);
  const log = await waitForLog(t.api, { event_id: ev.id }, (l) => l.some((d) => d.status === 'succeeded'), 'the succeeded third attempt');
  await sleep(1500); // no fourth attempt follows a success
  assert.equal(rcv.deliveries.length, 3, 'exactly three requests reached the receiver');
  const final = await deliveryLog(t.api, { event_id: ev.id });
  assert.deepEqual(final.map((d) => d.id), log.map((d) => d.id), 'nothing was attempted after the success');

  assert.deepEqual(final.map((d) => d.attempt), [3, 2, 1], 'one entry per attempt, newest first');
  assert.deepEqual(final.map((d) => d.status), ['succeeded', 'failed', 'failed']);
  assert.deepEqual(final.map((d) => d.response_status), [200, 500, 500]);
  const [a3, a2, a1] = final;
  for (const d of final) {
    assertDeliveryShape(d);
    assert.equal(d.event_id, ev.id);
    assert.equal(d.event_type, 'customer.created');
    assert.equal(d.endpoint_id, ep.id);
    assert.equal(d.error, null, 'an HTTP answer is no transport error');
  }
  for (const [d, next] of [[a1, a2], [a2, a3]]) {
    assert.match(d.next_attempt_at ?? '', TIME, `attempt ${d.attempt} announces its retry`);
    const gap = seconds(d.next_attempt_at) - seconds(d.attempted_at);
    assert.ok(gap >= 1 && gap <= 3, `retry ${gap} s after attempt ${d.attempt}; the schedule says 1 s`);
    assert.ok(seconds(next.attempted_at) >= seconds(d.next_attempt_at), `attempt ${next.attempt} not before it was due`);
  }
  assert.equal(a3.next_attempt_at, null);

  // Every attempt carried the same event, id and body.
  for (const d of rcv.deliveries) {
    assertDeliveryHeaders(d);
    assert.equal(d.eventId, ev.id);
    assert.deepEqual(d.json, ev);
    assertSigned(d);
  }
});

test('a receiver that always answers 500 gets 8 attempts, then the delivery is failed', async () => {
  const t = await srv.tenant();
  const rcv = await receiver(500);
  const ep = await createEndpoint(srv, t.partner.id, rcv);
  await createCustomer(t.api);
  const ev = await newestEvent(srv, t.partner.id, 'customer.created');

  await rcv.waitFor(8, 30000);
  await waitForLog(t.api, { event_id: ev.id }, (l) => l.length >= 8, '8 logged attempts', 5000);
  await sleep(2500); // a ninth attempt would come about a second after the eighth
  assert.equal(rcv.deliveries.length, 8, 'exactly 8 requests reached the receiver');
  const log = await deliveryLog(t.api, { event_id: ev.id });
  assert.deepEqual(log.map((d) => d.attempt), [8, 7, 6, 5, 4, 3, 2, 1]);
  for (const d of log) {
    assertDeliveryShape(d);
    assert.equal(d.endpoint_id, ep.id);
    assert.equal(d.status, 'failed');
    assert.equal(d.response_status, 500);
    if (d.attempt < 8) assert.match(d.next_attempt_at ?? '', TIME, `attempt ${d.attempt} is retried`);
  }
  assert.equal(log[0].next_attempt_at, null, 'no retry follows the 8th attempt');
  assert.deepEqual(ok(await t.api.get('/webhook-deliveries?status=succeeded')).data, []);
  assert.equal(ok(await srv.admin().get(`/webhook-endpoints/${ep.id}`)).status, 'enabled', 'a 500 does not disable the endpoint');
  for (const d of rcv.deliveries) { assert.equal(d.eventId, ev.id); assertSigned(d); }
});

test('a hanging receiver gives error "timeout", and the retry succeeds', async () => {
  const t = await srv.tenant();
  const rcv = await receiver('hang', 200);
  await createEndpoint(srv, t.partner.id, rcv);
  await createCustomer(t.api);
  const ev = await newestEvent(srv, t.partner.id, 'customer.created');
  const log = await waitForLog(t.api, { event_id: ev.id }, (l) => l.some((d) => d.status === 'succeeded'), 'the retry after the timeout');
  const a1 = log.find((d) => d.attempt === 1);
  assert.ok(a1, JSON.stringify(log));
  assertDeliveryShape(a1);
  assert.equal(a1.status, 'failed');
  assert.equal(a1.error, 'timeout');
  assert.equal(a1.response_status, null);
  assert.ok(a1.duration_ms >= 900 && a1.duration_ms < 5000, `timeout after ${a1.duration_ms} ms with INNBOCKS_WEBHOOK_TIMEOUT_MS=1000`);
  assert.match(a1.next_attempt_at ?? '', TIME);
  assert.equal(log.find((d) => d.attempt === 2)?.status, 'succeeded');
  assert.equal(rcv.deliveries.length, 2);
  for (const d of rcv.deliveries) { assert.equal(d.eventId, ev.id); assertSigned(d); }
});

test('an informational 1xx alone is no answer: a 103 and then silence is a timeout, and retried', async () => {
  const t = await srv.tenant();
  const rcv = await receiver((req, res) => res.writeEarlyHints({ link: '</hooks.css>; rel=preload; as=style' }), 200);
  await createEndpoint(srv, t.partner.id, rcv);
  await createCustomer(t.api);
  const ev = await newestEvent(srv, t.partner.id, 'customer.created');
  const log = await waitForLog(t.api, { event_id: ev.id }, (l) => l.some((d) => d.status === 'succeeded'), 'the retry after the 103');
  const a1 = log.find((d) => d.attempt === 1);
  assert.ok(a1, JSON.stringify(log));
  assert.deepEqual([a1.status, a1.response_status, a1.error], ['failed', null, 'timeout'], JSON.stringify(a1));
  assert.match(a1.next_attempt_at ?? '', TIME);
  assert.equal(rcv.of(ev.id).length, 2);
});

test('a status that came within the timeout counts, whatever its body does after: a 2xx is a success, never retried', async () => {
  const t = await srv.tenant();
  const timers = [];
  // Each answers its status at once, then: declares 100 bytes, sends 10 and stalls; trickles a
  // byte every 150 ms for 2.5 s (the timeout is 1 s); declares 100, sends 10 and closes.
  const stalls = (status) => (req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain', 'content-length': '100' });
    res.write('0123456789');
  };
  const trickles = (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    let n = 0;
    const timer = setInterval(() => { if (++n > 16 || res.destroyed) { clearInterval(timer); res.end(); } else res.write('x'); }, 150);
    timers.push(timer);
  };
  const cut = (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
    res.write('0123456789', () => setTimeout(() => res.socket.destroy(), 100));
  };
  const stalled = await receiver(stalls(200));
  const trickled = await receiver(trickles);
  const closed = await receiver(cut);
  // A non-2xx that stalls fails, with its status, and is retried (the retry is answered 200).
  const refused = await receiver(stalls(503), 200);
  const rcvs = [stalled, trickled, closed, refused];
  for (const r of rcvs) await createEndpoint(srv, t.partner.id, r);
  await createCustomer(t.api);
  const ev = await newestEvent(srv, t.partner.id, 'customer.created');
  const log = await waitForLog(t.api, { event_id: ev.id }, (l) => l.length >= 5, 'four first attempts and one retry');
  await sleep(2500); // a retry would come about a second after a failed attempt
  timers.forEach(clearInterval);
  const final = await deliveryLog(t.api, { event_id: ev.id });
  assert.deepEqual(final.map((d) => d.id), log.map((d) => d.id), 'no attempt came after those');
  const dev = await dashUser(srv, 'developer', t.partner);
  const of = async (r, attempt) => {
    const d = final.find((x) => x.endpoint_id === r.endpoint.id && x.attempt === attempt);
    assert.ok(d, `attempt ${attempt} of ${r.url}: ${JSON.stringify(final)}`);
    assertDeliveryShape(d);
    const one = await dev.dash.get(`/webhook-endpoints/${r.endpoint.id}/deliveries/${d.id}`);
    assert.equal(one.status, 200, one.text);
    return { ...d, response_body: one.body.response_body };
  };
  for (const [r, body] of [[stalled, '0123456789'], [closed, '0123456789']]) {
    const d = await of(r, 1);
    assert.deepEqual([d.status, d.response_status, d.error, d.next_attempt_at, d.response_body],
      ['succeeded', 200, null, null, body], `${r.url}: ${JSON.stringify(d)}`);
  }
  const slow = await of(trickled, 1);
  assert.deepEqual([slow.status, slow.response_status, slow.error, slow.next_attempt_at],
    ['succeeded', 200, null, null], JSON.stringify(slow));
  assert.match(slow.response_body ?? '', /^x+$/, 'what trickled in before the timeout is kept');
  const failed = await of(refused, 1);
  assert.deepEqual([failed.status, failed.response_status, failed.error, failed.response_body],
    ['failed', 503, null, '0123456789'], JSON.stringify(failed));
  assert.match(failed.next_attempt_at ?? '', TIME, 'a 503 is retried');
  assert.equal((await of(refused, 2)).status, 'succeeded');
  assert.deepEqual(rcvs.map((r) => r.of(ev.id).length), [1, 1, 1, 2], 'one delivery each; the 503 twice');
});

test('a resend made while an attempt of the event runs is delivered after it, with the full schedule', async () => {
  // A server of its own with a 10 s timeout: the first attempt is held open until the resend
  // has been answered, however slow this machine is.
  const own = await startServer({ env: { ...WEBHOOK_ENV, INNBOCKS_WEBHOOK_TIMEOUT_MS: '10000' } });
  try {
    const t = await own.tenant();
    const dev = await dashUser(own, 'developer', t.partner);
    const c = await createCustomer(t.api);
    // The first attempt is answered 200 once released; the resent delivery's first attempt
    // gets a 500, its retry a 200.
    let release;
    const held = new Promise((r) => { release = r; });
    const rcv = await receiver((req, res) => held.then(() => res.writeHead(200).end('{}')), 500, 200);
    const ep = await createEndpoint(own, t.partner.id, rcv, ['customer.updated']);
    ok(await t.api.patch(`/customers/${c.id}`, { name: 'Resent While Running' }));
    const ev = await newestEvent(own, t.partner.id, 'customer.updated');
    await rcv.waitFor(1);
    const r = await dev.dash.post(`/webhook-endpoints/${ep.id}/resend`, { event_id: ev.id });
    assert.equal(r.status, 202, r.text);
    assert.equal(r.body.resent, 1);
    await sleep(300);
    assert.equal(rcv.deliveries.length, 1, 'the resent delivery waits for the attempt that runs');
    release();

    const log = await waitForLog(t.api, { event_id: ev.id }, (l) => l.length >= 3, 'the first attempt and the resent two', 10000);
    await sleep(1500); // a fourth would come about a second after a failed attempt
    assert.equal(rcv.of(ev.id).length, 3, 'the first delivery, the resent one and its retry');
    const final = await deliveryLog(t.api, { event_id: ev.id });
    assert.deepEqual(final.map((d) => d.id), log.map((d) => d.id), 'nothing after the retry succeeded');
    final.forEach(assertDeliveryShape);
    assert.deepEqual(final.map((d) => [d.attempt, d.status, d.response_status]),
      [[2, 'succeeded', 200], [1, 'failed', 500], [1, 'succeeded', 200]],
      `newest first, counted from 1 again after the resend: ${JSON.stringify(final)}`);
    assert.match(final[1].next_attempt_at ?? '', TIME, 'the resent delivery has its retries ahead');
    for (const d of rcv.deliveries) assertSigned(d);
  } finally {
    await own.stop();
  }
});

test('a closed port gives error "connection_refused"', async () => {
  const t = await srv.tenant();
  // Held closed until the attempt is made: no other process can start listening there meanwhile.
  const { port, release } = await closedPort();
  const ep = await createEndpoint(srv, t.partner.id, `http://127.0.0.1:${port}/hooks`);
  await createCustomer(t.api);
  const ev = await newestEvent(srv, t.partner.id, 'customer.created');
  const log = await waitForLog(t.api, { event_id: ev.id }, (l) => l.length >= 1, 'the first attempt');
  await patchEndpoint(srv, ep.id, { enabled: false });
  release();
  const a1 = log.at(-1);
  assertDeliveryShape(a1);
  assert.equal(a1.attempt, 1);
  assert.equal(a1.status, 'failed');
  assert.equal(a1.error, 'connection_refused');
  assert.equal(a1.response_status, null);
  assert.match(a1.next_attempt_at ?? '', TIME, 'a refused connection is retried');
});

test('a 301 answer is a failed attempt and its Location is never followed', async () => {
  const t = await srv.tenant();
  const target = await receiver(200);
  const rcv = await receiver({ status: 301, headers: { location: target.url } });
  const ep = await createEndpoint(srv, t.partner.id, rcv);
  await createCustomer(t.api);
  const ev = await newestEvent(srv, t.partner.id, 'customer.created');
  const log = await waitForLog(t.api, { event_id: ev.id }, (l) => l.length >= 2, 'two attempts', 10000);
  await patchEndpoint(srv, ep.id, { enabled: false });
  await sleep(300);
  for (const d of log) {
    assertDeliveryShape(d);
    assert.equal(d.status, 'failed');
    assert.equal(d.response_status, 301);
    assert.equal(d.url, rcv.url);
  }
  assert.match(log.at(-1).next_attempt_at ?? '', TIME, 'a 3xx is retried like any failure');
  assert.ok(rcv.deliveries.length >= 2);
  assert.equal(target.deliveries.length, 0, 'the Location target must receive nothing');
  assert.equal(target.connections, 0, 'the Location target must not even be connected to');
  for (const d of rcv.deliveries) assertSigned(d);
});

test('a 410 answer disables the endpoint and stops the retries', async () => {
  const t = await srv.tenant();
  const rcv = await receiver(410, 200);
  const ep = await createEndpoint(srv, t.partner.id, rcv);
  await createCustomer(t.api);
  const ev = await newestEvent(srv, t.partner.id, 'customer.created');
  await rcv.waitFor(1);
  const log = await waitForLog(t.api, { event_id: ev.id }, (l) => l.length >= 1, 'the 410 attempt');
  assertDeliveryShape(log[0]);
  assert.equal(log[0].status, 'failed');
  assert.equal(log[0].response_status, 410);
  assert.equal(log[0].next_attempt_at, null, 'no retry after 410');
  assert.equal(ok(await srv.admin().get(`/webhook-endpoints/${ep.id}`)).status, 'disabled');
  const listed = ok(await srv.admin().get(`/partners/${t.partner.id}/webhook-endpoints`));
  assert.equal(listed.data[0].status, 'disabled');

  // Nothing more: no retry of that event, and later events are not sent to a disabled endpoint.
  await createCustomer(t.api);
  await sleep(2000);
  assert.equal(rcv.deliveries.length, 1, 'a single request reached the receiver');
  assert.equal((await deliveryLog(t.api)).length, 1);
  assertSigned(rcv.deliveries[0]);
});

test('secret rotation: both signatures, new first, for the deliveries that follow', async () => {
  const t = await srv.tenant();
  const rcv = await receiver(200);
  const ep = await createEndpoint(srv, t.partner.id, rcv);
  const s1 = ep.secret;
  const c = await createCustomer(t.api);
  const e1 = await newestEvent(srv, t.partner.id, 'customer.created');
  await rcv.waitForEvents([e1.id]);
  const d1 = rcv.of(e1.id)[0];
  assert.match(d1.signature, /^v1=[0-9a-f]{64}$/, 'one signature before any rotation');
  assert.equal(d1.signature, `v1=${hmacHex(s1, d1.timestamp, d1.body)}`);

  const s2 = ok(await srv.admin().post(`/webhook-endpoints/${ep.id}/rotate-secret`)).secret;
  assert.notEqual(s2, s1);
  rcv.secret = s2;
  ok(await t.api.patch(`/customers/${c.id}`, { name: 'After Rotation' }));
  const e2 = await newestEvent(srv, t.partner.id, 'customer.updated');
  await rcv.waitForEvents([e2.id]);
  const d2 = rcv.of(e2.id)[0];
  const m = /^v1=([0-9a-f]{64}), v1=([0-9a-f]{64})$/.exec(d2.signature ?? '');
  assert.ok(m, `two signatures during the overlap: ${d2.signature}`);
  assert.equal(m[1], hmacHex(s2, d2.timestamp, d2.body), 'the first signature uses the new secret');
  assert.equal(m[2], hmacHex(s1, d2.timestamp, d2.body), 'the second signature uses the old secret');
  assert.equal(verifyInnbocksWebhook(d2.body, d2.timestamp, d2.signature, s2), true);
  assert.equal(verifyInnbocksWebhook(d2.body, d2.timestamp, `v1=${m[2]}`, s1), true);

  // A second rotation: the newest two secrets sign; the first one is gone.
  const s3 = ok(await srv.admin().post(`/webhook-endpoints/${ep.id}/rotate-secret`)).secret;
  assert.ok(s3 !== s1 && s3 !== s2);
  rcv.secret = s3;
  ok(await t.api.patch(`/customers/${c.id}`, { name: 'Second Rotation' }));
  const e3 = await newestEvent(srv, t.partner.id, 'customer.updated');
  await rcv.waitForEvents([e3.id]);
  const d3 = rcv.of(e3.id)[0];
  assert.equal(d3.signature, `v1=${hmacHex(s3, d3.timestamp, d3.body)}, v1=${hmacHex(s2, d3.timestamp, d3.body)}`);
  for (const d of rcv.deliveries) assertSigned(d);
});

test('enabled_events filters: an endpoint gets only the types it wants, also after an update', async () => {
  const t = await srv.tenant();
  const only = await receiver(200);
  const all = await receiver(200);
  const onlyEp = await createEndpoint(srv, t.partner.id, only, ['package.arrived']);
  const allEp = await createEndpoint(srv, t.partner.id, all);

  const c = await eligibleCustomer(srv, t.api); // customer.created, compliance.updated, mailbox.activated
  await createMail(t.api, c.id, { type: 'letter' }); // mail.arrived
  const created = await newestEvent(srv, t.partner.id, 'customer.created');
  const letter = await newestEvent(srv, t.partner.id, 'mail.arrived');
  await all.waitForEvents([created.id, letter.id]);
  await createMail(t.api, c.id, { type: 'package' });
  const pkg = await newestEvent(srv, t.partner.id, 'package.arrived');
  await only.waitForEvents([pkg.id]);
  await all.waitForEvents([pkg.id]);
  await sleep(300);
  assert.deepEqual(only.deliveries.map((d) => d.type), ['package.arrived'], 'the filtered endpoint got the package only');
  const createdLog = await deliveryLog(t.api, { event_id: created.id });
  assert.deepEqual(createdLog.map((d) => d.endpoint_id), [allEp.id], 'customer.created went to the "*" endpoint only');

  // The filter can be changed.
  await patchEndpoint(srv, onlyEp.id, { enabled_events: ['customer.updated'] });
  ok(await t.api.patch(`/customers/${c.id}`, { name: 'Filter Test' }));
  await createMail(t.api, c.id, { type: 'package' });
  const upd = await newestEvent(srv, t.partner.id, 'customer.updated');
  const pkg2 = await newestEvent(srv, t.partner.id, 'package.arrived');
  await only.waitForEvents([upd.id]);
  await all.waitForEvents([upd.id, pkg2.id]);
  await sleep(300);
  assert.deepEqual(only.deliveries.map((d) => d.type), ['package.arrived', 'customer.updated']);
  for (const d of [...only.deliveries, ...all.deliveries]) assertSigned(d);
});

test('each enabled endpoint gets the event; an endpoint created later gets only later events', async () => {
  const t = await srv.tenant();
  const a = await receiver(200);
  const b = await receiver(200);
  const epA = await createEndpoint(srv, t.partner.id, a);
  const epB = await createEndpoint(srv, t.partner.id, b);
  await createCustomer(t.api);
  const first = await newestEvent(srv, t.partner.id, 'customer.created');
  await a.waitForEvents([first.id]);
  await b.waitForEvents([first.id]);
  assert.deepEqual(a.of(first.id)[0].json, b.of(first.id)[0].json, 'both endpoints get the same event');
  assert.notEqual(a.of(first.id)[0].signature, b.of(first.id)[0].signature, 'each signed with its own secret');
  const log = await waitForLog(t.api, { event_id: first.id }, (l) => l.length >= 2, 'one delivery per endpoint');
  assert.deepEqual(log.map((d) => d.endpoint_id).sort(), [epA.id, epB.id].sort());

  const late = await receiver(200);
  await createEndpoint(srv, t.partner.id, late);
  await createCustomer(t.api);
  const second = await newestEvent(srv, t.partner.id, 'customer.created');
  await late.waitForEvents([second.id]);
  await a.waitForEvents([second.id]);
  await b.waitForEvents([second.id]);
  await sleep(300);
  assert.deepEqual(late.deliveries.map((d) => d.eventId), [second.id], 'the late endpoint does not get the older event');
  for (const d of [...a.deliveries, ...b.deliveries, ...late.deliveries]) assertSigned(d);
});

test('a disabled endpoint gets nothing while the enabled one does', async () => {
  const t = await srv.tenant();
  const on = await receiver(200);
  const off = await receiver(200);
  await createEndpoint(srv, t.partner.id, on);
  const offEp = await createEndpoint(srv, t.partner.id, off);
  assert.equal((await patchEndpoint(srv, offEp.id, { enabled: false })).status, 'disabled');
  const c = await createCustomer(t.api);
  ok(await t.api.patch(`/customers/${c.id}`, { name: 'Disabled Test' }));
  const evs = await srv.events(t.partner.id);
  await on.waitForEvents(evs.map((e) => e.id));
  await sleep(500);
  assert.equal(off.deliveries.length, 0, 'the disabled endpoint received nothing');
  assert.equal(off.connections, 0);
  const log = await deliveryLog(t.api);
  assert.ok(!log.some((d) => d.endpoint_id === offEp.id), 'no attempt is logged for the disabled endpoint');
  for (const d of on.deliveries) assertSigned(d);
});

test('a delivery leaves once the change that made it commits, not at the next poll', async () => {
  // The worker polls every 100 ms; a committed write that made delivery jobs wakes it in-process
  // at once (no NOTIFY inside the request's transaction). Sent one after another, each event
  // would otherwise wait most of a poll: the previous delivery's claim just found nothing.
  const t = await srv.tenant();
  const rcv = await receiver(200);
  await createEndpoint(srv, t.partner.id, rcv, ['customer.created']);
  // Measured from the answer (the commit), so that the disk's speed does not count: with a
  // poll, most deliveries would come near 100 ms after it.
  const latencies = [];
  for (let i = 0; i < 20; i++) {
    ok(await t.api.post('/customers', customerBody()), 201);
    const committed = Date.now();
    await rcv.waitFor(i + 1);
    latencies.push(rcv.deliveries[i].at - committed);
  }
  latencies.sort((a, b) => a - b);
  assert.ok(latencies[10] < 50, `median ms from the answer to its delivery: ${latencies[10]} (all: ${latencies})`);
});

test('verifyInnbocksWebhook accepts every delivery received in this file', () => {
  const n = assertAllSigned();
  assert.ok(n >= 30, `only ${n} deliveries were received`);
});
