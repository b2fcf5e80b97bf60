// Covers the events API (docs/api.md#events): GET /api/v1/events lists the key's partner's events of the
// key's mode, newest first, each exactly as webhooks carry it; GET /api/v1/events/{id} answers the
// body a webhook delivery of the event carried, byte for byte. Filters (one type, a family such
// as customer.*, created_gte / created_lt) and their 400s, paging both ways, the webhooks:read
// scope, tenancy in the four pairings of TENANCY_PAIRS, the 30 days after which an event answers
// 404 and leaves the list (old rows are written into the server's database with its command line
// tool, sqlite3 or psql), and the purge at start-up of old events no delivery needs any more.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  startServer, ok, assertError, createCustomer, customerBody, qs, sleep, listAll, holdWrites, ALL_SCOPES,
  TENANCY_PAIRS,
} from './lib.mjs';
import { WEBHOOK_ENV, EVENT_KEYS, receiver, closeReceivers, createEndpoint } from './webhook_lib.mjs';

const DAY = 86400;

let srv;

before(async () => { srv = await startServer({ env: WEBHOOK_ENV }); });
after(async () => {
  await srv?.stop();
  await closeReceivers();
});

/** Runs SQL on the server's database (sqlite3 or psql); returns its output. */
const sql = (server, statement) => server.sql(statement);

/** An SQL string literal. */
const lit = (s) => `'${String(s).replace(/'/g, "''")}'`;

/** A new event id of the documented shape. */
function eventId() {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  return `evt_${[...randomBytes(24)].map((b) => alphabet[b % 62]).join('')}`;
}

/** "2026-11-27T11:10:28Z" for Unix seconds. */
const iso = (seconds) => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');

/**
 * Writes a copy of `model` (an event of the tenant, as listed) into the server's database as if it
 * had been created `ageSeconds` ago, without delivery jobs. Returns the copy.
 */
function insertOldEvent(server, tenantId, model, ageSeconds) {
  const created = Math.floor(Date.now() / 1000) - ageSeconds;
  const ev = { ...model, id: eventId(), created_at: iso(created) };
  sql(server, `INSERT INTO events (id, partner_id, type, created_at, payload) VALUES (${lit(ev.id)}, `
    + `${lit(tenantId)}, ${lit(ev.type)}, ${created}, ${lit(JSON.stringify(ev))})`);
  return ev;
}

/** The tenant id of a tenant (see src/tenant.h): the partner's id, with "_test" in test mode. */
const tenantId = (t) => (t.livemode ? t.partner.id : `${t.partner.id}_test`);

/** Every event the key lists, newest first (all pages), with params. */
const listEvents = (api, params = {}) => listAll(api, '/events', params);

test('an event reads back exactly as its webhook delivery carried it, in both modes', async () => {
  for (const mode of ['live', 'test']) {
    const t = await srv.tenant(ALL_SCOPES, { mode });
    const rcv = await receiver(200);
    if (mode === 'live') await createEndpoint(srv, t.partner.id, rcv);
    else {
      const ep = ok(await srv.admin().post(`/partners/${t.partner.id}/webhook-endpoints`, { url: rcv.url, mode: 'test' }), 201);
      rcv.secret = ep.secret;
    }
    const customer = await createCustomer(t.api);
    await rcv.waitFor(1);
    const delivery = rcv.deliveries[0];
    assert.equal(delivery.type, 'customer.created');

    const r = await t.api.get(`/events/${delivery.eventId}`);
    ok(r);
    assert.match(r.headers.get('content-type'), /^application\/json/);
    assert.ok(r.bytes.equals(delivery.body), `${mode}: GET /events/{id} must be the delivered body byte for byte`);
    assert.deepEqual(Object.keys(r.body).sort(), EVENT_KEYS);
    assert.equal(r.body.object, 'event');
    assert.equal(r.body.livemode, mode === 'live');
    assert.equal(r.body.data.object.id, customer.id);

    const list = ok(await t.api.get('/events'));
    assert.equal(list.object, 'list');
    assert.equal(list.url, '/api/v1/events');
    assert.equal(list.has_more, false);
    assert.deepEqual(list.data, [delivery.json], 'the list item is the delivered event');
  }
});

test('the list is newest first and filters by one type or a family of types', async () => {
  const t = await srv.tenant();
  const c = await createCustomer(t.api);
  ok(await t.api.patch(`/customers/${c.id}`, { name: 'Renamed' }));
  ok(await t.api.post(`/customers/${c.id}/deactivate`, {}));
  const all = await listEvents(t.api);
  assert.deepEqual(all.map((e) => e.type),
    ['mailbox.closed', 'customer.deactivated', 'customer.updated', 'customer.created']);
  const admin = await srv.events(t.partner.id);
  assert.deepEqual(all, admin, 'the same events, in the same order, as the operator outbox');

  const types = async (type) => (await listEvents(t.api, { type })).map((e) => e.type);
  assert.deepEqual(await types('customer.updated'), ['customer.updated']);
  assert.deepEqual(await types('customer.*'), ['customer.deactivated', 'customer.updated', 'customer.created']);
  assert.deepEqual(await types('mailbox.*'), ['mailbox.closed']);
  assert.deepEqual(await types('mail_action.*'), [], 'a known family without events is an empty list');
  assert.deepEqual(await types('package.arrived'), []);

  for (const type of ['customer.bogus', 'bogus.*', 'customer', 'customer.', '*', '.*', 'customer.**',
    'customer.*x', 'Customer.created', 'mail', '']) {
    assertError(await t.api.get(`/events${qs({ type })}`), 400, 'invalid_request', 'type');
  }
  assertError(await t.api.get('/events?event_type=customer.created'), 400, 'unknown_parameter', 'event_type');
});

// An event is stamped when its write runs, in the order events are written: lists are newest first
// in that order, and receivers compare created_at to tell the newer of two events. Before, it was
// stamped with its request's arrival, which the writer's batches do not keep in order (an operator's
// call that arrived first is written after partners' requests that came later): 36 of 13 040
// events in an audit's run were listed after one with a later created_at. A write held past two
// second boundaries shows which time it is.
test('an event\'s created_at is when its write ran, not when its request arrived', async () => {
  const t = await srv.tenant();
  const held = await holdWrites(srv, t.partner.id);
  const arrived = Math.floor(Date.now() / 1000);
  let pending;
  try {
    pending = t.api.post('/customers', customerBody());
    while (Date.now() < (arrived + 2) * 1000) await sleep(50);
  } finally {
    await held.end();
  }
  const customer = ok(await pending, 201);
  const [event] = await listEvents(t.api, { type: 'customer.created' });
  assert.equal(event.data.object.id, customer.id);
  const at = (iso) => Date.parse(iso) / 1000;
  assert.ok(at(customer.created_at) < arrived + 2, `the customer is from its request: ${customer.created_at}`);
  assert.ok(at(event.created_at) >= arrived + 2, `the event is from its write: ${event.created_at}, arrived ${arrived}`);
});

test('created_gte and created_lt bound the creation time; malformed times are 400', async () => {
  const t = await srv.tenant();
  await createCustomer(t.api);
  const [first] = await listEvents(t.api);
  // The next event in a later second.
  while (Date.now() < Date.parse(first.created_at) + 1000) await sleep(20);
  await createCustomer(t.api);
  const [second] = await listEvents(t.api);
  assert.ok(Date.parse(second.created_at) > Date.parse(first.created_at));

  const ids = async (params) => (await listEvents(t.api, params)).map((e) => e.id);
  assert.deepEqual(await ids({ created_gte: second.created_at }), [second.id]);
  assert.deepEqual(await ids({ created_lt: second.created_at }), [first.id]);
  assert.deepEqual(await ids({ created_gte: first.created_at, created_lt: second.created_at }), [first.id]);
  assert.deepEqual(await ids({ created_gte: first.created_at }), [second.id, first.id]);
  assert.deepEqual(await ids({ created_gte: second.created_at, created_lt: first.created_at }), []);
  // Any RFC 3339 spelling of the same instant.
  const t2 = Date.parse(second.created_at) / 1000;
  const offset = new Date((t2 + 3600) * 1000).toISOString().replace('.000Z', '+01:00');
  assert.deepEqual(await ids({ created_gte: offset }), [second.id]);

  for (const param of ['created_gte', 'created_lt']) {
    for (const v of ['yesterday', '2026-11-27', '2026-11-27 10:00:00Z', '2026-13-01T00:00:00Z', '1700000000', '']) {
      assertError(await t.api.get(`/events${qs({ [param]: v })}`), 400, 'invalid_request', param);
    }
  }
});

test('pages both ways with limit, starting_after and ending_before', async () => {
  const t = await srv.tenant();
  for (let i = 0; i < 7; i++) await createCustomer(t.api);
  const all = (await listEvents(t.api)).map((e) => e.id);
  assert.equal(all.length, 7);

  const forward = [];
  let afterId;
  for (let i = 0; i < 10; i++) {
    const r = ok(await t.api.get(`/events${qs({ limit: 3, starting_after: afterId })}`));
    forward.push(...r.data.map((e) => e.id));
    assert.equal(r.has_more, forward.length < 7, `has_more after ${forward.length}`);
    if (!r.has_more) break;
    afterId = r.data.at(-1).id;
  }
  assert.deepEqual(forward, all);

  const backward = [];
  let beforeId = all.at(-1);
  for (let i = 0; i < 10; i++) {
    const r = ok(await t.api.get(`/events${qs({ limit: 3, ending_before: beforeId })}`));
    backward.unshift(...r.data.map((e) => e.id));
    assert.equal(r.has_more, backward.length < 6, `has_more after ${backward.length}`);
    if (!r.has_more) break;
    beforeId = r.data[0].id;
  }
  assert.deepEqual(backward, all.slice(0, -1));

  // Paging within a filter.
  const page = ok(await t.api.get(`/events${qs({ type: 'customer.*', limit: 2, starting_after: all[1] })}`));
  assert.deepEqual(page.data.map((e) => e.id), all.slice(2, 4));
  assertError(await t.api.get('/events?limit=0'), 400, 'invalid_request', 'limit');
  assertError(await t.api.get(`/events${qs({ starting_after: eventId() })}`), 400, 'invalid_request', 'starting_after');
  assertError(await t.api.get(`/events${qs({ starting_after: all[0], ending_before: all[1] })}`), 400, 'invalid_request');
});

test('both routes need webhooks:read', async () => {
  const owner = await srv.tenant();
  await createCustomer(owner.api);
  const [ev] = await listEvents(owner.api);
  const other = await srv.tenant(ALL_SCOPES.filter((s) => s !== 'webhooks:read'), { partner: owner.partner });
  for (const p of ['/events', `/events/${ev.id}`]) {
    const e = assertError(await other.api.get(p), 403, 'insufficient_scope');
    assert.match(e.message, /webhooks:read/);
  }
  assert.equal(ok(await (await srv.tenant(['webhooks:read'], { partner: owner.partner })).api.get(`/events/${ev.id}`)).id, ev.id);
});

test('an event older than 30 days answers 404 and has left the list; one of 29 days has not', async () => {
  const t = await srv.tenant();
  await createCustomer(t.api);
  const [model] = await listEvents(t.api);
  const old = insertOldEvent(srv, tenantId(t), model, 30 * DAY + 60);
  const recent = insertOldEvent(srv, tenantId(t), model, 29 * DAY);

  assertError(await t.api.get(`/events/${old.id}`), 404, 'not_found');
  const got = await t.api.get(`/events/${recent.id}`);
  assert.equal(ok(got).id, recent.id);
  assert.equal(got.text, JSON.stringify(recent), 'the stored body, as stored');

  // (Listed in the order rows were written, so the back-dated copy comes first.)
  const listed = (await listEvents(t.api)).map((e) => e.id);
  assert.deepEqual([...listed].sort(), [model.id, recent.id].sort(), 'the old one has left the list');
  assert.deepEqual((await listEvents(t.api, { created_lt: model.created_at })).map((e) => e.id), [recent.id]);
  for (const param of ['starting_after', 'ending_before']) {
    assertError(await t.api.get(`/events${qs({ [param]: old.id })}`), 400, 'invalid_request', param);
  }
});

test('at start-up, old events no delivery needs are purged with their jobs and attempts', async () => {
  const own = await startServer({ env: WEBHOOK_ENV });
  try {
    const t = await own.tenant();
    const rcv = await receiver(200);
    const ep = await createEndpoint(own, t.partner.id, rcv);
    await createCustomer(t.api);
    await rcv.waitFor(1);
    const [model] = await listEvents(t.api);
    const now = Math.floor(Date.now() / 1000);
    const done = insertOldEvent(own, t.partner.id, model, 31 * DAY);
    const waiting = insertOldEvent(own, t.partner.id, model, 31 * DAY);
    const bare = insertOldEvent(own, t.partner.id, model, 31 * DAY);
    // done: delivered long ago; waiting: a retry still due to an endpoint disabled meanwhile.
    const disabled = ok(await own.admin().post(`/partners/${t.partner.id}/webhook-endpoints`,
      { url: 'https://crm.example.com/hooks/off' }), 201);
    ok(await own.admin().patch(`/webhook-endpoints/${disabled.id}`, { enabled: false }));
    sql(own, `INSERT INTO webhook_jobs (event_id, endpoint_id, attempts, status, next_attempt_at) VALUES `
      + `(${lit(done.id)}, ${lit(ep.id)}, 1, 'succeeded', ${now - 31 * DAY}), `
      + `(${lit(waiting.id)}, ${lit(disabled.id)}, 1, 'pending', ${now - 30 * DAY}); `
      + 'INSERT INTO webhook_deliveries (id, partner_id, event_id, event_type, endpoint_id, url, attempt, '
      + `status, response_status, duration_ms, attempted_at) VALUES ('whd_${eventId().slice(4)}', `
      + `${lit(t.partner.id)}, ${lit(done.id)}, ${lit(done.type)}, ${lit(ep.id)}, ${lit(rcv.url)}, 1, `
      + `'succeeded', 200, 5, ${now - 31 * DAY})`);
    const count = (where) => Number(sql(own, `SELECT count(*) FROM ${where}`));

    await own.stop({ keep: true });
    await own.restart();

    assert.equal(count(`events WHERE id IN (${lit(done.id)}, ${lit(bare.id)})`), 0, 'purged');
    assert.equal(count(`webhook_jobs WHERE event_id = ${lit(done.id)}`), 0);
    assert.equal(count(`webhook_deliveries WHERE event_id = ${lit(done.id)}`), 0);
    assert.equal(count(`events WHERE id = ${lit(waiting.id)}`), 1, 'a pending job keeps its event');
    assert.equal(count(`webhook_jobs WHERE event_id = ${lit(waiting.id)}`), 1);
    // Kept for the delivery, but still expired for the partner.
    assertError(await t.api.get(`/events/${waiting.id}`), 404, 'not_found');
    // The recent event and its delivery are untouched.
    assert.equal(ok(await t.api.get(`/events/${model.id}`)).id, model.id);
    assert.equal(count(`webhook_deliveries WHERE event_id = ${lit(model.id)}`), 1);
  } finally {
    await own.stop();
  }
});

function tenancySuite(pair) {
  let owner;
  let intruder;
  let theirs;

  before(async () => {
    [owner, intruder] = await pair.make(srv);
    await createCustomer(intruder.api); // the intruder has events of its own
    const c = await createCustomer(owner.api);
    ok(await owner.api.post(`/customers/${c.id}/deactivate`, {}));
    theirs = await listEvents(owner.api);
    assert.equal(theirs.length, 3);
  });

  test("another tenant's event is 404 not_found, exactly like a missing one", async () => {
    for (const ev of theirs) {
      const foreign = assertError(await intruder.api.get(`/events/${ev.id}`), 404, 'not_found');
      const fake = eventId();
      const missing = assertError(await intruder.api.get(`/events/${fake}`), 404, 'not_found');
      assert.equal(foreign.message.replace(ev.id, '<id>'), missing.message.replace(fake, '<id>'));
      assert.equal(foreign.param, missing.param);
    }
  });

  test("another tenant's events are never listed, whatever the filter, and are no cursor", async () => {
    const ids = new Set(theirs.map((e) => e.id));
    for (const params of [{}, { type: 'customer.*' }, { type: 'customer.created' }, { type: 'mailbox.closed' },
      { created_gte: theirs.at(-1).created_at }]) {
      const mine = await listEvents(intruder.api, params);
      assert.ok(mine.every((e) => !ids.has(e.id)), JSON.stringify(params));
      assert.ok(mine.every((e) => e.livemode === intruder.livemode));
    }
    assert.equal((await listEvents(intruder.api)).length, 1, "the intruder's own customer.created");
    for (const param of ['starting_after', 'ending_before']) {
      assertError(await intruder.api.get(`/events${qs({ [param]: theirs[0].id })}`), 400, 'invalid_request', param);
    }
  });
}

for (const pair of TENANCY_PAIRS) describe(`tenancy: ${pair.name}`, () => tenancySuite(pair));
