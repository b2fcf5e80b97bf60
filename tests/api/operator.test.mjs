// Covers the operator API (/admin/v1, docs/operators.md): partners (create with a location, validation,
// list, retrieve), reading any partner's customer, accept-invite, the customer's own billing flag,
// compliance decisions (every transition, reasons, validation, the first approval activating the
// mailbox exactly once, never for a deactivated customer), and the outbox event log: each step
// emits exactly the events it should, with the object as GET returns it at that moment.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, ALL_SCOPES, createCustomer, assertError, ok, assertRecentTime, LOCATION, qs, uniq, listAll, sleep,
} from './lib.mjs';

let srv;
let t;

before(async () => {
  srv = await startServer();
  t = await srv.tenant();
});
after(() => srv?.stop());

const adm = () => srv.admin();
const compliance = (id, body) => adm().post(`/customers/${id}/compliance`, body);

test('POST /admin/v1/partners creates a partner with its location', async () => {
  const location = { ...LOCATION, line2: 'Floor 2' };
  const name = uniq('Coworking ');
  const p = ok(await adm().post('/partners', { name, location }), 201);
  assert.match(p.id, /^ptn_[A-Za-z0-9]+$/);
  assert.equal(p.object, 'partner');
  assert.equal(p.name, name);
  assert.deepEqual(p.location, location);
  assertRecentTime(p.created_at);
  assert.deepEqual(ok(await adm().get(`/partners/${p.id}`)), p);
  const all = await listAll(adm(), '/partners');
  assert.deepEqual(all.find((x) => x.id === p.id), p);
  assert.equal(all[0].id, p.id, 'newest first');
});

test('partner creation is validated', async () => {
  const cases = [
    [{ location: LOCATION }, 'name'],
    [{ name: '', location: LOCATION }, 'name'],
    [{ name: 5, location: LOCATION }, 'name'],
    [{ name: 'P' }, 'location'],
    [{ name: 'P', location: 'SF' }, 'location'],
  ];
  for (const [body, param] of cases) assertError(await adm().post('/partners', body), 422, 'validation_failed', param);
  for (const field of ['line1', 'city', 'state', 'postal_code', 'country']) {
    const location = { ...LOCATION };
    delete location[field];
    const e = assertError(await adm().post('/partners', { name: 'P', location }), 422, 'validation_failed');
    assert.match(e.param ?? '', new RegExp(field), `param names ${field}: ${e.param}`);
  }
  assertError(await adm().post('/partners', { name: 'P', location: { ...LOCATION, country: 'XX' } }), 422, 'validation_failed', 'location.country');
  assertError(await adm().post('/partners', { name: 'P', location: LOCATION, id: 'ptn_mine' }), 400, 'unknown_parameter', 'id');
  assertError(await adm().post('/partners', { name: 'P', location: LOCATION, plan: 'gold' }), 400, 'unknown_parameter', 'plan');
  assertError(await adm().get('/partners/ptn_doesnotexist00000000'), 404, 'not_found');
});

test('GET /admin/v1/customers/{id} reads any partner\'s customer as the partner sees it', async () => {
  const c = await createCustomer(t.api, { metadata: { a: 'b' } });
  assert.deepEqual(ok(await adm().get(`/customers/${c.id}`)), ok(await t.api.get(`/customers/${c.id}`)));
  assertError(await adm().get('/customers/cus_doesnotexist00000000'), 404, 'not_found');
});

test('accept-invite makes the customer active and emits customer.activated once', async () => {
  const c = await createCustomer(t.api);
  const { value: r, types, events } = await srv.captureEvents(t.partner.id, () => adm().post(`/customers/${c.id}/accept-invite`));
  const active = ok(r);
  assert.equal(active.status, 'active');
  assert.deepEqual(ok(await t.api.get(`/customers/${c.id}`)), active);
  assert.deepEqual(types, ['customer.activated']);
  assert.deepEqual(events[0].data.object, active);

  const again = await srv.captureEvents(t.partner.id, () => adm().post(`/customers/${c.id}/accept-invite`));
  assert.deepEqual(ok(again.value), active);
  assert.deepEqual(again.types, []);
});

test('accept-invite of a deactivated customer is 409 invalid_state; of an unknown one 404', async () => {
  const c = await createCustomer(t.api);
  const d = ok(await t.api.post(`/customers/${c.id}/deactivate`, {}));
  const { value: r, types } = await srv.captureEvents(t.partner.id, () => adm().post(`/customers/${c.id}/accept-invite`));
  assertError(r, 409, 'invalid_state');
  assert.deepEqual(types, []);
  assert.deepEqual(ok(await t.api.get(`/customers/${c.id}`)), d);
  assertError(await adm().post('/customers/cus_doesnotexist00000000/accept-invite'), 404, 'not_found');
});

test('the customer\'s own billing flag drives billing_status and emits customer.updated on change only', async () => {
  const c = await createCustomer(t.api);
  assert.equal(c.billing_status, 'inactive');
  const on = await srv.captureEvents(t.partner.id, () => adm().post(`/customers/${c.id}/billing`, { active: true }));
  const onBody = ok(on.value);
  assert.equal(onBody.billing_status, 'active');
  assert.equal(onBody.prepay, false);
  assert.deepEqual(ok(await t.api.get(`/customers/${c.id}`)), onBody);
  assert.deepEqual(on.types, ['customer.updated']);
  assert.deepEqual(on.events[0].data.object, onBody);

  const same = await srv.captureEvents(t.partner.id, () => adm().post(`/customers/${c.id}/billing`, { active: true }));
  assert.deepEqual(ok(same.value), onBody);
  assert.deepEqual(same.types, []);

  const off = await srv.captureEvents(t.partner.id, () => adm().post(`/customers/${c.id}/billing`, { active: false }));
  assert.equal(ok(off.value).billing_status, 'inactive');
  assert.deepEqual(off.types, ['customer.updated']);
});

test('prepay keeps billing active whatever the customer\'s own billing says', async () => {
  const c = await createCustomer(t.api, { prepay: true });
  assert.equal(ok(await adm().post(`/customers/${c.id}/billing`, { active: false })).billing_status, 'active');
  ok(await adm().post(`/customers/${c.id}/billing`, { active: true }));
  const u = ok(await t.api.patch(`/customers/${c.id}`, { prepay: false }));
  assert.equal(u.billing_status, 'active', 'own billing is active');
});

test('the billing endpoint is validated', async () => {
  const c = await createCustomer(t.api);
  assertError(await adm().post(`/customers/${c.id}/billing`, {}), 422, 'validation_failed', 'active');
  assertError(await adm().post(`/customers/${c.id}/billing`, { active: 'yes' }), 422, 'validation_failed', 'active');
  assertError(await adm().post(`/customers/${c.id}/billing`, { active: null }), 422, 'validation_failed', 'active');
  assertError(await adm().post(`/customers/${c.id}/billing`, { active: true, prepay: true }), 400, 'unknown_parameter', 'prepay');
  assertError(await adm().post('/customers/cus_doesnotexist00000000/billing', { active: true }), 404, 'not_found');
  assert.equal(ok(await t.api.get(`/customers/${c.id}`)).billing_status, 'inactive');
});

test('compliance: submitted and pending are recorded and emit compliance.updated', async () => {
  const c = await createCustomer(t.api);
  const s = await srv.captureEvents(t.partner.id, () => compliance(c.id, { form_1583: 'submitted' }));
  const comp = ok(s.value);
  assert.equal(comp.object, 'compliance');
  assert.equal(comp.customer_id, c.id);
  assert.equal(comp.form_1583.status, 'submitted');
  assertRecentTime(comp.form_1583.submitted_at);
  assert.equal(comp.form_1583.approved_at, null);
  assert.equal(comp.identity.status, 'not_started');
  assert.equal(comp.mail_receipt_approved, false);
  assert.deepEqual(ok(await t.api.get(`/customers/${c.id}/compliance`)), comp);
  assert.deepEqual(s.types, ['compliance.updated']);
  assert.deepEqual(s.events[0].data.object, comp);

  const p = await srv.captureEvents(t.partner.id, () => compliance(c.id, { identity: 'pending' }));
  const comp2 = ok(p.value);
  assert.equal(comp2.identity.status, 'pending');
  assert.deepEqual(comp2.form_1583, comp.form_1583, 'the form is untouched when left out');
  assert.deepEqual(p.types, ['compliance.updated']);
  assert.equal(ok(await t.api.get(`/customers/${c.id}/mailbox`)).status, 'reserved');
});

test('the first approval activates the mailbox once: compliance.updated + mailbox.activated', async () => {
  const c = await createCustomer(t.api);
  const half = await srv.captureEvents(t.partner.id, () => compliance(c.id, { form_1583: 'approved' }));
  assert.equal(ok(half.value).mail_receipt_approved, false);
  assert.deepEqual(half.types, ['compliance.updated']);
  assert.equal(ok(await t.api.get(`/customers/${c.id}/mailbox`)).status, 'reserved');

  const full = await srv.captureEvents(t.partner.id, () => compliance(c.id, { identity: 'verified' }));
  const comp = ok(full.value);
  assert.equal(comp.mail_receipt_approved, true);
  assert.equal(comp.form_1583.status, 'approved');
  assertRecentTime(comp.form_1583.approved_at);
  assert.equal(comp.identity.status, 'verified');
  assertRecentTime(comp.identity.verified_at);
  const m = ok(await t.api.get(`/customers/${c.id}/mailbox`));
  assert.equal(m.status, 'active');
  assertRecentTime(m.activated_at);
  assert.equal(m.closed_at, null);
  assert.equal(ok(await t.api.get(`/customers/${c.id}`)).mail_receipt_approved, true);
  assert.deepEqual([...full.types].sort(), ['compliance.updated', 'mailbox.activated']);
  assert.deepEqual(full.events.find((e) => e.type === 'mailbox.activated').data.object, m);
  assert.deepEqual(full.events.find((e) => e.type === 'compliance.updated').data.object, comp);

  // Setting the same states again changes nothing and emits nothing.
  const same = await srv.captureEvents(t.partner.id, () => compliance(c.id, { form_1583: 'approved', identity: 'verified' }));
  assert.deepEqual(ok(same.value), comp);
  assert.deepEqual(same.types, []);

  // A later rejection and re-approval do not activate the mailbox a second time.
  await sleep(1100);
  const rej = await srv.captureEvents(t.partner.id, () => compliance(c.id, { form_1583: 'rejected', reason: 'signature missing' }));
  const rejected = ok(rej.value);
  assert.equal(rejected.form_1583.status, 'rejected');
  assert.equal(rejected.form_1583.rejection_reason, 'signature missing');
  assert.equal(rejected.mail_receipt_approved, false);
  assert.equal(ok(await t.api.get(`/customers/${c.id}`)).mail_receipt_approved, false);
  assert.deepEqual(rej.types, ['compliance.updated']);
  const re = await srv.captureEvents(t.partner.id, () => compliance(c.id, { form_1583: 'approved' }));
  assert.equal(ok(re.value).mail_receipt_approved, true);
  assert.deepEqual(re.types, ['compliance.updated']);
  const m2 = ok(await t.api.get(`/customers/${c.id}/mailbox`));
  assert.equal(m2.status, 'active');
  assert.equal(m2.activated_at, m.activated_at, 'activated_at is the first activation');
});

test('approval in one step from not_started activates the mailbox of an invited customer', async () => {
  const c = await createCustomer(t.api);
  const r = await srv.captureEvents(t.partner.id, () => compliance(c.id, { form_1583: 'approved', identity: 'verified', reason: null }));
  assert.equal(ok(r.value).mail_receipt_approved, true);
  assert.deepEqual([...r.types].sort(), ['compliance.updated', 'mailbox.activated']);
  assert.equal(ok(await t.api.get(`/customers/${c.id}`)).status, 'invited', 'approval does not accept the invitation');
});

test('identity failure records the reason and can go back to pending', async () => {
  const c = await createCustomer(t.api);
  const failed = ok(await compliance(c.id, { identity: 'failed', reason: 'ID expired' }));
  assert.equal(failed.identity.status, 'failed');
  assert.equal(failed.identity.failure_reason, 'ID expired');
  assert.equal(failed.identity.verified_at, null);
  const pending = ok(await compliance(c.id, { identity: 'pending' }));
  assert.equal(pending.identity.status, 'pending');
  const rejected = ok(await compliance(c.id, { form_1583: 'rejected', reason: 'blurry' }));
  const resubmitted = ok(await compliance(c.id, { form_1583: 'submitted' }));
  assert.equal(rejected.form_1583.rejection_reason, 'blurry');
  assert.equal(resubmitted.form_1583.status, 'submitted');
});

test('a decided state is revised, never undone: approved is not submitted again, verified not pending again', async () => {
  const c = await createCustomer(t.api);
  ok(await compliance(c.id, { form_1583: 'approved', identity: 'verified' }));
  const before = ok(await t.api.get(`/customers/${c.id}/compliance`));
  const undo = await srv.captureEvents(t.partner.id, async () => [
    await compliance(c.id, { form_1583: 'submitted' }),
    await compliance(c.id, { identity: 'pending' }),
    await compliance(c.id, { form_1583: 'rejected', identity: 'pending', reason: 'x' }),
  ]);
  assertError(undo.value[0], 409, 'invalid_state', 'form_1583');
  assertError(undo.value[1], 409, 'invalid_state', 'identity');
  assertError(undo.value[2], 409, 'invalid_state', 'identity');
  assert.deepEqual(undo.types, [], 'a refused change emits nothing');
  assert.deepEqual(ok(await t.api.get(`/customers/${c.id}/compliance`)), before, 'and changes nothing');
  // Revising a decision is allowed, and so is going back along the contract's arrows.
  ok(await compliance(c.id, { form_1583: 'rejected', identity: 'failed', reason: 'fraud' }));
  const back = ok(await compliance(c.id, { form_1583: 'submitted', identity: 'pending' }));
  assert.equal(back.form_1583.status, 'submitted');
  assert.equal(back.identity.status, 'pending');
});

test('a reason goes with a rejection or a failure: a new one replaces the old, one with neither is refused', async () => {
  const c = await createCustomer(t.api);
  ok(await compliance(c.id, { form_1583: 'rejected', identity: 'failed', reason: 'blurry' }));
  // The same decision with a new reason: the reason is replaced, and that is an update.
  const revised = await srv.captureEvents(t.partner.id, () => compliance(c.id, { form_1583: 'rejected', reason: 'wrong name on form' }));
  assert.equal(ok(revised.value).form_1583.rejection_reason, 'wrong name on form');
  assert.equal(ok(revised.value).identity.failure_reason, 'blurry', 'identity was not in the request');
  assert.deepEqual(revised.types, ['compliance.updated']);
  const failure = ok(await compliance(c.id, { identity: 'failed', reason: 'ID expired' }));
  assert.equal(failure.identity.failure_reason, 'ID expired');
  // The same reason again, or the decision without one: nothing changes.
  const before = ok(await t.api.get(`/customers/${c.id}/compliance`));
  const same = await srv.captureEvents(t.partner.id, async () => [
    await compliance(c.id, { form_1583: 'rejected', reason: 'wrong name on form' }),
    await compliance(c.id, { identity: 'failed' }),
  ]);
  assert.deepEqual(same.types, []);
  assert.deepEqual(ok(await t.api.get(`/customers/${c.id}/compliance`)), before);
  // A reason nothing in the request takes would be dropped: refused, naming it.
  const refused = await srv.captureEvents(t.partner.id, async () => [
    await compliance(c.id, { reason: 'orphan' }),
    await compliance(c.id, { form_1583: 'approved', reason: 'looks fine' }),
    await compliance(c.id, { identity: 'pending', reason: 'waiting' }),
  ]);
  for (const r of refused.value) {
    assertError(r, 422, 'validation_failed', 'reason');
    assert.equal(r.body.error.message, 'reason goes with form_1583 rejected or identity failed');
  }
  assert.deepEqual(refused.types, []);
  assert.deepEqual(ok(await t.api.get(`/customers/${c.id}/compliance`)), before);
});

test('compliance decisions are validated', async () => {
  const c = await createCustomer(t.api);
  const cases = [
    [{ form_1583: 'not_started' }, 'form_1583'], [{ identity: 'not_started' }, 'identity'],
    [{ form_1583: 'verified' }, 'form_1583'], [{ identity: 'approved' }, 'identity'],
    [{ form_1583: 5 }, 'form_1583'], [{ identity: true }, 'identity'], [{ form_1583: 'approved', reason: 5 }, 'reason'],
  ];
  for (const [body, param] of cases) assertError(await compliance(c.id, body), 422, 'validation_failed', param);
  assertError(await compliance(c.id, { form_1583: 'approved', mail_receipt_approved: true }), 400, 'unknown_parameter', 'mail_receipt_approved');
  assertError(await compliance('cus_doesnotexist00000000', { form_1583: 'approved' }), 404, 'not_found');
  const comp = ok(await t.api.get(`/customers/${c.id}/compliance`));
  assert.equal(comp.form_1583.status, 'not_started');
  assert.equal(comp.identity.status, 'not_started');
});

test('approving a deactivated customer does not open its mailbox', async () => {
  const c = await createCustomer(t.api);
  ok(await t.api.post(`/customers/${c.id}/deactivate`, {}));
  const closed = ok(await t.api.get(`/customers/${c.id}/mailbox`));
  const r = await srv.captureEvents(t.partner.id, () => compliance(c.id, { form_1583: 'approved', identity: 'verified' }));
  ok(r.value);
  assert.ok(!r.types.includes('mailbox.activated'), `no mailbox.activated: ${r.types}`);
  assert.deepEqual(ok(await t.api.get(`/customers/${c.id}/mailbox`)), closed);
});

test('the event log: filter by type, newest first, events shaped as docs/webhooks.md#events', async () => {
  const tn = await srv.tenant();
  const c1 = await createCustomer(tn.api);
  const c2 = await createCustomer(tn.api);
  ok(await srv.admin().post(`/customers/${c1.id}/accept-invite`));
  const all = await srv.events(tn.partner.id);
  assert.deepEqual(all.map((e) => e.type), ['customer.activated', 'customer.created', 'customer.created']);
  assert.deepEqual(all.map((e) => e.data.object.id), [c1.id, c2.id, c1.id]);
  for (const e of all) {
    assert.match(e.id, /^evt_[A-Za-z0-9]+$/);
    assert.equal(e.object, 'event');
    assert.equal(e.api_version, 'v1');
    assertRecentTime(e.created_at);
    assert.deepEqual(Object.keys(e.data), ['object']);
  }
  const created = ok(await adm().get(`/events${qs({ partner_id: tn.partner.id, type: 'customer.created' })}`));
  assert.deepEqual(created.data.map((e) => e.data.object.id), [c2.id, c1.id]);
  assert.equal(created.has_more, false);
  assertError(await adm().get(`/events${qs({ partner_id: tn.partner.id, nope: 1 })}`), 400, 'unknown_parameter', 'nope');
  // A type outside the catalogue, or a family (the Partner API's), is refused, not an empty list.
  for (const type of ['bogus', 'customer.*', ''])
    assertError(await adm().get(`/events${qs({ partner_id: tn.partner.id, type })}`), 400, 'invalid_request', 'type');
  // partner_id is a partner's own id: not an unknown one, nor its test tenant's.
  assertError(await adm().get(`/events${qs({ partner_id: 'ptn_doesnotexist000000000000' })}`), 404, 'not_found', 'partner_id');
  assertError(await adm().get(`/events${qs({ partner_id: `${tn.partner.id}_test` })}`), 404, 'not_found', 'partner_id');
  assert.deepEqual(ok(await adm().get(`/events${qs({ partner_id: tn.partner.id, livemode: 'false' })}`)).data, []);
});

test('an unknown scope is refused with a message that lists the valid scopes', async () => {
  const p = await srv.createPartner();
  const e = assertError(await srv.admin().post(`/partners/${p.id}/keys`, { scopes: ['customers:read', 'customer:write'] }),
    422, 'validation_failed', 'scopes');
  assert.match(e.message, /scopes\[1\] is not a known scope/);
  for (const s of ALL_SCOPES) assert.ok(e.message.includes(s), `the message lists ${s}: ${e.message}`);
});
