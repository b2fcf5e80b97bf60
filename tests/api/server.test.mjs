// Covers the process and the HTTP basics: GET /healthz, X-Request-Id on every kind of response
// (distinct, and repeated in error bodies), the JSON content type, 404 route_not_found versus 405
// with an Allow header, configuration by environment and by flags (flags win), graceful stop on
// SIGTERM and SIGINT with exit code 0, and data surviving a restart.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  startServer, freePort, onFreePort, closedPort, runCli, createCustomer, customerBody, assertError, ok, REQ_ID,
  ALL_SCOPES, uniq, sleep,
} from './lib.mjs';

/** What a new connection to port meets: 'served', 'hung', 'closed' or an error code. */
function tryConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.setTimeout(2000, () => { s.destroy(); resolve('hung'); });
    s.on('connect', () => { s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'); });
    s.on('data', () => { s.destroy(); resolve('served'); });
    s.on('error', (e) => resolve(e.code));
    s.on('close', () => resolve('closed'));
  });
}

/**
 * Waits, after a SIGTERM, until the server refuses new connections (then its stop has begun),
 * for up to 10 s however slow the machine; returns what the last connection met.
 */
async function untilRefused(port) {
  let met;
  for (const from = Date.now(); Date.now() - from < 10000; await sleep(20)) {
    met = await tryConnect(port);
    // A connection taken into the backlog as the listener shuts down is reset: try again.
    if (met !== 'served' && met !== 'ECONNRESET') break;
  }
  return met;
}

let srv;
let t;

before(async () => {
  srv = await startServer();
  t = await srv.tenant();
});
after(() => srv?.stop());

/** Parses an Allow header into a sorted list of methods. */
function allowOf(res) {
  return (res.headers.get('allow') ?? '').split(',').map((m) => m.trim().toUpperCase()).filter(Boolean).sort();
}

/** One response of (nearly) every kind the server gives, labelled. */
async function responsesOfEveryKind() {
  const readOnly = await srv.createKey(t.partner.id, ['customers:read']);
  const cust = await createCustomer(t.api);
  const out = {};
  out.healthz = await srv.raw().get('/healthz');
  out.list200 = await t.api.get('/customers');
  out.get200 = await t.api.get(`/customers/${cust.id}`);
  out.create201 = await t.api.post('/customers', customerBody());
  out.invalidJson400 = await t.api.request('POST', '/customers', { raw: '{"email":' });
  out.unknownParam400 = await t.api.post('/customers', customerBody({ bogus: 1 }));
  out.noAuth401 = await srv.api().get('/customers');
  out.scope403 = await srv.api(readOnly.secret).post('/customers', customerBody());
  out.notFound404 = await t.api.get('/customers/cus_doesnotexist000000');
  out.route404 = await t.api.get('/no-such-route');
  out.rootRoute404 = await srv.raw().get('/no-such-route');
  out.method405 = await t.api.del('/customers');
  out.media415 = await t.api.request('POST', '/customers', { raw: JSON.stringify(customerBody()), type: 'text/plain' });
  out.validation422 = await t.api.post('/customers', customerBody({ email: 'not-an-address' }));
  out.admin200 = await srv.admin().get('/partners');
  out.admin401 = await srv.admin('ib_admin_wrongwrongwrongwrongwrongwrongwrong').get('/partners');
  out.admin404 = await srv.admin().get('/partners/ptn_doesnotexist000000');
  out.admin405 = await srv.admin().del('/partners');
  return out;
}

test('GET /healthz answers 200 {"status":"ok"} without authentication', async () => {
  const r = await srv.raw().get('/healthz');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { status: 'ok' });
  assert.match(r.headers.get('x-request-id') ?? '', REQ_ID);
});

test('every response carries its own X-Request-Id req_..., and error bodies repeat it', async () => {
  const all = await responsesOfEveryKind();
  const seen = new Set();
  for (const [label, r] of Object.entries(all)) {
    const id = r.headers.get('x-request-id');
    assert.match(id ?? '', REQ_ID, `${label}: X-Request-Id missing or malformed (${id})`);
    assert.ok(!seen.has(id), `${label}: X-Request-Id ${id} repeated`);
    seen.add(id);
    if (r.status >= 400) {
      assert.equal(r.body?.error?.request_id, id, `${label}: error.request_id must equal X-Request-Id: ${r.text}`);
    }
  }
});

test('every answer but /healthz is Cache-Control: no-store: no cache on the way keeps partners\' data or a secret', async () => {
  const all = await responsesOfEveryKind();
  for (const [label, r] of Object.entries(all)) {
    if (label === 'healthz') continue;
    assert.equal(r.headers.get('cache-control'), 'no-store', label);
  }
  const key = await srv.admin().post(`/partners/${t.partner.id}/keys`, { name: 'shown once', scopes: ['customers:read'] });
  assert.equal(key.status, 201);
  assert.equal(key.headers.get('cache-control'), 'no-store');
});

test('every response is application/json; charset=utf-8', async () => {
  const all = await responsesOfEveryKind();
  for (const [label, r] of Object.entries(all)) {
    const ct = (r.headers.get('content-type') ?? '').toLowerCase().replace(/\s+/g, '');
    assert.equal(ct, 'application/json;charset=utf-8', `${label}: Content-Type was ${r.headers.get('content-type')}`);
    assert.notEqual(r.body, undefined, `${label}: body is not JSON: ${r.text}`);
  }
});

test('an unknown path is 404 route_not_found, with or without a known prefix', async () => {
  assertError(await t.api.get('/no-such-route'), 404, 'route_not_found');
  assertError(await t.api.get('/customers/cus_x/no-such-sub-resource'), 404, 'route_not_found');
  assertError(await t.api.post('/customers/cus_x/reactivate', {}), 404, 'route_not_found');
  assertError(await srv.admin().get('/no-such-route'), 404, 'route_not_found');
  assertError(await srv.raw(t.key.secret).get('/no-such-route'), 404, 'route_not_found');
  assertError(await srv.raw(t.key.secret).get('/api/v2/customers'), 404, 'route_not_found');
});

test('a known path with a method it does not take is 405 method_not_allowed with an Allow header', async () => {
  const cust = await createCustomer(t.api);
  const cases = [
    [t.api, 'DELETE', '/customers', ['GET', 'POST']],
    [t.api, 'PUT', `/customers/${cust.id}`, ['GET', 'PATCH']],
    [t.api, 'DELETE', `/customers/${cust.id}`, ['GET', 'PATCH']],
    [t.api, 'GET', `/customers/${cust.id}/deactivate`, ['POST']],
    [t.api, 'POST', `/customers/${cust.id}/mailbox`, ['GET']],
    [t.api, 'PATCH', `/customers/${cust.id}/compliance`, ['GET']],
    [t.api, 'POST', '/billing/usage', ['GET']],
    [srv.admin(), 'DELETE', '/partners', ['GET', 'POST']],
    [srv.admin(), 'GET', `/customers/${cust.id}/accept-invite`, ['POST']],
    [srv.raw(), 'POST', '/healthz', ['GET']],
  ];
  for (const [client, method, p, allowed] of cases) {
    const r = await client.request(method, p, method === 'GET' || method === 'DELETE' ? {} : { json: {} });
    assertError(r, 405, 'method_not_allowed');
    const allow = allowOf(r);
    for (const m of allowed) assert.ok(allow.includes(m), `${method} ${p}: Allow "${r.headers.get('allow')}" lacks ${m}`);
    assert.ok(!allow.includes(method), `${method} ${p}: Allow "${r.headers.get('allow')}" lists ${method}`);
  }
});

test('SIGINT stops the server gracefully with exit code 0', async () => {
  const other = await startServer();
  const p = await other.createPartner();
  assert.match(p.id, /^ptn_/);
  await other.stop({ signal: 'SIGINT' });
});

test('what was written before a graceful stop is there after a restart on the same database', async () => {
  const other = await startServer();
  try {
    const tn = await other.tenant();
    const cust = await createCustomer(tn.api);
    await other.stop({ keep: true });
    await other.restart();
    const again = await other.api(tn.key.secret).get(`/customers/${cust.id}`);
    assert.deepEqual(ok(again), cust);
  } finally {
    await other.stop();
  }
});

test('SIGTERM under load exits 0, and every create answered 201 is still there after a restart', async () => {
  const other = await startServer();
  try {
    const tn = await other.tenant();
    // Three rounds: a shutdown race does not show every time.
    for (let round = 0; round < 3; round++) {
      const pending = Array.from({ length: 100 }, () => tn.api.post('/customers', customerBody()).catch((e) => e));
      await Promise.race(pending); // the server is busy answering
      await other.stop({ keep: true });
      const results = await Promise.all(pending);
      for (const r of results) {
        if (r instanceof Error || r.status === 201) continue; // cut off, or answered
        assertError(r, 503, 'unavailable');
      }
      await other.restart();
      const created = results.filter((r) => r.status === 201);
      assert.ok(created.length >= 1);
      for (const r of created) assert.deepEqual(ok(await tn.api.get(`/customers/${r.body.id}`)), r.body);
    }
  } finally {
    await other.stop();
  }
});

test('after SIGTERM a new connection is refused at once, while the request in flight is still answered', async () => {
  const other = await startServer();
  const { port } = other;
  const proc = other.instances[0].proc;
  // A request in flight: its head and part of its body.
  const inFlight = net.connect(port, '127.0.0.1');
  const answer = new Promise((resolve) => {
    const chunks = [];
    inFlight.on('data', (c) => chunks.push(c));
    inFlight.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    inFlight.on('error', () => {});
  });
  await new Promise((r) => inFlight.once('connect', r));
  inFlight.write('POST /api/v1/customers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
    + 'Content-Length: 7\r\nConnection: close\r\n\r\n{"a"');
  await sleep(500); // the head has reached the server
  proc.kill('SIGTERM');
  let answered = false;
  answer.then(() => { answered = true; });
  assert.equal(await untilRefused(port), 'ECONNREFUSED');
  assert.equal(answered, false, 'refused while the request in flight is still open');
  inFlight.end(':1}');
  assert.match(await answer, /^HTTP\/1\.1 401 /, 'the request in flight is answered (it has no key)');
  await other.stop();
});

/** Reads one answer from a socket: {status, head, body} (by its Content-Length). */
function readAnswer(sock) {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (c) => {
      buf = Buffer.concat([buf, c]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end).toString('latin1');
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (buf.length < end + 4 + length) return;
      sock.off('data', onData);
      const text = buf.subarray(end + 4, end + 4 + length).toString('utf8');
      resolve({ status: Number(head.split(' ')[1]), head, body: text ? JSON.parse(text) : null });
    };
    sock.on('data', onData);
    sock.once('error', reject);
  });
}

// A stop waits for the requests in flight; a request that arrives meanwhile on a connection kept
// alive is refused at once (503, nothing of it runs) and every answer closes its connection. Before,
// such requests ran for the whole 10 s of grace, and those cut off at its end had often committed
// without their answer.
test('after SIGTERM a request on a kept-alive connection is 503 with Connection: close, and nothing of it runs', async () => {
  const other = await startServer();
  try {
    const tn = await other.tenant();
    const proc = other.instances[0].proc;
    const connect = async () => {
      const s = net.connect(other.port, '127.0.0.1');
      await new Promise((r) => s.once('connect', r));
      return s;
    };
    const kept = await connect();
    kept.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    const first = await readAnswer(kept);
    assert.equal(first.status, 200);
    assert.doesNotMatch(first.head, /\r\nconnection: close/i, 'kept alive before the stop');
    // A request in flight holds the stop in its grace: its head, half its body.
    const inFlight = await connect();
    inFlight.on('error', () => {});
    inFlight.write('POST /api/v1/customers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
      + 'Content-Length: 7\r\n\r\n{"a"');
    await sleep(500); // the head has reached the server
    proc.kill('SIGTERM');
    assert.equal(await untilRefused(other.port), 'ECONNREFUSED');
    const body = JSON.stringify(customerBody());
    const key = `stop-${randomBytes(8).toString('hex')}`;
    const closed = new Promise((r) => kept.once('close', r));
    kept.write(`POST /api/v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tn.key.secret}\r\n`
      + `Content-Type: application/json\r\nIdempotency-Key: ${key}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    const refused = await readAnswer(kept);
    assert.equal(refused.status, 503, refused.head);
    assert.equal(refused.body.error.code, 'unavailable');
    assert.match(refused.head, /\r\nconnection: close/i);
    assert.match(refused.head, /\r\nretry-after: 1/i);
    assert.equal(refused.head.match(/\r\nretry-after:/gi).length, 1, 'Retry-After once');
    assert.match(refused.head, /\r\ncache-control: no-store/i);
    const refusedId = /\r\nx-request-id: *(\S+)/i.exec(refused.head)[1];
    await closed; // the server closed it
    // The request in flight is still answered, and closes its connection too.
    const answered = readAnswer(inFlight);
    inFlight.end(':1}');
    const last = await answered;
    assert.equal(last.status, 401, 'answered (it has no key)');
    assert.match(last.head, /\r\nconnection: close/i);
    await other.stop({ keep: true });
    // Logged (and counted) under the route it was for (before: "unmatched", which put these 503s
    // in the 5xx alert under no route).
    const line = other.stdout.split('\n').find((l) => l.includes(refusedId));
    assert.equal(JSON.parse(line ?? '{}').route, '/api/v1/customers', other.stdout.slice(-1000));
    await other.restart();
    // The refused create never ran: its key runs it now, for the first time.
    const again = await tn.api.post('/customers', JSON.parse(body), { idem: key });
    assert.equal(again.status, 201, again.text);
    assert.equal(again.headers.get('idempotent-replayed'), null);
  } finally {
    await other.stop();
  }
});

test('the server can be configured by flags alone', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'innbocks-flags-'));
  const db = path.join(dir, 'flags.db');
  const token = `ib_admin_${randomBytes(20).toString('hex')}`;
  const other = await onFreePort((port) => startServer({
    port,
    adminToken: token,
    env: { INNBOCKS_LISTEN: undefined, INNBOCKS_DATABASE: undefined, INNBOCKS_ADMIN_TOKEN: undefined, INNBOCKS_RATE_LIMIT: undefined, INNBOCKS_RATE_BURST: undefined },
    args: ['--listen', `127.0.0.1:${port}`, '--database', db, '--admin-token', token, '--rate-limit', '50', '--rate-burst', '9'],
  }));
  try {
    const tn = await other.tenant();
    const r = await tn.api.get('/customers');
    ok(r);
    assert.equal(r.headers.get('ratelimit-limit'), '9');
    assert.ok(existsSync(db), 'the database file named by --database must exist');
  } finally {
    await other.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('serve refuses a bad configuration with a non-zero exit and a message', async () => {
  const port = await freePort();
  const dir = await mkdtemp(path.join(tmpdir(), 'innbocks-conf-'));
  const db = path.join(dir, 'x.db');
  const good = `ib_admin_${randomBytes(20).toString('hex')}`;
  const listen = ['--listen', `127.0.0.1:${port}`];
  const cases = [
    ['an operator token shorter than 32 characters', [...listen, '--admin-token', 'ib_admin_short', '--database', db]],
    ['an operator token without the ib_admin_ prefix', [...listen, '--admin-token', `xx_admin_${randomBytes(20).toString('hex')}`, '--database', db]],
    ['a database in a directory that does not exist', [...listen, '--admin-token', good, '--database', path.join(dir, 'missing', 'x.db')]],
    ['a listen address without a port', ['--listen', 'nonsense', '--admin-token', good, '--database', db]],
    ['a rate limit that is not a number', [...listen, '--admin-token', good, '--database', db, '--rate-limit', 'abc']],
    ['a rate burst below 1 (but not 0, which turns limiting off)', [...listen, '--admin-token', good, '--database', db, '--rate-burst', '0.5']],
    // strtod reads these, and no comparison refused them: nan turned the limit off, or refused
    // every request with RateLimit headers of -9223372036854775808.
    ...[['--rate-limit', 'nan'], ['--rate-burst', 'nan'], ['--rate-limit', 'inf'], ['--rate-burst', 'infinity'],
      ['--signin-address-burst', 'nan'], ['--webhook-retry-schedule', '1,'], ['--listen', '127.0.0.1:0'],
      // A host name other than localhost was refused only when binding: exit 1, the setting unnamed.
      ['--listen', 'garbage:80'], ['--metrics-listen', 'metrics.example.com:9100']]
      .map(([flag, value]) => [`${flag} ${value}`, [...listen, '--admin-token', good, '--database', db, flag, value]]),
    ['a metrics listen address without a port', [...listen, '--admin-token', good, '--database', db, '--metrics-listen', 'nonsense']],
    ...['mail.example.com', 'ftp://mail.example.com', 'https://', 'https:///x', 'https://mail.example.com/?a=1',
      'https://mail.example.com/#x', 'https://mail example.com', 'https://mail.example.com/innbocks'].map((url) => [`a public URL ${url}`,
      [...listen, '--admin-token', good, '--database', db, '--public-url', url]]),
  ];
  try {
    for (const [what, args] of cases) {
      const r = await runCli(['serve', ...args], { timeout: 10000 });
      assert.notEqual(r.code, 0, `${what}: serve must not run`);
      if (/^--(metrics-)?listen /.test(what)) assert.equal(r.code, 2, `${what}: ${r.stderr}`);
      assert.ok(r.stderr.trim().length > 0, `${what}: serve must say why`);
    }
    // Every command reads the settings, and a bad one stops it too (exit 2), not only serve.
    for (const bad of [['--listen', 'nonsense'], ['--rate-burst', '0.5'], ['--metrics-listen', 'x']]) {
      const r = await runCli(['partner', 'list', '--database', db, ...bad], { timeout: 10000 });
      assert.equal(r.code, 2, `partner list ${bad.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /INNBOCKS_(LISTEN|RATE_BURST|METRICS_LISTEN)/);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a number with a space, a sign, hex or an exponent, an IPv6 listen address without brackets and an operator token with a space are refused, from a variable or a flag', async () => {
  // strtol and strtod took leading space, signs and hex: INNBOCKS_RATE_LIMIT=0x10 ran at 16/s,
  // and INNBOCKS_LISTEN=::1:46037 started setup links with http://::1:46037, not a URL.
  const dir = await mkdtemp(path.join(tmpdir(), 'innbocks-numbers-'));
  const db = path.join(dir, 'x.db');
  const numeric = [
    ['rate-limit', 'INNBOCKS_RATE_LIMIT', '5'], ['rate-burst', 'INNBOCKS_RATE_BURST', '5'],
    ['signin-address-burst', 'INNBOCKS_SIGNIN_ADDRESS_BURST', '5'],
    ['webhook-timeout-ms', 'INNBOCKS_WEBHOOK_TIMEOUT_MS', '100'],
    ['head-timeout-ms', 'INNBOCKS_HEAD_TIMEOUT_MS', '100'], ['body-timeout-ms', 'INNBOCKS_BODY_TIMEOUT_MS', '100'],
    ['webhook-retry-schedule', 'INNBOCKS_WEBHOOK_RETRY_SCHEDULE', '5'],
  ];
  const bad = [
    ...numeric.flatMap(([flag, env, v]) => [` ${v}`, `+${v}`, `${v} `, '0x10', `${v}e0`, '-0', `${v}.`, `.${v}`]
      .map((value) => [flag, env, value])),
    ['rate-limit', 'INNBOCKS_RATE_LIMIT', '1e2'],
    ...['1, 2', '1 ,2', '+1,-0', '1,0x2', '1,,2'].map((value) => ['webhook-retry-schedule', 'INNBOCKS_WEBHOOK_RETRY_SCHEDULE', value]),
    ...['webhook-timeout-ms', 'head-timeout-ms', 'body-timeout-ms'].map((flag) => [flag, `INNBOCKS_${flag.replaceAll('-', '_').toUpperCase()}`, '100.5']),
    ...[['listen', 'INNBOCKS_LISTEN'], ['metrics-listen', 'INNBOCKS_METRICS_LISTEN']].flatMap(([flag, env]) =>
      ['::1:46037', '127.0.0.1: 80', '127.0.0.1:+80', '127.0.0.1:0x50', '127.0.0.1:80 ', '[127.0.0.1]:80', '[localhost]:80']
        .map((value) => [flag, env, value])),
    ['admin-token', 'INNBOCKS_ADMIN_TOKEN', `ib_admin_${randomBytes(16).toString('hex')} x`],
    ['admin-token', 'INNBOCKS_ADMIN_TOKEN', `ib_admin_${randomBytes(16).toString('hex')}\tx`],
  ];
  // The same rule lets these through, so a refusal above is the value's form, not the setting.
  const good = [
    ['rate-limit', 'INNBOCKS_RATE_LIMIT', '0.2'], ['rate-burst', 'INNBOCKS_RATE_BURST', '1.5'],
    ['signin-address-burst', 'INNBOCKS_SIGNIN_ADDRESS_BURST', '007'],
    ['webhook-timeout-ms', 'INNBOCKS_WEBHOOK_TIMEOUT_MS', '100'],
    ['webhook-retry-schedule', 'INNBOCKS_WEBHOOK_RETRY_SCHEDULE', '0,1,2'],
    ['listen', 'INNBOCKS_LISTEN', '[::1]:46037'], ['metrics-listen', 'INNBOCKS_METRICS_LISTEN', 'localhost:46038'],
    ['admin-token', 'INNBOCKS_ADMIN_TOKEN', `ib_admin_${randomBytes(16).toString('base64url')}.~+/=`],
  ];
  const run = (args, env) => runCli(['partner', 'list', '--database', db, ...args], { timeout: 10000, env });
  try {
    assert.equal((await runCli(['migrate', '--database', db])).code, 0);
    for (const [flag, env, value] of good) {
      for (const r of [await run([], { [env]: value }), await run([`--${flag}`, value])])
        assert.equal(r.code, 0, `${env}=${JSON.stringify(value)} must be taken: ${r.stderr}`);
    }
    for (const [flag, env, value] of bad) {
      const fromEnv = await run([], { [env]: value });
      const fromFlag = await run([`--${flag}`, value]);
      for (const [how, r] of [[`${env}=${JSON.stringify(value)}`, fromEnv], [`--${flag} ${JSON.stringify(value)}`, fromFlag]]) {
        assert.equal(r.code, 2, `${how} must be refused with exit 2: ${r.stderr}`);
        assert.ok(r.stderr.includes(env), `${how}: the message must name ${env}: ${r.stderr}`);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a bad setting says what it must be, and never repeats a text setting\'s value, which may be a secret', async () => {
  const token = `ib_admin_${'s'.repeat(300)}`;
  const long = await runCli(['serve', '--admin-token', token]);
  assert.equal(long.code, 2, long.stderr);
  assert.match(long.stderr, /INNBOCKS_ADMIN_TOKEN \/ --admin-token is longer than 255 characters/);
  assert.ok(!long.stderr.includes('ssssssss'), `the token is not printed: ${long.stderr}`);
  for (const [flag, value, rule] of [['--log', 'xml', 'must be json, text or off'], ['--webhook-allow-loopback', '2', 'must be 0 or 1'],
    ['--head-timeout-ms', '0', 'must be a whole number of milliseconds from 1 to 86400000'],
    ['--webhook-retry-schedule', '1,,2', 'must be 1 to 16 delays in seconds']]) {
    const r = await runCli(['serve', flag, value]);
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stderr.includes(`${flag} ${rule}`) && r.stderr.includes(`not '${value}'`), `${flag} ${value}: ${r.stderr}`);
  }
});

test('flags win over the environment', async () => {
  // The environment's port is held closed by this test: nothing else can open it before the
  // check below, and a server that listened there would not start.
  const { port: envPort, release } = await closedPort();
  const dir = await mkdtemp(path.join(tmpdir(), 'innbocks-flags-'));
  const envDb = path.join(dir, 'from-env.db');
  const flagDb = path.join(dir, 'from-flag.db');
  const envToken = `ib_admin_env_${randomBytes(20).toString('hex')}`;
  const flagToken = `ib_admin_flag_${randomBytes(20).toString('hex')}`;
  const other = await onFreePort((flagPort) => startServer({
    port: flagPort,
    adminToken: flagToken,
    env: {
      INNBOCKS_LISTEN: `127.0.0.1:${envPort}`, INNBOCKS_DATABASE: envDb, INNBOCKS_ADMIN_TOKEN: envToken,
      INNBOCKS_RATE_LIMIT: '1', INNBOCKS_RATE_BURST: '7',
      // Not read at all, since the flag is given: this stopped the server before.
      INNBOCKS_WEBHOOK_TIMEOUT_MS: 'abc',
    },
    args: ['--listen', `127.0.0.1:${flagPort}`, '--database', flagDb, '--admin-token', flagToken,
      '--rate-limit', '100000', '--rate-burst', '5', '--webhook-timeout-ms', '5000'],
  }));
  try {
    await assert.rejects(fetch(`http://127.0.0.1:${envPort}/healthz`), 'nothing may listen on the INNBOCKS_LISTEN port');
    const tn = await other.tenant(); // works with the flag's admin token
    assertError(await other.admin(envToken).get('/partners'), 401, 'unauthenticated');
    const r = await tn.api.get('/customers');
    ok(r);
    assert.equal(r.headers.get('ratelimit-limit'), '5');
    // The flag's rate (100000/s) applies, not the environment's 1/s: 10 quick requests all pass.
    for (let i = 0; i < 9; i++) ok(await tn.api.get('/customers'));
    assert.ok(existsSync(flagDb), '--database must be used');
    assert.ok(!existsSync(envDb), 'INNBOCKS_DATABASE must be ignored when --database is given');
  } finally {
    await other.stop();
    release();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a key created with every scope can use the server right away', async () => {
  // Sanity check of the fixture every other file relies on.
  const key = await srv.createKey(t.partner.id, ALL_SCOPES, uniq('k'));
  ok(await srv.api(key.secret).get('/customers'));
});
