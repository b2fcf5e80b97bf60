// Covers the rules every text field and body shares (docs/api.md#errors, #conventions): a field
// that may not be empty may not be blank either (white space or invisible characters alone);
// URLs a client could not fetch (a port of letters, past 65535 or 0, a broken IPv6 literal, a C1
// control) are refused and lengths count characters, not bytes; an address with an international
// domain is an address; a body of valid JSON that is not an object is told so. Each refusal
// changes nothing and emits nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createCustomer, customerBody, assertError, ok, rawHttp } from './lib.mjs';
import { mailBody, eligibleCustomer, createMail, MIN_ADDRESS } from './mail_lib.mjs';

let srv, t;

before(async () => {
  srv = await startServer();
  t = await srv.tenant();
});
after(() => srv?.stop());

/** Asserts that each request of fn is refused as expected and that together they emitted nothing. */
async function refusedQuietly(fn) {
  const { value, types } = await srv.captureEvents(t.partner.id, fn);
  assert.deepEqual(types, [], 'a refused request emits nothing');
  return value;
}

test('a field that may not be empty may not be blank: white space or invisible characters alone', async () => {
  const c = await createCustomer(t.api);
  const mail = await createMail(t.api, (await eligibleCustomer(srv, t.api)).id);
  const before = ok(await t.api.get(`/customers/${c.id}`));
  await refusedQuietly(async () => {
    for (const name of ['   ', '\u200b', '\u00a0\u3000']) {
      const r = await t.api.post('/customers', customerBody({ name }));
      assertError(r, 422, 'validation_failed', 'name');
      assert.equal(r.body.error.message, 'name must not be blank');
    }
    assertError(await t.api.patch(`/customers/${c.id}`, { name: '  ' }), 422, 'validation_failed', 'name');
    assertError(await t.api.post('/mail', mailBody(c.id, { performed_by: ' \u200b ' })), 422, 'validation_failed', 'performed_by');
    assertError(await t.api.post('/mail', mailBody(c.id, { notes: '\n\n' })), 422, 'validation_failed', 'notes');
    const blankAddress = { ...MIN_ADDRESS, line1: '   ' };
    assertError(await t.api.post(`/mail/${mail.id}/forward`, { forward_address: blankAddress }), 422, 'validation_failed', 'forward_address.line1');
    assertError(await srv.admin().post(`/mail-actions/${'act_none'}/fail`, { reason: ' ' }), 422, 'validation_failed', 'reason');
    assertError(await srv.admin().post('/partners', { name: ' ', location: { line1: '1 Main St', city: 'Austin', state: 'TX', postal_code: '78701', country: 'US' } }), 422, 'validation_failed', 'name');
  });
  assert.deepEqual(ok(await t.api.get(`/customers/${c.id}`)), before, 'nothing changed');
  assert.deepEqual(ok(await t.api.get(`/mail/${mail.id}`)).actions, [], 'no action was requested');
  // Spaces around a name are kept as sent; only a name of nothing is refused.
  const spaced = await createCustomer(t.api, { name: '  Jane  ' });
  assert.equal(spaced.name, '  Jane  ');
});

test('an update that sends back a stored value the rules now refuse keeps it: a blank name an older version stored', async () => {
  const c = await createCustomer(t.api);
  srv.sql(`UPDATE customers SET name = '   ' WHERE id = '${c.id}'`);
  const read = ok(await t.api.get(`/customers/${c.id}`));
  assert.equal(read.name, '   ');
  // A CRM that syncs the whole record sends the name back beside its change.
  const synced = ok(await t.api.patch(`/customers/${c.id}`, { name: read.name, email: read.email, phone: '+15555550100' }));
  assert.equal(synced.phone, '+15555550100');
  assert.equal(synced.name, '   ');
  // A blank name sent anew is still refused.
  assertError(await t.api.patch(`/customers/${c.id}`, { name: '    ' }), 422, 'validation_failed', 'name');
});

test('photos and a scan\'s document_url are URLs a client can fetch, counted in characters', async () => {
  const c = await eligibleCustomer(srv, t.api);
  await refusedQuietly(async () => {
    for (const url of ['https://example.com:abc/a', 'https://example.com:99999/a', 'https://example.com:0/a', 'https://[zz/a',
      'https://example.com/a\u0085b', 'https://example.com/a\u00a0b', 'https://exa\u200bmple.com/a']) {
      const r = await t.api.post('/mail', mailBody(c.id, { photos: [url] }));
      assertError(r, 422, 'validation_failed', 'photos');
    }
  });
  const long = `https://example.com/${'é'.repeat(2028)}`; // 2048 characters, 4076 bytes
  assert.deepEqual((await createMail(t.api, c.id, { photos: [long] })).photos, [long]);
  assertError(await t.api.post('/mail', mailBody(c.id, { photos: [`${long}x`] })), 422, 'validation_failed', 'photos');
  const mail = await createMail(t.api, c.id);
  const scan = ok(await t.api.post(`/mail/${mail.id}/scan`, {}), 201);
  assertError(await srv.admin().post(`/mail-actions/${scan.id}/complete`, { document_url: 'https://example.com:abc/x' }), 422, 'validation_failed', 'document_url');
  ok(await srv.admin().post(`/mail-actions/${scan.id}/complete`, { document_url: 'https://example.com:8443/x' }));
});

test('a webhook endpoint\'s port 0 is refused: nothing can be delivered there', async () => {
  const r = await srv.admin().post(`/partners/${t.partner.id}/webhook-endpoints`, { url: 'https://example.com:0/hook' });
  assertError(r, 422, 'validation_failed', 'url');
  assert.equal(r.body.error.message, 'url port must be from 1 to 65535');
  assert.deepEqual(ok(await srv.admin().get(`/partners/${t.partner.id}/webhook-endpoints`)).data, []);
});

test('an email address is counted in characters, and its domain may be international', async () => {
  const local = 'é'.repeat(32);
  const domain = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(25)}.com`;
  const email254 = `${local}@${domain}`; // 254 characters, 286 bytes
  for (const email of [email254, 'user@пример.рф', 'user@xn--e1afmkfd.xn--p1ai', `${'é'.repeat(64)}@example.com`]) {
    const c = await createCustomer(t.api, { email });
    assert.equal(c.email, email);
  }
  await refusedQuietly(async () => {
    for (const email of [`${local}@d${domain}`, `${'é'.repeat(65)}@example.com`, 'user@example.xn--zz', 'user@xn--a.com',
      'user@exa\u200bmple.com', '\u202e@example.com']) {
      assertError(await t.api.post('/customers', customerBody({ email })), 422, 'validation_failed', 'email');
    }
  });
});

test('a body of valid JSON that is not an object is told so, not called a syntax error', async () => {
  for (const body of ['null', '5', '"x"', 'true', '[]']) {
    const r = await rawHttp(srv, 'POST', '/api/v1/customers', {
      headers: { authorization: `Bearer ${t.key.secret}`, 'content-type': 'application/json' },
      body: Buffer.from(body),
    });
    assertError(r, 400, 'invalid_json');
    assert.equal(r.body.error.message, 'the body must be a JSON object', body);
  }
});

test('a value outside its set is told what the set is, whatever its length', async () => {
  const c = await eligibleCustomer(srv, t.api);
  for (const carrier of ['royalmail', 'x'.repeat(100)]) {
    const e = assertError(await t.api.post('/mail', mailBody(c.id, { carrier })), 422, 'validation_failed', 'carrier');
    assert.match(e.message, /is not a valid carrier: use usps, ups, fedex, dhl or other$/);
  }
  const q = assertError(await t.api.get('/customers?status=gone'), 400, 'invalid_request', 'status');
  assert.equal(q.message, 'gone is not a valid status: use invited, active or deactivated');
});

test('a refusal says what to do instead: the key\'s form, an operator token on the Partner API, the query\'s limit, a missing address', async () => {
  const operator = assertError(await srv.api(srv.adminToken).get('/customers'), 401, 'unauthenticated');
  assert.match(operator.message, /^that is an operator token, which \/admin\/v1 takes; the Partner API takes an API key/);
  const malformed = assertError(await srv.api('ib_live_short').get('/customers'), 401, 'unauthenticated');
  assert.equal(malformed.message, 'the API key is malformed: a key is ib_live_ or ib_test_ followed by 32 letters and digits');
  const many = Array.from({ length: 33 }, (_, i) => `p${i}=1`).join('&');
  assert.equal(assertError(await t.api.get(`/customers?${many}`), 400, 'invalid_request').message, 'too many query parameters: at most 32');
  const partner = assertError(await srv.admin().post('/partners', { name: 'No Address' }), 422, 'validation_failed', 'location');
  assert.equal(partner.message, 'location is required');
  const c = await createCustomer(t.api, { prepay: false });
  const billing = assertError(await t.api.post('/mail', mailBody(c.id)), 422, 'customer_not_eligible', 'customer_id');
  assert.match(billing.message, /set its prepay to true/);
});

test('a metadata refusal names the key at fault', async () => {
  const number = assertError(await t.api.post('/customers', customerBody({ metadata: { plan: 'gold', seats: 5 } })), 422, 'validation_failed', 'metadata');
  assert.equal(number.message, 'metadata values must be strings (or null to remove a key); the value of "seats" is not');
  const key = 'k'.repeat(41);
  const long = assertError(await t.api.post('/customers', customerBody({ metadata: { [key]: 'x' } })), 422, 'validation_failed', 'metadata');
  assert.equal(long.message, `metadata keys must be 1 to 40 characters; "${key}" is not`);
});

test('a webhook endpoint\'s PATCH that sends back its stored URL keeps it, even one today\'s rules refuse', async () => {
  const ep = ok(await srv.admin().post(`/partners/${t.partner.id}/webhook-endpoints`, { url: 'https://example.com/hook' }), 201);
  const old = 'https://example.com:0/hook'; // as an older version could have stored it
  srv.sql(`UPDATE webhook_endpoints SET url = '${old}' WHERE id = '${ep.id}'`);
  const kept = ok(await srv.admin().patch(`/webhook-endpoints/${ep.id}`, { url: old, enabled: false }));
  assert.equal(kept.url, old);
  assert.equal(kept.status, 'disabled');
  assertError(await srv.admin().patch(`/webhook-endpoints/${ep.id}`, { url: 'https://example.org:0/hook' }), 422, 'validation_failed', 'url');
});
