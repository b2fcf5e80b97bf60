// Covers test mode (docs/api.md#live-and-test-mode, #test-helpers): a partner's CRM integrates end to end with an ib_test_ key and
// the test helpers, without Innbocks staff, and nothing of it reaches live mode: the live key of
// the same partner gets 404 for every test id, empty lists, unchanged usage, and the live
// endpoint receives nothing. Test events carry livemode: false, go only to test endpoints and are
// signed as usual; test mailbox numbers come from their own T sequence; a live key gets
// 403 test_mode_only from the helpers; a test key has its own rate-limit bucket.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, createCustomer, assertError, ok, listAll, runCli, ALL_SCOPES, sleep,
} from './lib.mjs';
import { mailBody, ADDRESS, lookalike, shape, eligibleCustomer } from './mail_lib.mjs';
import {
  WEBHOOK_ENV, receiver, closeReceivers, assertSigned, assertDeliveryHeaders, waitForLog,
} from './webhook_lib.mjs';

let srv;
let partner;
let live; // the partner's live key
let sandbox; // the same partner's test key
let liveRecv; // the live endpoint's receiver
let testRecv; // the test endpoint's receiver
let liveUsageBefore;
const flow = {}; // ids made by the end-to-end test

before(async () => {
  srv = await startServer({ env: WEBHOOK_ENV });
  partner = await srv.createPartner();
  live = await srv.tenant(ALL_SCOPES, { partner });
  sandbox = await srv.tenant(ALL_SCOPES, { partner, mode: 'test' });
  liveRecv = await receiver(200);
  testRecv = await receiver(200);
  for (const [recv, mode] of [[liveRecv, undefined], [testRecv, 'test']]) {
    const body = { url: recv.url, ...(mode ? { mode } : {}) };
    const ep = ok(await srv.admin().post(`/partners/${partner.id}/webhook-endpoints`, body), 201);
    recv.secret = ep.secret;
    recv.endpoint = ep;
  }
  // The live side has a customer of its own, so its lists are not trivially empty.
  flow.liveCustomer = await createCustomer(live.api, { prepay: true });
  liveUsageBefore = ok(await live.api.get('/billing/usage'));
});
after(async () => {
  await closeReceivers();
  await srv?.stop();
});

test('keys and endpoints have a mode: ib_test_ keys, mode on the objects, live by default', async () => {
  assert.match(sandbox.key.secret, /^ib_test_[A-Za-z0-9]{32}$/);
  assert.equal(sandbox.key.mode, 'test');
  assert.match(live.key.secret, /^ib_live_[A-Za-z0-9]{32}$/);
  assert.equal(live.key.mode, 'live');
  assert.equal(testRecv.endpoint.mode, 'test');
  assert.equal(testRecv.endpoint.livemode, false);
  assert.equal(liveRecv.endpoint.mode, 'live');
  assert.equal(liveRecv.endpoint.livemode, true);
  const keys = ok(await srv.admin().get(`/partners/${partner.id}/keys`)).data;
  assert.deepEqual(keys.map((k) => [k.id, k.mode]).sort(),
    [[live.key.id, 'live'], [sandbox.key.id, 'test']].sort());
  const eps = ok(await srv.admin().get(`/partners/${partner.id}/webhook-endpoints`)).data;
  assert.deepEqual(eps.map((e) => [e.id, e.mode]).sort(),
    [[liveRecv.endpoint.id, 'live'], [testRecv.endpoint.id, 'test']].sort());
  for (const mode of ['sandbox', 'LIVE', '', 1]) {
    const r = await srv.admin().post(`/partners/${partner.id}/keys`, { name: 'k', scopes: ['mail:read'], mode });
    assertError(r, 422, 'validation_failed', 'mode');
    const e = await srv.admin().post(`/partners/${partner.id}/webhook-endpoints`, { url: testRecv.url, mode });
    assertError(e, 422, 'validation_failed', 'mode');
  }
});

test('a CRM in test mode goes from a new customer to a completed forward without Innbocks staff', async () => {
  const api = sandbox.api;
  const customer = ok(await api.post('/customers', { email: 'jane@example.com', name: 'Jane Smith', external_customer_id: 'crm_1' }, { idem: 'tm-create-1' }), 201);
  assert.equal(customer.livemode, false);
  assert.equal(customer.status, 'invited');
  flow.customer = customer;
  flow.mailbox = ok(await api.get(`/customers/${customer.id}/mailbox`));
  assert.equal(flow.mailbox.livemode, false);

  const accepted = ok(await api.post(`/test-helpers/customers/${customer.id}/accept-invite`, {}));
  assert.equal(accepted.status, 'active');
  assert.equal(accepted.livemode, false);
  const compliance = ok(await api.post(`/test-helpers/customers/${customer.id}/compliance`,
    { form_1583: 'approved', identity: 'verified' }));
  assert.equal(compliance.mail_receipt_approved, true);
  assert.equal(compliance.livemode, false);
  const billed = ok(await api.post(`/test-helpers/customers/${customer.id}/billing`, { active: true }));
  assert.equal(billed.billing_status, 'active');

  const mail = ok(await api.post('/mail', mailBody(customer.id, { type: 'package', tracking_number: '1Z999' })), 201);
  assert.equal(mail.livemode, false);
  assert.equal(mail.source, 'partner');
  flow.mail = mail;
  const action = ok(await api.post(`/mail/${mail.id}/forward`, { forward_address: ADDRESS }), 201);
  assert.equal(action.livemode, false);
  const done = ok(await api.post(`/test-helpers/mail-actions/${action.id}/complete`,
    { carrier: 'usps', tracking_number: '9400100000000000000000' }));
  assert.equal(done.status, 'completed');
  assert.deepEqual(done.result, { carrier: 'usps', tracking_number: '9400100000000000000000' });
  assert.equal(done.livemode, false);
  assert.equal(ok(await api.get(`/mail/${mail.id}`)).status, 'forwarded');
  flow.action = done;

  const expected = ['customer.created', 'customer.activated', 'compliance.updated', 'mailbox.activated',
    'customer.updated', 'package.arrived', 'mail_action.requested', 'mail_action.completed'];
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline && !expected.every((t) => testRecv.deliveries.some((d) => d.type === t))) await sleep(50);
  const got = testRecv.deliveries.map((d) => d.type);
  for (const t of expected) assert.ok(got.includes(t), `the test endpoint must receive ${t}; got ${got}`);
  for (const d of testRecv.deliveries) {
    assertDeliveryHeaders(d);
    assertSigned(d);
    assert.equal(d.json.livemode, false, `${d.type} must carry livemode: false`);
    assert.equal(d.json.data.object.livemode, false, `${d.type}'s object must carry livemode: false`);
  }
  // The events are the test tenant's: the test key's event catalogue of deliveries shows them.
  // The worker logs an attempt once the receiver has answered: wait for the log to catch up.
  const log = await waitForLog(api, {}, (l) => l.length >= expected.length, 'the test key\'s delivery log');
  assert.ok(log.every((d) => d.endpoint_id === testRecv.endpoint.id && d.livemode === false));
});

test('test mailbox numbers come from their own T sequence; live numbering is untouched', async () => {
  assert.match(flow.mailbox.number, /^T\d+$/);
  assert.equal(flow.mailbox.address.line2, `PMB ${flow.mailbox.number}`);
  const liveBox = ok(await live.api.get(`/customers/${flow.liveCustomer.id}/mailbox`));
  assert.equal(liveBox.number, '1001');
  const t2 = await createCustomer(sandbox.api);
  const l2 = await createCustomer(live.api);
  const n = (c, api) => api.get(`/customers/${c.id}/mailbox`).then((r) => ok(r).number);
  assert.equal(await n(l2, live.api), '1002');
  assert.equal(await n(t2, sandbox.api), `T${Number(flow.mailbox.number.slice(1)) + 1}`);
});

test('the live key of the same partner sees none of it', async () => {
  const ids = [
    ['GET', `/customers/${flow.customer.id}`], ['GET', `/customers/${flow.customer.id}/mailbox`],
    ['GET', `/customers/${flow.customer.id}/compliance`], ['GET', `/customers/${flow.customer.id}/mail`],
    ['PATCH', `/customers/${flow.customer.id}`], ['POST', `/customers/${flow.customer.id}/deactivate`],
    ['GET', `/mail/${flow.mail.id}`], ['DELETE', `/mail/${flow.mail.id}`], ['POST', `/mail/${flow.mail.id}/scan`],
  ];
  for (const [method, p] of ids) {
    const id = p.split('/')[2];
    const body = method === 'PATCH' ? { name: 'x' } : method === 'POST' ? {} : undefined;
    const opts = body === undefined ? {} : { json: body };
    const foreign = await live.api.request(method, p, opts);
    const missing = await live.api.request(method, p.replace(id, lookalike(id)), opts);
    assertError(foreign, 404, 'not_found');
    assert.deepEqual(shape(foreign, id), shape(missing, lookalike(id)), `${method} ${p}: like a missing id`);
  }
  assertError(await live.api.post('/mail', mailBody(flow.customer.id)), 404, 'not_found', 'customer_id');
  const customers = await listAll(live.api, '/customers');
  assert.ok(customers.some((c) => c.id === flow.liveCustomer.id));
  assert.ok(customers.every((c) => c.livemode === true && c.id !== flow.customer.id));
  const testCustomers = await listAll(sandbox.api, '/customers');
  assert.ok(testCustomers.some((c) => c.id === flow.customer.id));
  assert.ok(testCustomers.every((c) => c.livemode === false && c.id !== flow.liveCustomer.id));
  assert.deepEqual(ok(await live.api.get('/customers?external_customer_id=crm_1')).data, []);
  assert.deepEqual(ok(await live.api.get('/customers?email=jane@example.com')).data, []);
  assertError(await live.api.get(`/customers?starting_after=${flow.customer.id}`), 400, 'invalid_request', 'starting_after');
  const liveLog = await listAll(live.api, '/webhook-deliveries');
  assert.ok(liveLog.every((d) => d.endpoint_id === liveRecv.endpoint.id && d.livemode === true));
  const testEventIds = new Set(testRecv.deliveries.map((d) => d.eventId));
  assert.ok(liveLog.every((d) => !testEventIds.has(d.event_id)));
  const usage = ok(await live.api.get('/billing/usage'));
  assert.deepEqual({ ...usage, period: null }, { ...liveUsageBefore, period: null });
  assert.equal(usage.livemode, true);
  const testUsage = ok(await sandbox.api.get('/billing/usage'));
  assert.equal(testUsage.livemode, false);
  assert.equal(testUsage.billable_mailboxes, 1);
  assert.equal(testUsage.line_items.data[0].customer_id, flow.customer.id);
  // Live helpers of the same ids from the test side: a test key cannot reach live objects either.
  assertError(await sandbox.api.get(`/customers/${flow.liveCustomer.id}`), 404, 'not_found');
  assertError(await sandbox.api.post(`/test-helpers/customers/${flow.liveCustomer.id}/accept-invite`, {}), 404, 'not_found');
  // Give the worker time to (wrongly) deliver, then check the live endpoint got only live events.
  await sleep(500);
  assert.ok(liveRecv.deliveries.length >= 1, 'the live endpoint gets the live customer.created');
  assert.ok(liveRecv.deliveries.every((d) => d.json.livemode === true));
  const testIds = new Set([flow.customer.id, flow.mail.id, flow.action.id]);
  assert.ok(liveRecv.deliveries.every((d) => !testIds.has(d.json.data.object.id)));
});

test('the test helpers answer 403 test_mode_only to a live key and need the scope of what they change', async () => {
  const helpers = [
    [`/test-helpers/customers/${flow.liveCustomer.id}/accept-invite`, {}, 'customers:write'],
    [`/test-helpers/customers/${flow.liveCustomer.id}/billing`, { active: true }, 'customers:write'],
    [`/test-helpers/customers/${flow.liveCustomer.id}/compliance`, { form_1583: 'approved' }, 'customers:write'],
    ['/test-helpers/mail-actions/act_0000000000000000000000/complete', {}, 'mail_actions:write'],
    ['/test-helpers/mail-actions/act_0000000000000000000000/fail', { reason: 'lost' }, 'mail_actions:write'],
    ['/test-helpers/mail-actions/act_0000000000000000000000/cancel', {}, 'mail_actions:write'],
  ];
  const readOnly = await srv.tenant(['customers:read', 'mail:read'], { partner, mode: 'test' });
  for (const [p, body, scope] of helpers) {
    const r = await live.api.post(p, body);
    assertError(r, 403, 'test_mode_only');
    const s = await readOnly.api.post(p, body);
    assertError(s, 403, 'insufficient_scope');
    assert.match(s.body.error.message, new RegExp(scope));
  }
  // The live customer is untouched by the refused helper calls.
  assert.equal(ok(await live.api.get(`/customers/${flow.liveCustomer.id}`)).status, 'invited');
});

test('the test helpers apply the operator rules: validation, state and the same events', async () => {
  const api = sandbox.api;
  const c = await createCustomer(api, { prepay: true });
  assertError(await api.post(`/test-helpers/customers/${c.id}/compliance`, { form_1583: 'maybe' }), 422, 'validation_failed', 'form_1583');
  assertError(await api.post(`/test-helpers/customers/${c.id}/billing`, {}), 422, 'validation_failed', 'active');
  assertError(await api.post(`/test-helpers/customers/${c.id}/accept-invite`, { extra: 1 }), 400, 'unknown_parameter', 'extra');
  ok(await api.post(`/customers/${c.id}/deactivate`, {}));
  assertError(await api.post(`/test-helpers/customers/${c.id}/accept-invite`, {}), 409, 'invalid_state');
  // A completed action cannot be completed or failed again; fail needs a reason.
  assertError(await api.post(`/test-helpers/mail-actions/${flow.action.id}/complete`, { carrier: 'usps', tracking_number: '1' }), 409, 'invalid_state');
  const fresh = ok(await api.post('/mail', mailBody(flow.customer.id)), 201);
  const scan = ok(await api.post(`/mail/${fresh.id}/scan`, {}), 201);
  assertError(await api.post(`/test-helpers/mail-actions/${scan.id}/fail`, {}), 422, 'validation_failed', 'reason');
  const { types } = await srv.captureEvents(partner.id, async () => {
    const failed = ok(await api.post(`/test-helpers/mail-actions/${scan.id}/fail`, { reason: 'item could not be found' }));
    assert.equal(failed.status, 'failed');
    assert.equal(failed.failure_reason, 'item could not be found');
  });
  assert.deepEqual(types, ['mail_action.failed']);
  // Cancel, as staff do when a request is withdrawn: no event, and the mail takes a new action.
  const pickup = ok(await api.post(`/mail/${fresh.id}/pickup`, {}), 201);
  const canceled = await srv.captureEvents(partner.id, () => api.post(`/test-helpers/mail-actions/${pickup.id}/cancel`, {}));
  assert.equal(ok(canceled.value).status, 'canceled');
  assert.deepEqual(canceled.types, [], 'the catalogue has no event for a cancel');
  assert.equal(ok(await api.get(`/mail/${fresh.id}`)).actions.find((a) => a.id === pickup.id).status, 'canceled');
  assertError(await api.post(`/test-helpers/mail-actions/${pickup.id}/cancel`, {}), 409, 'invalid_state');
  ok(await api.post(`/mail/${fresh.id}/pickup`, {}), 201);
  // An operator can still work a test-mode object, and the answer says which mode it is in.
  const seen = ok(await srv.admin().get(`/customers/${c.id}`));
  assert.equal(seen.livemode, false);
});

test('the operator\'s work queue takes livemode: the live queue leaves out partners\' test requests', async () => {
  const liveCustomer = await eligibleCustomer(srv, live.api);
  const liveMail = ok(await live.api.post('/mail', mailBody(liveCustomer.id)), 201);
  const liveScan = ok(await live.api.post(`/mail/${liveMail.id}/scan`, {}), 201);
  const testCustomer = await createCustomer(sandbox.api, { prepay: true });
  ok(await sandbox.api.post(`/test-helpers/customers/${testCustomer.id}/compliance`, { form_1583: 'approved', identity: 'verified' }));
  const testMail = ok(await sandbox.api.post('/mail', mailBody(testCustomer.id)), 201);
  const testScan = ok(await sandbox.api.post(`/mail/${testMail.id}/scan`, {}), 201);
  const queue = async (q) => ok(await srv.admin().get(`/mail-actions?status=requested&limit=100${q}`)).data.map((a) => a.id);
  const both = await queue('');
  assert.ok(both.includes(liveScan.id) && both.includes(testScan.id));
  const liveOnly = await queue('&livemode=true');
  assert.ok(liveOnly.includes(liveScan.id) && !liveOnly.includes(testScan.id));
  const testOnly = await queue('&livemode=false');
  assert.ok(testOnly.includes(testScan.id) && !testOnly.includes(liveScan.id));
  assertError(await srv.admin().get('/mail-actions?livemode=yes'), 400, 'invalid_request', 'livemode');
  // The command line passes it on.
  const cli = await runCli(['action', 'list', '--database', srv.dbPath, '--status', 'requested', '--livemode', 'true']);
  assert.equal(cli.code, 0, cli.stderr);
  const listed = cli.json.data.map((a) => a.id);
  assert.ok(listed.includes(liveScan.id) && !listed.includes(testScan.id));
});

test('the test helper refuses undoing a compliance decision with 409 invalid_state, as the operator does', async () => {
  const api = sandbox.api;
  const c = await createCustomer(api);
  const helper = (body) => api.post(`/test-helpers/customers/${c.id}/compliance`, body);
  ok(await helper({ form_1583: 'approved', identity: 'verified' }));
  const before = ok(await api.get(`/customers/${c.id}/compliance`));
  const undo = await srv.captureEvents(partner.id, async () => [
    await helper({ form_1583: 'submitted' }),
    await helper({ identity: 'pending' }),
    await helper({ form_1583: 'rejected', identity: 'pending', reason: 'x' }),
  ]);
  assertError(undo.value[0], 409, 'invalid_state', 'form_1583');
  assertError(undo.value[1], 409, 'invalid_state', 'identity');
  assertError(undo.value[2], 409, 'invalid_state', 'identity');
  assert.deepEqual(undo.types, [], 'a refused change emits nothing');
  assert.deepEqual(ok(await api.get(`/customers/${c.id}/compliance`)), before, 'and changes nothing');
  // Revising a decision works, and from there the way back is open.
  ok(await helper({ form_1583: 'rejected', identity: 'failed', reason: 'fraud' }));
  const back = ok(await helper({ form_1583: 'submitted', identity: 'pending' }));
  assert.equal(back.form_1583.status, 'submitted');
  assert.equal(back.identity.status, 'pending');
});

test('a test key has its own rate-limit bucket', async () => {
  const limited = await startServer({ rateLimit: 0.2, rateBurst: 3 });
  try {
    const p = await limited.createPartner();
    const l = await limited.tenant(ALL_SCOPES, { partner: p });
    const t = await limited.tenant(ALL_SCOPES, { partner: p, mode: 'test' });
    let last;
    for (let i = 0; i < 5; i++) last = await l.api.get('/customers');
    assertError(last, 429, 'rate_limited');
    const r = ok(await t.api.get('/customers'));
    assert.deepEqual(r.data, []);
  } finally {
    await limited.stop();
  }
});
