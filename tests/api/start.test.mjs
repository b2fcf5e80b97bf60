// Covers scripts/start.sh as a newcomer meets it: it prints its summary only once the server
// answers on its port, the keys and token it prints work, following the printed next steps
// makes a customer eligible for mail, a restart shows the same keys (fresh ones when they are
// unknown), a port in use stops it with exit 1 and nothing to paste, and SIGTERM stops the
// server with exit 0.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, onFreePort, sleep } from './lib.mjs';

const START = path.join(ROOT, 'scripts', 'start.sh');
let dir;
let port; // the port of the start.sh running now
let env;
const children = new Set();

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'innbocks-start-'));
  env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('INNBOCKS_')) env[k] = v;
  env.INNBOCKS_DATABASE = path.join(dir, 'innbocks.db');
});
after(async () => {
  // The whole group: start.sh's server, killed with it, would keep this file's stderr pipe open and
  // the test runner waiting for it.
  for (const c of children) { try { process.kill(-c.pid, 'SIGKILL'); } catch {} }
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Starts start.sh on p; resolves when it printed its summary (or exited): {proc, out, err, exited}. */
function start(p) {
  const proc = spawn(START, [], {
    cwd: ROOT, env: { ...env, INNBOCKS_LISTEN: `127.0.0.1:${p}` }, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
  });
  children.add(proc);
  const r = { proc, out: '', err: '' };
  proc.stdout.setEncoding('utf8').on('data', (c) => { r.out += c; });
  proc.stderr.setEncoding('utf8').on('data', (c) => { r.err += c; });
  r.exited = new Promise((resolve) => proc.on('exit', (code, signal) => { children.delete(proc); resolve({ code, signal }); }));
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 120000;
    let done = false;
    r.exited.then(() => { done = true; });
    const poll = async () => {
      while (!done && !/# 4\. .*\n.*\n/.test(r.out)) {
        if (Date.now() > deadline) return reject(new Error(`start.sh printed no summary:\n${r.out}\n${r.err}`));
        await sleep(100);
      }
      resolve(r);
    };
    poll();
  });
}

/**
 * start() on a free port, the new `port`; on another when that one was taken before the server
 * bound it (start.sh then says it is "already in use", and so does the server).
 */
function startOnFreePort() {
  return onFreePort(async (p) => {
    const r = await start(p);
    if (!/# 4\. /.test(r.out)) throw new Error(`start.sh printed no summary:\n${r.out}\n${r.err}`);
    port = p;
    return r;
  });
}

/** The summary's values. */
function summary(out) {
  const get = (label) => out.match(new RegExp(`^  ${label} +(\\S+)`, 'm'))?.[1];
  return { partner: get('Demo partner'), live: get('Live key'), test: get('Test key'), token: get('Operator token') };
}

async function call(token, p) {
  const r = await fetch(`http://127.0.0.1:${port}${p}`, { headers: { authorization: `Bearer ${token}` } });
  return r.status;
}

/** Runs the lines of the printed next steps from marker `from` up to marker `to` with sh. */
function runSteps(out, from, to) {
  const block = out.slice(out.indexOf(from), out.indexOf(to)).split('\n')
    .map((l) => l.replace(/^ {2}/, '')).filter((l) => l && !l.startsWith('#')).join('\n');
  return new Promise((resolve) => {
    const p = spawn('sh', ['-ec', `${block}\necho "CUS=$CUS"`], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let o = '';
    p.stdout.on('data', (c) => { o += c; });
    p.stderr.on('data', (c) => { o += c; });
    p.on('exit', (code) => resolve({ code, out: o }));
  });
}

test('start.sh prints working keys once the server is up, its steps make a customer eligible, and it stops on SIGTERM', async () => {
  const first = await startOnFreePort();
  assert.match(first.out, new RegExp(`running at http://127\\.0\\.0\\.1:${port}`), first.out + first.err);
  const s = summary(first.out);
  assert.match(s.partner, /^ptn_/);
  assert.match(s.live, /^ib_live_[0-9A-Za-z]{32}$/);
  assert.match(s.test, /^ib_test_[0-9A-Za-z]{32}$/);
  assert.match(s.token, /^ib_admin_/);
  assert.equal(await call(s.live, '/api/v1/customers'), 200);
  assert.equal(await call(s.test, '/api/v1/customers'), 200);
  assert.equal(await call(s.token, '/admin/v1/partners'), 200);
  assert.match(first.out, /INNBOCKS_WEBHOOK_ALLOW_LOOPBACK=1/, 'it says how to receive webhooks locally');
  assert.match(first.out, new RegExp(`webhook create --partner ${s.partner} --url http://127\\.0\\.0\\.1:`));

  const steps = await runSteps(first.out, '# 1.', '# 3.');
  assert.equal(steps.code, 0, steps.out);
  assert.match(steps.out, /"mail_receipt_approved": true/);
  assert.match(steps.out, /"billing_status": "active"/);
  assert.match(steps.out, /CUS=cus_/);

  // The dashboard: a one-time link where the demo owner chooses a password, and is signed in.
  for (let i = 0; i < 100 && !/# 5\.[^\n]*\n[^\n]*\n[^\n]*\n/.test(first.out); i++) await sleep(100);
  const link = first.out.match(/^ {2}(http:\/\/\S+\/dashboard\/setup\.html#token=[0-9a-f]{64})$/m)?.[1];
  assert.ok(link, `a dashboard setup link:\n${first.out}`);
  const setup = await fetch(new URL('/dashboard/api/setup', link), {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: new URL(link).hash.replace('#token=', ''), password: 'a long demo password' }),
  });
  assert.equal(setup.status, 200, await setup.text());
  assert.match(setup.headers.get('set-cookie'), /^__Host-innbocks_session=/);

  // A second start on the same port: a clear message, exit 1, nothing to paste.
  const clash = await start(port);
  const clashExit = await clash.exited;
  assert.equal(clashExit.code, 1);
  assert.match(clash.err, /already in use/);
  assert.doesNotMatch(clash.out, /ib_live_|ib_test_/);

  first.proc.kill('SIGTERM');
  assert.deepEqual(await first.exited, { code: 0, signal: null }, 'SIGTERM stops the server and start.sh cleanly');

  // A restart on the same database shows the same working keys, with a fresh operator token.
  const again = await startOnFreePort();
  const s2 = summary(again.out);
  assert.deepEqual([s2.partner, s2.live, s2.test], [s.partner, s.live, s.test]);
  assert.notEqual(s2.token, s.token);
  assert.equal(await call(s2.live, '/api/v1/customers'), 200);
  again.proc.kill('SIGINT');
  assert.equal((await again.exited).code, 0, 'SIGINT too');

  // Keys it cannot know (the remembered secrets are gone): fresh ones, never a placeholder.
  await rm(`${env.INNBOCKS_DATABASE}.demo-keys`);
  const fresh = await startOnFreePort();
  const s3 = summary(fresh.out);
  assert.equal(s3.partner, s.partner);
  assert.notEqual(s3.live, s.live);
  assert.equal(await call(s3.live, '/api/v1/customers'), 200);
  assert.equal(await call(s3.test, '/api/v1/customers'), 200);
  fresh.proc.kill('SIGTERM');
  assert.equal((await fresh.exited).code, 0);
});

// A restart before the dashboard's owner chose a password prints a new one-time link (the first
// one was only in the first run's output; before, it said "sign in", with no password to sign in
// with), and the earlier link stops working. The access log goes to a file, not into the summary.
test('a restart before the owner chose a password prints a new setup link; the old one no longer works', async () => {
  const own = env.INNBOCKS_DATABASE;
  env.INNBOCKS_DATABASE = path.join(dir, 'unset-owner.db');
  const linkOf = (out) => out.match(/^ {2}(http:\/\/\S+\/dashboard\/setup\.html#token=[0-9a-f]{64})$/m)?.[1];
  const waitLink = async (r) => { for (let i = 0; i < 100 && !linkOf(r.out); i++) await sleep(100); return linkOf(r.out); };
  try {
    const first = await startOnFreePort();
    const link1 = await waitLink(first);
    assert.ok(link1, first.out);
    first.proc.kill('SIGTERM');
    assert.equal((await first.exited).code, 0);
    const second = await startOnFreePort();
    const link2 = await waitLink(second);
    assert.ok(link2, `a new link on the restart:\n${second.out}`);
    assert.notEqual(link2, link1);
    assert.match(second.out, /no password was chosen for owner@demo\.example yet/);
    assert.doesNotMatch(second.out, /"route"/, 'no access log line in the summary');
    // Both tokens go to the server running now (the first link names the first run's port).
    const setup = (link) => fetch(`http://127.0.0.1:${port}/dashboard/api/setup`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: new URL(link).hash.replace('#token=', ''), password: 'a long demo password' }),
    });
    assert.equal((await setup(link1)).status, 400, 'the earlier link no longer works');
    assert.equal((await setup(link2)).status, 200);
    second.proc.kill('SIGTERM');
    assert.equal((await second.exited).code, 0);
    // Its lines go out in batches: all of them once the server has stopped.
    assert.match(await readFile(`${env.INNBOCKS_DATABASE}.access.log`, 'utf8'), /"route":"\/dashboard\/api\/setup"/);
  } finally {
    env.INNBOCKS_DATABASE = own;
  }
});
