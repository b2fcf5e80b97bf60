// Covers the webhook verifiers shipped in examples/webhooks/ (docs/webhooks.md, "Verifying a
// delivery"), in Node, Python, Go and Ruby, against real deliveries of the server: each
// accepts every delivery with the endpoint's secret, and during a secret rotation with the old
// and the new secret alike; each refuses tampered bodies, wrong secrets, signatures of another
// length (without throwing), other schemes, missing headers, and timestamps older or further in
// the future than the tolerance. Every language runs through a small wrapper in
// examples/webhooks/cli/ that reads the cases as JSON on stdin; the Node verifier printed in
// docs/webhooks.md runs on the same cases. A missing toolchain fails the
// test (scripts/deps.sh installs python3, ruby and golang-go). Also runs
// examples/webhooks/receiver.mjs as a real endpoint.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ROOT, startServer, ok, createCustomer, sleep } from './lib.mjs';
import {
  WEBHOOK_ENV, receiver, closeReceivers, createEndpoint, patchEndpoint, waitForLog, newestEvent, hmacHex,
  assertDeliveryHeaders,
} from './webhook_lib.mjs';
import { verifyInnbocksWebhook as overviewVerify } from './verify_webhook.mjs';

const EXAMPLES = path.join(ROOT, 'examples/webhooks');
const CLI = path.join(EXAMPLES, 'cli');
const GO_BIN = path.join(ROOT, 'build/verify_webhook_go');
// Go builds offline, with its caches under build/: no network, nothing outside the checkout.
const GO_ENV = {
  GOPATH: path.join(ROOT, 'build/go'),
  GOCACHE: path.join(ROOT, 'build/go-cache'),
  GOTOOLCHAIN: 'local',
  GOPROXY: 'off',
  GOFLAGS: '',
  GO111MODULE: 'on',
};

const VERIFIERS = [
  { lang: 'node', cmd: process.execPath, args: [path.join(CLI, 'verify_cli.mjs')] },
  { lang: 'python', cmd: '/usr/bin/python3', args: [path.join(CLI, 'verify_cli.py')], env: { PYTHONDONTWRITEBYTECODE: '1' } },
  { lang: 'ruby', cmd: 'ruby', args: [path.join(CLI, 'verify_cli.rb')] },
  { lang: 'go', cmd: GO_BIN, args: [] },
];

/** Runs cmd with input on stdin; resolves {code, stdout, stderr} (code null: not started). */
function run(cmd, args, { input = '', env = {}, cwd = ROOT, timeout = 120000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.stdout.on('data', (c) => { stdout += c; });
    child.stderr.on('data', (c) => { stderr += c; });
    child.on('error', (e) => { clearTimeout(timer); resolve({ code: null, stdout, stderr: `${stderr}${e.message}` }); });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

let srv;
let goBuild;

before(async () => {
  srv = await startServer({ env: WEBHOOK_ENV });
  mkdirSync(path.join(ROOT, 'build'), { recursive: true });
  goBuild = await run('go', ['build', '-o', GO_BIN, './cli'], { cwd: EXAMPLES, env: GO_ENV });
});
after(async () => {
  await srv?.stop();
  await closeReceivers();
});

test('the toolchains are installed and the Go verifier builds offline with the standard library', async () => {
  for (const v of VERIFIERS.filter((x) => x.lang !== 'go')) {
    const r = await run(v.cmd, ['--version']);
    assert.equal(r.code, 0, `${v.lang}: ${v.cmd} is missing (scripts/deps.sh installs it): ${r.stderr}`);
  }
  assert.equal(goBuild.code, 0, `go build of examples/webhooks/cli failed (is golang-go installed? scripts/deps.sh installs it): ${goBuild.stderr}`);
  assert.ok(existsSync(GO_BIN), GO_BIN);
});

/**
 * The Node verifier as docs/webhooks.md prints it (its ```js block), written to build/ and
 * imported, so the page cannot drift from what is tested.
 */
async function docsVerifier() {
  const page = readFileSync(path.join(ROOT, 'docs/webhooks.md'), 'utf8');
  const blocks = [...page.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.equal(blocks.length, 1, 'docs/webhooks.md has one js block: the Node verifier');
  const file = path.join(ROOT, 'build', `verify_webhook_docs_${process.pid}.mjs`);
  writeFileSync(file, blocks[0]);
  try {
    return (await import(file)).verifyInnbocksWebhook;
  } finally {
    rmSync(file, { force: true });
  }
}

/** Runs every verifier on the cases; asserts each answers exactly the expected results. */
async function assertVerifiers(cases) {
  const fromDocs = await docsVerifier();
  const docsResults = cases.map((c) => {
    const opts = {};
    if (c.tolerance !== undefined) opts.toleranceSeconds = c.tolerance;
    if (c.now !== undefined) opts.now = c.now;
    try {
      return fromDocs(Buffer.from(c.body_b64, 'base64'), c.timestamp ?? undefined, c.signature ?? undefined, c.secret, opts);
    } catch (e) {
      return `error: ${e.message}`;
    }
  });
  const docsWrong = cases.map((c, i) => ({ label: c.label, expect: c.expect, got: docsResults[i] }))
    .filter((x) => x.got !== x.expect);
  assert.deepEqual(docsWrong, [], 'the verifier printed in docs/webhooks.md disagrees');
  const input = JSON.stringify(cases.map(({ label, expect, ...c }) => c));
  for (const v of VERIFIERS) {
    const r = await run(v.cmd, v.args, { input, env: v.env });
    assert.equal(r.code, 0, `${v.lang} verifier exited with ${r.code}: ${r.stderr}`);
    const got = JSON.parse(r.stdout);
    assert.equal(got.length, cases.length, `${v.lang}: ${r.stdout}`);
    const wrong = cases.map((c, i) => ({ label: c.label, expect: c.expect, got: got[i] }))
      .filter((x) => x.got !== x.expect);
    assert.deepEqual(wrong, [], `${v.lang} verifier disagrees on ${wrong.length} of ${cases.length} cases`);
  }
}

/** One case of a received delivery, changed by `over`. */
function caseOf(d, secret, expect, label, over = {}) {
  return {
    label, expect, body_b64: d.body.toString('base64'), timestamp: d.timestamp,
    signature: d.signature, secret, ...over,
  };
}

/** The cases every delivery must pass: accepted with each of secrets, refused when altered. */
function deliveryCases(d, secrets) {
  const ts = Number(d.timestamp);
  const cases = [];
  for (const s of secrets) {
    const who = `secret ${s.slice(0, 10)}...`;
    cases.push(caseOf(d, s, true, `as delivered, ${who}`));
    cases.push(caseOf(d, s, true, `299 s later, ${who}`, { now: ts + 299 }));
    cases.push(caseOf(d, s, true, `299 s earlier (clock skew), ${who}`, { now: ts - 299 }));
    cases.push(caseOf(d, s, false, `301 s later: stale, ${who}`, { now: ts + 301 }));
    cases.push(caseOf(d, s, false, `301 s earlier: too far in the future, ${who}`, { now: ts - 301 }));
    cases.push(caseOf(d, s, true, `an hour later with a tolerance of 2 h, ${who}`, { now: ts + 3600, tolerance: 7200 }));
  }
  const s = secrets[0];
  const sig = d.signature.split(',')[0].trim().slice(3);
  const tampered = Buffer.from(d.body);
  tampered[tampered.length - 2] ^= 1;
  const stale = String(ts - 600);
  const future = String(ts + 600);
  cases.push(
    caseOf(d, s, false, 'tampered body', { body_b64: tampered.toString('base64') }),
    caseOf(d, s, false, 'a byte appended to the body', { body_b64: Buffer.concat([d.body, Buffer.from(' ')]).toString('base64') }),
    caseOf(d, `whsec_${randomBytes(16).toString('hex')}`, false, 'wrong secret'),
    caseOf(d, '', false, 'empty secret'),
    caseOf(d, s, false, 'another timestamp', { timestamp: String(ts + 1) }),
    caseOf(d, s, false, 'signature of another length (short)', { signature: `v1=${sig.slice(0, 10)}` }),
    caseOf(d, s, false, 'signature of another length (long)', { signature: `v1=${sig}00` }),
    caseOf(d, s, false, 'empty v1=', { signature: 'v1=' }),
    caseOf(d, s, false, 'non-ASCII signature', { signature: `v1=${'é'.repeat(32)}` }),
    caseOf(d, s, false, 'uppercase hex', { signature: `v1=${sig.toUpperCase()}` }),
    caseOf(d, s, false, 'another scheme', { signature: `v0=${sig}` }),
    caseOf(d, s, false, 'no signature header', { signature: null }),
    caseOf(d, s, false, 'empty signature header', { signature: '' }),
    caseOf(d, s, false, 'no timestamp header', { timestamp: null }),
    caseOf(d, s, false, 'a timestamp that is not a number', { timestamp: `${ts}x` }),
    caseOf(d, s, false, 'a negative timestamp', { timestamp: `-${ts}` }),
    caseOf(d, s, true, 'v1= after other parts and a short one', { signature: `t=${ts}, v1=abc, v1=${sig}` }),
    caseOf(d, s, false, 'correctly signed 10 minutes ago: stale', { timestamp: stale, signature: `v1=${hmacHex(s, stale, d.body)}` }),
    caseOf(d, s, false, 'correctly signed 10 minutes ahead: future', { timestamp: future, signature: `v1=${hmacHex(s, future, d.body)}` }),
  );
  return cases;
}

test('every verifier accepts real deliveries and refuses every alteration', async () => {
  const t = await srv.tenant();
  const rcv = await receiver(200);
  await createEndpoint(srv, t.partner.id, rcv);
  const c = await createCustomer(t.api, { name: 'Zoë Ünicode — 東京' });
  ok(await t.api.patch(`/customers/${c.id}`, { metadata: { note: 'quotes " and \\ and \u2028' } }));
  await rcv.waitFor(2);
  const cases = [];
  for (const d of rcv.deliveries) {
    assertDeliveryHeaders(d);
    assert.match(d.signature, /^v1=[0-9a-f]{64}$/, 'one secret, one signature');
    cases.push(...deliveryCases(d, [d.secret]));
  }
  await assertVerifiers(cases);
});

test('during a secret rotation every verifier accepts the old and the new secret', async () => {
  const t = await srv.tenant();
  const rcv = await receiver(200);
  const ep = await createEndpoint(srv, t.partner.id, rcv);
  const oldSecret = ep.secret;
  const rotated = ok(await srv.admin().post(`/webhook-endpoints/${ep.id}/rotate-secret`));
  const newSecret = rotated.secret;
  assert.notEqual(newSecret, oldSecret);
  await createCustomer(t.api);
  await rcv.waitFor(1);
  const d = rcv.deliveries[0];
  assertDeliveryHeaders(d);
  assert.match(d.signature, /^v1=[0-9a-f]{64}, v1=[0-9a-f]{64}$/, 'two signatures during the rotation');
  const [first, second] = d.signature.split(', ').map((p) => p.slice(3));
  assert.equal(first, hmacHex(newSecret, d.timestamp, d.body), 'the new secret signs first');
  assert.equal(second, hmacHex(oldSecret, d.timestamp, d.body), 'the old secret signs second');

  const cases = deliveryCases(d, [newSecret, oldSecret]);
  // Either part alone still verifies with its own secret, and only with it.
  cases.push(
    caseOf(d, oldSecret, true, 'old part alone, old secret', { signature: `v1=${second}` }),
    caseOf(d, newSecret, false, 'old part alone, new secret', { signature: `v1=${second}` }),
    caseOf(d, oldSecret, true, 'parts reversed, old secret', { signature: `v1=${second}, v1=${first}` }),
    caseOf(d, oldSecret, true, 'no space after the comma', { signature: `v1=${first},v1=${second}` }),
  );
  await assertVerifiers(cases);

  // The overview's function, which the shipped verifiers replace, fails exactly here: it reads
  // only the first v1= part, and timingSafeEqual throws on another length.
  assert.equal(overviewVerify(d.body, d.timestamp, d.signature, newSecret), true);
  assert.equal(overviewVerify(d.body, d.timestamp, d.signature, oldSecret), false,
    'the overview verifier rejects a receiver still on the old secret');
  assert.throws(() => overviewVerify(d.body, d.timestamp, 'v1=abc', newSecret), RangeError);
});

/**
 * Starts examples/webhooks/receiver.mjs with secret on a port it picks itself (PORT=0), then
 * points endpoint ep at it: no port is chosen beforehand that another process could take.
 * Resolves {child, lines()}.
 */
async function startExampleReceiver(ep, secret) {
  const child = spawn(process.execPath, [path.join(EXAMPLES, 'receiver.mjs')], {
    env: { ...process.env, PORT: '0', INNBOCKS_WEBHOOK_SECRET: secret },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c) => { out += c; });
  child.stderr.on('data', (c) => { out += c; });
  const deadline = Date.now() + 10000;
  let listening;
  while (!(listening = out.match(/listening on (http:\/\/\S+)\n/))) {
    assert.ok(Date.now() < deadline && child.exitCode === null, `receiver.mjs did not start: ${out}`);
    await sleep(25);
  }
  await patchEndpoint(srv, ep.id, { url: `${listening[1]}/hooks` });
  return { child, lines: () => out.split('\n').filter(Boolean) };
}

test('the example receiver answers 200 to signed deliveries, also on the old secret after a rotation, and 400 to others', async () => {
  const t = await srv.tenant();
  // Each endpoint's receiver starts once it knows the endpoint's secret; until then the endpoint
  // points nowhere (and nothing is delivered: no customer is created before).
  const ep = ok(await srv.admin().post(`/partners/${t.partner.id}/webhook-endpoints`,
    { url: 'http://127.0.0.1:9/not-yet', enabled_events: ['customer.created'] }), 201);
  const good = await startExampleReceiver(ep, ep.secret);
  // A second endpoint whose receiver was given the wrong secret.
  const other = ok(await srv.admin().post(`/partners/${t.partner.id}/webhook-endpoints`,
    { url: 'http://127.0.0.1:9/not-yet', enabled_events: ['customer.created'] }), 201);
  const bad = await startExampleReceiver(other, `${other.secret}x`);
  try {
    const c1 = await createCustomer(t.api);
    const e1 = await newestEvent(srv, t.partner.id, 'customer.created');
    assert.equal(e1.data.object.id, c1.id);
    const log = await waitForLog(t.api, { event_id: e1.id },
      (l) => l.some((d) => d.endpoint_id === ep.id) && l.some((d) => d.endpoint_id === other.id));
    const mine = log.filter((d) => d.endpoint_id === ep.id);
    assert.deepEqual(mine.map((d) => [d.status, d.response_status]), [['succeeded', 200]]);
    const theirs = log.find((d) => d.endpoint_id === other.id);
    assert.deepEqual([theirs.status, theirs.response_status], ['failed', 400]);
    assert.ok(good.lines().includes(`customer.created ${e1.id} ${c1.id}`), good.lines().join('\n'));

    // The receiver keeps the old secret while the endpoint rotates: deliveries still verify.
    ok(await srv.admin().post(`/webhook-endpoints/${ep.id}/rotate-secret`));
    const c2 = await createCustomer(t.api);
    const e2 = await newestEvent(srv, t.partner.id, 'customer.created');
    assert.equal(e2.data.object.id, c2.id);
    const log2 = await waitForLog(t.api, { event_id: e2.id }, (l) => l.some((d) => d.endpoint_id === ep.id));
    assert.deepEqual(log2.filter((d) => d.endpoint_id === ep.id).map((d) => [d.status, d.response_status]),
      [['succeeded', 200]]);
  } finally {
    good.child.kill('SIGTERM');
    bad.child.kill('SIGTERM');
  }
});
