// Covers the request conventions of docs/api.md (Requests and responses, Errors) that apply to every route: strict JSON bodies
// (malformed, not an object, duplicate keys, nesting deeper than 32, \u0000, bad UTF-8: 400
// invalid_json), the 1 MiB body cap (413, with and without Content-Length), Content-Type (415),
// empty POST bodies, fields the endpoint does not take (400 unknown_parameter, server-set fields
// included), type errors (422 with param), and query parameters (bad limit, unknown or doubled
// cursors: 400 invalid_request; unknown parameters: 400 unknown_parameter).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  startServer, createCustomer, customerBody, assertError, ok, qs, rawHttp,
} from './lib.mjs';

let srv;
let t;
let cust;

before(async () => {
  srv = await startServer();
  t = await srv.tenant();
  cust = await createCustomer(t.api);
});
after(() => srv?.stop());

const MiB = 1024 * 1024;

/** POSTs a raw JSON text to /customers. */
const postRaw = (raw, opts = {}) => t.api.request('POST', '/customers', { raw, ...opts });

/** {"email":..,"name":..,"metadata": <object nested so the whole body is `levels` deep>}. */
function nestedBody(levels) {
  let inner = '{}';
  for (let i = 0; i < levels - 2; i++) inner = `{"a":${inner}}`;
  const b = customerBody();
  return `{"email":"${b.email}","name":"${b.name}","metadata":${inner}}`;
}

test('malformed JSON is 400 invalid_json', async () => {
  const b = JSON.stringify(customerBody());
  for (const raw of ['{', '{"email":', b.slice(0, -1), `${b}}`, `${b} {}`, "{'email':'a@b.co'}", '{"email":"a@b.co",}', 'nul', '{"a":01}', '{"a":NaN}']) {
    assertError(await postRaw(raw), 400, 'invalid_json');
  }
  assertError(await t.api.request('PATCH', `/customers/${cust.id}`, { raw: '{"name":' }), 400, 'invalid_json');
  assertError(await t.api.request('POST', `/customers/${cust.id}/deactivate`, { raw: '{"reason"' }), 400, 'invalid_json');
  assertError(await srv.admin().request('POST', '/partners', { raw: '{"name":' }), 400, 'invalid_json');
});

test('an invalid_json message says what is wrong and where, and quotes nothing of the body', async () => {
  const who = 'jane.private.person@example.com';
  const cases = [
    [`{"email":"${who}","email":"${who}"}`, /a key appears twice in one object \(line 1, column \d+\)/],
    [`{"email":"${who}\\u0000"}`, /\\u0000 is not allowed/],
    [`{"email":"${who}"`, /ends before the value does/],
    [`{"email":"${who}"} ${who}`, /something follows the value/],
    [`{"email":"${who}",\n "name": ${who}}`, /the syntax is wrong \(line 2, column \d+\)/],
    [Buffer.concat([Buffer.from(`{"email":"${who}`), Buffer.from([0xff]), Buffer.from('"}')]), /not valid UTF-8/],
  ];
  for (const [raw, message] of cases) {
    const e = assertError(await postRaw(raw), 400, 'invalid_json');
    assert.match(e.message, message);
    assert.ok(!e.message.includes('jane') && !e.message.includes('JSON_'), e.message);
  }
});

test('JSON that is not an object is 400 invalid_json', async () => {
  for (const raw of ['[]', `[${JSON.stringify(customerBody())}]`, '"text"', '42', 'null', 'true']) {
    assertError(await postRaw(raw), 400, 'invalid_json');
  }
  assertError(await t.api.request('PATCH', `/customers/${cust.id}`, { raw: '[]' }), 400, 'invalid_json');
});

test('a duplicated key, at the top or nested, is 400 invalid_json', async () => {
  const b = customerBody();
  assertError(await postRaw(`{"email":"${b.email}","name":"A","name":"B"}`), 400, 'invalid_json');
  assertError(await postRaw(`{"email":"${b.email}","name":"A","metadata":{"k":"1","k":"2"}}`), 400, 'invalid_json');
  assertError(await t.api.request('PATCH', `/customers/${cust.id}`, { raw: '{"name":"A","name":"A"}' }), 400, 'invalid_json');
  assert.deepEqual(ok(await t.api.get(`/customers${qs({ email: b.email })}`)).data, []);
});

test('nesting of 32 levels is parsed; 33 levels is 400 invalid_json', async () => {
  // 32 levels parse; the nested metadata is then simply not a valid metadata value.
  assertError(await postRaw(nestedBody(32)), 422, 'validation_failed', 'metadata');
  assertError(await postRaw(nestedBody(33)), 400, 'invalid_json');
  assertError(await postRaw(nestedBody(2000)), 400, 'invalid_json');
  assertError(await postRaw(`${'['.repeat(100000)}${']'.repeat(100000)}`), 400, 'invalid_json');
  ok(await srv.raw().get('/healthz'));
});

test('a \\u0000 in a string value or key is 400 invalid_json', async () => {
  const b = customerBody();
  assertError(await postRaw(`{"email":"${b.email}","name":"Jane\\u0000Smith"}`), 400, 'invalid_json');
  assertError(await postRaw(`{"email":"${b.email}","name":"Jane","metadata":{"k\\u0000":"v"}}`), 400, 'invalid_json');
  assertError(await t.api.request('PATCH', `/customers/${cust.id}`, { raw: '{"name":"\\u0000"}' }), 400, 'invalid_json');
  assert.deepEqual(ok(await t.api.get(`/customers${qs({ email: b.email })}`)).data, []);
});

test('a body that is not valid UTF-8 is 400 invalid_json', async () => {
  const b = customerBody();
  const raw = Buffer.concat([Buffer.from(`{"email":"${b.email}","name":"Jane `), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
  assertError(await postRaw(raw), 400, 'invalid_json');
});

test('escaped and non-ASCII strings are decoded exactly', async () => {
  const b = customerBody();
  const c = ok(await postRaw(`{"email":"${b.email}","name":"J\\u00e9r\\u00f4me \\"JJ\\" \\\\ \\ud83d\\udce6 日本"}`), 201);
  assert.equal(c.name, 'Jérôme "JJ" \\ 📦 日本');
});

test('a body of exactly 1 MiB is read; one byte more is 413 payload_too_large', async () => {
  const base = JSON.stringify(customerBody());
  const exact = Buffer.from(base + ' '.repeat(MiB - Buffer.byteLength(base)));
  assert.equal(exact.length, MiB);
  ok(await rawHttp(srv, 'POST', '/api/v1/customers', { body: exact, headers: { authorization: `Bearer ${t.key.secret}`, 'content-type': 'application/json' } }), 201);
  const over = Buffer.from(JSON.stringify(customerBody()) + ' '.repeat(MiB));
  assertError(await rawHttp(srv, 'POST', '/api/v1/customers', { body: over, headers: { authorization: `Bearer ${t.key.secret}`, 'content-type': 'application/json' } }), 413, 'payload_too_large');
});

test('a body over 1 MiB sent without Content-Length (chunked) is 413 payload_too_large', async () => {
  const b = customerBody();
  const body = Buffer.from(JSON.stringify({ ...b, metadata: { k: 'v' } }) + ' '.repeat(MiB + 100));
  const r = await rawHttp(srv, 'POST', '/api/v1/customers', { body, chunked: true, headers: { authorization: `Bearer ${t.key.secret}`, 'content-type': 'application/json' } });
  assertError(r, 413, 'payload_too_large');
  assert.deepEqual(ok(await t.api.get(`/customers${qs({ email: b.email })}`)).data, [], 'nothing was created');
});

test('a body announced far too large (100 MB) is refused at once, before it is sent', async () => {
  // Only the headers go out: the answer must come without the server waiting for the body.
  const answer = await new Promise((resolve, reject) => {
    const sock = net.connect(srv.port, '127.0.0.1', () => {
      sock.write(`POST /api/v1/customers HTTP/1.1\r\nHost: 127.0.0.1\r\n`
        + `Authorization: Bearer ${t.key.secret}\r\nContent-Type: application/json\r\n`
        + 'Content-Length: 100000000\r\n\r\n');
    });
    let text = '';
    sock.setEncoding('utf8');
    sock.on('data', (d) => { text += d; if (text.includes('}}')) { sock.destroy(); resolve(text); } });
    sock.on('error', reject);
    sock.setTimeout(5000, () => { sock.destroy(); reject(new Error(`no answer before the body: ${text}`)); });
  });
  assert.match(answer, /^HTTP\/1\.1 413 /);
  assert.match(answer, /"code":"payload_too_large"/);
  assert.match(answer, /X-Request-Id: req_/i);
});

test('a very large body (8 MiB) is refused with 413 and the server stays healthy', async () => {
  const body = Buffer.alloc(8 * MiB, 0x20);
  const r = await rawHttp(srv, 'PATCH', `/api/v1/customers/${cust.id}`, { body, headers: { authorization: `Bearer ${t.key.secret}`, 'content-type': 'application/json' } });
  assertError(r, 413, 'payload_too_large');
  ok(await srv.raw().get('/healthz'));
  ok(await t.api.get('/customers'));
});

test('a body whose Content-Type is not application/json is 415 unsupported_media_type', async () => {
  const b = customerBody();
  const raw = JSON.stringify(b);
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'multipart/form-data; boundary=x']) {
    assertError(await postRaw(raw, { type }), 415, 'unsupported_media_type');
  }
  assertError(await postRaw(Buffer.from(raw), { type: null }), 415, 'unsupported_media_type');
  assertError(await t.api.request('PATCH', `/customers/${cust.id}`, { raw: '{"name":"X"}', type: 'text/plain' }), 415, 'unsupported_media_type');
  assert.deepEqual(ok(await t.api.get(`/customers${qs({ email: b.email })}`)).data, [], 'nothing was created');
  ok(await postRaw(raw, { type: 'application/json; charset=utf-8' }), 201);
});

test('an empty POST body is treated as {}', async () => {
  const r = await t.api.request('POST', '/customers', { raw: '' });
  const e = assertError(r, 422, 'validation_failed');
  assert.ok(['email', 'name'].includes(e.param), `param names a required field: ${e.param}`);
  const noBody = await t.api.request('POST', '/customers');
  assert.ok(['email', 'name'].includes(assertError(noBody, 422, 'validation_failed').param));
});

test('fields the endpoint does not take are 400 unknown_parameter, server-set fields included', async () => {
  for (const field of ['id', 'object', 'status', 'created_at', 'updated_at', 'deactivated_at', 'billing_status', 'mail_receipt_approved', 'mailbox_id', 'partner_id', 'nickname']) {
    const b = customerBody({ [field]: field === 'mail_receipt_approved' ? true : 'x' });
    assertError(await t.api.post('/customers', b), 400, 'unknown_parameter', field);
    assert.deepEqual(ok(await t.api.get(`/customers${qs({ email: b.email })}`)).data, [], `nothing created with ${field}`);
  }
});

test('type errors in body fields are 422 validation_failed naming the field', async () => {
  const cases = [
    [{ email: ['a@b.co'] }, 'email'], [{ name: 5 }, 'name'], [{ name: {} }, 'name'], [{ prepay: 'yes' }, 'prepay'],
    [{ metadata: 'x' }, 'metadata'], [{ phone: 15555555555 }, 'phone'], [{ external_customer_id: 12 }, 'external_customer_id'],
  ];
  for (const [fields, param] of cases) assertError(await t.api.post('/customers', customerBody(fields)), 422, 'validation_failed', param);
});

test('a bad limit is 400 invalid_request with param limit', async () => {
  for (const limit of ['0', '101', '-1', 'abc', '1.5', '', '1e2', ' 5', '0x10']) {
    assertError(await t.api.get(`/customers?limit=${encodeURIComponent(limit)}`), 400, 'invalid_request', 'limit');
  }
  ok(await t.api.get('/customers?limit=1'));
  ok(await t.api.get('/customers?limit=100'));
  // Leading zeros are decimal digits like any: 0100 is 100 (it was refused while 007 was taken).
  ok(await t.api.get('/customers?limit=0100'));
  assert.ok(ok(await t.api.get('/customers?limit=001')).data.length <= 1);
  assertError(await t.api.get('/customers?limit=000'), 400, 'invalid_request', 'limit');
});

test('a filter sent empty is 400 invalid_request naming it, on every list, never "no filter"', async () => {
  const lists = [
    [t.api, '/customers', ['email', 'external_customer_id', 'status', 'starting_after', 'ending_before', 'limit']],
    [t.api, `/customers/${cust.id}/mail`, ['type', 'status']],
    [t.api, '/webhook-deliveries', ['event_id', 'event_type', 'status']],
    [t.api, '/events', ['type', 'created_gte', 'created_lt']],
    [t.api, '/billing/usage', ['period']],
    [srv.admin(), '/events', ['partner_id', 'type', 'livemode']],
    [srv.admin(), '/mail-actions', ['status']],
  ];
  for (const [client, path, params] of lists) {
    for (const param of params) {
      for (const query of [`${param}=`, param]) {
        const e = assertError(await client.get(`${path}?${query}`), 400, 'invalid_request', param);
        assert.match(e.message, /must not be empty/, `${path}?${query}: ${e.message}`);
      }
    }
  }
});

test('an unknown cursor id is 400 invalid_request naming the parameter', async () => {
  assertError(await t.api.get('/customers?starting_after=cus_doesnotexist000000'), 400, 'invalid_request', 'starting_after');
  assertError(await t.api.get('/customers?ending_before=cus_doesnotexist000000'), 400, 'invalid_request', 'ending_before');
  assertError(await t.api.get('/customers?starting_after='), 400, 'invalid_request', 'starting_after');
});

// A message quotes what the client sent, but a long value is cut (60 bytes and "…"), so that the
// rest of the sentence still says what is wrong.
test('a long value an error message quotes is cut with "…", and the message keeps its sentence', async () => {
  const long = (c) => c.repeat(300);
  const cut = (c) => `${c.repeat(60)}\u2026`;
  const message = (r, status, code, param) => assertError(r, status, code, param).message;
  const t2 = await srv.tenant();
  for (const [list, what] of [['/customers', 'no object with id %s in this list'], ['/webhook-deliveries', 'no object with id %s in this list'],
    ['/webhook-events', 'no object with id %s in this list'], ['/billing/usage', 'no line item for %s in this period']]) {
    assert.equal(message(await t2.api.get(`${list}?starting_after=${long('x')}`), 400, 'invalid_request', 'starting_after'),
      what.replace('%s', cut('x')), list);
  }
  assert.equal(message(await t2.api.get(`/customers?status=${long('y')}`), 400, 'invalid_request', 'status'),
    `${cut('y')} is not a valid status: use invited, active or deactivated`);
  assert.equal(message(await t2.api.get(`/webhook-deliveries?event_type=${long('e')}`), 400, 'invalid_request', 'event_type'),
    `${cut('e')} is not a webhook event type (GET /api/v1/webhook-events lists them)`);
  assert.equal(message(await t2.api.get(`/customers/cus_${long('z')}`), 404, 'not_found'), `no such customer: cus_${'z'.repeat(56)}\u2026`);
  assert.equal(message(await t2.api.post('/customers', { ...customerBody(), [long('k')]: 1 }), 400, 'unknown_parameter'),
    `unknown parameter: ${cut('k')}`);
  assert.equal(message(await t2.api.get(`/customers?${long('q')}=1`), 400, 'unknown_parameter'), `unknown query parameter: ${cut('q')}`);
  // The message quotes a long name cut; param names it whole.
  assertError(await t2.api.post('/customers', { ...customerBody(), ['k'.repeat(200)]: 1 }), 400, 'unknown_parameter', 'k'.repeat(200));
  assertError(await t2.api.get(`/customers?${'q'.repeat(200)}=1`), 400, 'unknown_parameter', 'q'.repeat(200));
  assert.equal(message(await t2.api.get(`/customers?${long('r')}=1&${long('r')}=2`), 400, 'invalid_request'),
    `the query parameter ${cut('r')} is given more than once`);
  assert.equal(message(await t2.api.get(`/no-such-${long('p')}`), 404, 'route_not_found'),
    `no such route: GET /api/v1/no-such-${'p'.repeat(60 - '/api/v1/no-such-'.length)}\u2026`);
  // Up to 64 bytes a value is quoted whole; a cut never splits a character (here a 3-byte euro sign).
  assert.equal(message(await t2.api.get(`/customers?status=${'v'.repeat(64)}`), 400, 'invalid_request', 'status'),
    `${'v'.repeat(64)} is not a valid status: use invited, active or deactivated`);
  assert.equal(message(await t2.api.get(`/customers?status=${encodeURIComponent(`${'w'.repeat(59)}\u20ac${long('w')}`)}`), 400, 'invalid_request', 'status'),
    `${'w'.repeat(59)}\u2026 is not a valid status: use invited, active or deactivated`);
});

test('starting_after and ending_before together are 400 invalid_request', async () => {
  const other = await createCustomer(t.api);
  const e = assertError(await t.api.get(`/customers${qs({ starting_after: cust.id, ending_before: other.id })}`), 400, 'invalid_request');
  assert.ok(['starting_after', 'ending_before'].includes(e.param), `param names a cursor: ${e.param}`);
});

test('an unknown query parameter is 400 unknown_parameter naming it', async () => {
  assertError(await t.api.get('/customers?expand=mailbox'), 400, 'unknown_parameter', 'expand');
  assertError(await t.api.get('/customers?limit=5&Status=active'), 400, 'unknown_parameter', 'Status');
  assertError(await t.api.get(`/customers/${cust.id}?expand=mailbox`), 400, 'unknown_parameter', 'expand');
  assertError(await t.api.get(`/customers/${cust.id}/mailbox?x=1`), 400, 'unknown_parameter', 'x');
  assertError(await t.api.get('/billing/usage?month=2026-01'), 400, 'unknown_parameter', 'month');
  assertError(await srv.admin().get('/partners?bogus=1'), 400, 'unknown_parameter', 'bogus');
});

test('a query parameter on a write is 400 unknown_parameter, runs nothing and is not stored under its key', async () => {
  const c = await createCustomer(t.api);
  const body = customerBody();
  const { value: refused, events } = await srv.captureEvents(t.partner.id, async () => [
    await t.api.request('POST', '/customers?foo=1', { json: body, idem: 'query-on-a-write' }),
    await t.api.request('PATCH', `/customers/${c.id}?expand=mailbox`, { json: { name: 'Renamed' } }),
    await t.api.request('POST', `/customers/${c.id}/deactivate?now=1`, { json: {} }),
    await srv.admin().request('POST', `/customers/${c.id}/accept-invite?x=1`, { json: {} }),
  ]);
  assert.deepEqual(refused.map((r) => [r.status, r.body?.error?.code, r.body?.error?.param]), [
    [400, 'unknown_parameter', 'foo'], [400, 'unknown_parameter', 'expand'],
    [400, 'unknown_parameter', 'now'], [400, 'unknown_parameter', 'x']]);
  assert.deepEqual(events, [], 'no event');
  assert.deepEqual(ok(await t.api.get(`/customers/${c.id}`)), c, 'the customer is as it was');
  // The refusal was not stored: the key still runs the request, once.
  const created = await t.api.request('POST', '/customers', { json: body, idem: 'query-on-a-write' });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.headers.get('idempotent-replayed'), null);
  // Credentials come first, as on a GET.
  assertError(await srv.raw().request('POST', '/api/v1/customers?foo=1', { json: body }), 401, 'unauthenticated');
});

test('a query string with more parameters than any route takes is 400 invalid_request', async () => {
  const many = Array.from({ length: 40 }, (_, i) => `p${i}=1`).join('&');
  assertError(await t.api.get(`/customers?${many}`), 400, 'invalid_request');
  assertError(await srv.raw().get(`/nowhere?${many}`), 404, 'route_not_found');
});

// A percent-escape that decodes to bytes that are not UTF-8 is refused before anything reads it:
// before, SQLite answered as if nothing matched (200, 404) and PostgreSQL 500 internal_error (it
// refuses to compare with such text), found by a backend parity audit.
test('a path or query parameter that is not UTF-8 once decoded is 400 invalid_request on every backend', async () => {
  const admin = srv.admin();
  for (const bad of ['%FF', '%C3', '%C3%28', '%C0%AF', '%ED%A0%80']) {
    assertError(await t.api.get(`/customers/${bad}`), 400, 'invalid_request');
    assertError(await t.api.get(`/customers?email=${bad}`), 400, 'invalid_request', 'email');
    assertError(await t.api.get(`/customers?starting_after=${bad}`), 400, 'invalid_request', 'starting_after');
    assertError(await t.api.get(`/events?${bad}=1`), 400, 'invalid_request');
    assertError(await t.api.patch(`/customers/${bad}`, { name: 'X' }), 400, 'invalid_request');
    assertError(await admin.get(`/partners/${bad}`), 400, 'invalid_request');
    assertError(await admin.get(`/events?partner_id=${bad}`), 400, 'invalid_request', 'partner_id');
  }
  // /healthz too, which reads no parameter: the rule is the dispatcher's, before any route.
  assertError(await srv.raw().get('/healthz?x=%FF'), 400, 'invalid_request');
  // UTF-8, percent-encoded, is read as usual.
  assertError(await t.api.get('/customers/cus_%C3%BC'), 404, 'not_found');
  assert.deepEqual(ok(await t.api.get('/customers?email=%C3%BCli%40example.com')).data, []);
});

test('query parameters are percent-decoded', async () => {
  const c = await createCustomer(t.api, { email: `jane+tag.${Date.now()}@example.com` });
  const r = ok(await t.api.get(`/customers?email=${encodeURIComponent(c.email)}`));
  assert.deepEqual(r.data.map((x) => x.id), [c.id]);
});
