// Covers Idempotency-Key (docs/api.md#idempotency): a replay is the first response byte for byte with the same
// status and `Idempotent-Replayed: true`, executes nothing again and emits no second event; the
// fingerprint is method + path + canonical JSON body (whitespace and key order do not matter);
// another body, path or method is 422 idempotency_key_reused; 4xx outcomes are stored and
// replayed too; keys are per partner (shared by the partner's API keys, independent between
// partners); 20 concurrent requests with one key produce one customer; a duplicate sent while the
// first request still runs is 409 idempotency_key_in_use at once; malformed keys are 400.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  startServer, createCustomer, customerBody, assertError, ok, qs, uniq, sleep, ON_PG, holdWrites,
} from './lib.mjs';

let srv;
let t;

before(async () => {
  srv = await startServer();
  t = await srv.tenant();
});
after(() => srv?.stop());

const replayed = (r) => r.headers.get('idempotent-replayed');

/** The customers of `api` with this email. */
async function byEmail(api, email) {
  return ok(await api.get(`/customers${qs({ email })}`)).data;
}

test('a repeated create with the same key replays the first response byte for byte', async () => {
  const key = uniq('idem-');
  const body = customerBody({ external_customer_id: uniq('crm_') });
  const { value: [first, second, third], types } = await srv.captureEvents(t.partner.id, async () => [
    await t.api.post('/customers', body, { idem: key }),
    await t.api.post('/customers', body, { idem: key }),
    await t.api.post('/customers', body, { idem: key }),
  ]);
  ok(first, 201);
  assert.notEqual(replayed(first), 'true', 'the first response is not a replay');
  for (const r of [second, third]) {
    assert.equal(r.status, 201);
    assert.equal(replayed(r), 'true');
    assert.ok(r.bytes.equals(first.bytes), `replay differs:\n${first.text}\n${r.text}`);
  }
  assert.deepEqual((await byEmail(t.api, body.email)).map((c) => c.id), [first.body.id]);
  assert.deepEqual(types, ['customer.created']);
});

test('the same JSON with other whitespace or key order is the same request', async () => {
  const key = uniq('idem-');
  const body = customerBody({ metadata: { a: '1', b: '2' } });
  const first = ok(await t.api.post('/customers', body, { idem: key }), 201);
  const spaced = await t.api.request('POST', '/customers', { raw: `\n{ ${JSON.stringify(body, null, 4).slice(1)}  \n`, idem: key });
  assert.equal(spaced.status, 201, spaced.text);
  assert.equal(replayed(spaced), 'true');
  assert.equal(spaced.body.id, first.id);
  const reordered = { metadata: { b: '2', a: '1' }, name: body.name, email: body.email };
  const r = await t.api.post('/customers', reordered, { idem: key });
  assert.equal(r.status, 201, r.text);
  assert.equal(replayed(r), 'true');
  assert.equal(r.body.id, first.id);
});

test('the same key with another body is 422 idempotency_key_reused and creates nothing', async () => {
  const key = uniq('idem-');
  const body = customerBody();
  ok(await t.api.post('/customers', body, { idem: key }), 201);
  const other = customerBody();
  const reused = assertError(await t.api.post('/customers', other, { idem: key }), 422, 'idempotency_key_reused');
  // The message teaches: when the key was first used and with what answer (never the body).
  const created = Date.parse(ok(await t.api.get(`/customers${qs({ email: body.email })}`)).data[0].created_at);
  const m = /first used at (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\b.*answered 201\b/.exec(reused.message);
  assert.ok(m, `the message says when and with what status the key was first used: ${reused.message}`);
  assert.ok(Math.abs(Date.parse(m[1]) - created) <= 2000, `${m[1]} is when the customer was created`);
  assert.doesNotMatch(reused.message, new RegExp(body.email.replace(/[.]/g, '\\.')), 'the message never echoes the first body');
  const refused = assertError(await t.api.post('/customers', { email: 'x' }, { idem: 'idem-refused-' + key }), 422, 'validation_failed');
  assert.ok(refused);
  const again = assertError(await t.api.post('/customers', other, { idem: 'idem-refused-' + key }), 422, 'idempotency_key_reused');
  assert.match(again.message, /answered 422/, 'a stored refusal is named as such');
  assertError(await t.api.post('/customers', { ...body, prepay: true }, { idem: key }), 422, 'idempotency_key_reused');
  assertError(await t.api.post('/customers', { ...body, prepay: false }, { idem: key }), 422, 'idempotency_key_reused');
  assert.deepEqual(await byEmail(t.api, other.email), []);
});

test('the same key on another path or method is 422 idempotency_key_reused', async () => {
  const key = uniq('idem-');
  const c = ok(await t.api.post('/customers', customerBody(), { idem: key }), 201);
  assertError(await t.api.post(`/customers/${c.id}/deactivate`, {}, { idem: key }), 422, 'idempotency_key_reused');
  assertError(await t.api.patch(`/customers/${c.id}`, { name: 'X' }, { idem: key }), 422, 'idempotency_key_reused');
  const d = await createCustomer(t.api);
  const key2 = uniq('idem-');
  ok(await t.api.post(`/customers/${c.id}/deactivate`, {}, { idem: key2 }));
  assertError(await t.api.post(`/customers/${d.id}/deactivate`, {}, { idem: key2 }), 422, 'idempotency_key_reused');
  const got = ok(await t.api.get(`/customers/${c.id}`));
  assert.equal(got.name, c.name);
  assert.equal(ok(await t.api.get(`/customers/${d.id}`)).status, 'invited');
});

test('a 4xx outcome is stored and replayed too', async () => {
  const key = uniq('idem-');
  const bad = customerBody({ email: 'not-an-address' });
  const first = await t.api.post('/customers', bad, { idem: key });
  assertError(first, 422, 'validation_failed', 'email');
  const again = await t.api.post('/customers', bad, { idem: key });
  assert.equal(again.status, 422);
  assert.equal(replayed(again), 'true');
  assert.ok(again.bytes.equals(first.bytes), `replay differs:\n${first.text}\n${again.text}`);
  // The key is used up by the failed attempt: a corrected body is another request.
  const fixed = { ...bad, email: `${uniq('fixed')}@example.com` };
  assertError(await t.api.post('/customers', fixed, { idem: key }), 422, 'idempotency_key_reused');
  assert.deepEqual(await byEmail(t.api, fixed.email), []);

  const key404 = uniq('idem-');
  const nf = await t.api.patch('/customers/cus_doesnotexist00000000', { name: 'X' }, { idem: key404 });
  assertError(nf, 404, 'not_found');
  const nf2 = await t.api.patch('/customers/cus_doesnotexist00000000', { name: 'X' }, { idem: key404 });
  assert.equal(nf2.status, 404);
  assert.equal(replayed(nf2), 'true');
  assert.ok(nf2.bytes.equals(nf.bytes));
});

test('a replayed PATCH executes nothing again and emits nothing', async () => {
  const c = await createCustomer(t.api);
  const key = uniq('idem-');
  const first = ok(await t.api.patch(`/customers/${c.id}`, { name: 'First Name' }, { idem: key }));
  ok(await t.api.patch(`/customers/${c.id}`, { name: 'Second Name' }));
  const { value: r, types } = await srv.captureEvents(t.partner.id, () => t.api.patch(`/customers/${c.id}`, { name: 'First Name' }, { idem: key }));
  assert.equal(r.status, 200);
  assert.equal(replayed(r), 'true');
  assert.deepEqual(r.body, first);
  assert.equal(ok(await t.api.get(`/customers/${c.id}`)).name, 'Second Name', 'the replay did not run the PATCH again');
  assert.deepEqual(types, []);
});

test('a replayed deactivation emits no second event', async () => {
  const c = await createCustomer(t.api);
  const key = uniq('idem-');
  const { value: [a, b], types } = await srv.captureEvents(t.partner.id, async () => [
    await t.api.post(`/customers/${c.id}/deactivate`, { reason: 'r' }, { idem: key }),
    await t.api.post(`/customers/${c.id}/deactivate`, { reason: 'r' }, { idem: key }),
  ]);
  ok(a);
  assert.equal(b.status, 200);
  assert.equal(replayed(b), 'true');
  assert.ok(b.bytes.equals(a.bytes));
  assert.deepEqual([...types].sort(), ['customer.deactivated', 'mailbox.closed']);
});

test('keys belong to the partner: shared by its API keys, independent from other partners', async () => {
  const key = uniq('idem-');
  const body = customerBody();
  const first = ok(await t.api.post('/customers', body, { idem: key }), 201);

  // Another API key of the same partner sees the same stored response.
  const sibling = srv.api((await srv.createKey(t.partner.id, ['customers:write', 'customers:read'])).secret);
  const r = await sibling.post('/customers', body, { idem: key });
  assert.equal(r.status, 201);
  assert.equal(replayed(r), 'true');
  assert.equal(r.body.id, first.id);

  // Another partner using the same key string runs its own request, same body or not.
  const other = await srv.tenant();
  const same = await other.api.post('/customers', body, { idem: key });
  ok(same, 201);
  assert.notEqual(replayed(same), 'true');
  assert.notEqual(same.body.id, first.id);
  const different = await (await srv.tenant()).api.post('/customers', customerBody(), { idem: key });
  ok(different, 201);
  assert.notEqual(replayed(different), 'true');
  assert.deepEqual((await byEmail(t.api, body.email)).map((c) => c.id), [first.id]);
});

test('20 concurrent requests with one key create exactly one customer', async () => {
  const key = uniq('idem-');
  const body = customerBody();
  const { value: results, types } = await srv.captureEvents(t.partner.id, () => Promise.all(
    Array.from({ length: 20 }, () => t.api.post('/customers', body, { idem: key })),
  ));
  const created = results.filter((r) => r.status === 201);
  for (const r of results) {
    if (r.status !== 201) assertError(r, 409, 'idempotency_key_in_use');
  }
  assert.ok(created.length >= 1, 'at least one request succeeded');
  const ids = new Set(created.map((r) => r.body.id));
  assert.equal(ids.size, 1, `all 201 answers name one customer: ${[...ids]}`);
  assert.equal(created.filter((r) => replayed(r) !== 'true').length, 1, 'exactly one request really ran');
  for (const r of created) assert.ok(r.bytes.equals(created[0].bytes));
  assert.deepEqual((await byEmail(t.api, body.email)).map((c) => c.id), [...ids]);
  assert.deepEqual(types, ['customer.created']);
  const later = await t.api.post('/customers', body, { idem: key });
  assert.equal(later.status, 201);
  assert.equal(replayed(later), 'true');
  assert.equal(later.body.id, [...ids][0]);
});

// The first request runs as long as another session keeps its write waiting: a duplicate
// meanwhile was held back on SQLite (one writer) until the first committed, then replayed.
test('a duplicate sent while the first request still runs is 409 idempotency_key_in_use at once; afterwards, the replay',
  async () => {
    const key = uniq('idem-');
    const body = customerBody();
    const api = srv.only(0).api(t.key.secret);
    const held = await holdWrites(srv, t.partner.id);
    let first;
    try {
      first = api.post('/customers', body, { idem: key });
      let settled = false;
      first.then(() => { settled = true; });
      await sleep(300);
      const started = Date.now();
      const duplicate = await api.post('/customers', body, { idem: key });
      assertError(duplicate, 409, 'idempotency_key_in_use');
      assert.equal(duplicate.headers.get('retry-after'), '1', 'it says when to try again');
      assert.ok(Date.now() - started < 1000, `the 409 took ${Date.now() - started} ms`);
      assert.equal(settled, false, 'the first request was still running');
      // Another key runs beside it (it waits for the lock too, and is not refused).
      const other = api.post('/customers', customerBody(), { idem: uniq('idem-') });
      await sleep(100);
      await held.end();
      ok(await other, 201);
    } finally {
      await held.end();
    }
    const created = await first;
    ok(created, 201);
    assert.notEqual(replayed(created), 'true');
    const again = await api.post('/customers', body, { idem: key });
    ok(again, 201);
    assert.equal(replayed(again), 'true');
    assert.ok(again.bytes.equals(created.bytes));
    assert.deepEqual((await byEmail(t.api, body.email)).map((c) => c.id), [created.body.id]);
  });

test('malformed idempotency keys are 400 invalid_idempotency_key and run nothing', async () => {
  const bad = ['', 'k'.repeat(256), 'clé', 'tab\there', 'k'.repeat(1000)];
  for (const key of bad) {
    const body = customerBody();
    const r = await t.api.post('/customers', body, { idem: key });
    assertError(r, 400, 'invalid_idempotency_key');
    assert.deepEqual(await byEmail(t.api, body.email), [], `nothing created for key ${JSON.stringify(key)}`);
  }
  const c = await createCustomer(t.api);
  assertError(await t.api.patch(`/customers/${c.id}`, { name: 'X' }, { idem: '' }), 400, 'invalid_idempotency_key');
  assertError(await t.api.post(`/customers/${c.id}/deactivate`, {}, { idem: 'k'.repeat(300) }), 400, 'invalid_idempotency_key');
  assert.equal(ok(await t.api.get(`/customers/${c.id}`)).status, 'invited');
});

test('a key of 255 printable ASCII characters is accepted', async () => {
  const printable = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('').trim();
  const key = (printable + uniq('k')).padEnd(255, '~').slice(0, 255);
  assert.equal(key.length, 255);
  const body = customerBody();
  const first = ok(await t.api.post('/customers', body, { idem: key }), 201);
  const again = await t.api.post('/customers', body, { idem: key });
  assert.equal(replayed(again), 'true');
  assert.equal(again.body.id, first.id);
});

// The database keeps neither an Idempotency-Key nor its answer in the clear (docs/decisions.md,
// "Idempotency"): a copy of it must not give away the secret of an API key or a webhook endpoint
// created with a key in the last 24 hours, while the replay still returns that secret.
test('the stored answer of a create that returns a secret holds neither the secret nor the key', async () => {
  const admin = srv.admin();
  const key = uniq('secret-key-');
  const keyBody = { name: 'crm sync', scopes: ['customers:read'] };
  const first = ok(await admin.post(`/partners/${t.partner.id}/keys`, keyBody, { idem: key }), 201);
  const again = await admin.post(`/partners/${t.partner.id}/keys`, keyBody, { idem: key });
  assert.equal(replayed(again), 'true');
  assert.equal(ok(again, 201).secret, first.secret, 'the replay returns the secret');

  const hookKey = uniq('secret-hook-');
  const hookBody = { url: 'https://crm.example.com/hooks', enabled_events: ['customer.created'] };
  const hook = ok(await admin.post(`/partners/${t.partner.id}/webhook-endpoints`, hookBody, { idem: hookKey }), 201);
  assert.ok(hook.secret?.startsWith('whsec_'), JSON.stringify(hook));
  const hookAgain = await admin.post(`/partners/${t.partner.id}/webhook-endpoints`, hookBody, { idem: hookKey });
  assert.equal(ok(hookAgain, 201).secret, hook.secret);

  // Every stored record, as a copy of the database would show it (the body as hex).
  const hex = (s) => Buffer.from(s).toString('hex');
  const rows = srv.sqlRows(ON_PG
    ? "SELECT key, encode(body, 'hex') AS body FROM idempotency"
    : 'SELECT key, hex(body) AS body FROM idempotency');
  assert.ok(rows.length >= 2, `${rows.length} stored records`);
  for (const row of rows) {
    const body = row.body.toLowerCase();
    for (const secret of [first.secret, hook.secret]) assert.ok(!body.includes(hex(secret)), 'a secret is stored in the clear');
    for (const k of [key, hookKey]) {
      assert.notEqual(row.key, k, 'an Idempotency-Key is stored in the clear');
      assert.ok(!body.includes(hex(k)), 'an Idempotency-Key is in a stored answer');
    }
  }
});

// A sealed answer that was changed in the database is never replayed as it stands: the replay
// answers 500 internal_error in the envelope and runs nothing. The record is found by the key's
// digest, which is all the database knows of the key.
test('a sealed answer changed in the database answers 500 on replay and runs nothing', async () => {
  const admin = srv.admin();
  const key = uniq('damaged-');
  const body = { name: 'damaged', scopes: ['customers:read'] };
  ok(await admin.post(`/partners/${t.partner.id}/keys`, body, { idem: key }), 201);
  const keysBefore = ok(await admin.get(`/partners/${t.partner.id}/keys?limit=100`)).data.length;
  const digest = createHash('sha256').update(`innbocks-idempotency-key-v1:${key}`).digest('hex');
  srv.sql(ON_PG
    ? `UPDATE idempotency SET body = substring(body from 1 for 40) WHERE key = '${digest}'`
    : `UPDATE idempotency SET body = substr(body, 1, 40) WHERE key = '${digest}'`);
  assert.equal(srv.sql(`SELECT count(*) FROM idempotency WHERE key = '${digest}'`), '1');
  assertError(await admin.post(`/partners/${t.partner.id}/keys`, body, { idem: key }), 500, 'internal_error');
  assert.equal(ok(await admin.get(`/partners/${t.partner.id}/keys?limit=100`)).data.length, keysBefore);
});

// A record the purge has not reached yet (it runs every 10 minutes, and stops at the first record
// of the last 24 hours, which a clock stepped back may have stamped in the future) replayed days
// after its request.
test('a stored answer past its 24 hours is no answer, even before the purge removes it: the key runs anew', async () => {
  const owner = await srv.tenant();
  const key = uniq('aged');
  const body = customerBody();
  const first = ok(await owner.api.post('/customers', body, { idem: key }), 201);
  srv.sql(`UPDATE idempotency SET created_at = created_at - ${25 * 3600} WHERE scope = '${owner.partner.id}'`);
  const again = await owner.api.post('/customers', body, { idem: key });
  assert.equal(again.status, 201, again.text);
  assert.equal(again.headers.get('idempotent-replayed'), null, 'a new request, not a replay');
  assert.notEqual(again.body.id, first.id);
  const third = await owner.api.post('/customers', body, { idem: key });
  assert.equal(third.headers.get('idempotent-replayed'), 'true', 'its own answer replays from then on');
  assert.equal(third.body.id, again.body.id);
});
