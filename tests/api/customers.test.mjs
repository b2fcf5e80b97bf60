// Covers the customer resource of docs/api.md#customers and its reads (#mailboxes,
// #compliance): create (every field rule, with
// its boundaries and the right param), retrieve, list with the status / external_customer_id /
// email filters, PATCH of CRM-managed fields (metadata semantics, no-op PATCH, conflicts, 409 on a
// deactivated customer), deactivate (twice, reason, mailbox closed), the mailbox (number, address,
// numbering per partner and never reused) and the compliance read — and that each step writes
// exactly the outbox events it should, with the object as GET returns it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, createCustomer, customerBody, assertError, ok, assertRecentTime, LOCATION, qs, uniq, listAll, sleep,
} from './lib.mjs';

let srv;
let t;

before(async () => {
  srv = await startServer();
  t = await srv.tenant();
});
after(() => srv?.stop());

const EMAIL_254 = `${'a'.repeat(64)}@${'b'.repeat(61)}.${'c'.repeat(61)}.${'d'.repeat(61)}.com`;
const EMAIL_255 = `${'a'.repeat(64)}@${'b'.repeat(61)}.${'c'.repeat(61)}.${'d'.repeat(62)}.com`;

test('POST /customers creates an invited customer with a reserved mailbox and emits customer.created', async () => {
  const body = {
    external_customer_id: uniq('crm_'), email: `${uniq('jane')}@example.com`, name: 'Jane Smith',
    phone: '+15555555555', prepay: true, metadata: { plan: 'gold', crm_owner: 'sam' },
  };
  const { value: r, types, events } = await srv.captureEvents(t.partner.id, () => t.api.post('/customers', body));
  const c = ok(r, 201);
  assert.match(c.id, /^cus_[A-Za-z0-9]+$/);
  assert.equal(c.object, 'customer');
  assert.equal(c.external_customer_id, body.external_customer_id);
  assert.equal(c.email, body.email);
  assert.equal(c.name, 'Jane Smith');
  assert.equal(c.phone, '+15555555555');
  assert.equal(c.prepay, true);
  assert.equal(c.status, 'invited');
  assert.equal(c.billing_status, 'active');
  assert.equal(c.mail_receipt_approved, false);
  assert.match(c.mailbox_id, /^mbx_[A-Za-z0-9]+$/);
  assert.deepEqual(c.metadata, { plan: 'gold', crm_owner: 'sam' });
  assertRecentTime(c.created_at);
  assertRecentTime(c.updated_at);
  assert.equal(c.deactivated_at, null);

  assert.deepEqual(ok(await t.api.get(`/customers/${c.id}`)), c);
  assert.deepEqual(types, ['customer.created']);
  const e = events[0];
  assert.match(e.id, /^evt_/);
  assert.equal(e.object, 'event');
  assert.equal(e.api_version, 'v1');
  assertRecentTime(e.created_at);
  assert.deepEqual(e.data.object, c);
});

test('a customer created with only email and name gets the documented defaults', async () => {
  const body = customerBody();
  const c = ok(await t.api.post('/customers', body), 201);
  assert.equal(c.email, body.email);
  assert.equal(c.name, body.name);
  assert.equal(c.external_customer_id, null);
  assert.equal(c.phone, null);
  assert.equal(c.prepay, false);
  assert.equal(c.billing_status, 'inactive');
  assert.equal(c.status, 'invited');
  assert.deepEqual(c.metadata, {});
});

test('the response Content-Type of a create is application/json and the status is exactly 201', async () => {
  const r = await t.api.post('/customers', customerBody());
  assert.equal(r.status, 201);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
});

test('every id is new: two creates with the same data are two customers with two mailboxes', async () => {
  const body = customerBody();
  const a = ok(await t.api.post('/customers', body), 201);
  const b = ok(await t.api.post('/customers', body), 201);
  assert.notEqual(a.id, b.id);
  assert.notEqual(a.mailbox_id, b.mailbox_id);
});

// Field rules of POST /customers: [what, body fields, param].
const INVALID = [
  ['a missing email', { email: undefined }, 'email'],
  ['an email without @', { email: 'jane.example.com' }, 'email'],
  ['an email without a domain', { email: 'jane@' }, 'email'],
  ['an email without a local part', { email: '@example.com' }, 'email'],
  ['an email with spaces', { email: 'jane smith@example.com' }, 'email'],
  ['an empty email', { email: '' }, 'email'],
  ['an email of 255 characters', { email: EMAIL_255 }, 'email'],
  ['an email that is a number', { email: 42 }, 'email'],
  ['an email that is null', { email: null }, 'email'],
  ['a missing name', { name: undefined }, 'name'],
  ['an empty name', { name: '' }, 'name'],
  ['a name of 201 characters', { name: 'n'.repeat(201) }, 'name'],
  ['a name with a control character (C0)', { name: 'Jane\u0001Smith' }, 'name'],
  ['a name with DEL', { name: 'Jane\u007fSmith' }, 'name'],
  ['a name with a C1 control character (U+0085)', { name: 'Jane\u0085Smith' }, 'name'],
  ['a name with a C1 control character (U+009B)', { name: 'Jane\u009bSmith' }, 'name'],
  ['a name that is not a string', { name: ['Jane'] }, 'name'],
  ['a name that is null', { name: null }, 'name'],
  ['an empty external_customer_id', { external_customer_id: '' }, 'external_customer_id'],
  ['an external_customer_id of 129 characters', { external_customer_id: 'x'.repeat(129) }, 'external_customer_id'],
  ['an external_customer_id with a space', { external_customer_id: 'crm 1' }, 'external_customer_id'],
  ['an external_customer_id with a slash', { external_customer_id: 'crm/1' }, 'external_customer_id'],
  ['an external_customer_id with a non-ASCII letter', { external_customer_id: 'crmé1' }, 'external_customer_id'],
  ['an external_customer_id that is a number', { external_customer_id: 123 }, 'external_customer_id'],
  ['a phone without +', { phone: '15555555555' }, 'phone'],
  ['a phone with spaces', { phone: '+1 555 555 5555' }, 'phone'],
  ['a phone starting with +0', { phone: '+05555555555' }, 'phone'],
  ['a phone of 16 digits', { phone: '+1234567890123456' }, 'phone'],
  ['a phone with letters', { phone: '+1555CALLNOW' }, 'phone'],
  ['a phone that is a number', { phone: 15555555555 }, 'phone'],
  ['a prepay that is a string', { prepay: 'true' }, 'prepay'],
  ['a prepay that is a number', { prepay: 1 }, 'prepay'],
  ['metadata that is an array', { metadata: ['a'] }, 'metadata'],
  ['metadata that is a string', { metadata: 'gold' }, 'metadata'],
  ['metadata with 51 keys', { metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])) }, 'metadata'],
  ['a metadata key of 41 characters', { metadata: { ['k'.repeat(41)]: 'v' } }, 'metadata'],
  ['a metadata value of 501 characters', { metadata: { k: 'v'.repeat(501) } }, 'metadata'],
  ['a metadata value that is a number', { metadata: { k: 1 } }, 'metadata'],
  ['a metadata value that is an object', { metadata: { k: { nested: 'x' } } }, 'metadata'],
  ['a metadata value that is a boolean', { metadata: { k: true } }, 'metadata'],
];

for (const [what, fields, param] of INVALID) {
  test(`POST /customers with ${what} is 422 validation_failed (param ${param}) and creates nothing`, async () => {
    const body = customerBody(fields);
    for (const [k, v] of Object.entries(fields)) if (v === undefined) delete body[k];
    const r = await t.api.post('/customers', body);
    assertError(r, 422, 'validation_failed', param);
    if (typeof body.email === 'string' && body.email.includes('@example.com')) {
      const list = ok(await t.api.get(`/customers${qs({ email: body.email })}`));
      assert.deepEqual(list.data, [], 'nothing was created');
    }
  });
}

test('the boundaries of each field are accepted', async () => {
  const extId = `AZaz09_.:-${'x'.repeat(118)}`;
  assert.equal(extId.length, 128);
  const metadata = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`${String(i).padStart(2, '0')}${'k'.repeat(38)}`, 'v'.repeat(500)]));
  const c = ok(await t.api.post('/customers', {
    email: EMAIL_254, name: 'n'.repeat(200), external_customer_id: extId, phone: '+123456789012345', prepay: false, metadata,
  }), 201);
  assert.equal(c.email, EMAIL_254);
  assert.equal(c.name.length, 200);
  assert.equal(c.external_customer_id, extId);
  assert.equal(c.phone, '+123456789012345');
  assert.deepEqual(c.metadata, metadata);
  assert.deepEqual(ok(await t.api.get(`/customers/${c.id}`)), c);
});

// Emails match folding ASCII letters only (docs/api.md), on every backend and whatever locale a
// PostgreSQL database was created with: lower() followed the database's locale, so under a UTF-8
// one (C.utf8 here; the test clusters are C) Ü matched ü in the email filter and an owner could
// not invite ÜSER@ beside üser@ (found by a backend parity audit).
test('emails fold ASCII letters only, also on a PostgreSQL database with a UTF-8 locale', async () => {
  const other = await startServer({ pgLocale: 'C.utf8' });
  try {
    const tn = await other.tenant();
    const tag = uniq('fold').toLowerCase();
    const c = await createCustomer(tn.api, { email: `üli-${tag}@example.com` });
    const found = async (email) => ok(await tn.api.get(`/customers${qs({ email })}`)).data.map((x) => x.id);
    assert.deepEqual(await found(`üli-${tag}@example.com`), [c.id]);
    assert.deepEqual(await found(`üLI-${tag.toUpperCase()}@EXAMPLE.COM`), [c.id], 'ASCII letters fold');
    assert.deepEqual(await found(`ÜLI-${tag}@example.com`), [], 'Ü is not ü');
    const users = `/partners/${tn.partner.id}/users`;
    assert.equal((await other.admin().post(users, { email: `üser-${tag}@example.com`, role: 'viewer' })).status, 201);
    assert.equal((await other.admin().post(users, { email: `ÜSER-${tag}@example.com`, role: 'viewer' })).status, 201, 'another user');
    assertError(await other.admin().post(users, { email: `üSER-${tag.toUpperCase()}@example.com`, role: 'viewer' }), 409, 'user_exists');
  } finally {
    await other.stop();
  }
});

test('names count characters, not bytes: 200 non-ASCII characters are accepted and kept intact', async () => {
  const name = 'Zoë Ångström\u00a0日本¿'.padEnd(200, 'é');
  assert.equal([...name].length, 200);
  const c = ok(await t.api.post('/customers', customerBody({ name })), 201);
  assert.equal(c.name, name);
  assert.equal(ok(await t.api.get(`/customers/${c.id}`)).name, name);
  assertError(await t.api.post('/customers', customerBody({ name: `${name}é` })), 422, 'validation_failed', 'name');
});

test('metadata values that are empty or null are not stored on create', async () => {
  const c = ok(await t.api.post('/customers', customerBody({ metadata: { keep: 'yes', empty: '', gone: null } })), 201);
  assert.deepEqual(c.metadata, { keep: 'yes' });
  assert.deepEqual(ok(await t.api.get(`/customers/${c.id}`)).metadata, { keep: 'yes' });
});

test('external_customer_id is unique per partner, also against deactivated customers', async () => {
  const ext = uniq('crm_');
  const first = await createCustomer(t.api, { external_customer_id: ext });
  const taken = assertError(await t.api.post('/customers', customerBody({ external_customer_id: ext })), 409, 'external_id_conflict', 'external_customer_id');
  // It says where the customer who has it is found (the way back for a CRM whose create was lost).
  assert.equal(taken.message, `another customer already has external_customer_id ${ext}; find it with GET /api/v1/customers?external_customer_id=${ext}`);
  assert.deepEqual(ok(await t.api.get(`/customers?external_customer_id=${ext}`)).data.map((c) => c.id), [first.id]);
  ok(await t.api.post(`/customers/${first.id}/deactivate`, {}));
  assertError(await t.api.post('/customers', customerBody({ external_customer_id: ext })), 409, 'external_id_conflict', 'external_customer_id');
  // Another partner may use the same external id.
  const other = await srv.tenant();
  const theirs = await createCustomer(other.api, { external_customer_id: ext });
  assert.equal(theirs.external_customer_id, ext);
  const mine = ok(await t.api.get(`/customers${qs({ external_customer_id: ext })}`));
  assert.deepEqual(mine.data.map((c) => c.id), [first.id]);
});

test('GET /customers/{id} of an unknown id is 404 not_found on every customer route', async () => {
  for (const id of ['cus_doesnotexist00000000', 'nope', 'mbx_notacustomer0000000']) {
    assertError(await t.api.get(`/customers/${id}`), 404, 'not_found');
    assertError(await t.api.get(`/customers/${id}/compliance`), 404, 'not_found');
    assertError(await t.api.get(`/customers/${id}/mailbox`), 404, 'not_found');
    assertError(await t.api.patch(`/customers/${id}`, { name: 'x' }), 404, 'not_found');
    assertError(await t.api.post(`/customers/${id}/deactivate`, {}), 404, 'not_found');
  }
});

test('the mailbox: numbered from 1001, at the partner location with PMB line2, reserved', async () => {
  const tn = await srv.tenant();
  const first = await createCustomer(tn.api);
  const second = await createCustomer(tn.api);
  const m1 = ok(await tn.api.get(`/customers/${first.id}/mailbox`));
  const m2 = ok(await tn.api.get(`/customers/${second.id}/mailbox`));
  assert.equal(m1.id, first.mailbox_id);
  assert.equal(m1.object, 'mailbox');
  assert.equal(m1.customer_id, first.id);
  assert.equal(m1.number, '1001');
  assert.equal(m1.status, 'reserved');
  assert.deepEqual(m1.address, { ...LOCATION, line2: 'PMB 1001' });
  assertRecentTime(m1.reserved_at);
  assert.equal(m1.activated_at, null);
  assert.equal(m1.closed_at, null);
  assert.equal(m2.id, second.mailbox_id);
  assert.equal(m2.number, '1002');
  assert.deepEqual(m2.address, { ...LOCATION, line2: 'PMB 1002' });
});

test('mailbox numbers are per partner and never reused, not even after a deactivation', async () => {
  const a = await srv.tenant();
  const b = await srv.tenant();
  const a1 = await createCustomer(a.api);
  ok(await a.api.post(`/customers/${a1.id}/deactivate`, {}));
  const a2 = await createCustomer(a.api);
  const b1 = await createCustomer(b.api);
  assert.equal(ok(await a.api.get(`/customers/${a1.id}/mailbox`)).number, '1001');
  assert.equal(ok(await a.api.get(`/customers/${a2.id}/mailbox`)).number, '1002');
  assert.equal(ok(await b.api.get(`/customers/${b1.id}/mailbox`)).number, '1001');
});

test('the compliance of a new customer is not started', async () => {
  const c = await createCustomer(t.api);
  const comp = ok(await t.api.get(`/customers/${c.id}/compliance`));
  assert.equal(comp.object, 'compliance');
  assert.equal(comp.customer_id, c.id);
  assert.deepEqual(comp.form_1583, { status: 'not_started', submitted_at: null, approved_at: null, rejection_reason: null });
  assert.deepEqual(comp.identity, { status: 'not_started', verified_at: null, failure_reason: null });
  assert.equal(comp.mail_receipt_approved, false);
  assertRecentTime(comp.updated_at);
});

test('GET /customers is a list envelope, newest first', async () => {
  const tn = await srv.tenant();
  const made = [];
  for (let i = 0; i < 3; i++) made.push(await createCustomer(tn.api));
  const r = ok(await tn.api.get('/customers'));
  assert.equal(r.object, 'list');
  assert.equal(r.url, '/api/v1/customers');
  assert.equal(r.has_more, false);
  assert.deepEqual(r.data.map((c) => c.id), made.map((c) => c.id).reverse());
  assert.deepEqual(r.data[0], made[2]);
});

test('GET /customers filters by status, external_customer_id and email', async () => {
  const tn = await srv.tenant();
  const invited = await createCustomer(tn.api, { external_customer_id: 'crm_invited' });
  const active = await createCustomer(tn.api, { external_customer_id: 'crm_active' });
  const gone = await createCustomer(tn.api, { external_customer_id: 'crm_gone' });
  ok(await srv.admin().post(`/customers/${active.id}/accept-invite`));
  ok(await tn.api.post(`/customers/${gone.id}/deactivate`, {}));
  const ids = async (params) => ok(await tn.api.get(`/customers${qs(params)}`)).data.map((c) => c.id);

  assert.deepEqual(await ids({ status: 'invited' }), [invited.id]);
  assert.deepEqual(await ids({ status: 'active' }), [active.id]);
  assert.deepEqual(await ids({ status: 'deactivated' }), [gone.id]);
  assert.deepEqual(await ids({ external_customer_id: 'crm_active' }), [active.id]);
  assert.deepEqual(await ids({ external_customer_id: 'crm_nobody' }), []);
  assert.deepEqual(await ids({ email: invited.email }), [invited.id]);
  assert.deepEqual(await ids({ email: 'nobody@example.com' }), []);
  assert.deepEqual(await ids({ status: 'invited', email: invited.email }), [invited.id]);
  assert.deepEqual(await ids({ status: 'active', email: invited.email }), []);
  const filtered = ok(await tn.api.get(`/customers${qs({ status: 'active' })}`));
  assert.ok(filtered.data.every((c) => c.status === 'active'));
  assertError(await tn.api.get('/customers?status=bogus'), 400, 'invalid_request', 'status');
});

test('PATCH changes CRM-managed fields, bumps updated_at and emits customer.updated', async () => {
  const c = await createCustomer(t.api, { phone: '+15555550100', external_customer_id: uniq('crm_') });
  await sleep(1100); // so that updated_at can visibly move on a server with 1 s resolution
  const change = {
    name: 'New Name', email: `${uniq('new')}@example.com`, phone: '+442071234567',
    external_customer_id: uniq('crm_'), prepay: true,
  };
  const { value: r, types, events } = await srv.captureEvents(t.partner.id, () => t.api.patch(`/customers/${c.id}`, change));
  const u = ok(r);
  for (const [k, v] of Object.entries(change)) assert.equal(u[k], v, k);
  assert.equal(u.billing_status, 'active');
  assert.equal(u.created_at, c.created_at);
  assert.ok(Date.parse(u.updated_at) > Date.parse(c.updated_at), 'updated_at moved');
  assert.deepEqual(ok(await t.api.get(`/customers/${c.id}`)), u);
  assert.deepEqual(types, ['customer.updated']);
  assert.deepEqual(events[0].data.object, u);
});

test('PATCH with phone null clears it; prepay false makes billing inactive again', async () => {
  const c = await createCustomer(t.api, { phone: '+15555550101', prepay: true });
  const u = ok(await t.api.patch(`/customers/${c.id}`, { phone: null, prepay: false }));
  assert.equal(u.phone, null);
  assert.equal(u.prepay, false);
  assert.equal(u.billing_status, 'inactive');
});

test('PATCH metadata replaces given keys, removes keys set to "" or null, and null clears all', async () => {
  const c = await createCustomer(t.api, { metadata: { a: '1', b: '2', c: '3' } });
  const u = ok(await t.api.patch(`/customers/${c.id}`, { metadata: { a: 'one', b: '', c: null, d: '4' } }));
  assert.deepEqual(u.metadata, { a: 'one', d: '4' });
  const same = ok(await t.api.patch(`/customers/${c.id}`, { name: 'Only Name' }));
  assert.deepEqual(same.metadata, { a: 'one', d: '4' }, 'metadata untouched when not given');
  const cleared = ok(await t.api.patch(`/customers/${c.id}`, { metadata: null }));
  assert.deepEqual(cleared.metadata, {});
  assert.deepEqual(ok(await t.api.get(`/customers/${c.id}`)).metadata, {});
});

test('PATCH keeps the 50-key metadata limit over the merged result', async () => {
  const c = await createCustomer(t.api, { metadata: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v'])) });
  assertError(await t.api.patch(`/customers/${c.id}`, { metadata: { extra: 'v' } }), 422, 'validation_failed', 'metadata');
  const u = ok(await t.api.patch(`/customers/${c.id}`, { metadata: { k0: null, extra: 'v' } }));
  assert.equal(Object.keys(u.metadata).length, 50);
  assert.equal(u.metadata.extra, 'v');
});

test('a PATCH that changes nothing answers 200 and emits nothing', async () => {
  const c = await createCustomer(t.api, { metadata: { a: '1' }, phone: '+15555550102' });
  const { value: r, types } = await srv.captureEvents(t.partner.id, async () => [
    await t.api.patch(`/customers/${c.id}`, {}),
    await t.api.patch(`/customers/${c.id}`, { name: c.name, email: c.email, phone: c.phone, prepay: c.prepay, metadata: { a: '1' } }),
    await t.api.patch(`/customers/${c.id}`, { metadata: { missing: null } }),
  ]);
  for (const x of r) assert.deepEqual(ok(x), c);
  assert.deepEqual(types, []);
});

test('PATCH validates like create, with the right param', async () => {
  const c = await createCustomer(t.api);
  const cases = [
    [{ email: 'nope' }, 'email'], [{ email: null }, 'email'], [{ name: '' }, 'name'], [{ name: null }, 'name'],
    [{ name: 'n'.repeat(201) }, 'name'], [{ phone: '555' }, 'phone'], [{ prepay: 'yes' }, 'prepay'],
    [{ prepay: null }, 'prepay'], [{ external_customer_id: 'a b' }, 'external_customer_id'],
    [{ metadata: { k: 5 } }, 'metadata'], [{ metadata: [] }, 'metadata'],
  ];
  for (const [body, param] of cases) assertError(await t.api.patch(`/customers/${c.id}`, body), 422, 'validation_failed', param);
  assert.deepEqual(ok(await t.api.get(`/customers/${c.id}`)), c, 'nothing changed');
});

test('PATCH refuses server-set and unknown fields with 400 unknown_parameter', async () => {
  const c = await createCustomer(t.api);
  for (const field of ['id', 'object', 'status', 'billing_status', 'mail_receipt_approved', 'mailbox_id', 'created_at', 'updated_at', 'deactivated_at', 'nickname']) {
    assertError(await t.api.patch(`/customers/${c.id}`, { name: 'Changed', [field]: 'x' }), 400, 'unknown_parameter', field);
  }
  assert.deepEqual(ok(await t.api.get(`/customers/${c.id}`)), c, 'nothing changed');
});

test('PATCH to an external_customer_id another customer has is 409 external_id_conflict', async () => {
  const a = await createCustomer(t.api, { external_customer_id: uniq('crm_') });
  const b = await createCustomer(t.api, { external_customer_id: uniq('crm_') });
  assertError(await t.api.patch(`/customers/${b.id}`, { external_customer_id: a.external_customer_id }), 409, 'external_id_conflict', 'external_customer_id');
  ok(await t.api.patch(`/customers/${a.id}`, { external_customer_id: a.external_customer_id }));
  assert.equal(ok(await t.api.get(`/customers/${b.id}`)).external_customer_id, b.external_customer_id);
});

test('PATCH of a deactivated customer is 409 invalid_state', async () => {
  const c = await createCustomer(t.api);
  const d = ok(await t.api.post(`/customers/${c.id}/deactivate`, {}));
  assertError(await t.api.patch(`/customers/${c.id}`, { name: 'Too Late' }), 409, 'invalid_state');
  assertError(await t.api.patch(`/customers/${c.id}`, {}), 409, 'invalid_state');
  assert.deepEqual(ok(await t.api.get(`/customers/${c.id}`)), d);
});

test('deactivate: status deactivated, mailbox closed, events customer.deactivated and mailbox.closed', async () => {
  const c = await createCustomer(t.api);
  const { value: r, types, events } = await srv.captureEvents(t.partner.id, () => t.api.post(`/customers/${c.id}/deactivate`, { reason: 'moved away' }));
  const d = ok(r);
  assert.equal(d.id, c.id);
  assert.equal(d.status, 'deactivated');
  assertRecentTime(d.deactivated_at);
  assert.deepEqual(ok(await t.api.get(`/customers/${c.id}`)), d);
  const m = ok(await t.api.get(`/customers/${c.id}/mailbox`));
  assert.equal(m.status, 'closed');
  assertRecentTime(m.closed_at);
  assert.deepEqual([...types].sort(), ['customer.deactivated', 'mailbox.closed']);
  assert.deepEqual(events.find((e) => e.type === 'customer.deactivated').data.object, d);
  assert.deepEqual(events.find((e) => e.type === 'mailbox.closed').data.object, m);
});

test('deactivating twice answers 200 with the customer unchanged and emits nothing the second time', async () => {
  const c = await createCustomer(t.api);
  const first = ok(await t.api.post(`/customers/${c.id}/deactivate`, {}));
  const mailbox = ok(await t.api.get(`/customers/${c.id}/mailbox`));
  await sleep(1100); // a second deactivation must not move deactivated_at or closed_at
  const { value: r, types } = await srv.captureEvents(t.partner.id, () => t.api.post(`/customers/${c.id}/deactivate`, {}));
  assert.deepEqual(ok(r), first);
  assert.deepEqual(types, []);
  assert.deepEqual(ok(await t.api.get(`/customers/${c.id}/mailbox`)), mailbox);
});

test('deactivate works from active too, and takes an empty body or no body at all', async () => {
  const a = await createCustomer(t.api);
  ok(await srv.admin().post(`/customers/${a.id}/accept-invite`));
  assert.equal(ok(await t.api.post(`/customers/${a.id}/deactivate`)).status, 'deactivated');
  const b = await createCustomer(t.api);
  assert.equal(ok(await t.api.request('POST', `/customers/${b.id}/deactivate`, { raw: '' })).status, 'deactivated');
});

test('deactivate validates its body', async () => {
  const c = await createCustomer(t.api);
  assertError(await t.api.post(`/customers/${c.id}/deactivate`, { reason: 'r'.repeat(501) }), 422, 'validation_failed', 'reason');
  assertError(await t.api.post(`/customers/${c.id}/deactivate`, { reason: 5 }), 422, 'validation_failed', 'reason');
  // An empty or blank reason is no reason: null or no reason says that.
  assertError(await t.api.post(`/customers/${c.id}/deactivate`, { reason: '' }), 422, 'validation_failed', 'reason');
  assertError(await t.api.post(`/customers/${c.id}/deactivate`, { reason: ' \n' }), 422, 'validation_failed', 'reason');
  assertError(await t.api.post(`/customers/${c.id}/deactivate`, { why: 'x' }), 400, 'unknown_parameter', 'why');
  assertError(await t.api.post(`/customers/${c.id}/deactivate`, { status: 'deactivated' }), 400, 'unknown_parameter', 'status');
  assert.equal(ok(await t.api.get(`/customers/${c.id}`)).status, 'invited');
  assert.equal(ok(await t.api.post(`/customers/${c.id}/deactivate`, { reason: 'r'.repeat(500) })).status, 'deactivated');
});

test('a deactivated customer still reads: customer, compliance and mailbox', async () => {
  const c = await createCustomer(t.api);
  ok(await t.api.post(`/customers/${c.id}/deactivate`, {}));
  ok(await t.api.get(`/customers/${c.id}/compliance`));
  ok(await t.api.get(`/customers/${c.id}/mailbox`));
  assert.ok((await listAll(t.api, '/customers', { status: 'deactivated' })).some((x) => x.id === c.id));
});
