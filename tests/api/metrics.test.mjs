// GET /metrics (docs/operators.md, "Logs, metrics and backups"): Prometheus' text format with the operator token, or without one on
// the INNBOCKS_METRICS_LISTEN address (which serves nothing else). The numbers are checked
// against known traffic, as the difference between two scrapes: requests by route template,
// method and status, the latency histogram, rate-limited requests, idempotent replays,
// group-commit batches, webhook attempts by result, the queue depth and the age of its oldest due
// delivery, the database's size, the process's memory and descriptors. `promtool check metrics`
// (Debian's prometheus package, installed by scripts/deps.sh) must accept the output.
// Each process counts for itself: with several instances on PostgreSQL the test scrapes each and
// adds their counters up, as Prometheus' sum() does; gauges of the database are the same on all.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import {
  startServer, onFreePort, closedPort, createCustomer, customerBody, uniq, sleep, assertError, ON_PG,
} from './lib.mjs';
import { Receiver, WEBHOOK_ENV } from './webhook_lib.mjs';

let srv;
before(async () => {
  // One token every 5 s: the 429s below come however slow the machine.
  srv = await startServer({ rateLimit: 0.2, rateBurst: 5, env: WEBHOOK_ENV });
});
after(() => srv?.stop());

/** Parses the text format into {samples: Map(series -> value), types: Map(name -> type)}. */
function parse(text) {
  const samples = new Map();
  const types = new Map();
  for (const line of text.split('\n')) {
    if (!line) continue;
    const type = line.match(/^# TYPE (\S+) (\S+)$/);
    if (type) { types.set(type[1], type[2]); continue; }
    if (line.startsWith('#')) continue;
    // Label values hold route templates ("{id}"), never spaces: the value follows the last one.
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{.*\})?) (\S+)$/);
    assert.ok(m, `not a sample line: ${line}`);
    assert.ok(!samples.has(m[1]), `series twice: ${m[1]}`);
    samples.set(m[1], Number(m[2]));
  }
  return { samples, types };
}

/** A counter or a histogram's part: what adds up over processes. */
const additive = (series) => /^[a-z_:]+(_total|_count|_sum|_bucket)(\{|$)/.test(series);

/**
 * Scrapes every process of the server (srv unless given): {text (the first one's), texts, samples, types}, where a
 * counter's sample is the sum over the processes and any other the first process's.
 */
async function scrape(server = srv) {
  const texts = [];
  for (let k = 0; k < server.instances.length; k++) {
    const r = await server.only(k).raw(server.adminToken).get('/metrics');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    texts.push(r.text);
  }
  const [first, ...others] = texts.map(parse);
  for (const o of others) {
    for (const [series, v] of o.samples) if (additive(series)) first.samples.set(series, (first.samples.get(series) ?? 0) + v);
  }
  return { text: texts[0], texts, ...first };
}

/** The value of a series (0 when absent). */
const val = (s, series) => s.samples.get(series) ?? 0;
const req = (route, method, status) => `innbocks_http_requests_total{route="${route}",method="${method}",status="${status}"}`;
const hist = (route, method, part, le) => `innbocks_http_request_duration_seconds_${part}{route="${route}",method="${method}"${le ? `,le="${le}"` : ''}}`;

test('/metrics needs the operator token; partner keys and wrong tokens get 401', async () => {
  const t = await srv.tenant();
  assertError(await srv.raw().get('/metrics'), 401, 'unauthenticated');
  assertError(await srv.raw(t.key.secret).get('/metrics'), 401, 'unauthenticated');
  assertError(await srv.raw(`ib_admin_${'x'.repeat(40)}`).get('/metrics'), 401, 'unauthenticated');
  const r = await srv.raw(srv.adminToken).get('/metrics');
  assert.equal(r.status, 200);
  assert.match(r.text, /^# HELP innbocks_http_requests_total /m);
});

test('requests by route, method and status, the latency histogram, 429s and replays add up', async () => {
  const t = await srv.tenant();
  const cust = await createCustomer(t.api);
  const before = await scrape();

  for (let i = 0; i < 3; i++) assert.equal((await t.api.get(`/customers/${cust.id}`)).status, 200);
  const idem = uniq('k');
  const body = customerBody();
  // The burst is 5 and the create above took one: 3 reads + this create = 5, then the bucket is empty.
  const first = await t.api.post('/customers', body, { idem });
  assert.equal(first.status, 201);
  let limited = 0;
  for (let i = 0; i < 3; i++) if ((await t.api.get(`/customers/${cust.id}`)).status === 429) limited++;
  assert.ok(limited >= 2, `expected 429s, got ${limited}`);
  // Replays are answered by another key of the partner (its own bucket): idempotency is per partner.
  const other = await srv.createKey(t.partner.id);
  const replay = await srv.api(other.secret).post('/customers', body, { idem });
  assert.equal(replay.headers.get('idempotent-replayed'), 'true');
  assert.equal((await srv.api(other.secret).get('/nope')).status, 404);

  const after = await scrape();
  const d = (series) => val(after, series) - val(before, series);
  const route = '/api/v1/customers/{id}';
  assert.equal(d(req(route, 'GET', 200)), 3 + (3 - limited));
  assert.equal(d(req(route, 'GET', 429)), limited);
  assert.equal(d(req('/api/v1/customers', 'POST', 201)), 2);
  assert.equal(d(req('unmatched', 'GET', 404)), 1);
  assert.equal(d('innbocks_rate_limited_requests_total'), limited);
  assert.equal(d('innbocks_idempotent_replays_total'), 1);
  assert.equal(d(req('/metrics', 'GET', 200)), srv.instances.length, 'the scrape before counts once (per process)');

  // The histogram: count is every request of the route, +Inf equals it, buckets only grow.
  assert.equal(d(hist(route, 'GET', 'count')), 6);
  assert.equal(val(after, hist(route, 'GET', 'bucket', '+Inf')), val(after, hist(route, 'GET', 'count')));
  const bucket = `${hist(route, 'GET', 'bucket').slice(0, -1)},le=`;
  const les = [...after.samples].filter(([series]) => series.startsWith(bucket));
  assert.equal(les.length, 15);
  for (let i = 1; i < les.length; i++) assert.ok(les[i][1] >= les[i - 1][1], 'cumulative buckets');
  const sum = d(hist(route, 'GET', 'sum'));
  assert.ok(sum > 0 && sum < 60, `latency sum ${sum}`);
  assert.equal(after.types.get('innbocks_http_request_duration_seconds'), 'histogram');
  assert.equal(after.types.get('innbocks_http_requests_total'), 'counter');
});

test('group-commit batches, webhook attempts by result, queue depth and the oldest due delivery', async () => {
  const t = await srv.tenant();
  const good = await new Receiver([200]).start();
  const bad = await new Receiver([500]).start();
  try {
    const before = await scrape();
    const eGood = await srv.admin().post(`/partners/${t.partner.id}/webhook-endpoints`, { url: good.url });
    const eBad = await srv.admin().post(`/partners/${t.partner.id}/webhook-endpoints`, { url: bad.url });
    assert.equal(eGood.status, 201);
    assert.equal(eBad.status, 201);
    await createCustomer(t.api); // customer.created to both endpoints
    await good.waitFor(1);
    await bad.waitFor(2); // a 500, then its retry a second later: both counted
    // Disabled, the endpoint's job waits without further attempts, so the counts below hold
    // still. (Events after the disabling make no job for it.)
    assert.equal((await srv.admin().patch(`/webhook-endpoints/${eBad.body.id}`, { enabled: false })).status, 200);
    await createCustomer(t.api);
    await good.waitFor(2);
    await sleep(3200);

    // A delivery is counted once its answer is in: poll until the counts catch up.
    let after;
    const d = (series) => val(after, series) - val(before, series);
    const deadline = Date.now() + 10000;
    do {
      after = await scrape();
      if (d('innbocks_webhook_attempts_total{result="success"}') === good.deliveries.length
        && d('innbocks_webhook_attempts_total{result="http_error"}') === bad.deliveries.length) break;
      await sleep(100);
    } while (Date.now() < deadline);
    assert.equal(d('innbocks_webhook_attempts_total{result="success"}'), good.deliveries.length);
    assert.equal(d('innbocks_webhook_attempts_total{result="http_error"}'), bad.deliveries.length);
    assert.ok(bad.deliveries.length >= 2);
    assert.equal(d('innbocks_webhook_attempts_total{result="timeout"}'), 0);
    // The queue gauges, with the job the disabled endpoint left, are the next test's.

    // Every write request went through the writer, on both backends: the batches add up to
    // them. (The webhook worker records its attempts in transactions of its own.)
    const writes = 2 + 1 + 2; // 2 endpoints, a patch, 2 customers
    assert.ok(d('innbocks_group_commit_batch_size_count') >= 1);
    assert.ok(d('innbocks_group_commit_batch_size_count') <= writes);
    assert.equal(d('innbocks_group_commit_batch_size_sum'), writes);
    assert.equal(val(after, 'innbocks_group_commit_batch_size_bucket{le="+Inf"}'), val(after, 'innbocks_group_commit_batch_size_count'));
    assert.equal(after.types.get('innbocks_group_commit_batch_size'), 'histogram');
  } finally {
    good.close();
    bad.close();
  }
});

test('the queue depth and the oldest due age count deliveries that are behind, not those paused by a disabled endpoint', async () => {
  // A server of its own: the gauges are the whole queue's. Attempts may take 30 s, so a
  // delivery to a receiver that never answers stays due and in flight while the test looks.
  const { port: closed, release } = await closedPort();
  const hung = await new Receiver(['hang']).start();
  const q = await startServer({ env: { ...WEBHOOK_ENV, INNBOCKS_WEBHOOK_TIMEOUT_MS: '30000' } });
  try {
    const t = await q.tenant();
    const off = await q.admin().post(`/partners/${t.partner.id}/webhook-endpoints`, { url: `http://127.0.0.1:${closed}/hooks` });
    assert.equal(off.status, 201);
    await createCustomer(t.api);
    // Its first attempt is refused; the retry comes a second later, unless the endpoint is disabled.
    const deadline = Date.now() + 10000;
    while (val(await scrape(q), 'innbocks_webhook_attempts_total{result="connection_refused"}') < 1) {
      assert.ok(Date.now() < deadline, 'no attempt to the closed port within 10 s');
      await sleep(100);
    }
    assert.equal((await q.admin().patch(`/webhook-endpoints/${off.body.id}`, { enabled: false })).status, 200);
    await sleep(3200); // its retry is long due, and paused
    let m = await scrape(q);
    assert.equal(val(m, 'innbocks_webhook_queue_depth'), 0, `a paused delivery is not behind:\n${m.text}`);
    assert.equal(val(m, 'innbocks_webhook_oldest_due_age_seconds'), 0, m.text);

    // A delivery to an enabled endpoint that has not got through is counted, and ages.
    const on = await q.admin().post(`/partners/${t.partner.id}/webhook-endpoints`, { url: hung.url });
    assert.equal(on.status, 201);
    await createCustomer(t.api); // makes no job for the disabled endpoint
    await hung.waitFor(1);
    await sleep(2200);
    m = await scrape(q);
    assert.equal(val(m, 'innbocks_webhook_queue_depth'), 1, `only the delivery in flight:\n${m.text}`);
    const age = val(m, 'innbocks_webhook_oldest_due_age_seconds');
    assert.ok(age >= 2 && age < 30, m.text);
  } finally {
    await hung.close(); // ends the attempt in flight, which a stop would wait for
    await q.stop();
    release();
  }
});

test('database size, memory and descriptors; promtool check metrics accepts the output', async () => {
  const s = await scrape();
  const size = val(s, 'innbocks_database_size_bytes');
  const onDisk = ON_PG ? Number(srv.sql('SELECT pg_database_size(current_database())')) : statSync(srv.dbPath).size;
  assert.ok(size > 0 && Math.abs(size - onDisk) < 1 << 20, `${size} reported, ${onDisk} on disk`);
  // SQLite's write-ahead log is the database's; PostgreSQL keeps none per database, and a constant
  // 0 there read as healthy in the WAL alert.
  if (ON_PG) assert.equal(s.samples.has('innbocks_database_wal_size_bytes'), false);
  else assert.ok(s.samples.get('innbocks_database_wal_size_bytes') >= 0);
  assert.ok(val(s, 'process_resident_memory_bytes') > 1 << 20);
  const fds = val(s, 'process_open_fds');
  assert.ok(fds > 3 && fds < 10000, `${fds}`);
  assert.ok(val(s, 'process_cpu_seconds_total') > 0);
  for (const text of s.texts) {
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(check.error, undefined, 'promtool is needed (scripts/deps.sh installs Debian\'s prometheus)');
    assert.equal(check.status, 0, `promtool check metrics:\n${check.stdout}${check.stderr}`);
  }
});

test('INNBOCKS_METRICS_LISTEN: /metrics without a token there, nothing else; the API port still asks for it', async () => {
  // One process: the metrics address is a port of its own.
  const [port, m] = await onFreePort(async (p) =>
    [p, await startServer({ instances: 1, env: { INNBOCKS_METRICS_LISTEN: `127.0.0.1:${p}` } })]);
  try {
    await m.raw().get('/healthz');
    const r = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(r.status, 200);
    const text = await r.text();
    assert.match(text, /innbocks_http_requests_total\{route="\/healthz",method="GET",status="200"\} [1-9]/);
    for (const p of ['/healthz', '/admin/v1/partners', '/api/v1/customers', '/metrics/x']) {
      const other = await fetch(`http://127.0.0.1:${port}${p}`, { headers: { authorization: `Bearer ${m.adminToken}` } });
      assert.equal(other.status, 404, p);
      assert.equal(other.headers.get('cache-control'), 'no-store', `${p}: a refusal is never cached`);
      assert.match(other.headers.get('x-request-id') ?? '', /^req_/, p);
      assert.equal((await other.json()).error.code, 'route_not_found');
    }
    assertError(await m.raw().get('/metrics'), 401, 'unauthenticated');
  } finally { await m.stop(); }
  const bad = await startServer({ env: { INNBOCKS_METRICS_LISTEN: 'nonsense' } }).catch((e) => e);
  assert.ok(bad instanceof Error, 'a bad INNBOCKS_METRICS_LISTEN stops the server');
});

test('INNBOCKS_METRICS=0 (the benchmark baseline) answers the gauges only: no counter stuck at 0 that reads as "none happened"', async () => {
  const off = await startServer({ env: { INNBOCKS_METRICS: '0' } });
  try {
    await off.raw().get('/healthz');
    await createCustomer((await off.tenant()).api, customerBody()); // a write: a group-commit batch
    const r = await off.raw(off.adminToken).get('/metrics');
    assert.equal(r.status, 200);
    const { samples, types } = parse(r.text);
    // Every series of ours that is left is a gauge; the counters and histograms are gone,
    // HELP and TYPE lines included (they said 0 rate-limited requests, 0 webhook failures).
    for (const [name, type] of types) {
      if (name.startsWith('innbocks_')) assert.equal(type, 'gauge', `${name} is a ${type} though nothing counts`);
    }
    for (const name of ['innbocks_http_requests_total', 'innbocks_http_request_duration_seconds',
      'innbocks_rate_limited_requests_total', 'innbocks_idempotent_replays_total',
      'innbocks_group_commit_batch_size', 'innbocks_webhook_attempts_total']) {
      assert.doesNotMatch(r.text, new RegExp(`^(# (HELP|TYPE) )?${name}`, 'm'), `${name} must not be exported`);
    }
    for (const name of ['innbocks_webhook_queue_depth', 'innbocks_webhook_oldest_due_age_seconds',
      'innbocks_database_size_bytes', 'process_resident_memory_bytes']) {
      assert.ok(samples.has(name), `the gauge ${name} must still be exported`);
    }
    assert.ok(samples.get('innbocks_database_size_bytes') > 0);
  } finally { await off.stop(); }
});
