// Covers storage faults: the database on a small tmpfs that fills up. A write that meets the full
// disk answers 503 unavailable with Retry-After (never a 500), leaves nothing half-written, and
// /healthz reports not ready while reads keep working; when space returns the server recovers by
// itself. (A read-only disk takes the same path in the server; it cannot be staged here: a
// filesystem with files open for writing refuses to be remounted read-only.)
// Mounting needs root, as on CI; the test fails rather than skip without it. On PostgreSQL the
// database is not on that disk: the test skips there.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Server, assertError, ok, customerBody, listAll, sleep, sqliteOnly } from '../api/lib.mjs';

const skip = sqliteOnly('the SQLite file is put on a small tmpfs; a PostgreSQL server keeps its files elsewhere');
const dir = mkdtempSync(path.join(tmpdir(), 'innbocks-tmpfs-'));
const mount = (...opts) => execFileSync('mount', opts, { stdio: 'pipe' });
let srv;
let mounted = false;

before(async () => {
  if (skip) return;
  try {
    mount('-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', dir);
  } catch (err) {
    assert.fail(`this test mounts a small tmpfs and needs root: ${err.stderr ?? err.message}`);
  }
  mounted = true;
  srv = new Server(dir, {});
  await srv.start();
});
after(async () => {
  if (srv?.proc) {
    if (mounted) mount('-o', 'remount,size=64m', dir);
    await srv.stop({ keep: true });
  }
  if (mounted) execFileSync('umount', [dir]);
  rmSync(dir, { recursive: true, force: true });
});

/** Waits until /healthz answers `status`; returns the last answer. */
async function healthIs(status, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  let r;
  while (Date.now() < deadline) {
    r = await srv.raw().get('/healthz');
    if (r.status === status) return r;
    await sleep(100);
  }
  assert.fail(`/healthz stayed ${r.status} (${r.text}) instead of ${status}`);
}

/** Creates customers until one is refused; returns {created, refused}. */
async function fillUp(api) {
  const created = [];
  for (let i = 0; i < 20000; i++) {
    const r = await api.post('/customers', customerBody({ metadata: { pad: 'x'.repeat(450) } }));
    if (r.status !== 201) return { created, refused: r };
    created.push(r.body.id);
  }
  assert.fail('the disk never filled up');
}

test('a full disk answers 503 with Retry-After, keeps reads, and recovers when space returns', { skip }, async () => {
  const tn = await srv.tenant();
  const { created, refused } = await fillUp(tn.api);
  assertError(refused, 503, 'unavailable');
  assert.match(refused.body.error.message, /full/);
  assert.equal(refused.headers.get('retry-after'), '1');
  const health = await healthIs(503);
  assertError(health, 503, 'unavailable');
  // And stays so while writes keep failing: the server's own probe, a one-page commit, fits in
  // the log's existing length on a full disk, and used to report ready twice a second.
  for (let i = 0; i < 12; i++) {
    assertError(await tn.api.post('/customers', customerBody({ metadata: { pad: 'x'.repeat(450) } })), 503, 'unavailable');
    await sleep(150);
    assert.equal((await srv.raw().get('/healthz')).status, 503, `ready again ${i * 150} ms after a write failed`);
  }
  // Reads keep working, and nothing half-written stayed: every 201 is there, nothing more.
  assert.equal(ok(await tn.api.get(`/customers/${created[0]}`)).id, created[0]);
  const listed = await listAll(tn.api, '/customers');
  assert.deepEqual(listed.map((c) => c.id).sort(), [...created].sort());
  mount('-o', 'remount,size=64m', dir);
  await healthIs(200);
  ok(await tn.api.post('/customers', customerBody()), 201);
});
