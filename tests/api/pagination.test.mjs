// Covers cursor pagination of list endpoints (docs/api.md#lists): newest first, default limit 20,
// walking every page forwards with starting_after and backwards with ending_before without gaps
// or duplicates, has_more correct in both directions, the url field, paging combined with a filter,
// and the same envelope on the operator API's lists (partners, events).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createCustomer, ok, qs } from './lib.mjs';

let srv;
let t;
let made; // customer ids, oldest first

before(async () => {
  srv = await startServer();
  t = await srv.tenant();
  made = [];
  for (let i = 0; i < 25; i++) made.push((await createCustomer(t.api, { prepay: i % 3 === 0 })).id);
});
after(() => srv?.stop());

const newestFirst = () => [...made].reverse();

test('without parameters the list has the 20 newest customers and has_more', async () => {
  const r = ok(await t.api.get('/customers'));
  assert.equal(r.object, 'list');
  assert.equal(r.url, '/api/v1/customers');
  assert.equal(r.has_more, true);
  assert.deepEqual(r.data.map((c) => c.id), newestFirst().slice(0, 20));
});

test('limit=100 returns everything with has_more false', async () => {
  const r = ok(await t.api.get('/customers?limit=100'));
  assert.equal(r.has_more, false);
  assert.deepEqual(r.data.map((c) => c.id), newestFirst());
});

for (const limit of [1, 7, 25]) {
  test(`walking forwards with starting_after and limit=${limit} visits every customer once, newest first`, async () => {
    const seen = [];
    let after;
    for (let page = 0; page < 100; page++) {
      const r = ok(await t.api.get(`/customers${qs({ limit, starting_after: after })}`));
      assert.ok(r.data.length <= limit);
      seen.push(...r.data.map((c) => c.id));
      const moreExpected = seen.length < made.length;
      assert.equal(r.has_more, moreExpected, `has_more after ${seen.length} of ${made.length}`);
      assert.equal(r.data.length, Math.min(limit, made.length - (seen.length - r.data.length)));
      if (!r.has_more) break;
      after = r.data.at(-1).id;
    }
    assert.deepEqual(seen, newestFirst());
  });

  test(`walking backwards with ending_before and limit=${limit} visits every customer once`, async () => {
    // Start after the oldest: ending_before=<oldest> gives the page just newer than it.
    const oldest = made[0];
    const pages = [];
    let before = oldest;
    for (let page = 0; page < 100; page++) {
      const r = ok(await t.api.get(`/customers${qs({ limit, ending_before: before })}`));
      assert.ok(r.data.length >= 1 && r.data.length <= limit, `page size ${r.data.length}`);
      pages.push(r.data.map((c) => c.id));
      const collected = pages.flat().length;
      assert.equal(r.has_more, collected < made.length - 1, `has_more with ${collected} of ${made.length - 1} newer items`);
      if (!r.has_more) break;
      before = r.data[0].id;
    }
    // Each page is newest first; pages come from oldest to newest.
    const seen = pages.reverse().flat();
    assert.deepEqual(seen, newestFirst().slice(0, -1));
  });
}

test('a page before the newest is empty with has_more false', async () => {
  const r = ok(await t.api.get(`/customers${qs({ ending_before: made.at(-1) })}`));
  assert.deepEqual(r.data, []);
  assert.equal(r.has_more, false);
});

test('a page after the oldest is empty with has_more false', async () => {
  const r = ok(await t.api.get(`/customers${qs({ starting_after: made[0] })}`));
  assert.deepEqual(r.data, []);
  assert.equal(r.has_more, false);
});

test('ending_before returns the items right before the cursor, not the newest ones', async () => {
  const cursor = made[10];
  const r = ok(await t.api.get(`/customers${qs({ limit: 3, ending_before: cursor })}`));
  assert.deepEqual(r.data.map((c) => c.id), [made[13], made[12], made[11]]);
  assert.equal(r.has_more, true);
});

test('starting_after returns the items right after the cursor', async () => {
  const r = ok(await t.api.get(`/customers${qs({ limit: 3, starting_after: made[10] })}`));
  assert.deepEqual(r.data.map((c) => c.id), [made[9], made[8], made[7]]);
  assert.equal(r.has_more, true);
});

test('a customer created while paging shows up on the first page, not in the middle of the walk', async () => {
  const tn = await srv.tenant();
  const ids = [];
  for (let i = 0; i < 5; i++) ids.push((await createCustomer(tn.api)).id);
  const p1 = ok(await tn.api.get('/customers?limit=2'));
  const fresh = await createCustomer(tn.api);
  const p2 = ok(await tn.api.get(`/customers${qs({ limit: 2, starting_after: p1.data.at(-1).id })}`));
  const p3 = ok(await tn.api.get(`/customers${qs({ limit: 2, starting_after: p2.data.at(-1).id })}`));
  assert.deepEqual([...p1.data, ...p2.data, ...p3.data].map((c) => c.id), [...ids].reverse());
  assert.equal(p3.has_more, false);
  assert.equal(ok(await tn.api.get('/customers?limit=1')).data[0].id, fresh.id);
});

test('paging works together with a filter', async () => {
  const prepaid = made.filter((_, i) => i % 3 === 0).reverse();
  for (const id of prepaid.slice(0, 3)) ok(await srv.admin().post(`/customers/${id}/accept-invite`));
  const active = prepaid.slice(0, 3);
  const seen = [];
  let after;
  for (;;) {
    const r = ok(await t.api.get(`/customers${qs({ status: 'invited', limit: 4, starting_after: after })}`));
    seen.push(...r.data.map((c) => c.id));
    if (!r.has_more) break;
    after = r.data.at(-1).id;
  }
  assert.deepEqual(seen, newestFirst().filter((id) => !active.includes(id)));
});

test('operator lists page the same way: partners and events', async () => {
  const partners = ok(await srv.admin().get('/partners?limit=1'));
  assert.equal(partners.object, 'list');
  assert.equal(partners.url, '/admin/v1/partners');
  assert.equal(partners.data.length, 1);
  assert.equal(partners.has_more, true);
  const next = ok(await srv.admin().get(`/partners${qs({ limit: 1, starting_after: partners.data[0].id })}`));
  assert.equal(next.data.length, 1);
  assert.notEqual(next.data[0].id, partners.data[0].id);

  const events = ok(await srv.admin().get(`/events${qs({ partner_id: t.partner.id, type: 'customer.created', limit: 10 })}`));
  assert.equal(events.object, 'list');
  assert.equal(events.url, '/admin/v1/events');
  assert.equal(events.data.length, 10);
  assert.equal(events.has_more, true);
  assert.deepEqual(events.data.map((e) => e.data.object.id), newestFirst().slice(0, 10));
  const all = await srv.events(t.partner.id, 'customer.created');
  assert.deepEqual(all.map((e) => e.data.object.id), newestFirst());
});
