// Covers authentication and authorization: 401 for missing, malformed, unknown and revoked keys
// (revocation effective on the very next request), the operator token kept apart from partner keys,
// 403 insufficient_scope naming the missing scope, the scope matrix of every customer and billing
// route (refused with every scope but its own, allowed with only its own), and key management in
// the operator API (secret shown once and stored only as a hash, list without secrets, revoke twice).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  startServer, createCustomer, customerBody, assertError, ok, ALL_SCOPES, TIME, assertRecentTime, sleep, uniq,
} from './lib.mjs';

let srv;
let t;

before(async () => {
  srv = await startServer();
  t = await srv.tenant();
});
after(() => srv?.stop());

/** Changes one character of the random part of a secret, keeping its shape. */
function mutate(secret) {
  const i = secret.length - 3;
  const c = secret[i] === 'a' ? 'b' : 'a';
  return secret.slice(0, i) + c + secret.slice(i + 1);
}

test('a request without Authorization is 401 unauthenticated, without rate limit headers', async () => {
  const r = await srv.api().get('/customers');
  assertError(r, 401, 'unauthenticated');
  for (const h of ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset']) {
    assert.equal(r.headers.get(h), null, `${h} must not be sent on an unauthenticated request`);
  }
});

test('malformed Authorization headers are 401 unauthenticated', async () => {
  const s = t.key.secret;
  const values = [
    '', 'Bearer', 'Bearer ', s, `Basic ${Buffer.from(`${s}:`).toString('base64')}`, `Token ${s}`,
    'Bearer ib_live_', `Bearer ${s.replace(/^ib_live_/, 'ib_test_')}`, `Bearer ${s.replace(/^ib_live_/, '')}`,
    `Bearer ${s}x`, `Bearer ${s.slice(0, -1)}`, `Bearer ${s} ${s}`,
  ];
  for (const v of values) {
    const r = await srv.api().get('/customers', { headers: { authorization: v } });
    assertError(r, 401, 'unauthenticated');
  }
});

test('an unknown key of the right shape is 401 unauthenticated', async () => {
  assertError(await srv.api(mutate(t.key.secret)).get('/customers'), 401, 'unauthenticated');
  assertError(await srv.api(`ib_live_${'7'.repeat(t.key.secret.length - 8)}`).get('/customers'), 401, 'unauthenticated');
  // A mutated key must not have touched anything.
  ok(await t.api.get('/customers'));
});

test('the operator token is no partner key, and a partner key is no operator token', async () => {
  assertError(await srv.api(srv.adminToken).get('/customers'), 401, 'unauthenticated');
  assertError(await srv.admin(t.key.secret).get('/partners'), 401, 'unauthenticated');
});

test('the operator API refuses a missing or wrong operator token with 401', async () => {
  assertError(await srv.admin(null).get('/partners'), 401, 'unauthenticated');
  assertError(await srv.admin(`${srv.adminToken}x`).get('/partners'), 401, 'unauthenticated');
  assertError(await srv.admin(srv.adminToken.slice(0, -1)).post('/partners', { name: 'x', location: {} }), 401, 'unauthenticated');
  assertError(await srv.admin(null).get(`/partners/${t.partner.id}/keys`), 401, 'unauthenticated');
});

test('creating a key shows the full secret once; listing keys never shows it', async () => {
  const created = ok(await srv.admin().post(`/partners/${t.partner.id}/keys`, { name: 'crm sync', scopes: ['customers:read', 'billing:read'] }), 201);
  assert.match(created.id, /^key_/);
  assert.equal(created.object, 'api_key');
  assert.equal(created.name, 'crm sync');
  assert.deepEqual([...created.scopes].sort(), ['billing:read', 'customers:read']);
  assert.match(created.secret, /^ib_live_.{16,}$/);
  assert.equal(typeof created.prefix, 'string');
  assert.ok(created.prefix.length > 0 && created.secret.startsWith(created.prefix), `prefix ${created.prefix} must start the secret`);
  assert.ok(created.prefix.length < created.secret.length, 'prefix must not be the whole secret');
  assertRecentTime(created.created_at);
  assert.equal(created.last_used_at, null);
  assert.equal(created.revoked_at, null);

  const list = await srv.admin().get(`/partners/${t.partner.id}/keys`);
  ok(list);
  assert.equal(list.body.object, 'list');
  const found = list.body.data.find((k) => k.id === created.id);
  assert.ok(found, 'the new key is listed');
  assert.ok(!('secret' in found), 'a listed key has no secret field');
  assert.equal(found.prefix, created.prefix);
  assert.deepEqual([...found.scopes].sort(), ['billing:read', 'customers:read']);
  assert.ok(!list.text.includes(created.secret), 'the secret never appears in the list');
  assert.ok(!(await srv.admin().get(`/partners/${t.partner.id}`)).text.includes(created.secret));
});

test('only a hash of the key is stored in the database', async () => {
  const key = await srv.createKey(t.partner.id, ['customers:read']);
  ok(await srv.api(key.secret).get('/customers'));
  const secretPart = key.secret.slice('ib_live_'.length);
  for (const f of await readdir(srv.dir)) {
    const bytes = await readFile(path.join(srv.dir, f));
    assert.ok(!bytes.includes(secretPart), `the key's secret appears in plain text in ${f}`);
  }
});

test('last_used_at is set once the key has been used', async () => {
  const key = await srv.createKey(t.partner.id, ['customers:read']);
  ok(await srv.api(key.secret).get('/customers'));
  let found;
  for (let i = 0; i < 50; i++) {
    const list = ok(await srv.admin().get(`/partners/${t.partner.id}/keys?limit=100`));
    found = list.data.find((k) => k.id === key.id);
    if (found?.last_used_at) break;
    await sleep(20);
  }
  assert.match(found?.last_used_at ?? '', TIME);
});

test('a revoked key is refused on the very next request; other keys keep working', async () => {
  const key = await srv.createKey(t.partner.id, ALL_SCOPES);
  const other = await srv.createKey(t.partner.id, ALL_SCOPES);
  const api = srv.api(key.secret);
  ok(await api.get('/customers'));
  const revoked = ok(await srv.admin().post(`/keys/${key.id}/revoke`));
  assert.equal(revoked.id, key.id);
  assert.equal(revoked.object, 'api_key');
  assert.ok(!('secret' in revoked), 'revoking does not show the secret again');
  assertRecentTime(revoked.revoked_at);
  assertError(await api.get('/customers'), 401, 'unauthenticated');
  assertError(await api.post('/customers', customerBody()), 401, 'unauthenticated');
  ok(await srv.api(other.secret).get('/customers'));
  const listed = ok(await srv.admin().get(`/partners/${t.partner.id}/keys?limit=100`)).data.find((k) => k.id === key.id);
  assert.equal(listed.revoked_at, revoked.revoked_at);
});

test('revoking a key twice answers 200 with the key unchanged', async () => {
  const key = await srv.createKey(t.partner.id, ['customers:read']);
  const first = ok(await srv.admin().post(`/keys/${key.id}/revoke`));
  await sleep(1100); // a second revocation must not move revoked_at, even a second later
  const second = ok(await srv.admin().post(`/keys/${key.id}/revoke`));
  assert.deepEqual(second, first);
});

test('revoking an unknown key is 404 not_found', async () => {
  assertError(await srv.admin().post('/keys/key_doesnotexist0000000000/revoke'), 404, 'not_found');
});

test('creating a key checks the partner and the scopes', async () => {
  assertError(await srv.admin().post('/partners/ptn_doesnotexist0000000/keys', { name: 'k', scopes: ['customers:read'] }), 404, 'not_found');
  assertError(await srv.admin().post(`/partners/${t.partner.id}/keys`, { name: 'k', scopes: ['customers:admin'] }), 422, 'validation_failed', 'scopes');
  assertError(await srv.admin().post(`/partners/${t.partner.id}/keys`, { name: 'k', scopes: 'customers:read' }), 422, 'validation_failed', 'scopes');
  assertError(await srv.admin().post(`/partners/${t.partner.id}/keys`, { name: 'k', scopes: ['customers:read'], secret: 'ib_live_mine' }), 400, 'unknown_parameter', 'secret');
});

test('403 insufficient_scope names the missing scope', async () => {
  const reader = srv.api((await srv.createKey(t.partner.id, ['customers:read'])).secret);
  const e = assertError(await reader.post('/customers', customerBody()), 403, 'insufficient_scope');
  assert.match(e.message, /customers:write/);
  const writer = srv.api((await srv.createKey(t.partner.id, ['customers:write'])).secret);
  assert.match(assertError(await writer.get('/customers'), 403, 'insufficient_scope').message, /customers:read/);
  assert.match(assertError(await writer.get('/billing/usage'), 403, 'insufficient_scope').message, /billing:read/);
});

// The scope matrix: each route with the scope it needs. `call` gets a client and a fresh customer.
const ROUTES = [
  { name: 'GET /customers', scope: 'customers:read', status: 200, call: (a) => a.get('/customers') },
  { name: 'GET /customers/{id}', scope: 'customers:read', status: 200, call: (a, c) => a.get(`/customers/${c.id}`) },
  { name: 'GET /customers/{id}/compliance', scope: 'customers:read', status: 200, call: (a, c) => a.get(`/customers/${c.id}/compliance`) },
  { name: 'GET /customers/{id}/mailbox', scope: 'customers:read', status: 200, call: (a, c) => a.get(`/customers/${c.id}/mailbox`) },
  { name: 'POST /customers', scope: 'customers:write', status: 201, call: (a) => a.post('/customers', customerBody()) },
  { name: 'PATCH /customers/{id}', scope: 'customers:write', status: 200, call: (a, c) => a.patch(`/customers/${c.id}`, { name: uniq('Renamed ') }) },
  { name: 'POST /customers/{id}/deactivate', scope: 'customers:write', status: 200, call: (a, c) => a.post(`/customers/${c.id}/deactivate`, {}) },
  { name: 'GET /billing/usage', scope: 'billing:read', status: 200, call: (a) => a.get('/billing/usage') },
];

for (const route of ROUTES) {
  test(`${route.name} is refused with every scope except ${route.scope}, and allowed with only ${route.scope}`, async () => {
    const allBut = srv.api((await srv.createKey(t.partner.id, ALL_SCOPES.filter((s) => s !== route.scope))).secret);
    const only = srv.api((await srv.createKey(t.partner.id, [route.scope])).secret);

    const c1 = await createCustomer(t.api);
    const refused = await route.call(allBut, c1);
    const e = assertError(refused, 403, 'insufficient_scope');
    assert.ok(e.message.includes(route.scope), `message must name ${route.scope}: ${e.message}`);
    // The refused request changed nothing.
    assert.deepEqual(ok(await t.api.get(`/customers/${c1.id}`)), c1);

    const c2 = await createCustomer(t.api);
    const allowed = await route.call(only, c2);
    ok(allowed, route.status);
  });
}
