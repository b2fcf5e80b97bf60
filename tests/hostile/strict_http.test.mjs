// Covers strict reading of requests: a NUL byte (%00) in the path or in a query key or value would
// silently cut the text short (a C string), so each is refused with 400 invalid_request in the
// error envelope before anything runs; and a query parameter given twice is refused instead of
// one value silently winning; ambiguous framing is refused, and what libmicrohttpd refuses itself
// closes the connection with nothing run. (A raw NUL inside a header value cannot be seen: libmicrohttpd
// 0.9.75 hands the value over already cut at it, with the cut length; see docs/decisions.md.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  startServer, assertError, ok, createCustomer, REQ_ID,
} from '../api/lib.mjs';

let srv;
let tn;
before(async () => {
  srv = await startServer();
  tn = await srv.tenant();
});
after(() => srv?.stop());

/**
 * Sends raw bytes as one HTTP/1.1 request (then closes its side unless keepOpen); resolves
 * with {status, headers text, body JSON} when the server closes the connection.
 */
function rawBytes(bytes, { keepOpen = false } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(srv.port, '127.0.0.1', () => (keepOpen ? sock.write(bytes) : sock.end(bytes)));
    const chunks = [];
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', reject);
    // The server closes every connection these tests open; one left open fails, not hangs.
    sock.setTimeout(10000, () => { sock.destroy(); reject(new Error(`not closed within 10 s: ${Buffer.concat(chunks)}`)); });
    sock.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head, ...rest] = text.split('\r\n\r\n');
      let body;
      try { body = JSON.parse(rest.join('\r\n\r\n')); } catch {}
      resolve({ status: Number(head.split(' ')[1]), head, body });
    });
  });
}

test('a query parameter given twice is 400 invalid_request naming it', async () => {
  const r = await tn.api.get('/customers?limit=5&limit=6');
  assertError(r, 400, 'invalid_request', 'limit');
  assert.match(r.body.error.message, /more than once/);
  assertError(await tn.api.get('/customers?status=active&email=a@example.com&status=invited'), 400, 'invalid_request', 'status');
  ok(await tn.api.get('/customers?limit=5&status=active'));
});

test('%00 in the path or the query is 400 invalid_request, never a shortened value', async () => {
  const c = await createCustomer(tn.api);
  for (const p of [`/customers?email=${encodeURIComponent(c.email)}%00x`, '/customers?li%00mit=5']) {
    const r = await tn.api.get(p);
    assertError(r, 400, 'invalid_request');
    assert.match(r.body.error.message, /NUL/);
  }
  // Raw, so the path reaches the server as written (a path with %00 is in no document).
  for (const p of [`/api/v1/customers/${c.id}%00junk`, `/api/v1/customers/${c.id}/mailbox%00`, '/healthz%00']) {
    const r = await rawBytes(Buffer.from(`GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n`
      + `Authorization: Bearer ${tn.key.secret}\r\n\r\n`));
    assert.equal(r.status, 400, `${p}: ${r.head}`);
    assert.equal(r.body?.error?.code, 'invalid_request', `${p}: ${JSON.stringify(r.body)}`);
    assert.match(r.body.error.request_id, REQ_ID);
    assert.match(r.head, /x-request-id: req_/i);
  }
});

test('a slash spelled %2F in the path is 404 route_not_found: it never splits a segment into another route', async () => {
  const { api } = tn;
  const c = await createCustomer(api);
  // Decoded first, POST .../cus_x%2Fdeactivate would be the deactivate route of cus_x.
  for (const [method, p] of [['POST', `/api/v1/customers/${c.id}%2Fdeactivate`], ['POST', `/api/v1/customers/${c.id}%2fdeactivate`],
    ['GET', `/api/v1/customers/${c.id}%2Fmailbox`], ['GET', '/api/v1/customers%2F']]) {
    const r = await rawBytes(Buffer.from(`${method} ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n`
      + `Authorization: Bearer ${tn.key.secret}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`));
    assert.equal(r.status, 404, `${method} ${p}: ${r.head}`);
    assert.equal(r.body?.error?.code, 'route_not_found', `${p}: ${JSON.stringify(r.body)}`);
    assert.match(r.body.error.message, /%2F/);
  }
  assert.equal(ok(await api.get(`/customers/${c.id}`)).status, c.status, 'nothing ran');
  // In the query it is only a character of a value.
  ok(await api.get('/customers?email=a%2Fb%40example.com'));
});

test('a header the server reads, sent twice, is 400 invalid_request naming it, and nothing runs', async () => {
  const before = ok(await tn.api.get('/customers?limit=100')).data.length;
  const body = JSON.stringify({ email: `twice.${Date.now()}@example.com`, name: 'Twice' });
  const head = (extra) => `POST /api/v1/customers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${extra}`
    + `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  const auth = `Authorization: Bearer ${tn.key.secret}\r\n`;
  const json = 'Content-Type: application/json\r\n';
  for (const [name, extra] of [
    ['Idempotency-Key', `${auth}${json}Idempotency-Key: a1\r\nIdempotency-Key: a2\r\n`],
    ['Authorization', `${auth}${auth}${json}`],
    ['Content-Type', `${auth}${json}content-type: application/json\r\n`],
  ]) {
    const r = await rawBytes(Buffer.from(head(extra)), { keepOpen: true });
    assert.equal(r.status, 400, `${name}: ${r.head}`);
    assert.equal(r.body?.error?.code, 'invalid_request', JSON.stringify(r.body));
    assert.match(r.body.error.message, new RegExp(name, 'i'));
  }
  assert.equal(ok(await tn.api.get('/customers?limit=100')).data.length, before, 'no customer was created');
  // Once each, the same request is served.
  const once = await rawBytes(Buffer.from(head(`${auth}${json}Idempotency-Key: a1\r\n`)), { keepOpen: true });
  assert.equal(once.status, 201, once.head);
});

// Bytes that are not UTF-8 in the URL are refused before anything reads or echoes them (they were
// echoed as "?" in unknown_parameter and route_not_found messages; PostgreSQL answered 500 where
// such text reached a query): the answer is the JSON envelope, valid UTF-8, naming no parameter.
test('bytes that are not UTF-8 in the URL are 400 invalid_request, and the answer is valid UTF-8', async () => {
  const r = await tn.api.get('/customers?%FF%FE=1');
  assertError(r, 400, 'invalid_request');
  assert.equal(r.body.error.param, undefined);
  assert.match(r.body.error.message, /not UTF-8/);
  const raw = await rawBytes(Buffer.from('GET /nope/%FF/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
  assert.equal(raw.status, 400);
  assert.equal(raw.body?.error?.code, 'invalid_request');
  assert.match(raw.body.error.message, /path is not UTF-8/);
  assert.match(raw.body.error.request_id, REQ_ID);
});

// The request-smuggling patterns (RFC 9112 section 6.3): the length of what follows cannot be
// trusted, so the answer is 400 in the envelope and the connection is closed, whatever the route.
test('ambiguous framing is 400 invalid_request and closes the connection, before anything runs', async () => {
  const auth = `Authorization: Bearer ${tn.key.secret}\r\nContent-Type: application/json\r\n`;
  const body = JSON.stringify({ email: 'smuggle@example.com', name: 'Smuggled' });
  const chunked = `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
  const smuggled = `POST /api/v1/customers HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: ${body.length}\r\n\r\n${body}`;
  const count = async () => ok(await tn.api.get('/customers?limit=100')).data.length;
  const before = await count();
  const cases = [
    [`Content-Length: ${body.length}\r\nContent-Length: ${body.length + 5}\r\n\r\n${body}`, /one Content-Length/],
    [`Content-Length: ${body.length}\r\nContent-Length: ${body.length}\r\n\r\n${body}`, /one Content-Length/],
    [`Transfer-Encoding: gzip, chunked\r\n\r\n${chunked}`, /chunked/],
    [`Transfer-Encoding: identity\r\n\r\n${body}`, /chunked/],
    [`Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n${chunked}`, /sent once/],
    [`Transfer-Encoding: chunked\r\nContent-Length: ${body.length}\r\n\r\n${chunked}`, /not both/],
    // Header names in any case are the same header.
    [`content-length: ${body.length}\r\nCONTENT-LENGTH: ${body.length + 5}\r\n\r\n${body}`, /one Content-Length/],
    [`TRANSFER-ENCODING: chunked\r\ncontent-length: ${body.length}\r\n\r\n${chunked}`, /not both/],
    // A name with a space or a tab before its colon is not a name (RFC 9110 section 5.6.2): read
    // as some other header, the body would have run as a second request (smuggled).
    [`Content-Length : ${smuggled.length}\r\n\r\n${smuggled}`, /header name/],
    [`Content-Length\t: ${smuggled.length}\r\n\r\n${smuggled}`, /header name/],
    [`Transfer-Encoding : chunked\r\n\r\n${chunked}`, /header name/],
    [`X Note: 1\r\nContent-Length: ${body.length}\r\n\r\n${body}`, /header name/],
  ];
  for (const [rest, message] of cases) {
    const r = await rawBytes(`POST /api/v1/customers HTTP/1.1\r\nHost: x\r\n${auth}${rest}`);
    assert.equal(r.status, 400, r.head);
    assert.match(r.head, /\r\nconnection: close\r\n/i);
    assert.equal(r.body.error.code, 'invalid_request');
    assert.match(r.body.error.message, message);
    assert.match(r.body.error.request_id, REQ_ID);
  }
  const noHost = await rawBytes('GET /healthz HTTP/1.1\r\n\r\n');
  assert.equal(noHost.status, 400);
  assert.match(noHost.body.error.message, /Host/);
  const twoHosts = await rawBytes('GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n');
  assert.equal(twoHosts.status, 400);
  const twoHostsCased = await rawBytes('GET /healthz HTTP/1.1\r\nhost: a\r\nHOST: b\r\n\r\n');
  assert.equal(twoHostsCased.status, 400);
  assert.equal(await count(), before, 'nothing was created');
  // A well-framed chunked body still works.
  const fine = await rawBytes(`POST /api/v1/customers HTTP/1.1\r\nHost: x\r\n${auth}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunked}`, { keepOpen: true });
  assert.equal(fine.status, 201, fine.head);
});

// A few malformed requests are answered by libmicrohttpd itself, with its own small HTML page
// (docs/decisions.md, "What libmicrohttpd answers itself"): what the server promises of them is a
// 4xx, the connection closed, and nothing run.
test('requests libmicrohttpd refuses itself are a 4xx that closes the connection, and nothing runs', async () => {
  const auth = `Authorization: Bearer ${tn.key.secret}\r\nContent-Type: application/json\r\n`;
  const body = JSON.stringify({ email: 'malformed@example.com', name: 'Malformed' });
  const count = async () => ok(await tn.api.get('/customers?limit=100')).data.length;
  const before = await count();
  const post = (rest) => `POST /api/v1/customers HTTP/1.1\r\nHost: x\r\n${auth}${rest}`;
  const cases = [
    ['a Content-Length that is not a number', post(`Content-Length: abc\r\n\r\n${body}`), 400],
    ['a header line without a colon', post(`Content-Length: ${body.length}\r\nNoColonHere\r\n\r\n${body}`), 400],
    ['headers over 16 KiB', post(`X-Padding: ${'p'.repeat(17 * 1024)}\r\nContent-Length: ${body.length}\r\n\r\n${body}`), 431],
    ['a request line over 16 KiB', `GET /api/v1/customers?q=${'q'.repeat(17 * 1024)} HTTP/1.1\r\nHost: x\r\n${auth}\r\n`, 414],
  ];
  for (const [what, bytes, status] of cases) {
    // keepOpen: the server, not the client, ends the connection.
    const r = await rawBytes(bytes, { keepOpen: true });
    assert.equal(r.status, status, `${what}: ${r.head}`);
  }
  assert.equal(await count(), before, 'nothing was created');
  ok(await srv.raw().get('/healthz'));
});

// Every header the server reads is found whatever the case of its name: the key, the body's
// type and its Idempotency-Key, whose replay (names in lower case) answers the same customer.
// RFC 9112 section 3.2.2: a server must accept a request target in absolute form. It was taken
// as a path of its own: 404 route_not_found.
test('a request target in absolute form (http://host/path?query) is the path and query it names', async () => {
  const c = await createCustomer(tn.api);
  for (const target of [`http://127.0.0.1:${srv.port}/api/v1/customers/${c.id}`, `HTTP://example.com/api/v1/customers/${c.id}?`]) {
    const r = await rawBytes(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${tn.key.secret}\r\nConnection: close\r\n\r\n`);
    assert.equal(r.status, 200, `${target}: ${r.head}`);
    assert.equal(r.body.id, c.id);
  }
  const list = await rawBytes(`GET https://example.com/api/v1/customers?limit=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tn.key.secret}\r\nConnection: close\r\n\r\n`);
  assert.equal(list.status, 200, list.head);
  assert.equal(list.body.data.length, 1);
  const bare = await rawBytes('GET http://example.com HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.equal(bare.status, 404, bare.head);
  assert.equal(bare.body.error.code, 'route_not_found');
});

test('header names are matched in any case', async () => {
  const body = JSON.stringify({ email: 'cased@example.com', name: 'Cased Names' });
  const send = (names) => rawBytes(`POST /api/v1/customers HTTP/1.1\r\nHOST: x\r\n`
    + `${names[0]}: Bearer ${tn.key.secret}\r\n${names[1]}: application/json\r\n`
    + `${names[2]}: cased-names-1\r\n${names[3]}: ${body.length}\r\nConnection: close\r\n\r\n${body}`, { keepOpen: true });
  const first = await send(['AUTHORIZATION', 'CONTENT-TYPE', 'IDEMPOTENCY-KEY', 'CONTENT-LENGTH']);
  assert.equal(first.status, 201, first.head);
  const replay = await send(['authorization', 'content-type', 'idempotency-key', 'content-length']);
  assert.equal(replay.status, 201, replay.head);
  assert.equal(replay.body.id, first.body.id);
  assert.match(replay.head, /\r\nidempotent-replayed: true\r\n/i);
});
