// The access log (docs/operators.md, "Logs, metrics and backups"): the server writes one line per request on stdout, JSON by
// default (INNBOCKS_LOG / --log: json, text or off); the command line writes one per operator
// action on stderr, after its answer. Lines are parsed and checked field by field against the
// requests that made them (found by X-Request-Id), and no secret of the test (keys, operator
// token, webhook secrets) nor any body appears in the log.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, runCli, customerBody, uniq, sleep, ALL_SCOPES,
} from './lib.mjs';
import { dashUser } from './dashboard_lib.mjs';

const FIELDS = ['time', 'source', 'request_id', 'method', 'route', 'status', 'duration_us',
  'partner_id', 'livemode', 'key_prefix', 'bytes_out', 'replayed'];

let srv;
before(async () => { srv = await startServer({ logTail: 50_000_000 }); });
after(() => srv?.stop());

/** The parsed JSON lines of the server's log; waits until `want` request ids are in it. */
async function logLines(want = []) {
  const deadline = Date.now() + 5000;
  for (;;) {
    const lines = srv.stdout.split('\n').filter(Boolean).map((l) => {
      try { return JSON.parse(l); } catch { assert.fail(`not a JSON line: ${l}`); }
    });
    const ids = new Set(lines.map((l) => l.request_id));
    if (want.every((id) => ids.has(id)) || Date.now() > deadline) return lines;
    await sleep(20);
  }
}

/** The log line of a response (by its X-Request-Id). */
async function lineOf(res) {
  const id = res.headers.get('x-request-id');
  const line = (await logLines([id])).find((l) => l.request_id === id);
  assert.ok(line, `no log line for ${res.method} ${res.path} (${id})`);
  return line;
}

test('one JSON line per request, with the route template, the partner, its mode and the key prefix', async () => {
  const live = await srv.tenant();
  const testKey = await srv.createKey(live.partner.id, ALL_SCOPES, 'test key', 'test');
  const testApi = srv.api(testKey.secret);

  const created = await live.api.post('/customers', customerBody(), { idem: uniq('k') });
  assert.equal(created.status, 201);
  const l1 = await lineOf(created);
  assert.deepEqual(Object.keys(l1), FIELDS);
  assert.equal(l1.source, 'http');
  assert.equal(l1.method, 'POST');
  assert.equal(l1.route, '/api/v1/customers');
  assert.equal(l1.status, 201);
  assert.equal(l1.partner_id, live.partner.id);
  assert.equal(l1.livemode, true);
  assert.equal(l1.key_prefix, live.key.prefix);
  assert.ok(live.key.secret.startsWith(l1.key_prefix) && l1.key_prefix.length < live.key.secret.length);
  assert.equal(l1.bytes_out, created.bytes.length);
  assert.equal(l1.replayed, false);
  assert.ok(Number.isInteger(l1.duration_us) && l1.duration_us > 0 && l1.duration_us < 30e6, `${l1.duration_us}`);
  assert.match(l1.time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  assert.ok(Math.abs(Date.parse(l1.time) - Date.now()) < 60000, l1.time);

  const got = await live.api.get(`/customers/${created.body.id}`);
  const l2 = await lineOf(got);
  assert.equal(l2.route, '/api/v1/customers/{id}');
  assert.equal(l2.method, 'GET');
  assert.equal(l2.status, 200);
  assert.ok(!JSON.stringify(l2).includes(created.body.id), 'the route is the template, not the path');

  // A test key: the partner's own id (not its shadow tenant's), livemode false.
  const t = await testApi.post('/customers', customerBody());
  const l3 = await lineOf(t);
  assert.equal(l3.partner_id, live.partner.id);
  assert.equal(l3.livemode, false);
  assert.equal(l3.key_prefix, testKey.prefix);
  assert.ok(l3.key_prefix.startsWith('ib_test_'));
});

test('replays, refusals, unmatched routes and operator calls are logged too', async () => {
  const live = await srv.tenant();
  const key = uniq('k');
  const body = customerBody();
  await live.api.post('/customers', body, { idem: key });
  const replay = await live.api.post('/customers', body, { idem: key });
  assert.equal(replay.headers.get('idempotent-replayed'), 'true');
  const lr = await lineOf(replay);
  assert.equal(lr.replayed, true);
  assert.equal(lr.status, 201);

  const unmatched = await live.api.get(`/no-such-route/${uniq('x')}`);
  const lu = await lineOf(unmatched);
  assert.equal(lu.route, 'unmatched');
  assert.equal(lu.status, 404);
  assert.ok(!JSON.stringify(lu).includes('no-such-route'), 'an unmatched path is not logged');

  const refused = await srv.api(`ib_live_${'x'.repeat(32)}`).get('/customers');
  const lf = await lineOf(refused);
  assert.equal(lf.status, 401);
  assert.equal(lf.partner_id, null);
  assert.equal(lf.livemode, null);
  assert.equal(lf.key_prefix, null);

  const op = await srv.admin().get(`/partners/${live.partner.id}`);
  const lo = await lineOf(op);
  assert.equal(lo.route, '/admin/v1/partners/{id}');
  assert.equal(lo.status, 200);
  assert.equal(lo.partner_id, null);

  const health = await srv.raw().get('/healthz');
  assert.equal((await lineOf(health)).route, '/healthz');
});

test('a dashboard request is logged with the user\'s partner and the page\'s mode, and no key prefix', async () => {
  const { partner, dash } = await dashUser(srv, 'developer');
  for (const mode of ['live', 'test']) {
    dash.mode = mode;
    const r = await dash.get('/customers');
    assert.equal(r.status, 200, r.text);
    const l = await lineOf({ ...r, method: 'GET', path: '/dashboard/api/customers' });
    assert.equal(l.route, '/dashboard/api/customers');
    assert.equal(l.partner_id, partner.id);
    assert.equal(l.livemode, mode === 'live');
    assert.equal(l.key_prefix, null);
  }
});

test('no key, token, webhook secret or body ever appears in the log', async () => {
  const live = await srv.tenant();
  const testKey = await srv.createKey(live.partner.id, ALL_SCOPES, 'test key', 'test');
  const endpoint = await srv.admin().post(`/partners/${live.partner.id}/webhook-endpoints`, { url: 'https://example.com/hooks' });
  assert.equal(endpoint.status, 201);
  const rotated = await srv.admin().post(`/webhook-endpoints/${endpoint.body.id}/rotate-secret`);
  assert.equal(rotated.status, 200);
  const marker = uniq('secretbody');
  const bodies = [
    customerBody({ name: `Name ${marker}`, metadata: { note: marker } }),
    { email: `${marker}@example.com`, name: 'x', password: marker },
  ];
  const ids = [];
  for (const b of bodies) {
    ids.push((await live.api.post('/customers', b)).headers.get('x-request-id'));
    ids.push((await srv.api(testKey.secret).post('/customers', b)).headers.get('x-request-id'));
  }
  ids.push((await srv.api(live.key.secret).get(`/customers?email=${marker}%40example.com`)).headers.get('x-request-id'));
  // A key and a token sent where they do not belong, and one in a path.
  ids.push((await srv.api(srv.adminToken).get('/customers')).headers.get('x-request-id'));
  ids.push((await srv.admin(live.key.secret).get('/partners')).headers.get('x-request-id'));
  ids.push((await live.api.get(`/customers/${live.key.secret}`)).headers.get('x-request-id'));
  await logLines(ids);
  const all = srv.stdout + srv.stderr;
  const secrets = {
    'live key': live.key.secret,
    'test key': testKey.secret,
    'operator token': srv.adminToken,
    'webhook secret': endpoint.body.secret,
    'rotated webhook secret': rotated.body.secret,
    'a body value': marker,
  };
  for (const [what, s] of Object.entries(secrets)) {
    assert.ok(s && s.length > 8, what);
    assert.ok(!all.includes(s), `the ${what} appears in the log`);
  }
  assert.ok(!/whsec_|ib_admin_/.test(all), 'no webhook secret or operator token of any kind');
  assert.ok(!/"secret"|"password"|"email"|"name"/.test(srv.stdout), 'no body field names');
});

test('INNBOCKS_LOG=text writes logfmt lines; --log off writes nothing; a bad value stops the server', async () => {
  const text = await startServer({ env: { INNBOCKS_LOG: 'text' } });
  try {
    const r = await text.raw().get('/healthz');
    const id = r.headers.get('x-request-id');
    const deadline = Date.now() + 5000;
    while (!text.stdout.includes(id) && Date.now() < deadline) await sleep(20);
    const line = text.stdout.split('\n').find((l) => l.includes(id));
    assert.match(line, new RegExp(`^time=\\S+Z source=http request_id=${id} method=GET route=/healthz `
      + 'status=200 duration_us=\\d+ bytes_out=\\d+ replayed=false$'));
  } finally { await text.stop(); }

  const off = await startServer({ env: { INNBOCKS_LOG: 'text' }, args: ['--log', 'off'] });
  try {
    await off.raw().get('/healthz');
    await off.admin().get('/partners');
    await sleep(200);
    assert.equal(off.stdout, '');
  } finally { await off.stop(); }

  const bad = await runCli(['serve', '--log', 'xml']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /INNBOCKS_LOG/);
});

test('operator command-line actions are logged on stderr, after the answer, without the secrets', async () => {
  const env = { INNBOCKS_DATABASE: srv.dbPath, INNBOCKS_LOG: 'json' };
  const live = await srv.tenant();
  const r = await runCli(['key', 'create', '--partner', live.partner.id, '--scopes', 'customers:read'], { env });
  assert.equal(r.code, 0, r.stderr);
  const created = JSON.parse(r.stdout);
  const line = JSON.parse(r.stderr.trim().split('\n').at(-1));
  assert.deepEqual(Object.keys(line), ['time', 'source', 'command', ...FIELDS.slice(2), 'exit_code']);
  assert.equal(line.source, 'cli');
  assert.equal(line.command, 'key create');
  assert.equal(line.method, 'POST');
  assert.equal(line.route, '/admin/v1/partners/{id}/keys');
  assert.equal(line.status, 201);
  assert.equal(line.exit_code, 0);
  assert.ok(!r.stderr.includes(created.secret), 'the new key is not in the log');

  const refused = await runCli(['key', 'revoke', 'key_doesnotexist0000000000'], { env });
  assert.equal(refused.code, 1);
  const rl = JSON.parse(refused.stderr.trim().split('\n').at(-1));
  assert.equal(rl.status, 404);
  assert.equal(rl.exit_code, 1);
  assert.equal(rl.route, '/admin/v1/keys/{id}/revoke');

  const tok = await runCli(['admin-token', 'create'], { env });
  assert.equal(tok.code, 0, tok.stderr);
  const token = tok.stdout.trim();
  assert.match(token, /^ib_admin_/);
  const tl = JSON.parse(tok.stderr.trim().split('\n').at(-1));
  assert.equal(tl.command, 'admin-token create');
  assert.equal(tl.route, null);
  assert.equal(tl.exit_code, 0);
  assert.ok(!tok.stderr.includes(token), 'the new operator token is not in the log');

  const quiet = await runCli(['partner', 'list'], { env: { ...env, INNBOCKS_LOG: 'off' } });
  assert.equal(quiet.code, 0);
  assert.equal(quiet.stderr, '');
});

/** Stops s with signal (asserting exit 0) and returns the request ids of every line it logged. */
async function loggedThroughStop(s, signal) {
  const out = s.proc.stdout;
  const ended = out.readableEnded ? null : new Promise((resolve) => out.on('end', resolve));
  await s.stop({ signal });
  await ended;
  return new Set(s.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l).request_id));
}

test('lines are written in batches: an idle server writes its last line out soon, a clean stop writes every line', async () => {
  const s = await startServer();
  try {
    const r = await fetch(`${s.url}/healthz`);
    await r.text();
    const id = r.headers.get('x-request-id');
    const deadline = Date.now() + 2000;
    while (!s.stdout.includes(id) && Date.now() < deadline) await sleep(20);
    assert.ok(s.stdout.includes(id), 'the line of the only request is out within 2 s');

    const ids = [];
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let i = 0; i < 50; i++) {
        const res = await fetch(`${s.url}/healthz`);
        await res.text();
        ids.push(res.headers.get('x-request-id'));
      }
    }));
    const logged = await loggedThroughStop(s, 'SIGTERM');
    const missing = ids.filter((x) => !logged.has(x));
    assert.deepEqual(missing, [], 'every request answered before SIGTERM is in the log');
  } finally {
    await s.stop();
  }
});

// SIGHUP (the terminal closed, or a reload asked of a server that reads its settings only at
// start) used to kill it at once, losing the lines not yet written.
test('SIGHUP stops the server as SIGTERM does, exit 0 and every line written', async () => {
  const s = await startServer();
  try {
    const ids = [];
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${s.url}/healthz`);
      await res.text();
      ids.push(res.headers.get('x-request-id'));
    }
    const logged = await loggedThroughStop(s, 'SIGHUP');
    assert.deepEqual(ids.filter((x) => !logged.has(x)), []);
  } finally {
    await s.stop();
  }
});
