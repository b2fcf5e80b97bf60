// Covers per-key rate limiting (docs/api.md#rate-limits, docs/operators.md#settings): with INNBOCKS_RATE_LIMIT=0.2 and
// INNBOCKS_RATE_BURST=3 the RateLimit-* headers count down from the burst, the request past the
// burst is 429 rate_limited with Retry-After, keys are limited independently, tokens come back
// over time, unauthenticated requests and /healthz are not limited; the default of 100/s with
// bursts of 200 when nothing is configured; and 0 (rate or burst) turning limiting off.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, assertError, ok, sleep,
} from './lib.mjs';

let srv;
let t;

// One token every 5 s: a few requests one after another never see one come back, however
// slow the machine.
const RATE = 0.2;

before(async () => {
  srv = await startServer({ rateLimit: RATE, rateBurst: 3 });
  t = await srv.tenant(['customers:read']);
});
after(() => srv?.stop());

const intHeader = (r, name) => {
  const v = r.headers.get(name);
  assert.match(v ?? '', /^\d+$/, `${name} must be a non-negative integer, got ${v}`);
  return Number(v);
};

test('the burst is spent request by request, then 429 rate_limited with Retry-After', async () => {
  const api = srv.api((await srv.createKey(t.partner.id, ['customers:read'])).secret);
  const remaining = [];
  for (let i = 0; i < 3; i++) {
    const r = await api.get('/customers');
    ok(r);
    assert.equal(intHeader(r, 'ratelimit-limit'), 3);
    remaining.push(intHeader(r, 'ratelimit-remaining'));
    intHeader(r, 'ratelimit-reset');
  }
  assert.deepEqual(remaining, [2, 1, 0]);
  const limited = await api.get('/customers');
  assertError(limited, 429, 'rate_limited');
  const retry = intHeader(limited, 'retry-after');
  assert.ok(retry >= 1, `Retry-After ${retry} must be at least 1 s`);
  assert.equal(intHeader(limited, 'ratelimit-limit'), 3);
  assert.equal(intHeader(limited, 'ratelimit-remaining'), 0);
  assert.ok(intHeader(limited, 'ratelimit-reset') >= 1);
});

test('every kind of request spends from the same bucket, errors included', async () => {
  const api = srv.api((await srv.createKey(t.partner.id, ['customers:read'])).secret);
  ok(await api.get('/customers'));
  assertError(await api.get('/customers/cus_doesnotexist00000000'), 404, 'not_found');
  assertError(await api.get('/customers?limit=0'), 400, 'invalid_request', 'limit');
  assertError(await api.get('/customers'), 429, 'rate_limited');
});

test('each key has its own bucket', async () => {
  const k1 = srv.api((await srv.createKey(t.partner.id, ['customers:read'])).secret);
  const k2 = srv.api((await srv.createKey(t.partner.id, ['customers:read'])).secret);
  for (let i = 0; i < 3; i++) ok(await k1.get('/customers'));
  assertError(await k1.get('/customers'), 429, 'rate_limited');
  const r = await k2.get('/customers');
  ok(r);
  assert.equal(intHeader(r, 'ratelimit-remaining'), 2);
});

test('tokens come back at the configured rate', async () => {
  const api = srv.api((await srv.createKey(t.partner.id, ['customers:read'])).secret);
  // The bucket refills from the first spend, which comes after this.
  const started = performance.now();
  for (let i = 0; i < 3; i++) ok(await api.get('/customers'));
  const limited = await api.get('/customers');
  assertError(limited, 429, 'rate_limited');
  let r;
  do {
    await sleep(250);
    r = await api.get('/customers');
  } while (r.status === 429 && performance.now() - started < 20000);
  ok(r);
  const waited = performance.now() - started;
  assert.ok(waited >= 1000 / RATE - 10, `a token came back after only ${waited} ms at ${RATE} request/s`);
});

test('unauthenticated requests get 401 without rate limit headers and spend nothing', async () => {
  const api = srv.api((await srv.createKey(t.partner.id, ['customers:read'])).secret);
  for (let i = 0; i < 10; i++) {
    const r = await srv.api('ib_live_notakey000000000000000000').get('/customers');
    assertError(r, 401, 'unauthenticated');
    assert.equal(r.headers.get('ratelimit-limit'), null);
    assert.equal(r.headers.get('ratelimit-remaining'), null);
    assert.equal(r.headers.get('retry-after'), null);
  }
  const r = await api.get('/customers');
  ok(r);
  assert.equal(intHeader(r, 'ratelimit-remaining'), 2);
});

test('/healthz is never rate limited', async () => {
  for (let i = 0; i < 20; i++) ok(await srv.raw().get('/healthz'));
});

test('without configuration the limit is 100/s with bursts of 200', async () => {
  const other = await startServer({ env: { INNBOCKS_RATE_LIMIT: undefined, INNBOCKS_RATE_BURST: undefined } });
  try {
    const tn = await other.tenant(['customers:read']);
    const t0 = performance.now(); // before the first spend: every refill counts
    const r = await tn.api.get('/customers');
    ok(r);
    assert.equal(intHeader(r, 'ratelimit-limit'), 200);
    assert.equal(intHeader(r, 'ratelimit-remaining'), 199);
    // Batches of 100 concurrent requests outrun a refill of 100/s: no more pass than the burst
    // of 200 and 100 a second since the first, and a 429 comes only after the burst has passed.
    // (How many batches it takes depends on the machine's speed, which the bound allows for.)
    let passed = 1;
    let limited = 0;
    for (let batch = 0; batch < 10 && limited === 0; batch++) {
      const results = await Promise.all(Array.from({ length: 100 }, () => tn.api.get('/customers')));
      for (const x of results) {
        if (x.status === 429) limited++;
        else { ok(x); passed++; }
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    assert.ok(passed <= 200 + Math.ceil(100 * seconds) + 1,
      `${passed} requests passed in ${seconds.toFixed(2)} s: more than 200 + 100/s`);
    if (limited) assert.ok(passed >= 200, `only ${passed} requests passed before the first 429: the burst is 200`);
  } finally {
    await other.stop();
  }
});

// "0 turns limiting off" is said of both settings; a burst of 0 with a rate stopped the server.
for (const [rateLimit, rateBurst] of [[0, 0], [0, 200], [1, 0]]) {
  test(`a rate of ${rateLimit} with a burst of ${rateBurst} turns limiting off: no RateLimit headers, nothing refused`, async () => {
    const other = await startServer({ rateLimit, rateBurst });
    try {
      const tn = await other.tenant(['customers:read']);
      for (let round = 0; round < 3; round++) {
        const results = await Promise.all(Array.from({ length: 100 }, () => tn.api.get('/customers')));
        for (const r of results) {
          ok(r);
          assert.equal(r.headers.get('ratelimit-limit'), null);
        }
      }
    } finally {
      await other.stop();
    }
  });
}

test('a request refused for its scope carries the RateLimit headers and spends a token', async () => {
  const api = srv.api((await srv.createKey(t.partner.id, ['customers:read'])).secret);
  const refused = await api.post('/customers', { email: 'scope@example.com', name: 'Scope' });
  assertError(refused, 403, 'insufficient_scope');
  assert.equal(intHeader(refused, 'ratelimit-limit'), 3);
  assert.equal(intHeader(refused, 'ratelimit-remaining'), 2);
  ok(await api.get('/customers'));
  ok(await api.get('/customers'));
  const overScope = await api.post('/customers', { email: 'scope@example.com', name: 'Scope' });
  assertError(overScope, 403, 'insufficient_scope');
  assertError(await api.get('/customers'), 429, 'rate_limited');
});
