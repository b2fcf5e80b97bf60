// Covers tenancy on every mail route (docs/api.md: tenancy, Mail, Mail actions): a second partner gets
// 404 not_found for the first partner's mail and customers on GET/DELETE /mail/{id}, the four
// action routes, GET /customers/{id}/mail and POST /mail (param customer_id) — with the same body,
// apart from request_id and the id, as for an id that never existed, whatever state the foreign
// object is in (so neither existence nor eligibility leaks) — changes nothing and emits nothing
// through them, never sees the mail in its lists or accepts it as a cursor, and deleted mail
// answers like mail that never existed. The operator sees every partner's mail.
// Every test below runs for each pair of TENANCY_PAIRS (lib.mjs): two partners in live mode, two
// in test mode, and the live and test modes of one partner (docs/api.md#live-and-test-mode), which must be as
// separate as two partners.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, createCustomer, TENANCY_PAIRS, assertError, ok, qs, uniq,
} from './lib.mjs';
import {
  eligibleCustomer, createMail, staffMail, requestAction, completeAction, mailBody, assertNoEvents,
  customerMail, lookalike, shape, assertSame404, MIN_ADDRESS,
} from './mail_lib.mjs';

function suite(pair) {
  let srv;
  let a; // the owner
  let b; // the intruder
  let mails; // a's mail in several states: [label, mail]
  let customers; // a's customers in several states: [label, customer]
  let deleted; // a's mail that a deleted
  let bCust; // b's own eligible customer
  let bMail; // b's own mail

  before(async () => {
    srv = await startServer();
    [a, b] = await pair.make(srv);
    bCust = await eligibleCustomer(srv, b.api);
    bMail = await createMail(b.api, bCust.id);

    const eligible = await eligibleCustomer(srv, a.api);
    const notApproved = await createCustomer(a.api, { prepay: true });
    const noBilling = await createCustomer(a.api, { prepay: false });
    const gone = await eligibleCustomer(srv, a.api);
    const partnerMail = await createMail(a.api, eligible.id, { type: 'package', tracking_number: '1ZA' });
    const staff = await staffMail(srv, eligible.id);
    const open = await createMail(a.api, eligible.id);
    await requestAction(a.api, open.id, 'scan');
    const forwarded = await createMail(a.api, eligible.id);
    await completeAction(srv, await requestAction(a.api, forwarded.id, 'forward'));
    const ofGone = await createMail(a.api, gone.id);
    ok(await a.api.post(`/customers/${gone.id}/deactivate`, {}));
    deleted = await createMail(a.api, eligible.id);
    ok(await a.api.del(`/mail/${deleted.id}`));

    mails = [];
    for (const [label, m] of [['in storage', partnerMail], ['staff-recorded', staff], ['with a requested action', open],
      ['forwarded', forwarded], ['of a deactivated customer', ofGone]]) {
      mails.push([label, ok(await a.api.get(`/mail/${m.id}`))]);
    }
    customers = [['eligible', eligible], ['not approved', notApproved], ['billing inactive', noBilling], ['deactivated', gone]];
  });
  after(() => srv?.stop());

  const MAIL_ROUTES = [
    ['GET /mail/{id}', (api, id) => api.get(`/mail/${id}`)],
    ['DELETE /mail/{id}', (api, id) => api.del(`/mail/${id}`)],
    ['POST /mail/{id}/scan', (api, id) => api.post(`/mail/${id}/scan`, {})],
    ['POST /mail/{id}/scan (no body)', (api, id) => api.post(`/mail/${id}/scan`)],
    ['POST /mail/{id}/forward', (api, id) => api.post(`/mail/${id}/forward`, { forward_address: MIN_ADDRESS, shipping_speed: 'express' })],
    ['POST /mail/{id}/shred', (api, id) => api.post(`/mail/${id}/shred`, { notes: 'now' })],
    ['POST /mail/{id}/pickup', (api, id) => api.post(`/mail/${id}/pickup`, {})],
  ];

  /** a's mail as a sees it, to prove nothing changed. */
  async function snapshot() {
    const out = [];
    for (const [, m] of mails) out.push(ok(await a.api.get(`/mail/${m.id}`)));
    return out;
  }

  for (const [name, call] of MAIL_ROUTES) {
    test(`${name}: another partner's mail is 404 not_found exactly like a missing one, and nothing happens`, async () => {
      const before = await snapshot();
      await assertNoEvents(srv, [a.partner.id, b.partner.id], async () => {
        for (const [label, m] of mails) {
          const foreign = await call(b.api, m.id);
          const fake = lookalike(m.id);
          const missing = await call(b.api, fake);
          assertSame404(foreign, m.id, missing, fake);
          assert.ok(foreign.body.error.message.length > 0, label);
        }
      });
      assert.deepEqual(await snapshot(), before);
    });

    test(`${name}: deleted mail is 404 not_found exactly like a missing one, for its owner and for others`, async () => {
      await assertNoEvents(srv, [a.partner.id, b.partner.id], async () => {
        for (const client of [a.api, b.api]) {
          const gone = await call(client, deleted.id);
          const fake = lookalike(deleted.id);
          assertSame404(gone, deleted.id, await call(client, fake), fake);
        }
      });
    });
  }

  test("GET /customers/{id}/mail: another partner's customer is 404 not_found exactly like a missing one", async () => {
    for (const [, c] of customers) {
      for (const params of [{}, { type: 'package' }, { status: 'in_storage', limit: 5 }]) {
        const foreign = await b.api.get(`/customers/${c.id}/mail${qs(params)}`);
        const fake = lookalike(c.id);
        assertSame404(foreign, c.id, await b.api.get(`/customers/${fake}/mail${qs(params)}`), fake);
      }
    }
  });

  test("POST /mail for another partner's customer is 404 not_found, param customer_id, exactly like a missing one, whatever its state", async () => {
    const key = uniq('inbound_');
    const lists = async () => {
      const out = [];
      for (const [, c] of customers) out.push(await customerMail(a.api, c.id));
      return out;
    };
    const before = await lists();
    await assertNoEvents(srv, [a.partner.id, b.partner.id], async () => {
      for (const [label, c] of customers) {
        const foreign = await b.api.post('/mail', mailBody(c.id, { type: 'package' }));
        const fake = lookalike(c.id);
        const missing = await b.api.post('/mail', mailBody(fake, { type: 'package' }));
        assertSame404(foreign, c.id, missing, fake, 'customer_id');
        assert.doesNotMatch(foreign.body.error.message, /deactivated|billing|approved/i, `${label}: eligibility must not leak`);
      }
      // With an Idempotency-Key the answer is the same 404 (and is replayed as such).
      const [, c] = customers[0];
      const first = await b.api.post('/mail', mailBody(c.id), { idem: key });
      assertError(first, 404, 'not_found', 'customer_id');
      const again = await b.api.post('/mail', mailBody(c.id), { idem: key });
      assert.equal(again.status, 404);
      assert.ok(again.bytes.equals(first.bytes));
    });
    assert.deepEqual(await lists(), before, "no mail was added for the owner's customers");
    assert.deepEqual((await customerMail(b.api, bCust.id)).map((m) => m.id), [bMail.id], 'nor for the intruder');
  });

  test("the other partner's lists never contain the first partner's mail, and its ids are no valid cursors", async () => {
    const theirs = new Set([...mails.map(([, m]) => m.id), deleted.id]);
    for (const params of [{}, { type: 'package' }, { type: 'letter' }, { status: 'in_storage' }, { status: 'forwarded' }]) {
      const mine = await customerMail(b.api, bCust.id, params);
      assert.ok(mine.every((m) => !theirs.has(m.id) && m.customer_id === bCust.id), JSON.stringify(params));
    }
    assert.deepEqual((await customerMail(b.api, bCust.id)).map((m) => m.id), [bMail.id]);
    for (const param of ['starting_after', 'ending_before']) {
      const [, m] = mails[0];
      const foreign = await b.api.get(`/customers/${bCust.id}/mail${qs({ [param]: m.id })}`);
      assertError(foreign, 400, 'invalid_request', param);
      const missing = await b.api.get(`/customers/${bCust.id}/mail${qs({ [param]: lookalike(m.id) })}`);
      assertError(missing, 400, 'invalid_request', param);
      assert.deepEqual(shape(foreign, m.id), shape(missing, lookalike(m.id)));
    }
  });

  test("a partner's own mail of another of its customers is no cursor for this customer's list either", async () => {
    const other = await eligibleCustomer(srv, b.api);
    const om = await createMail(b.api, other.id);
    const r = await b.api.get(`/customers/${bCust.id}/mail${qs({ starting_after: om.id })}`);
    assertError(r, 400, 'invalid_request', 'starting_after');
  });

  test("the first partner still sees and controls its mail; the intruder's key works for its own", async () => {
    const [, m] = mails[0];
    assert.deepEqual(ok(await a.api.get(`/mail/${m.id}`)), mails[0][1]);
    assert.deepEqual(ok(await b.api.get(`/mail/${bMail.id}`)), bMail);
    assertError(await a.api.get(`/mail/${bMail.id}`), 404, 'not_found');
    const act = await requestAction(a.api, m.id, 'pickup');
    assert.equal(act.mail_id, m.id);
  });

  test('the operator reads every partner\'s mail', async () => {
    for (const [, m] of mails) assert.deepEqual(ok(await srv.admin().get(`/mail/${m.id}`)), ok(await a.api.get(`/mail/${m.id}`)));
    assert.deepEqual(ok(await srv.admin().get(`/mail/${bMail.id}`)), bMail);
  });

  test('Idempotency-Keys of mail requests are per partner', async () => {
    const key = uniq('inbound_');
    const [, c] = customers[0];
    const first = ok(await a.api.post('/mail', mailBody(c.id), { idem: key }), 201);
    const { value: r, types } = await srv.captureEvents(b.partner.id, () => b.api.post('/mail', mailBody(bCust.id), { idem: key }));
    const theirs = ok(r, 201);
    assert.notEqual(r.headers.get('idempotent-replayed'), 'true');
    assert.notEqual(theirs.id, first.id);
    assert.equal(theirs.customer_id, bCust.id);
    assert.deepEqual(types, ['mail.arrived']);
  });

  test("the outbox keeps partners' mail events apart", async () => {
    const aIds = new Set([...mails.map(([, m]) => m.id), deleted.id]);
    const bEvents = await srv.events(b.partner.id, undefined, b.livemode);
    assert.ok(bEvents.some((e) => e.data.object.id === bMail.id));
    for (const e of bEvents) {
      assert.ok(!aIds.has(e.data.object.id) && !aIds.has(e.data.object.mail_id), `${e.type} of a in b's outbox`);
    }
    const aEvents = await srv.events(a.partner.id, undefined, a.livemode);
    const aTypes = new Set(aEvents.map((e) => e.type));
    for (const type of ['package.arrived', 'mail.arrived', 'mail.deleted', 'mail_action.requested', 'mail_action.completed']) {
      assert.ok(aTypes.has(type), `a's outbox holds ${type}`);
    }
    assert.ok(aEvents.every((e) => e.data.object.id !== bMail.id));
  });
}

for (const pair of TENANCY_PAIRS) describe(pair.name, () => suite(pair));
