// Covers GET /api/v1/billing/usage (docs/api.md#billing-usage): the period (default the current UTC month,
// ?period=YYYY-MM, malformed periods 400 invalid_request), counting only mailboxes that were
// active (activated through compliance approval; reserved ones are not billable), line items with
// active_from / active_until / active_days, deactivated mailboxes staying billable for the period
// with active_until set, a mailbox closed in the second it was activated billed for one day,
// totals, and paging of the line items both ways with limit / starting_after / ending_before.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, createCustomer, assertError, ok, qs, uniq, sleep,
} from './lib.mjs';
import { findOperation } from './openapi_lib.mjs';

let srv;

before(async () => { srv = await startServer(); });
after(() => srv?.stop());

/** "2026-11-01T00:00:00Z" for the first day of the month of `d` plus `add` months (UTC). */
function monthStart(d, add = 0) {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + add, 1)).toISOString().replace('.000Z', 'Z');
}

/** UTC calendar days from the day of `from` to today, both included. */
function daysUpToToday(from) {
  const day = (d) => Math.floor(d.getTime() / 86400000);
  return day(new Date()) - day(new Date(from)) + 1;
}

/** Creates a customer and approves it, which activates its mailbox. Returns {customer, mailbox}. */
async function activeCustomer(api, fields = {}) {
  const customer = await createCustomer(api, fields);
  ok(await srv.admin().post(`/customers/${customer.id}/compliance`, { form_1583: 'approved', identity: 'verified' }));
  const mailbox = ok(await api.get(`/customers/${customer.id}/mailbox`));
  assert.equal(mailbox.status, 'active');
  return { customer, mailbox };
}

test('a partner without active mailboxes has an empty usage for the current UTC month', async () => {
  const t = await srv.tenant();
  await createCustomer(t.api); // reserved only: not billable
  const u = ok(await t.api.get('/billing/usage'));
  assert.equal(u.object, 'billing_usage');
  const now = new Date();
  assert.deepEqual(u.period, { start: monthStart(now), end: monthStart(now, 1) });
  assert.equal(u.active_mailboxes, 0);
  assert.equal(u.billable_mailboxes, 0);
  assert.equal(u.mailbox_days, 0);
  assert.equal(u.line_items.object, 'list');
  assert.deepEqual(u.line_items.data, []);
  assert.equal(u.line_items.has_more, false);
});

test('a mailbox activated by compliance approval is billed from its activated_at', async () => {
  const t = await srv.tenant();
  const ext = uniq('crm_');
  const { customer, mailbox } = await activeCustomer(t.api, { external_customer_id: ext, prepay: true });
  const u = ok(await t.api.get('/billing/usage'));
  assert.equal(u.active_mailboxes, 1);
  assert.equal(u.billable_mailboxes, 1);
  assert.equal(u.line_items.data.length, 1);
  const li = u.line_items.data[0];
  assert.equal(li.customer_id, customer.id);
  assert.equal(li.external_customer_id, ext);
  assert.equal(li.mailbox_id, mailbox.id);
  assert.equal(li.mailbox_number, mailbox.number);
  assert.equal(li.prepay, true);
  assert.equal(Date.parse(li.active_from), Date.parse(mailbox.activated_at));
  assert.equal(li.active_until, null);
  assert.ok(li.active_days >= 1);
  assert.equal(li.active_days, daysUpToToday(mailbox.activated_at));
  assert.equal(u.mailbox_days, li.active_days);
  // The same usage when the current period is named explicitly.
  const now = new Date();
  const period = `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
  assert.deepEqual(ok(await t.api.get(`/billing/usage${qs({ period })}`)), u);
});

test('a deactivated mailbox stays billable for the period, with active_until, but is no longer active', async () => {
  const t = await srv.tenant();
  const { customer, mailbox } = await activeCustomer(t.api);
  const kept = await activeCustomer(t.api);
  // Times have one-second resolution: close the mailbox in a later second than it opened, so
  // that it was visibly active for a moment.
  while (Date.now() < Date.parse(mailbox.activated_at) + 1000) await sleep(20);
  ok(await t.api.post(`/customers/${customer.id}/deactivate`, {}));
  const closed = ok(await t.api.get(`/customers/${customer.id}/mailbox`));
  assert.equal(closed.status, 'closed');
  const u = ok(await t.api.get('/billing/usage'));
  assert.equal(u.active_mailboxes, 1);
  assert.equal(u.billable_mailboxes, 2);
  const li = u.line_items.data.find((x) => x.mailbox_id === mailbox.id);
  assert.ok(li, 'the closed mailbox has a line item');
  assert.equal(Date.parse(li.active_until), Date.parse(closed.closed_at));
  assert.equal(li.active_days, daysUpToToday(mailbox.activated_at));
  assert.equal(li.external_customer_id, null);
  assert.equal(li.prepay, false);
  const other = u.line_items.data.find((x) => x.mailbox_id === kept.mailbox.id);
  assert.equal(other.active_until, null);
  assert.equal(u.mailbox_days, li.active_days + other.active_days);
});

test('a mailbox closed without ever being active is not billable', async () => {
  const t = await srv.tenant();
  const c = await createCustomer(t.api);
  ok(await t.api.post(`/customers/${c.id}/deactivate`, {}));
  const u = ok(await t.api.get('/billing/usage'));
  assert.equal(u.billable_mailboxes, 0);
  assert.deepEqual(u.line_items.data, []);
});

test('?period=YYYY-MM selects that UTC month; a period before any activity is empty', async () => {
  const t = await srv.tenant();
  await activeCustomer(t.api);
  const cases = [
    ['2020-01', '2020-01-01T00:00:00Z', '2020-02-01T00:00:00Z'],
    ['2024-02', '2024-02-01T00:00:00Z', '2024-03-01T00:00:00Z'],
    ['2025-12', '2025-12-01T00:00:00Z', '2026-01-01T00:00:00Z'],
    // The first and the last periods: a start at the epoch is a time, not null.
    ['1970-01', '1970-01-01T00:00:00Z', '1970-02-01T00:00:00Z'],
    ['9999-11', '9999-11-01T00:00:00Z', '9999-12-01T00:00:00Z'],
  ];
  for (const [period, start, end] of cases) {
    const u = ok(await t.api.get(`/billing/usage${qs({ period })}`));
    assert.deepEqual(u.period, { start, end }, period);
    assert.equal(u.active_mailboxes, 0, period);
    assert.equal(u.billable_mailboxes, 0, period);
    assert.equal(u.mailbox_days, 0, period);
    assert.deepEqual(u.line_items.data, [], period);
  }
});

test('a malformed period is 400 invalid_request with param period', async () => {
  const t = await srv.tenant(['billing:read']);
  for (const period of ['2026-13', '2026-00', '2026-1', '202611', '26-11', '2026-11-01', '2026/11', 'november', '', ' 2026-11', '2026-11 ', '-001-01', '1969-12',
    '9999-12']) { // 9999-12 would end in the year 10000, which RFC 3339 cannot write
    assertError(await t.api.get(`/billing/usage?period=${encodeURIComponent(period)}`), 400, 'invalid_request', 'period');
  }
});

test('the OpenAPI document\'s period pattern takes exactly the months the server takes', async () => {
  const t = await srv.tenant(['billing:read']);
  const param = findOperation('GET', '/api/v1/billing/usage').op.parameters.find((p) => p.name === 'period');
  const pattern = new RegExp(param.schema.pattern, 'u');
  for (const period of ['1969-12', '1970-01', '2026-11', '0000-01', '1000-06', '8999-12', '9998-12', '9999-11', '9999-12', '2026-13']) {
    const r = await t.api.get(`/billing/usage?period=${period}`);
    assert.equal(r.status === 200, pattern.test(period), `${period}: the server answered ${r.status}`);
  }
});

test('line items page with limit and starting_after; the totals cover every mailbox', async () => {
  const t = await srv.tenant();
  const mailboxes = [];
  for (let i = 0; i < 5; i++) mailboxes.push((await activeCustomer(t.api)).mailbox.id);
  const full = ok(await t.api.get('/billing/usage'));
  assert.equal(full.billable_mailboxes, 5);
  assert.equal(full.line_items.data.length, 5);
  assert.equal(full.line_items.has_more, false);

  const seen = [];
  let after;
  for (let page = 0; page < 10; page++) {
    const u = ok(await t.api.get(`/billing/usage${qs({ limit: 2, starting_after: after })}`));
    assert.equal(u.billable_mailboxes, 5, 'totals are not paged');
    assert.equal(u.active_mailboxes, 5);
    assert.equal(u.mailbox_days, full.mailbox_days);
    assert.ok(u.line_items.data.length <= 2);
    seen.push(...u.line_items.data.map((li) => li.mailbox_id));
    assert.equal(u.line_items.has_more, seen.length < 5);
    if (!u.line_items.has_more) break;
    after = u.line_items.data.at(-1).mailbox_id;
  }
  assert.deepEqual([...seen].sort(), [...mailboxes].sort());
  assert.deepEqual(seen, full.line_items.data.map((li) => li.mailbox_id), 'pages follow the unpaged order');

  assertError(await t.api.get('/billing/usage?limit=0'), 400, 'invalid_request', 'limit');
  assertError(await t.api.get('/billing/usage?limit=101'), 400, 'invalid_request', 'limit');
  assertError(await t.api.get('/billing/usage?starting_after=mbx_doesnotexist0000000'), 400, 'invalid_request', 'starting_after');
  // A line item of this month is none of a month before it, by either of its ids.
  for (const id of [mailboxes[0], full.line_items.data[0].customer_id]) {
    assertError(await t.api.get(`/billing/usage${qs({ period: '2020-01', starting_after: id })}`), 400, 'invalid_request', 'starting_after');
  }
  assertError(await t.api.get('/billing/usage?period=2026-11&bogus=1'), 400, 'unknown_parameter', 'bogus');
});

test('line items page backwards with ending_before, towards earlier activations', async () => {
  const t = await srv.tenant();
  for (let i = 0; i < 5; i++) await activeCustomer(t.api);
  const full = ok(await t.api.get('/billing/usage')).line_items.data.map((li) => li.mailbox_id);
  assert.equal(full.length, 5);

  const seen = [];
  let before = full.at(-1);
  for (let page = 0; page < 10; page++) {
    const u = ok(await t.api.get(`/billing/usage${qs({ limit: 2, ending_before: before })}`));
    assert.equal(u.billable_mailboxes, 5, 'totals are not paged');
    assert.ok(u.line_items.data.length >= 1 && u.line_items.data.length <= 2);
    seen.unshift(...u.line_items.data.map((li) => li.mailbox_id));
    assert.equal(u.line_items.has_more, seen.length < 4, `has_more after ${seen.length}`);
    if (!u.line_items.has_more) break;
    before = u.line_items.data[0].mailbox_id;
  }
  assert.deepEqual(seen, full.slice(0, -1), 'pages keep the order of activation');
  // A customer_id works as the cursor too; the first line item has nothing before it.
  const first = ok(await t.api.get('/billing/usage')).line_items.data[0];
  const none = ok(await t.api.get(`/billing/usage${qs({ ending_before: first.customer_id })}`));
  assert.deepEqual(none.line_items.data, []);
  assert.equal(none.line_items.has_more, false);
  const one = ok(await t.api.get(`/billing/usage${qs({ ending_before: full[1] })}`));
  assert.deepEqual(one.line_items.data.map((li) => li.mailbox_id), [full[0]]);

  assertError(await t.api.get('/billing/usage?ending_before=mbx_doesnotexist0000000'), 400, 'invalid_request', 'ending_before');
  assertError(await t.api.get(`/billing/usage${qs({ ending_before: full[1], starting_after: full[0] })}`), 400, 'invalid_request');
});

test('a mailbox activated and closed within the same second is billable for one day', async () => {
  const t = await srv.tenant();
  // Approval and deactivation back to back; retry in the rare case they fall in two seconds.
  let mailbox;
  let customer;
  for (let i = 0; i < 5; i++) {
    customer = await createCustomer(t.api);
    ok(await srv.admin().post(`/customers/${customer.id}/compliance`, { form_1583: 'approved', identity: 'verified' }));
    ok(await t.api.post(`/customers/${customer.id}/deactivate`, {}));
    mailbox = ok(await t.api.get(`/customers/${customer.id}/mailbox`));
    if (mailbox.activated_at === mailbox.closed_at) break;
  }
  assert.equal(mailbox.status, 'closed');
  assert.equal(mailbox.activated_at, mailbox.closed_at, 'activated and closed in one second');
  const at = new Date(mailbox.activated_at);
  const period = `${at.getUTCFullYear()}-${String(at.getUTCMonth() + 1).padStart(2, '0')}`;
  const u = ok(await t.api.get(`/billing/usage${qs({ period, limit: 100 })}`));
  const li = u.line_items.data.find((x) => x.mailbox_id === mailbox.id);
  assert.ok(li, 'the mailbox has a line item');
  assert.equal(li.customer_id, customer.id);
  assert.equal(li.active_days, 1);
  assert.equal(Date.parse(li.active_from), Date.parse(mailbox.activated_at));
  assert.equal(Date.parse(li.active_until), Date.parse(mailbox.closed_at));
  assert.equal(u.active_mailboxes, 0, 'closed at once: never counted as active');
  assert.ok(u.billable_mailboxes >= 1);
  assert.equal(u.mailbox_days, u.line_items.data.reduce((sum, x) => sum + x.active_days, 0));
});
