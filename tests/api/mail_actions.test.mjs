// Covers mail actions (docs/api.md#mail-actions, docs/operators.md#mail-and-mail-actions, the delete rules of docs/api.md#mail): the four request
// routes with their bodies and validation (422 with param, 400 for unknown fields), the state
// machine — one open action per item, only in storage, not for a deactivated customer, no scan or
// shred of packages — the operator work queue, completion (scan keeps the item in storage with a
// document; forward, shred and pickup end it), failure (frees the item), cancelation (emits
// nothing), refusals of every transition out of a final state, deletion depending on the actions,
// Idempotency-Key, the mail_actions:write scope, the command line, and the outbox holding exactly
// the events each step should emit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, assertError, ok, qs, assertRecentTime, uniq, listAll,
} from './lib.mjs';
import {
  eligibleCustomer, createMail, staffMail, assertActionShape, assertMailShape, assertNoEvents, requestAction,
  completeAction, failAction, cancelAction, customerMail, ADDRESS, MIN_ADDRESS, cli, cliRefused,
} from './mail_lib.mjs';

let srv;
let t;
let cust;

before(async () => {
  srv = await startServer();
  t = await srv.tenant();
  cust = await eligibleCustomer(srv, t.api);
});
after(() => srv?.stop());

const TYPES = ['scan', 'forward', 'shred', 'pickup'];
const bodyFor = (type) => (type === 'forward' ? { forward_address: MIN_ADDRESS } : {});
const replayed = (r) => r.headers.get('idempotent-replayed');
const getMail = async (id) => ok(await t.api.get(`/mail/${id}`));
const queue = () => listAll(srv.admin(), '/mail-actions', { status: 'requested' });

/** Asserts that every action type on the mail is refused with `status`/`code` and emits nothing. */
async function assertAllRefused(mailId, status, code) {
  const before = await getMail(mailId);
  await assertNoEvents(srv, t.partner.id, async () => {
    for (const type of TYPES) assertError(await t.api.post(`/mail/${mailId}/${type}`, bodyFor(type)), status, code);
  });
  assert.deepEqual(await getMail(mailId), before, 'a refused action changes nothing');
}

// ---------------------------------------------------------------------------------------------
// Requests

test('scan request: 201 with the action object, mail_action.requested, listed on the mail', async () => {
  const m = await createMail(t.api, cust.id);
  const { value: r, types, events } = await srv.captureEvents(t.partner.id, () => t.api.post(`/mail/${m.id}/scan`, { notes: 'both sides please' }));
  const a = ok(r, 201);
  assertActionShape(a);
  assert.equal(a.mail_id, m.id);
  assert.equal(a.customer_id, cust.id);
  assert.equal(a.type, 'scan');
  assert.equal(a.status, 'requested');
  assert.equal(a.forward_address, null);
  assert.equal(a.shipping_speed, null);
  assert.equal(a.notes, 'both sides please');
  assert.equal(a.result, null);
  assert.equal(a.failure_reason, null);
  assertRecentTime(a.requested_at, 60000);
  assert.equal(a.completed_at, null);
  assert.deepEqual(types, ['mail_action.requested']);
  assert.deepEqual(events[0].data.object, a);

  const now = await getMail(m.id);
  assertMailShape(now);
  assert.equal(now.status, 'in_storage');
  assert.deepEqual(now.actions, [a]);
  assert.deepEqual({ ...now, actions: [], updated_at: m.updated_at }, m, 'nothing else about the mail changes');
  assert.deepEqual((await customerMail(t.api, cust.id)).find((x) => x.id === m.id).actions, [a]);
  assert.deepEqual(ok(await srv.admin().get(`/mail/${m.id}`)).actions, [a]);
});

test('scan, shred and pickup take an empty body, no body at all, or only notes', async () => {
  for (const type of ['scan', 'shred', 'pickup']) {
    for (const send of [
      (id) => t.api.post(`/mail/${id}/${type}`),
      (id) => t.api.post(`/mail/${id}/${type}`, {}),
      (id) => t.api.post(`/mail/${id}/${type}`, { notes: 'n' }),
    ]) {
      const m = await createMail(t.api, cust.id);
      const { value: r, types } = await srv.captureEvents(t.partner.id, () => send(m.id));
      const a = ok(r, 201);
      assertActionShape(a);
      assert.equal(a.type, type);
      assert.equal(a.forward_address, null);
      assert.equal(a.shipping_speed, null);
      assert.deepEqual(types, ['mail_action.requested']);
    }
  }
});

test('forward request: the address as given, shipping_speed express or the default standard', async () => {
  const m1 = await createMail(t.api, cust.id);
  const full = await requestAction(t.api, m1.id, 'forward', { forward_address: ADDRESS, shipping_speed: 'express', notes: 'signature' });
  assertActionShape(full);
  assert.equal(full.type, 'forward');
  assert.equal(full.status, 'requested');
  assert.deepEqual(full.forward_address, ADDRESS);
  assert.equal(full.shipping_speed, 'express');
  assert.equal(full.notes, 'signature');

  const m2 = await createMail(t.api, cust.id, { type: 'package' });
  const { value: r, types, events } = await srv.captureEvents(t.partner.id, () => t.api.post(`/mail/${m2.id}/forward`, { forward_address: { ...MIN_ADDRESS, country: 'CA' } }));
  const min = ok(r, 201);
  assert.deepEqual(min.forward_address, { ...MIN_ADDRESS, country: 'CA', line2: null, state: null });
  assert.equal(min.shipping_speed, 'standard');
  assert.equal(min.notes, null);
  assert.deepEqual(types, ['mail_action.requested']);
  assert.deepEqual(events[0].data.object, min);
  assert.deepEqual((await getMail(m2.id)).actions, [min]);
});

test('forward body validation: 422 with the field (nested ones as forward_address.x), 400 for unknown fields', async () => {
  const m = await createMail(t.api, cust.id);
  const without = (k) => { const a = { ...MIN_ADDRESS }; delete a[k]; return a; };
  const CASES = [
    ['forward_address', {}],
    ['forward_address', { forward_address: null }],
    ['forward_address', { forward_address: '1 Main St, Austin' }],
    ['forward_address', { forward_address: [MIN_ADDRESS] }],
    ['forward_address.name', { forward_address: without('name') }],
    ['forward_address.line1', { forward_address: without('line1') }],
    ['forward_address.city', { forward_address: without('city') }],
    ['forward_address.postal_code', { forward_address: without('postal_code') }],
    ['forward_address.country', { forward_address: without('country') }],
    ['forward_address.name', { forward_address: { ...MIN_ADDRESS, name: '' } }],
    ['forward_address.city', { forward_address: { ...MIN_ADDRESS, city: 5 } }],
    ['forward_address.line1', { forward_address: { ...MIN_ADDRESS, line1: null } }],
    ['forward_address.country', { forward_address: { ...MIN_ADDRESS, country: 'USA' } }],
    ['forward_address.country', { forward_address: { ...MIN_ADDRESS, country: 'us' } }],
    ['forward_address.country', { forward_address: { ...MIN_ADDRESS, country: 'U' } }],
    ['forward_address.country', { forward_address: { ...MIN_ADDRESS, country: '' } }],
    ['forward_address.country', { forward_address: { ...MIN_ADDRESS, country: 840 } }],
    // The shape of a code, but no country: user-assigned, reserved.
    ['forward_address.country', { forward_address: { ...MIN_ADDRESS, country: 'XX' } }],
    ['forward_address.country', { forward_address: { ...MIN_ADDRESS, country: 'ZQ' } }],
    ['forward_address.country', { forward_address: { ...MIN_ADDRESS, country: 'UK' } }],
    ['forward_address.state', { forward_address: { ...MIN_ADDRESS, state: 48 } }],
    ['forward_address.line2', { forward_address: { ...MIN_ADDRESS, line2: ['Apt 4'] } }],
    ['shipping_speed', { forward_address: MIN_ADDRESS, shipping_speed: 'overnight' }],
    ['shipping_speed', { forward_address: MIN_ADDRESS, shipping_speed: 'Express' }],
    ['shipping_speed', { forward_address: MIN_ADDRESS, shipping_speed: 2 }],
    ['notes', { forward_address: MIN_ADDRESS, notes: 5 }],
  ];
  await assertNoEvents(srv, t.partner.id, async () => {
    for (const [param, body] of CASES) assertError(await t.api.post(`/mail/${m.id}/forward`, body), 422, 'validation_failed', param);
    assertError(await t.api.post(`/mail/${m.id}/forward`), 422, 'validation_failed', 'forward_address');
    assertError(await t.api.post(`/mail/${m.id}/forward`, { forward_address: { ...MIN_ADDRESS, zip: '78701' } }), 400, 'unknown_parameter');
    for (const field of ['priority', 'status', 'result', 'type', 'mail_id', 'id', 'completed_at']) {
      assertError(await t.api.post(`/mail/${m.id}/forward`, { forward_address: MIN_ADDRESS, [field]: 'x' }), 400, 'unknown_parameter', field);
    }
  });
  assert.deepEqual((await getMail(m.id)).actions, [], 'nothing was requested');
});

test('scan, shred and pickup bodies take only notes', async () => {
  const m = await createMail(t.api, cust.id);
  await assertNoEvents(srv, t.partner.id, async () => {
    for (const type of ['scan', 'shred', 'pickup']) {
      assertError(await t.api.post(`/mail/${m.id}/${type}`, { forward_address: MIN_ADDRESS }), 400, 'unknown_parameter', 'forward_address');
      assertError(await t.api.post(`/mail/${m.id}/${type}`, { shipping_speed: 'express' }), 400, 'unknown_parameter', 'shipping_speed');
      assertError(await t.api.post(`/mail/${m.id}/${type}`, { status: 'completed' }), 400, 'unknown_parameter', 'status');
      assertError(await t.api.post(`/mail/${m.id}/${type}`, { notes: 7 }), 422, 'validation_failed', 'notes');
      assertError(await t.api.request('POST', `/mail/${m.id}/${type}`, { raw: '[]' }), 400, 'invalid_json');
    }
  });
  assert.deepEqual((await getMail(m.id)).actions, []);
});

test('scan and shred of a package are 422 validation_failed with param type; forward and pickup are fine', async () => {
  const p = await createMail(t.api, cust.id, { type: 'package' });
  await assertNoEvents(srv, t.partner.id, async () => {
    assertError(await t.api.post(`/mail/${p.id}/scan`, {}), 422, 'validation_failed', 'type');
    assertError(await t.api.post(`/mail/${p.id}/shred`, {}), 422, 'validation_failed', 'type');
  });
  assert.deepEqual((await getMail(p.id)).actions, []);
  const pickup = await requestAction(t.api, p.id, 'pickup');
  assert.equal(pickup.type, 'pickup');
  const p2 = await createMail(t.api, cust.id, { type: 'package' });
  assert.equal((await requestAction(t.api, p2.id, 'forward')).type, 'forward');
  for (const type of ['letter', 'large_envelope', 'periodical']) {
    const m = await createMail(t.api, cust.id, { type });
    await requestAction(t.api, m.id, 'scan');
    const m2 = await createMail(t.api, cust.id, { type });
    await requestAction(t.api, m2.id, 'shred');
  }
});

test('while an action is requested every further action is 409 invalid_state', async () => {
  for (const first of TYPES) {
    const m = await createMail(t.api, cust.id);
    const a = await requestAction(t.api, m.id, first);
    await assertAllRefused(m.id, 409, 'invalid_state');
    assert.deepEqual((await getMail(m.id)).actions, [a]);
  }
});

test("actions on a deactivated customer's mail are 409 invalid_state", async () => {
  const c = await eligibleCustomer(srv, t.api);
  const m = await createMail(t.api, c.id);
  ok(await t.api.post(`/customers/${c.id}/deactivate`, {}));
  await assertAllRefused(m.id, 409, 'invalid_state');
});

test('actions on staff-recorded mail work like on partner mail', async () => {
  const m = await staffMail(srv, cust.id);
  const a = await requestAction(t.api, m.id, 'scan');
  assert.equal(a.mail_id, m.id);
  assert.deepEqual((await getMail(m.id)).actions, [a]);
});

// ---------------------------------------------------------------------------------------------
// Operator side

test('the work queue lists requested actions of all partners, newest first, and only requested ones', async () => {
  const other = await srv.tenant();
  const oc = await eligibleCustomer(srv, other.api);
  const a1 = await requestAction(t.api, (await createMail(t.api, cust.id)).id, 'scan');
  const a2 = await requestAction(other.api, (await createMail(other.api, oc.id)).id, 'forward', { forward_address: ADDRESS });
  const a3 = await requestAction(t.api, (await createMail(t.api, cust.id)).id, 'pickup');
  const done = await requestAction(t.api, (await createMail(t.api, cust.id)).id, 'shred');
  await completeAction(srv, done);

  const first = ok(await srv.admin().get(`/mail-actions${qs({ status: 'requested' })}`));
  assert.equal(first.object, 'list');
  assert.equal(typeof first.has_more, 'boolean');
  const q = await queue();
  assert.ok(q.every((a) => a.status === 'requested'));
  for (const a of q) assertActionShape(a);
  const ids = q.map((a) => a.id);
  const mine = ids.filter((id) => [a1.id, a2.id, a3.id].includes(id));
  assert.deepEqual(mine, [a3.id, a2.id, a1.id], 'newest first, both partners');
  assert.ok(!ids.includes(done.id), 'a completed action is no longer in the queue');
  assert.deepEqual(q.find((a) => a.id === a2.id), a2);

  assertError(await srv.admin().get(`/mail-actions${qs({ status: 'open' })}`), 400, 'invalid_request', 'status');
  assertError(await srv.admin().get(`/mail-actions${qs({ status: '' })}`), 400, 'invalid_request', 'status');
  assertError(await t.api.get('/mail-actions'), 404, 'route_not_found');
});

test('completing a scan: result.document_url, completed_at, mail stays in storage, mail_action.completed; the item is free again', async () => {
  const m = await createMail(t.api, cust.id);
  const a = await requestAction(t.api, m.id, 'scan', { notes: 'n1' });
  const url = 'https://docs.example.com/scans/abc.pdf';
  const { value: r, types, events } = await srv.captureEvents(t.partner.id, () => srv.admin().post(`/mail-actions/${a.id}/complete`, { document_url: url }));
  const done = ok(r);
  assertActionShape(done);
  assert.equal(done.status, 'completed');
  assert.deepEqual(done.result, { document_url: url });
  assertRecentTime(done.completed_at, 60000);
  assert.deepEqual({ ...done, status: 'requested', result: null, completed_at: null }, a, 'nothing else changes');
  assert.deepEqual(types, ['mail_action.completed']);
  assert.deepEqual(events[0].data.object, done);

  const now = await getMail(m.id);
  assert.equal(now.status, 'in_storage');
  assert.deepEqual(now.actions, [done]);
  assert.ok(!(await queue()).some((x) => x.id === a.id));

  const next = await requestAction(t.api, m.id, 'forward');
  assert.deepEqual((await getMail(m.id)).actions.map((x) => x.id), [a.id, next.id], 'oldest first');
});

test('completing a forward: result {carrier, tracking_number}, mail forwarded, no further action or delete', async () => {
  // Not a package: scan and shred must be refused for the state alone.
  const m = await createMail(t.api, cust.id, { type: 'large_envelope' });
  const a = await requestAction(t.api, m.id, 'forward', { forward_address: ADDRESS, shipping_speed: 'express' });
  const { value: r, types, events } = await srv.captureEvents(t.partner.id, () => srv.admin().post(`/mail-actions/${a.id}/complete`, { carrier: 'fedex', tracking_number: '7712 3456 7890' }));
  const done = ok(r);
  assert.equal(done.status, 'completed');
  assert.deepEqual(done.result, { carrier: 'fedex', tracking_number: '7712 3456 7890' });
  assert.deepEqual(done.forward_address, ADDRESS);
  assertRecentTime(done.completed_at, 60000);
  assert.deepEqual(types, ['mail_action.completed']);
  assert.deepEqual(events[0].data.object, done);
  const now = await getMail(m.id);
  assert.equal(now.status, 'forwarded');
  assert.deepEqual(now.actions, [done]);
  await assertAllRefused(m.id, 409, 'invalid_state');
  assertError(await assertNoEvents(srv, t.partner.id, () => t.api.del(`/mail/${m.id}`)), 409, 'invalid_state');
});

test('every forward carrier is accepted on completion', async () => {
  for (const carrier of ['usps', 'ups', 'fedex', 'dhl', 'other']) {
    const m = await createMail(t.api, cust.id);
    const a = await requestAction(t.api, m.id, 'forward');
    assert.deepEqual((await completeAction(srv, a, { carrier, tracking_number: `T-${carrier}` })).result, { carrier, tracking_number: `T-${carrier}` });
  }
});

for (const [type, status] of [['shred', 'shredded'], ['pickup', 'picked_up']]) {
  test(`completing a ${type}: mail ${status}, mail_action.completed, no further action or delete`, async () => {
    const m = await createMail(t.api, cust.id);
    const a = await requestAction(t.api, m.id, type);
    const { value: r, types, events } = await srv.captureEvents(t.partner.id, () => srv.admin().post(`/mail-actions/${a.id}/complete`, {}));
    const done = ok(r);
    assertActionShape(done);
    assert.equal(done.status, 'completed');
    assertRecentTime(done.completed_at, 60000);
    assert.equal(done.failure_reason, null);
    assert.deepEqual(types, ['mail_action.completed']);
    assert.deepEqual(events[0].data.object, done);
    const now = await getMail(m.id);
    assert.equal(now.status, status);
    assert.deepEqual(now.actions, [done]);
    await assertAllRefused(m.id, 409, 'invalid_state');
    assertError(await t.api.del(`/mail/${m.id}`), 409, 'invalid_state');
    assert.deepEqual(ok(await t.api.get(`/customers/${cust.id}/mail${qs({ status, limit: 100 })}`)).data.map((x) => x.id).includes(m.id), true);
    assert.ok(!ok(await t.api.get(`/customers/${cust.id}/mail${qs({ status: 'in_storage', limit: 100 })}`)).data.some((x) => x.id === m.id));
  });
}

test('completion bodies are validated: 422 with the field, the action stays requested, nothing emitted', async () => {
  const scan = await requestAction(t.api, (await createMail(t.api, cust.id)).id, 'scan');
  const fwd = await requestAction(t.api, (await createMail(t.api, cust.id)).id, 'forward');
  const done = (a, body) => srv.admin().post(`/mail-actions/${a.id}/complete`, body);
  await assertNoEvents(srv, t.partner.id, async () => {
    assertError(await done(scan, {}), 422, 'validation_failed', 'document_url');
    assertError(await done(scan, { document_url: '' }), 422, 'validation_failed', 'document_url');
    assertError(await done(scan, { document_url: 'not a url' }), 422, 'validation_failed', 'document_url');
    assertError(await done(scan, { document_url: 'ftp://docs.example.com/a.pdf' }), 422, 'validation_failed', 'document_url');
    assertError(await done(scan, { document_url: 'https://docs.example.com/a.pdf', colour: 'red' }), 400, 'unknown_parameter', 'colour');
    assertError(await done(fwd, { tracking_number: '1Z' }), 422, 'validation_failed', 'carrier');
    assertError(await done(fwd, { carrier: 'pigeon', tracking_number: '1Z' }), 422, 'validation_failed', 'carrier');
    assertError(await done(fwd, { carrier: 'USPS', tracking_number: '1Z' }), 422, 'validation_failed', 'carrier');
    assertError(await done(fwd, { carrier: 'usps' }), 422, 'validation_failed', 'tracking_number');
    assertError(await done(fwd, { carrier: 'usps', tracking_number: '' }), 422, 'validation_failed', 'tracking_number');
  });
  for (const a of [scan, fwd]) {
    const m = await getMail(a.mail_id);
    assert.deepEqual(m.actions, [a]);
    assert.equal(m.status, 'in_storage');
  }
  assert.ok((await queue()).some((x) => x.id === fwd.id));
});

test('failing an action: reason required, status failed with failure_reason, mail_action.failed; the item is free for a new action', async () => {
  const m = await createMail(t.api, cust.id);
  const a = await requestAction(t.api, m.id, 'forward', { forward_address: ADDRESS });
  await assertNoEvents(srv, t.partner.id, async () => {
    assertError(await srv.admin().post(`/mail-actions/${a.id}/fail`, {}), 422, 'validation_failed', 'reason');
    assertError(await srv.admin().post(`/mail-actions/${a.id}/fail`), 422, 'validation_failed', 'reason');
    assertError(await srv.admin().post(`/mail-actions/${a.id}/fail`, { reason: '' }), 422, 'validation_failed', 'reason');
    assertError(await srv.admin().post(`/mail-actions/${a.id}/fail`, { reason: 3 }), 422, 'validation_failed', 'reason');
  });
  assert.deepEqual((await getMail(m.id)).actions, [a]);

  const { value: r, types, events } = await srv.captureEvents(t.partner.id, () => srv.admin().post(`/mail-actions/${a.id}/fail`, { reason: 'address undeliverable' }));
  const failed = ok(r);
  assertActionShape(failed);
  assert.equal(failed.status, 'failed');
  assert.equal(failed.failure_reason, 'address undeliverable');
  assert.equal(failed.result, null);
  assertRecentTime(failed.completed_at, 60000);
  assert.deepEqual({ ...failed, status: 'requested', failure_reason: null, completed_at: null }, a);
  assert.deepEqual(types, ['mail_action.failed']);
  assert.deepEqual(events[0].data.object, failed);
  const now = await getMail(m.id);
  assert.equal(now.status, 'in_storage');
  assert.deepEqual(now.actions, [failed]);
  assert.ok(!(await queue()).some((x) => x.id === a.id));

  const { value: r2, types: t2 } = await srv.captureEvents(t.partner.id, () => t.api.post(`/mail/${m.id}/pickup`, {}));
  const next = ok(r2, 201);
  assert.deepEqual(t2, ['mail_action.requested']);
  assert.deepEqual((await getMail(m.id)).actions, [failed, next]);
});

test('canceling an action: status canceled, completed_at set, NO event; the item is free again', async () => {
  const m = await createMail(t.api, cust.id);
  const a = await requestAction(t.api, m.id, 'shred');
  const { value: r, types } = await srv.captureEvents(t.partner.id, () => srv.admin().post(`/mail-actions/${a.id}/cancel`));
  const canceled = ok(r);
  assertActionShape(canceled);
  assert.equal(canceled.status, 'canceled');
  assertRecentTime(canceled.completed_at, 60000);
  assert.equal(canceled.result, null);
  assert.deepEqual(types, [], 'cancel emits nothing');
  const now = await getMail(m.id);
  assert.equal(now.status, 'in_storage');
  assert.deepEqual(now.actions, [canceled]);
  assert.ok(!(await queue()).some((x) => x.id === a.id));
  const next = await requestAction(t.api, m.id, 'scan');
  assert.deepEqual((await getMail(m.id)).actions, [canceled, next]);
});

test('complete, fail and cancel of an action in a final state are 409 invalid_state; unknown ids 404', async () => {
  const finals = [];
  const c = await requestAction(t.api, (await createMail(t.api, cust.id)).id, 'scan');
  finals.push(await completeAction(srv, c));
  finals.push(await failAction(srv, await requestAction(t.api, (await createMail(t.api, cust.id)).id, 'scan')));
  finals.push(await cancelAction(srv, await requestAction(t.api, (await createMail(t.api, cust.id)).id, 'scan')));
  const ops = [
    ['complete', { document_url: 'https://docs.example.com/again.pdf' }],
    ['fail', { reason: 'late' }],
    ['cancel', undefined],
  ];
  await assertNoEvents(srv, t.partner.id, async () => {
    for (const a of finals) {
      for (const [op, body] of ops) assertError(await srv.admin().post(`/mail-actions/${a.id}/${op}`, body), 409, 'invalid_state');
    }
    for (const [op, body] of ops) assertError(await srv.admin().post(`/mail-actions/act_ZZZZZZZZZZZZZZZZZZZZZZZZ/${op}`, body), 404, 'not_found');
  });
  for (const a of finals) assert.deepEqual((await getMail(a.mail_id)).actions, [a], `${a.status} stays as it was`);
});

test('the operator reads any partner\'s action by its id, as the mail lists it, in every state; an unknown id is 404', async () => {
  const other = await srv.tenant();
  const otherCustomer = await eligibleCustomer(srv, other.api);
  const open = await requestAction(other.api, (await createMail(other.api, otherCustomer.id)).id, 'pickup');
  const done = await completeAction(srv, await requestAction(t.api, (await createMail(t.api, cust.id)).id, 'scan'));
  for (const [a, api] of [[open, other.api], [done, t.api]]) {
    const read = ok(await srv.admin().get(`/mail-actions/${a.id}`));
    assertActionShape(read);
    assert.deepEqual(read, ok(await api.get(`/mail/${a.mail_id}`)).actions.at(-1));
  }
  assertError(await srv.admin().get('/mail-actions/act_ZZZZZZZZZZZZZZZZZZZZZZZZ'), 404, 'not_found');
  assertError(await srv.admin().get(`/mail-actions/${open.id}?expand=mail`), 400, 'unknown_parameter', 'expand');
  assertError(await other.api.get(`/mail-actions/${open.id}`), 404, 'route_not_found');
});

test("a mail's actions are listed oldest first with their final states", async () => {
  const m = await createMail(t.api, cust.id);
  const s = await failAction(srv, await requestAction(t.api, m.id, 'scan'), 'scanner broken');
  const p = await cancelAction(srv, await requestAction(t.api, m.id, 'pickup'));
  const sc = await completeAction(srv, await requestAction(t.api, m.id, 'scan'));
  const f = await completeAction(srv, await requestAction(t.api, m.id, 'forward'));
  const now = await getMail(m.id);
  assert.deepEqual(now.actions, [s, p, sc, f]);
  assert.deepEqual(now.actions.map((a) => a.status), ['failed', 'canceled', 'completed', 'completed']);
  assert.equal(now.status, 'forwarded');
  assert.deepEqual(ok(await srv.admin().get(`/mail/${m.id}`)), now);
  assert.deepEqual((await customerMail(t.api, cust.id, { status: 'forwarded' })).find((x) => x.id === m.id), now);
});

test('the outbox of a whole action lifecycle holds exactly the events of each step, in order', async () => {
  const { types, events } = await srv.captureEvents(t.partner.id, async () => {
    const m = await createMail(t.api, cust.id, { type: 'package' });
    await failAction(srv, await requestAction(t.api, m.id, 'forward'));
    await cancelAction(srv, await requestAction(t.api, m.id, 'pickup'));
    await completeAction(srv, await requestAction(t.api, m.id, 'pickup'));
    await t.api.post(`/mail/${m.id}/forward`, { forward_address: MIN_ADDRESS }); // refused: picked up
  });
  assert.deepEqual(types, [
    'package.arrived',
    'mail_action.requested', 'mail_action.failed',
    'mail_action.requested',
    'mail_action.requested', 'mail_action.completed',
  ]);
  assert.ok(events.every((e) => /^evt_/.test(e.id) && e.object === 'event'));
});

// ---------------------------------------------------------------------------------------------
// Delete rules that depend on actions

test('DELETE: 409 while an action is requested or after one completed; allowed after failed or canceled ones', async () => {
  const requested = await createMail(t.api, cust.id);
  await requestAction(t.api, requested.id, 'scan');
  const scanned = await createMail(t.api, cust.id);
  await completeAction(srv, await requestAction(t.api, scanned.id, 'scan'));
  await assertNoEvents(srv, t.partner.id, async () => {
    assertError(await t.api.del(`/mail/${requested.id}`), 409, 'invalid_state');
    assertError(await t.api.del(`/mail/${scanned.id}`), 409, 'invalid_state');
  });
  assert.equal((await getMail(scanned.id)).status, 'in_storage');
  ok(await t.api.get(`/mail/${requested.id}`));

  const failedThenCanceled = await createMail(t.api, cust.id);
  await failAction(srv, await requestAction(t.api, failedThenCanceled.id, 'scan'));
  await cancelAction(srv, await requestAction(t.api, failedThenCanceled.id, 'forward'));
  const asItWas = await getMail(failedThenCanceled.id);
  const { value: r, types, events } = await srv.captureEvents(t.partner.id, () => t.api.del(`/mail/${failedThenCanceled.id}`));
  assert.deepEqual(ok(r), { id: failedThenCanceled.id, object: 'mail', deleted: true });
  assert.deepEqual(types, ['mail.deleted']);
  assert.deepEqual(events[0].data.object, asItWas);
  assertError(await t.api.get(`/mail/${failedThenCanceled.id}`), 404, 'not_found');
});

// ---------------------------------------------------------------------------------------------
// Idempotency and scope

test('Idempotency-Key on an action request: one action and one event; another body or mail with the key is 422', async () => {
  const m = await createMail(t.api, cust.id);
  const key = uniq('act_req_');
  const body = { forward_address: ADDRESS, shipping_speed: 'express' };
  const { value: [first, second], types } = await srv.captureEvents(t.partner.id, async () => [
    await t.api.post(`/mail/${m.id}/forward`, body, { idem: key }),
    await t.api.post(`/mail/${m.id}/forward`, body, { idem: key }),
  ]);
  ok(first, 201);
  assert.equal(second.status, 201, 'a replay, not 409 for a second open action');
  assert.equal(replayed(second), 'true');
  assert.ok(second.bytes.equals(first.bytes));
  assert.deepEqual(types, ['mail_action.requested']);
  assert.equal((await getMail(m.id)).actions.length, 1);
  const other = await createMail(t.api, cust.id);
  await assertNoEvents(srv, t.partner.id, async () => {
    assertError(await t.api.post(`/mail/${m.id}/forward`, { ...body, shipping_speed: 'standard' }, { idem: key }), 422, 'idempotency_key_reused');
    assertError(await t.api.post(`/mail/${other.id}/forward`, body, { idem: key }), 422, 'idempotency_key_reused');
    assertError(await t.api.post(`/mail/${m.id}/pickup`, body, { idem: key }), 422, 'idempotency_key_reused');
  });
  assert.deepEqual((await getMail(other.id)).actions, []);
});

test('Idempotency-Key on scan, shred and pickup requests replays the first answer', async () => {
  for (const type of ['scan', 'shred', 'pickup']) {
    const m = await createMail(t.api, cust.id);
    const key = uniq(`${type}_`);
    const { value: [a, b], types } = await srv.captureEvents(t.partner.id, async () => [
      await t.api.post(`/mail/${m.id}/${type}`, {}, { idem: key }),
      await t.api.post(`/mail/${m.id}/${type}`, {}, { idem: key }),
    ]);
    ok(a, 201);
    assert.equal(b.status, 201);
    assert.equal(replayed(b), 'true');
    assert.ok(b.bytes.equals(a.bytes));
    assert.deepEqual(types, ['mail_action.requested']);
  }
});

test('the four action routes need mail_actions:write', async () => {
  const m = await createMail(t.api, cust.id);
  const without = srv.api((await srv.createKey(t.partner.id, ['mail:read', 'mail:write', 'customers:read', 'customers:write'])).secret);
  const only = srv.api((await srv.createKey(t.partner.id, ['mail_actions:write'])).secret);
  await assertNoEvents(srv, t.partner.id, async () => {
    for (const type of TYPES) {
      const e = assertError(await without.post(`/mail/${m.id}/${type}`, bodyFor(type)), 403, 'insufficient_scope');
      assert.match(e.message, /mail_actions:write/);
    }
  });
  assert.deepEqual((await getMail(m.id)).actions, []);
  const a = ok(await only.post(`/mail/${m.id}/scan`, {}), 201);
  assert.equal(a.mail_id, m.id);
  assertError(await only.get(`/mail/${m.id}`), 403, 'insufficient_scope');
});

// ---------------------------------------------------------------------------------------------
// Command line

/** Runs a command that must succeed (exit 0); returns the parsed stdout when it is JSON. */
async function cliDone(args) {
  const r = await cli(srv, args);
  assert.equal(r.code, 0, `innbocks ${args.join(' ')} failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
  return r.json;
}

test('command line: action list shows the open actions; complete, fail and cancel act on the running server', async () => {
  const scan = await requestAction(t.api, (await createMail(t.api, cust.id)).id, 'scan');
  const fwd = await requestAction(t.api, (await createMail(t.api, cust.id)).id, 'forward');
  const fail = await requestAction(t.api, (await createMail(t.api, cust.id)).id, 'pickup');
  const cancel = await requestAction(t.api, (await createMail(t.api, cust.id)).id, 'shred');

  const listed = await cliDone(['action', 'list', '--status', 'requested']);
  const items = Array.isArray(listed) ? listed : listed?.data;
  assert.ok(Array.isArray(items), `action list prints the actions as JSON: ${JSON.stringify(listed)}`);
  const ids = items.map((a) => a.id);
  for (const a of [scan, fwd, fail, cancel]) assert.ok(ids.includes(a.id), `${a.id} listed`);
  assert.ok(items.every((a) => a.status === 'requested'));

  const { types } = await srv.captureEvents(t.partner.id, async () => {
    await cliDone(['action', 'complete', scan.id, '--document-url', 'https://docs.example.com/cli.pdf']);
    await cliDone(['action', 'complete', fwd.id, '--carrier', 'usps', '--tracking-number', '9400CLI']);
    await cliDone(['action', 'fail', fail.id, '--reason', 'customer did not show up']);
    await cliDone(['action', 'cancel', cancel.id]);
  });
  assert.deepEqual(types, ['mail_action.completed', 'mail_action.completed', 'mail_action.failed']);

  const s = (await getMail(scan.mail_id)).actions[0];
  assert.equal(s.status, 'completed');
  assert.deepEqual(s.result, { document_url: 'https://docs.example.com/cli.pdf' });
  const fm = await getMail(fwd.mail_id);
  assert.equal(fm.status, 'forwarded');
  assert.deepEqual(fm.actions[0].result, { carrier: 'usps', tracking_number: '9400CLI' });
  const fl = (await getMail(fail.mail_id)).actions[0];
  assert.equal(fl.status, 'failed');
  assert.equal(fl.failure_reason, 'customer did not show up');
  const cm = await getMail(cancel.mail_id);
  assert.equal(cm.actions[0].status, 'canceled');
  assert.equal(cm.status, 'in_storage');

  const after = await cliDone(['action', 'list', '--status', 'requested']);
  const left = (Array.isArray(after) ? after : after.data).map((a) => a.id);
  for (const a of [scan, fwd, fail, cancel]) assert.ok(!left.includes(a.id));
});

test('command line: refused action commands exit 1 with the error JSON on stderr and change nothing', async () => {
  const done = await completeAction(srv, await requestAction(t.api, (await createMail(t.api, cust.id)).id, 'pickup'));
  const open = await requestAction(t.api, (await createMail(t.api, cust.id)).id, 'forward');
  await assertNoEvents(srv, t.partner.id, async () => {
    await cliRefused(srv, ['action', 'cancel', done.id], 'invalid_state');
    await cliRefused(srv, ['action', 'fail', done.id, '--reason', 'x'], 'invalid_state');
    await cliRefused(srv, ['action', 'complete', 'act_ZZZZZZZZZZZZZZZZZZZZZZZZ', '--document-url', 'https://docs.example.com/x.pdf'], 'not_found');
    const e = await cliRefused(srv, ['action', 'complete', open.id, '--carrier', 'pigeon', '--tracking-number', '1'], 'validation_failed');
    assert.equal(e.param, 'carrier');
  });
  assert.deepEqual((await getMail(open.mail_id)).actions, [open]);
  assert.deepEqual((await getMail(done.mail_id)).actions, [done]);
});
