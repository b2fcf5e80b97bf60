// Covers tenancy (docs/api.md#authentication-and-scopes): a second partner gets 404 not_found for every id of the first on
// every customer route — with the same body, apart from request_id, as for an id that does not
// exist — changes nothing through them, never sees them in its lists, filters, cursors or billing
// usage, and the operator event log keeps each partner's events apart.
// Every test below runs for each pair of TENANCY_PAIRS (lib.mjs): two partners in live mode, two
// in test mode, and the live and test modes of one partner (docs/api.md#live-and-test-mode), which must be as
// separate as two partners.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, createCustomer, TENANCY_PAIRS, assertError, ok, qs, listAll,
} from './lib.mjs';

function suite(pair) {
  let srv;
  let a; // the first partner, owner of the customers
  let b; // the second partner, the intruder
  let theirs; // customers of a, in several states

  before(async () => {
    srv = await startServer();
    [a, b] = await pair.make(srv);
    await createCustomer(b.api); // b has a customer of its own, so its lists are not trivially empty
    const invited = await createCustomer(a.api, { external_customer_id: 'crm_shared_1', prepay: true });
    const active = await createCustomer(a.api, { external_customer_id: 'crm_shared_2' });
    ok(await srv.admin().post(`/customers/${active.id}/accept-invite`));
    ok(await srv.admin().post(`/customers/${active.id}/compliance`, { form_1583: 'approved', identity: 'verified' }));
    const gone = await createCustomer(a.api);
    ok(await a.api.post(`/customers/${gone.id}/deactivate`, {}));
    theirs = [invited, active, gone];
  });
  after(() => srv?.stop());

  /** An id that does not exist but looks like `id` (same prefix and length). */
  function lookalike(id) {
    const [prefix, rest] = [id.slice(0, id.indexOf('_') + 1), id.slice(id.indexOf('_') + 1)];
    const swapped = [...rest].map((ch) => (ch === 'Z' ? 'Y' : 'Z')).join('');
    return prefix + swapped;
  }

  /** The error of `r` without request_id, with `id` replaced by a placeholder. */
  function shape(r, id) {
    const { request_id: _, ...rest } = r.body.error;
    if (rest.message) rest.message = rest.message.split(id).join('<id>');
    return rest;
  }

  const ROUTES = [
    ['GET /customers/{id}', (api, id) => api.get(`/customers/${id}`)],
    ['GET /customers/{id}/compliance', (api, id) => api.get(`/customers/${id}/compliance`)],
    ['GET /customers/{id}/mailbox', (api, id) => api.get(`/customers/${id}/mailbox`)],
    ['PATCH /customers/{id}', (api, id) => api.patch(`/customers/${id}`, { name: 'Hijacked' })],
    ['PATCH /customers/{id} (empty)', (api, id) => api.patch(`/customers/${id}`, {})],
    ['POST /customers/{id}/deactivate', (api, id) => api.post(`/customers/${id}/deactivate`, {})],
  ];

  for (const [name, call] of ROUTES) {
    test(`${name}: another partner's customer is 404 not_found, exactly like a missing one`, async () => {
      for (const c of theirs) {
        const foreign = await call(b.api, c.id);
        assertError(foreign, 404, 'not_found');
        const fake = lookalike(c.id);
        const missing = await call(b.api, fake);
        assertError(missing, 404, 'not_found');
        assert.deepEqual(shape(foreign, c.id), shape(missing, fake), 'a foreign id must look exactly like a missing one');
      }
    });
  }

  test("the owner's customers are unchanged by the other partner's attempts", async () => {
    for (const c of theirs) {
      const now = ok(await a.api.get(`/customers/${c.id}`));
      assert.notEqual(now.name, 'Hijacked');
      assert.equal(now.status, c.id === theirs[2].id ? 'deactivated' : c.id === theirs[1].id ? 'active' : 'invited');
    }
    const m = ok(await a.api.get(`/customers/${theirs[0].id}/mailbox`));
    assert.equal(m.status, 'reserved');
  });

  test("another partner's lists never contain the first partner's customers", async () => {
    const ids = new Set(theirs.map((c) => c.id));
    const all = await listAll(b.api, '/customers');
    assert.ok(all.length >= 1);
    assert.ok(all.every((c) => !ids.has(c.id)));
    for (const status of ['invited', 'active', 'deactivated']) {
      const l = ok(await b.api.get(`/customers${qs({ status, limit: 100 })}`));
      assert.ok(l.data.every((c) => !ids.has(c.id)), `status=${status}`);
    }
    assert.deepEqual(ok(await b.api.get(`/customers${qs({ external_customer_id: 'crm_shared_1' })}`)).data, []);
    for (const c of theirs) assert.deepEqual(ok(await b.api.get(`/customers${qs({ email: c.email })}`)).data, []);
  });

  test("another partner's customer id is no valid cursor", async () => {
    for (const param of ['starting_after', 'ending_before']) {
      const foreign = await b.api.get(`/customers${qs({ [param]: theirs[0].id })}`);
      assertError(foreign, 400, 'invalid_request', param);
      const missing = await b.api.get(`/customers${qs({ [param]: lookalike(theirs[0].id) })}`);
      assertError(missing, 400, 'invalid_request', param);
      assert.deepEqual(shape(foreign, theirs[0].id), shape(missing, lookalike(theirs[0].id)));
    }
  });

  test("another partner's billing usage does not include the first partner's mailboxes", async () => {
    const mine = ok(await a.api.get('/billing/usage'));
    assert.ok(mine.line_items.data.some((li) => li.customer_id === theirs[1].id), "the owner's usage lists the active mailbox");
    const other = ok(await b.api.get('/billing/usage?limit=100'));
    const ids = new Set(theirs.map((c) => c.id));
    assert.ok(other.line_items.data.every((li) => !ids.has(li.customer_id)));
    assert.equal(other.billable_mailboxes, 0);
    assert.equal(other.active_mailboxes, 0);
  });

  test('the same external_customer_id may exist once per partner', async () => {
    const c = await createCustomer(b.api, { external_customer_id: 'crm_shared_2' });
    assert.deepEqual(ok(await b.api.get(`/customers${qs({ external_customer_id: 'crm_shared_2' })}`)).data.map((x) => x.id), [c.id]);
    assert.deepEqual(ok(await a.api.get(`/customers${qs({ external_customer_id: 'crm_shared_2' })}`)).data.map((x) => x.id), [theirs[1].id]);
  });

  test('the event log keeps partners apart', async () => {
    const ids = new Set(theirs.map((c) => c.id));
    const bEvents = await srv.events(b.partner.id, undefined, b.livemode);
    assert.ok(bEvents.length >= 1);
    assert.ok(bEvents.every((e) => !ids.has(e.data.object.id) && !ids.has(e.data.object.customer_id)));
    const aEvents = await srv.events(a.partner.id, undefined, a.livemode);
    assert.ok(aEvents.some((e) => e.data.object.id === theirs[0].id));
  });
}

for (const pair of TENANCY_PAIRS) describe(pair.name, () => suite(pair));
