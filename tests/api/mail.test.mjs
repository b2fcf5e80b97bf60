// Covers inbound mail (docs/api.md#mail, docs/operators.md#mail-and-mail-actions): the overview's own `Create Inbound Mail`
// request succeeding for an eligible customer and refused for every kind of ineligible one (the
// message naming the first failed check), every field and limit of POST /mail (422 with the
// field as param, checked before the customer is looked up; unknown and server-set fields 400),
// the stored object as GET and the customer's mail list return it (filters, paging), deletion,
// Idempotency-Key, scopes, staff-recorded mail (operator API and command line), and the outbox
// holding exactly the events each step should emit — nothing at all for a refused request.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, createCustomer, assertError, ok, qs, assertRecentTime, uniq,
} from './lib.mjs';
import {
  OVERVIEW_MAIL_TEXT, OVERVIEW_IDEMPOTENCY_KEY, overviewMailBody, mailBody, approve, eligibleCustomer,
  createMail, staffMail, assertMailShape, assertNoEvents, customerMail, cliOk, cliRefused, MAIL_KEYS,
} from './mail_lib.mjs';

let srv;
let t; // the partner most tests use
let cust; // an eligible customer of t

before(async () => {
  srv = await startServer();
  t = await srv.tenant();
  cust = await eligibleCustomer(srv, t.api);
});
after(() => srv?.stop());

const replayed = (r) => r.headers.get('idempotent-replayed');

// ---------------------------------------------------------------------------------------------
// The overview's request

test("the overview's Create Inbound Mail request succeeds for an eligible customer and emits package.arrived", async () => {
  // The fixture holds exactly the overview's fields.
  assert.deepEqual(JSON.parse(OVERVIEW_MAIL_TEXT), {
    customer_id: 'cus_123', type: 'package', photos: ['https://example.com/package-front.jpg'],
    performed_by: 'warehouse_user_42', tracking_number: '1Z9999999999999999',
  });
  const o = await srv.tenant();
  // The overview's own Create Customer request, then the operator approves the customer.
  const c = ok(await o.api.request('POST', '/customers', {
    raw: '{\n    "external_customer_id": "crm_customer_123",\n    "email": "jane@example.com",\n    "name": "Jane Smith",\n    "phone": "+15555555555",\n    "prepay": true\n  }',
    idem: 'crm_customer_123_create',
  }), 201);
  await approve(srv, c.id);

  const send = () => o.api.request('POST', '/mail', { raw: overviewMailBody(c.id), idem: OVERVIEW_IDEMPOTENCY_KEY });
  const { value: r, types, events } = await srv.captureEvents(o.partner.id, send);
  const m = ok(r, 201);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
  assert.notEqual(replayed(r), 'true');
  assertMailShape(m);
  assert.equal(m.customer_id, c.id);
  assert.equal(m.mailbox_id, c.mailbox_id);
  assert.equal(m.type, 'package');
  assert.equal(m.status, 'in_storage');
  assert.equal(m.source, 'partner');
  assert.deepEqual(m.photos, ['https://example.com/package-front.jpg']);
  assert.equal(m.performed_by, 'warehouse_user_42');
  assert.equal(m.tracking_number, '1Z9999999999999999');
  assert.equal(m.carrier, null);
  assert.equal(m.sender, null);
  assert.equal(m.notes, null);
  assert.deepEqual(m.metadata, {});
  assert.deepEqual(m.actions, []);
  assertRecentTime(m.received_at, 60000);
  assertRecentTime(m.created_at, 60000);
  assertRecentTime(m.updated_at, 60000);

  assert.deepEqual(types, ['package.arrived']);
  assert.match(events[0].id, /^evt_/);
  assert.equal(events[0].object, 'event');
  assert.equal(events[0].api_version, 'v1');
  assert.deepEqual(events[0].data.object, m);
  assert.deepEqual(ok(await o.api.get(`/mail/${m.id}`)), m);
  assert.deepEqual((await customerMail(o.api, c.id)).map((x) => x.id), [m.id]);

  // The CRM job retries with the same key: the same answer, no second record, no second event.
  const { value: again, types: t2 } = await srv.captureEvents(o.partner.id, send);
  assert.equal(again.status, 201);
  assert.equal(replayed(again), 'true');
  assert.ok(again.bytes.equals(r.bytes), `replay differs:\n${r.text}\n${again.text}`);
  assert.deepEqual(t2, []);
  assert.deepEqual((await customerMail(o.api, c.id)).map((x) => x.id), [m.id]);
});

/**
 * The kinds of ineligible customer: a setup that produces one, and the word the message must
 * contain (the first failed check in the order deactivated, billing, approval).
 */
const INELIGIBLE = [
  ['deactivated (prepaid and approved before)', 'deactivated', async (api) => {
    const c = await eligibleCustomer(srv, api);
    ok(await api.post(`/customers/${c.id}/deactivate`, {}));
    return c;
  }],
  ['billing inactive (no prepay, own billing never activated, approved)', 'billing', async (api) => {
    const c = await createCustomer(api, { prepay: false });
    await approve(srv, c.id);
    return c;
  }],
  ['billing switched off by the operator (approved)', 'billing', async (api) => {
    const c = await createCustomer(api, { prepay: false });
    ok(await srv.admin().post(`/customers/${c.id}/billing`, { active: true }));
    await approve(srv, c.id);
    ok(await srv.admin().post(`/customers/${c.id}/billing`, { active: false }));
    return c;
  }],
  ['prepay turned off by PATCH (approved)', 'billing', async (api) => {
    const c = await eligibleCustomer(srv, api);
    ok(await api.patch(`/customers/${c.id}`, { prepay: false }));
    return c;
  }],
  ['not approved for mail receipt (nothing reviewed yet)', 'approved', async (api) => createCustomer(api, { prepay: true })],
  ['not approved: Form 1583 approved, identity pending', 'approved', async (api) => {
    const c = await createCustomer(api, { prepay: true });
    ok(await srv.admin().post(`/customers/${c.id}/compliance`, { form_1583: 'approved', identity: 'pending' }));
    return c;
  }],
  ['not approved: identity verified, Form 1583 rejected', 'approved', async (api) => {
    const c = await createCustomer(api, { prepay: true });
    ok(await srv.admin().post(`/customers/${c.id}/compliance`, { form_1583: 'rejected', identity: 'verified', reason: 'blurry' }));
    return c;
  }],
  ['deactivated, billing inactive and not approved: deactivation is named', 'deactivated', async (api) => {
    const c = await createCustomer(api, { prepay: false });
    ok(await api.post(`/customers/${c.id}/deactivate`, {}));
    return c;
  }],
  ['billing inactive and not approved: billing is named', 'billing', async (api) => createCustomer(api, { prepay: false })],
];
const OTHER_WORDS = { deactivated: [], billing: [/deactivated/i], approved: [/deactivated/i, /billing/i] };
/** The machine-readable `reason` next to the message, per failed check. */
const REASONS = { deactivated: 'deactivated', billing: 'billing_inactive', approved: 'not_approved' };

for (const [name, word, setup] of INELIGIBLE) {
  test(`the overview's request is refused with 422 customer_not_eligible: ${name}`, async () => {
    const c = await setup(t.api);
    for (const [who, client, idem] of [['partner', t.api, uniq('inbound_')], ['operator', srv.admin(), undefined]]) {
      const r = await assertNoEvents(srv, t.partner.id, () => client.request('POST', '/mail', { raw: overviewMailBody(c.id), idem }));
      const e = assertError(r, 422, 'customer_not_eligible', 'customer_id');
      assert.match(e.message, new RegExp(word, 'i'), `${who}: the message names the failed check: ${e.message}`);
      for (const other of OTHER_WORDS[word]) assert.doesNotMatch(e.message, other, `${who}: only the first failed check is named: ${e.message}`);
      assert.equal(e.reason, REASONS[word], `${who}: error.reason says which check failed, for programs`);
    }
    assert.deepEqual(await customerMail(t.api, c.id), [], 'a refused request stores nothing');
  });
}

test("a customer whose own billing is active (no prepay) and who is approved may receive mail", async () => {
  const c = await createCustomer(t.api, { prepay: false });
  ok(await srv.admin().post(`/customers/${c.id}/billing`, { active: true }));
  await approve(srv, c.id);
  const { value: r, types } = await srv.captureEvents(t.partner.id, () => t.api.request('POST', '/mail', { raw: overviewMailBody(c.id) }));
  const m = ok(r, 201);
  assert.equal(m.customer_id, c.id);
  assert.deepEqual(types, ['package.arrived']);
});

test('an invited (not yet active) customer who is prepaid and approved may receive mail', async () => {
  const c = await createCustomer(t.api, { prepay: true });
  await approve(srv, c.id);
  assert.equal(ok(await t.api.get(`/customers/${c.id}`)).status, 'invited');
  ok(await t.api.post('/mail', mailBody(c.id)), 201);
});

test('an unknown customer is 404 not_found with param customer_id, for partner and operator alike', async () => {
  for (const client of [t.api, srv.admin()]) {
    const r = await assertNoEvents(srv, t.partner.id, () => client.post('/mail', mailBody('cus_ZZZZZZZZZZZZZZZZZZZZZZZZ')));
    assertError(r, 404, 'not_found', 'customer_id');
  }
});

// ---------------------------------------------------------------------------------------------
// Validation

const long = (n, ch = 'a') => ch.repeat(n);
const url = (n) => `https://example.com/${long(n - 'https://example.com/'.length)}`;
const future = () => new Date(Date.now() + 3600 * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
const manyKeys = (n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));

/** [field at fault, the bad part of the body (undefined removes the field)] */
const INVALID = [
  ['customer_id', { customer_id: undefined }],
  ['customer_id', { customer_id: 42 }],
  ['customer_id', { customer_id: null }],
  ['type', { type: undefined }],
  ['type', { type: 'parcel' }],
  ['type', { type: 'Letter' }],
  ['type', { type: '' }],
  ['type', { type: 3 }],
  ['type', { type: null }],
  ['photos', { photos: undefined }],
  ['photos', { photos: [] }],
  ['photos', { photos: Array.from({ length: 11 }, (_, i) => `https://example.com/p${i}.jpg`) }],
  ['photos', { photos: 'https://example.com/front.jpg' }],
  ['photos', { photos: null }],
  ['photos', { photos: [42] }],
  ['photos', { photos: [null] }],
  ['photos', { photos: ['ftp://example.com/front.jpg'] }],
  ['photos', { photos: ['/relative/front.jpg'] }],
  ['photos', { photos: ['front.jpg'] }],
  ['photos', { photos: ['not a url'] }],
  ['photos', { photos: [''] }],
  ['photos', { photos: ['https://'] }],
  ['photos', { photos: ['javascript:alert(1)'] }],
  ['photos', { photos: ['file:///etc/passwd'] }],
  ['photos', { photos: ['https://example.com/ok.jpg', 'ftp://example.com/bad.jpg'] }],
  ['photos', { photos: [url(2049)] }],
  ['performed_by', { performed_by: undefined }],
  ['performed_by', { performed_by: '' }],
  ['performed_by', { performed_by: long(129) }],
  ['performed_by', { performed_by: 42 }],
  ['performed_by', { performed_by: null }],
  ['tracking_number', { tracking_number: long(65, '1') }],
  ['tracking_number', { tracking_number: 123456 }],
  ['carrier', { carrier: 'royal_mail' }],
  ['carrier', { carrier: 'USPS' }],
  ['carrier', { carrier: '' }],
  ['carrier', { carrier: 1 }],
  ['sender', { sender: long(201) }],
  ['sender', { sender: 7 }],
  ['notes', { notes: long(1001) }],
  ['notes', { notes: ['x'] }],
  ['received_at', { received_at: 'yesterday' }],
  ['received_at', { received_at: '2026-13-01T00:00:00Z' }],
  ['received_at', { received_at: '2026-02-30T10:00:00Z' }],
  ['received_at', { received_at: '2026-01-05' }],
  ['received_at', { received_at: 1767600000 }],
  ['received_at', { received_at: future() }],
  // The Unix epoch itself was stored, then read back as null; before it, a misleading message.
  ['received_at', { received_at: '1970-01-01T00:00:00Z' }],
  ['received_at', { received_at: '1970-01-01T00:30:00+01:00' }],
  ['received_at', { received_at: '1969-12-31T23:59:59Z' }],
  ['metadata', { metadata: 'plan=gold' }],
  ['metadata', { metadata: ['gold'] }],
  ['metadata', { metadata: { plan: 1 } }],
  ['metadata', { metadata: { plan: { tier: 'gold' } } }],
  ['metadata', { metadata: manyKeys(51) }],
  ['metadata', { metadata: { [long(41)]: 'v' } }],
  ['metadata', { metadata: { k: long(501) } }],
];

test('every bad field of POST /mail is 422 validation_failed naming it, and writes and emits nothing', async () => {
  const before = await customerMail(t.api, cust.id);
  await assertNoEvents(srv, t.partner.id, async () => {
    for (const [param, change] of INVALID) {
      const body = mailBody(cust.id, change);
      const r = await t.api.post('/mail', body);
      assertError(r, 422, 'validation_failed', param);
    }
  });
  assert.deepEqual(await customerMail(t.api, cust.id), before);
});

test('the operator API refuses the same bad fields the same way', async () => {
  await assertNoEvents(srv, t.partner.id, async () => {
    for (const [param, change] of INVALID) {
      assertError(await srv.admin().post('/mail', mailBody(cust.id, change)), 422, 'validation_failed', param);
    }
  });
});

test('fields are validated before the customer is looked up (unknown, foreign or ineligible customer)', async () => {
  const other = await srv.tenant();
  const foreign = await eligibleCustomer(srv, other.api);
  const ineligible = await createCustomer(t.api, { prepay: false });
  for (const customerId of ['cus_ZZZZZZZZZZZZZZZZZZZZZZZZ', foreign.id, ineligible.id]) {
    for (const [param, change] of INVALID) {
      if (param === 'customer_id') continue;
      assertError(await t.api.post('/mail', mailBody(customerId, change)), 422, 'validation_failed', param);
    }
    assertError(await t.api.post('/mail', mailBody(customerId, { colour: 'red' })), 400, 'unknown_parameter', 'colour');
  }
});

test('unknown fields and server-set fields are 400 unknown_parameter naming the field', async () => {
  await assertNoEvents(srv, t.partner.id, async () => {
    for (const [field, value] of [
      ['colour', 'red'], ['id', 'mail_mine'], ['object', 'mail'], ['status', 'in_storage'], ['source', 'innbocks'],
      ['created_at', '2026-01-01T00:00:00Z'], ['updated_at', '2026-01-01T00:00:00Z'], ['actions', []],
      ['mailbox_id', cust.mailbox_id], ['photo', 'https://example.com/a.jpg'],
    ]) {
      assertError(await t.api.post('/mail', mailBody(cust.id, { [field]: value })), 400, 'unknown_parameter', field);
    }
  });
});

test('the limits themselves are accepted and stored as given', async () => {
  const photos = [url(2048), 'http://example.com/plain-http.jpg', 'https://cdn.example.com:8443/a/b.jpg?sig=abc&x=1',
    ...Array.from({ length: 7 }, (_, i) => `https://example.com/p${i}.jpg`)];
  assert.equal(photos.length, 10);
  const metadata = manyKeys(49);
  metadata[long(40, 'k')] = long(500, 'v');
  const body = mailBody(cust.id, {
    type: 'large_envelope', photos, performed_by: long(128, 'p'), tracking_number: long(64, '9'), carrier: 'other',
    sender: long(200, 's'), notes: long(1000, 'n'), metadata,
  });
  const m = ok(await t.api.post('/mail', body), 201);
  assertMailShape(m);
  assert.deepEqual(m.photos, photos);
  assert.equal(m.performed_by, body.performed_by);
  assert.equal(m.tracking_number, body.tracking_number);
  assert.equal(m.carrier, 'other');
  assert.equal(m.sender, body.sender);
  assert.equal(m.notes, body.notes);
  assert.deepEqual(m.metadata, metadata);
  assert.deepEqual(ok(await t.api.get(`/mail/${m.id}`)), m);
  const one = ok(await t.api.post('/mail', mailBody(cust.id, { performed_by: 'x' })), 201);
  assert.equal(one.performed_by, 'x');
});

test('every carrier is accepted', async () => {
  for (const carrier of ['usps', 'ups', 'fedex', 'dhl', 'other']) {
    assert.equal((await createMail(t.api, cust.id, { carrier })).carrier, carrier);
  }
});

test('every type is accepted; a package emits package.arrived, every other type mail.arrived', async () => {
  for (const [type, event] of [['letter', 'mail.arrived'], ['large_envelope', 'mail.arrived'], ['package', 'package.arrived'], ['periodical', 'mail.arrived']]) {
    const { value: r, types, events } = await srv.captureEvents(t.partner.id, () => t.api.post('/mail', mailBody(cust.id, { type })));
    const m = ok(r, 201);
    assert.equal(m.type, type);
    assert.deepEqual(types, [event], type);
    assert.deepEqual(events[0].data.object, m);
  }
});

test('received_at in the past is stored as given, normalised to UTC seconds', async () => {
  for (const [given, stored] of [
    ['2026-01-05T10:20:30Z', '2026-01-05T10:20:30Z'],
    ['2026-01-05T10:20:30+02:00', '2026-01-05T08:20:30Z'],
    ['2025-12-31T23:30:00-05:00', '2026-01-01T04:30:00Z'],
    ['2025-03-01T12:00:00.750Z', '2025-03-01T12:00:00Z'],
  ]) {
    const m = await createMail(t.api, cust.id, { received_at: given });
    assert.equal(m.received_at, stored, given);
    assert.equal(ok(await t.api.get(`/mail/${m.id}`)).received_at, stored);
    assertRecentTime(m.created_at, 60000);
  }
  const noTime = await createMail(t.api, cust.id);
  assertRecentTime(noTime.received_at, 60000);
  assertError(await t.api.post('/mail', mailBody(cust.id, { received_at: future() })), 422, 'validation_failed', 'received_at');
  const epoch = await t.api.post('/mail', mailBody(cust.id, { received_at: '1970-01-01T00:00:00Z' }));
  assertError(epoch, 422, 'validation_failed', 'received_at');
  assert.match(epoch.body.error.message, /after 1970-01-01T00:00:00Z/);
  const first = await createMail(t.api, cust.id, { received_at: '1970-01-01T00:00:01Z' });
  assert.equal(first.received_at, '1970-01-01T00:00:01Z');
});

// ---------------------------------------------------------------------------------------------
// Reads

test('GET /mail/{id} returns the mail as created; an unknown id is 404 not_found', async () => {
  const m = await createMail(t.api, cust.id, { sender: 'IRS', notes: 'fragile', carrier: 'usps', metadata: { bin: 'A3' } });
  const got = ok(await t.api.get(`/mail/${m.id}`));
  assert.deepEqual(Object.keys(got).sort(), MAIL_KEYS);
  assert.deepEqual(got, m);
  assert.deepEqual(got.metadata, { bin: 'A3' });
  assertError(await t.api.get('/mail/mail_ZZZZZZZZZZZZZZZZZZZZZZZZ'), 404, 'not_found');
  assertError(await t.api.get('/mail/nonsense'), 404, 'not_found');
});

test('GET /customers/{id}/mail lists newest first, filters by type and status, and pages with cursors', async () => {
  const c = await eligibleCustomer(srv, t.api);
  const made = [];
  for (const type of ['letter', 'package', 'letter', 'periodical', 'package']) made.push(await createMail(t.api, c.id, { type }));
  const newest = made.map((m) => m.id).reverse();

  const all = ok(await t.api.get(`/customers/${c.id}/mail`));
  assert.equal(all.object, 'list');
  assert.equal(all.url, `/api/v1/customers/${c.id}/mail`);
  assert.equal(all.has_more, false);
  assert.deepEqual(all.data.map((m) => m.id), newest);
  assert.deepEqual(all.data[0], made.at(-1), 'list items are the mail objects as GET returns them');

  const pkgs = ok(await t.api.get(`/customers/${c.id}/mail${qs({ type: 'package' })}`));
  assert.deepEqual(pkgs.data.map((m) => m.id), [made[4].id, made[1].id]);
  assert.deepEqual(ok(await t.api.get(`/customers/${c.id}/mail${qs({ type: 'large_envelope' })}`)).data, []);
  assert.deepEqual(ok(await t.api.get(`/customers/${c.id}/mail${qs({ status: 'in_storage' })}`)).data.map((m) => m.id), newest);
  assert.deepEqual(ok(await t.api.get(`/customers/${c.id}/mail${qs({ status: 'shredded' })}`)).data, []);
  assert.deepEqual(ok(await t.api.get(`/customers/${c.id}/mail${qs({ status: 'in_storage', type: 'letter' })}`)).data.map((m) => m.id), [made[2].id, made[0].id]);

  const p1 = ok(await t.api.get(`/customers/${c.id}/mail${qs({ limit: 2 })}`));
  assert.deepEqual(p1.data.map((m) => m.id), newest.slice(0, 2));
  assert.equal(p1.has_more, true);
  const p2 = ok(await t.api.get(`/customers/${c.id}/mail${qs({ limit: 2, starting_after: p1.data[1].id })}`));
  assert.deepEqual(p2.data.map((m) => m.id), newest.slice(2, 4));
  assert.equal(p2.has_more, true);
  const p3 = ok(await t.api.get(`/customers/${c.id}/mail${qs({ limit: 2, starting_after: p2.data[1].id })}`));
  assert.deepEqual(p3.data.map((m) => m.id), newest.slice(4));
  assert.equal(p3.has_more, false);
  const back = ok(await t.api.get(`/customers/${c.id}/mail${qs({ limit: 2, ending_before: newest[4] })}`));
  assert.deepEqual(back.data.map((m) => m.id), newest.slice(2, 4));
  const typed = ok(await t.api.get(`/customers/${c.id}/mail${qs({ type: 'letter', limit: 1 })}`));
  assert.deepEqual(typed.data.map((m) => m.id), [made[2].id]);
  assert.equal(typed.has_more, true);

  // Other customers' mail is not in this list.
  assert.ok(!(await customerMail(t.api, cust.id)).some((m) => m.customer_id === c.id));
});

test('GET /customers/{id}/mail refuses bad filters and parameters', async () => {
  const p = `/customers/${cust.id}/mail`;
  assertError(await t.api.get(`${p}${qs({ type: 'parcel' })}`), 400, 'invalid_request', 'type');
  assertError(await t.api.get(`${p}${qs({ type: '' })}`), 400, 'invalid_request', 'type');
  assertError(await t.api.get(`${p}${qs({ status: 'lost' })}`), 400, 'invalid_request', 'status');
  assertError(await t.api.get(`${p}${qs({ status: 'requested' })}`), 400, 'invalid_request', 'status');
  assertError(await t.api.get(`${p}${qs({ limit: 0 })}`), 400, 'invalid_request', 'limit');
  assertError(await t.api.get(`${p}${qs({ limit: 101 })}`), 400, 'invalid_request', 'limit');
  assertError(await t.api.get(`${p}${qs({ starting_after: 'mail_ZZZZZZZZZZZZZZZZZZZZZZZZ' })}`), 400, 'invalid_request', 'starting_after');
  assertError(await t.api.get(`${p}${qs({ sender: 'IRS' })}`), 400, 'unknown_parameter', 'sender');
  assertError(await t.api.get('/customers/cus_ZZZZZZZZZZZZZZZZZZZZZZZZ/mail'), 404, 'not_found');
});

test("a deactivated customer's stored mail stays readable", async () => {
  const c = await eligibleCustomer(srv, t.api);
  const m = await createMail(t.api, c.id);
  ok(await t.api.post(`/customers/${c.id}/deactivate`, {}));
  assert.deepEqual(ok(await t.api.get(`/mail/${m.id}`)), m);
  assert.deepEqual((await customerMail(t.api, c.id)).map((x) => x.id), [m.id]);
});

// ---------------------------------------------------------------------------------------------
// Delete

test('DELETE /mail/{id} removes partner mail from reads and lists and emits mail.deleted with the mail as it was', async () => {
  const c = await eligibleCustomer(srv, t.api);
  const keep = await createMail(t.api, c.id);
  const m = await createMail(t.api, c.id, { type: 'package', metadata: { shelf: 'B' } });
  const asItWas = ok(await t.api.get(`/mail/${m.id}`));
  const { value: r, types, events } = await srv.captureEvents(t.partner.id, () => t.api.del(`/mail/${m.id}`));
  assert.deepEqual(ok(r), { id: m.id, object: 'mail', deleted: true });
  assert.deepEqual(types, ['mail.deleted']);
  assert.deepEqual(events[0].data.object, asItWas);

  assertError(await t.api.get(`/mail/${m.id}`), 404, 'not_found');
  assert.deepEqual((await customerMail(t.api, c.id)).map((x) => x.id), [keep.id]);
  assert.deepEqual(ok(await t.api.get(`/customers/${c.id}/mail${qs({ type: 'package' })}`)).data, []);
  const again = await assertNoEvents(srv, t.partner.id, () => t.api.del(`/mail/${m.id}`));
  assertError(again, 404, 'not_found');
  assertError(await t.api.post(`/mail/${m.id}/pickup`, {}), 404, 'not_found');
  assertError(await srv.admin().get(`/mail/${m.id}`), 404, 'not_found');
  assert.deepEqual(ok(await t.api.get(`/mail/${keep.id}`)), keep, 'other mail is untouched');
});

test('the fix for a wrong customer is delete and create again (no reassignment)', async () => {
  const wrong = await eligibleCustomer(srv, t.api);
  const right = await eligibleCustomer(srv, t.api);
  const m = await createMail(t.api, wrong.id);
  assertError(await t.api.patch(`/mail/${m.id}`, { customer_id: right.id }), 405, 'method_not_allowed');
  ok(await t.api.del(`/mail/${m.id}`));
  const again = await createMail(t.api, right.id);
  assert.equal(again.customer_id, right.id);
  assert.equal(again.mailbox_id, right.mailbox_id);
  assert.deepEqual(await customerMail(t.api, wrong.id), []);
});

test('staff-recorded mail (source innbocks) cannot be deleted by the partner: 409 invalid_state', async () => {
  const m = await staffMail(srv, cust.id);
  const r = await assertNoEvents(srv, t.partner.id, () => t.api.del(`/mail/${m.id}`));
  assertError(r, 409, 'invalid_state');
  assert.deepEqual(ok(await t.api.get(`/mail/${m.id}`)), m);
});

// ---------------------------------------------------------------------------------------------
// Idempotency and scopes

test('Idempotency-Key on POST /mail: one record and one event; another body with the key is 422', async () => {
  const c = await eligibleCustomer(srv, t.api);
  const key = uniq('inbound_');
  const body = mailBody(c.id, { type: 'package', tracking_number: '1Z1' });
  const { value: [first, second], types } = await srv.captureEvents(t.partner.id, async () => [
    await t.api.post('/mail', body, { idem: key }),
    await t.api.post('/mail', body, { idem: key }),
  ]);
  ok(first, 201);
  assert.equal(second.status, 201);
  assert.equal(replayed(second), 'true');
  assert.ok(second.bytes.equals(first.bytes));
  assert.deepEqual(types, ['package.arrived']);
  const reused = await assertNoEvents(srv, t.partner.id, () => t.api.post('/mail', { ...body, tracking_number: '1Z2' }, { idem: key }));
  assertError(reused, 422, 'idempotency_key_reused');
  assertError(await t.api.del(`/mail/${first.body.id}`, { idem: key }), 422, 'idempotency_key_reused');
  assert.deepEqual((await customerMail(t.api, c.id)).map((m) => m.id), [first.body.id]);
});

test('Idempotency-Key on DELETE /mail/{id}: the retry replays the 200 and emits nothing more', async () => {
  const m = await createMail(t.api, cust.id);
  const key = uniq('del_');
  const { value: [a, b], types } = await srv.captureEvents(t.partner.id, async () => [
    await t.api.del(`/mail/${m.id}`, { idem: key }),
    await t.api.del(`/mail/${m.id}`, { idem: key }),
  ]);
  assert.deepEqual(ok(a), { id: m.id, object: 'mail', deleted: true });
  assert.equal(b.status, 200);
  assert.equal(replayed(b), 'true');
  assert.ok(b.bytes.equals(a.bytes));
  assert.deepEqual(types, ['mail.deleted']);
});

test('a refused request stored under an Idempotency-Key is replayed, not run again', async () => {
  const c = await createCustomer(t.api, { prepay: true });
  const key = uniq('inbound_');
  const first = await t.api.post('/mail', mailBody(c.id), { idem: key });
  assertError(first, 422, 'customer_not_eligible', 'customer_id');
  await approve(srv, c.id);
  const second = await t.api.post('/mail', mailBody(c.id), { idem: key });
  assert.equal(second.status, 422);
  assert.equal(replayed(second), 'true');
  assert.ok(second.bytes.equals(first.bytes));
  assert.deepEqual(await customerMail(t.api, c.id), []);
});

test('scopes: POST and DELETE /mail need mail:write, the reads need mail:read', async () => {
  const m = await createMail(t.api, cust.id);
  const noWrite = srv.api((await srv.createKey(t.partner.id, ['mail:read', 'customers:read', 'customers:write', 'mail_actions:write'])).secret);
  const noRead = srv.api((await srv.createKey(t.partner.id, ['mail:write', 'customers:read', 'mail_actions:write'])).secret);
  await assertNoEvents(srv, t.partner.id, async () => {
    assert.match(assertError(await noWrite.post('/mail', mailBody(cust.id)), 403, 'insufficient_scope').message, /mail:write/);
    assert.match(assertError(await noWrite.del(`/mail/${m.id}`), 403, 'insufficient_scope').message, /mail:write/);
    assert.match(assertError(await noRead.get(`/mail/${m.id}`), 403, 'insufficient_scope').message, /mail:read/);
    assert.match(assertError(await noRead.get(`/customers/${cust.id}/mail`), 403, 'insufficient_scope').message, /mail:read/);
  });
  assert.deepEqual(ok(await noWrite.get(`/mail/${m.id}`)), m);
  ok(await noWrite.get(`/customers/${cust.id}/mail`));
  const made = ok(await noRead.post('/mail', mailBody(cust.id)), 201);
  assert.deepEqual(ok(await noRead.del(`/mail/${made.id}`)), { id: made.id, object: 'mail', deleted: true });
});

// ---------------------------------------------------------------------------------------------
// Staff-recorded mail

test('POST /admin/v1/mail records mail with source innbocks and emits the arrival event for the partner', async () => {
  for (const [type, event] of [['package', 'package.arrived'], ['letter', 'mail.arrived']]) {
    const { value: r, types, events } = await srv.captureEvents(t.partner.id, () => srv.admin().post('/mail', mailBody(cust.id, { type, tracking_number: 'T-1' })));
    const m = ok(r, 201);
    assertMailShape(m);
    assert.equal(m.source, 'innbocks');
    assert.equal(m.status, 'in_storage');
    assert.equal(m.customer_id, cust.id);
    assert.equal(m.mailbox_id, cust.mailbox_id);
    assert.equal(m.tracking_number, 'T-1');
    assert.deepEqual(types, [event]);
    assert.deepEqual(events[0].data.object, m);
    assert.deepEqual(ok(await t.api.get(`/mail/${m.id}`)), m);
    assert.deepEqual(ok(await srv.admin().get(`/mail/${m.id}`)), m);
    assert.ok((await customerMail(t.api, cust.id)).some((x) => x.id === m.id));
  }
  assertError(await srv.admin().post('/mail', mailBody(cust.id, { source: 'partner' })), 400, 'unknown_parameter', 'source');
});

test('GET /admin/v1/mail/{id} reads partner mail as the partner sees it; unknown is 404', async () => {
  const m = await createMail(t.api, cust.id);
  assert.deepEqual(ok(await srv.admin().get(`/mail/${m.id}`)), m);
  assertError(await srv.admin().get('/mail/mail_ZZZZZZZZZZZZZZZZZZZZZZZZ'), 404, 'not_found');
});

test('command line: mail record prints the mail (source innbocks), which the server then serves', async () => {
  const { value: m, types, events } = await srv.captureEvents(t.partner.id, () => cliOk(srv, [
    'mail', 'record', '--customer', cust.id, '--type', 'package', '--photo', 'https://example.com/cli-1.jpg',
    // --flag=value as every option takes it (this one was dropped: the photo was lost).
    '--photo=https://example.com/cli-2.jpg', '--performed-by', 'night_shift', '--tracking-number', '1ZCLI',
  ]));
  assertMailShape(m);
  assert.equal(m.source, 'innbocks');
  assert.equal(m.customer_id, cust.id);
  assert.equal(m.type, 'package');
  assert.deepEqual(m.photos, ['https://example.com/cli-1.jpg', 'https://example.com/cli-2.jpg']);
  assert.equal(m.performed_by, 'night_shift');
  assert.equal(m.tracking_number, '1ZCLI');
  assert.deepEqual(ok(await t.api.get(`/mail/${m.id}`)), m);
  assert.deepEqual(types, ['package.arrived']);
  assert.deepEqual(events[0].data.object, m);
  assertError(await t.api.del(`/mail/${m.id}`), 409, 'invalid_state');
});

test('command line: a refused mail record exits 1 with the error JSON on stderr and records nothing', async () => {
  const notApproved = await createCustomer(t.api, { prepay: true });
  const base = (customer, photo = 'https://example.com/a.jpg') => ['mail', 'record', '--customer', customer, '--type', 'letter', '--photo', photo, '--performed-by', 'w'];
  await assertNoEvents(srv, t.partner.id, async () => {
    const e = await cliRefused(srv, base(notApproved.id), 'customer_not_eligible');
    assert.match(e.message, /approved/i);
    assert.equal(e.param, 'customer_id');
    assert.equal((await cliRefused(srv, base('cus_ZZZZZZZZZZZZZZZZZZZZZZZZ'), 'not_found')).param, 'customer_id');
    assert.equal((await cliRefused(srv, base(cust.id, 'ftp://example.com/a.jpg'), 'validation_failed')).param, 'photos');
    assert.equal((await cliRefused(srv, [...base(cust.id).slice(0, 4), '--type', 'parcel', ...base(cust.id).slice(6)], 'validation_failed')).param, 'type');
  });
  assert.deepEqual(await customerMail(t.api, notApproved.id), []);
});
