// Covers slow clients (slowloris): a request head and a request body each have a fixed deadline
// (INNBOCKS_HEAD_TIMEOUT_MS, INNBOCKS_BODY_TIMEOUT_MS; 1 s here) that dribbling bytes does not
// restart. A late head is closed without an answer (it may be an idle keep-alive connection); a
// late body gets 408 in the error envelope. Meanwhile everyone else is served, and a connection
// held past its deadline frees its place for the same address.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, ok, REQ_ID } from '../api/lib.mjs';

const DEADLINE_MS = 1000;
let srv;
let tn;
before(async () => {
  srv = await startServer({
    env: { INNBOCKS_HEAD_TIMEOUT_MS: DEADLINE_MS, INNBOCKS_BODY_TIMEOUT_MS: DEADLINE_MS },
  });
  tn = await srv.tenant();
});
after(() => srv?.stop());

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Opens a connection, writes `first`, then one byte of `drip` every `every` ms until the
 * server on `port` closes it. Resolves with {ms (open to close), bytes (what the server sent)}.
 */
function dribble(first, drip = 'x', every = 100, port = srv.port) {
  return new Promise((resolve, reject) => {
    const opened = Date.now();
    const chunks = [];
    let timer;
    const sock = net.connect(port, '127.0.0.1', () => {
      sock.write(first);
      timer = setInterval(() => { if (!sock.destroyed) sock.write(drip); }, every);
    });
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', () => {}); // a reset after the close is part of being cut off
    sock.on('close', () => {
      clearInterval(timer);
      resolve({ ms: Date.now() - opened, bytes: Buffer.concat(chunks).toString('utf8') });
    });
    setTimeout(() => reject(new Error('the server never closed the connection')), 20 * DEADLINE_MS).unref();
  });
}

test('connections dribbling their request head are closed at the head deadline, without an answer, while others are served', async () => {
  const held = Array.from({ length: 200 }, () => dribble('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: '));
  await sleep(DEADLINE_MS / 2);
  assert.equal((await fetch(`${srv.url}/healthz`)).status, 200, 'a fresh client is served meanwhile');
  const results = await Promise.all(held);
  for (const r of results) {
    assert.ok(r.ms >= DEADLINE_MS * 0.8, `closed after ${r.ms} ms, before the deadline`);
    assert.ok(r.ms < DEADLINE_MS * 5, `closed after ${r.ms} ms: the deadline was not kept`);
    assert.equal(r.bytes, '', 'a late head gets no answer');
  }
  ok(await tn.api.get('/customers'));
});

test('a body that does not arrive within the body deadline gets 408 in the error envelope', async () => {
  const head = `POST /api/v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tn.key.secret}\r\n`
    + 'Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"email": "';
  const r = await dribble(head, 'a');
  assert.ok(r.ms < DEADLINE_MS * 5, `closed after ${r.ms} ms`);
  const [statusLine, ...rest] = r.bytes.split('\r\n');
  assert.match(statusLine, /^HTTP\/1\.1 408 /);
  const headers = rest.slice(0, rest.indexOf(''));
  const id = headers.find((h) => /^x-request-id:/i.test(h))?.split(': ')[1];
  assert.match(id, REQ_ID);
  const body = JSON.parse(r.bytes.slice(r.bytes.indexOf('\r\n\r\n') + 4));
  assert.equal(body.error.code, 'invalid_request');
  assert.equal(body.error.request_id, id);
  assert.match(body.error.message, /did not arrive within 1 s/);
  assert.equal(ok(await tn.api.get('/customers')).data.length, 0, 'nothing was created');
});

test('an idle keep-alive connection is closed at the head deadline; one that keeps sending requests in time is not', async () => {
  const sock = net.connect(srv.port, '127.0.0.1');
  await new Promise((r) => sock.on('connect', r));
  const answers = [];
  sock.on('data', (c) => answers.push(c.toString('utf8')));
  sock.on('error', () => {});
  const closed = new Promise((r) => sock.on('close', () => r(Date.now())));
  // Three requests, each well within its deadline, spread over more than one deadline.
  for (let i = 0; i < 3; i++) {
    sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await sleep(DEADLINE_MS / 2);
  }
  const idleFrom = Date.now();
  const at = await closed;
  assert.equal(answers.join('').match(/HTTP\/1\.1 200 /g)?.length, 3, 'each request answered');
  assert.ok(at - idleFrom < DEADLINE_MS * 5, 'the idle connection was closed');
});

test('answers tell clients when an idle connection will be closed (Keep-Alive: timeout=)', async () => {
  const r = await fetch(`${srv.url}/healthz`);
  assert.equal(r.headers.get('keep-alive'), `timeout=${DEADLINE_MS / 1000}`);
  const normal = await startServer();
  try {
    assert.equal((await fetch(`${normal.url}/healthz`)).headers.get('keep-alive'), 'timeout=10');
  } finally {
    await normal.stop();
  }
});

test('a client slow within the deadlines is served', async () => {
  const parts = ['GET /heal', 'thz HTTP/1.1\r\nHo', 'st: x\r\nConnection: close\r\n\r\n'];
  const text = await new Promise((resolve) => {
    const chunks = [];
    const sock = net.connect(srv.port, '127.0.0.1', async () => {
      for (const p of parts) { sock.write(p); await sleep(DEADLINE_MS / 5); }
    });
    sock.on('data', (c) => chunks.push(c));
    sock.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
  assert.match(text, /^HTTP\/1\.1 200 /);
});

test('connections from one address held silent free their places at the deadline', async () => {
  // The server's per-address cap is a quarter of its connection limit; under `ulimit -n 300`
  // that is 35. Fill it with silent connections, then the same address is served again once
  // the deadline has closed them.
  const small = await startServer({
    nofile: 300,
    env: { INNBOCKS_HEAD_TIMEOUT_MS: DEADLINE_MS, INNBOCKS_BODY_TIMEOUT_MS: DEADLINE_MS },
  });
  try {
    const silent = Array.from({ length: 60 }, () => dribble('', '', 60000, small.port));
    await sleep(DEADLINE_MS / 4);
    const results = await Promise.all(silent);
    for (const r of results) assert.ok(r.ms < DEADLINE_MS * 5, `held ${r.ms} ms`);
    // A client sees its connection closed as soon as the sweeper shuts it down; libmicrohttpd
    // gives the address's place back when its thread has cleaned the connection up, a moment
    // later. Under load that moment was long enough for a first try to be refused, once.
    const from = Date.now();
    let status = 0;
    while (status !== 200 && Date.now() - from < 5 * DEADLINE_MS) {
      status = await fetch(`${small.url}/healthz`).then((r) => r.status, () => 0);
      if (status !== 200) await sleep(20);
    }
    assert.equal(status, 200, `the address was not served again within ${5 * DEADLINE_MS} ms`);
  } finally {
    await small.stop();
  }
});

// A server stopped (SIGSTOP: a paused VM, a debugger) past the head deadline of its idle
// keep-alive connections, while clients send requests on them, resumes with both at once: the
// sweeper closing the late connections, and the HTTP threads reading the requests. A request
// read from a connection the sweeper already closed used to run (a create committed) while its
// client only saw the connection close. Now it never runs: every create that committed was
// answered.
test('after a stop past the head deadline, a request on a connection its deadline closed never runs', async () => {
  const paused = await startServer({
    instances: 1,
    env: { INNBOCKS_HEAD_TIMEOUT_MS: DEADLINE_MS, INNBOCKS_BODY_TIMEOUT_MS: DEADLINE_MS },
  });
  try {
    const t = await paused.tenant();
    const body = JSON.stringify({ email: 'paused@example.com', name: 'Paused' });
    const create = `POST /api/v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.key.secret}\r\n`
      + `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    const socks = await Promise.all(Array.from({ length: 30 }, () => new Promise((resolve, reject) => {
      const s = net.connect(paused.port, '127.0.0.1', () => {
        s.once('data', () => resolve(s)); // the first answer: the connection is kept alive
        s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      });
      s.on('error', reject);
    })));
    const proc = paused.instances[0].proc;
    proc.kill('SIGSTOP');
    await sleep(DEADLINE_MS * 1.5);
    const answers = socks.map((s) => new Promise((resolve) => {
      let got = '';
      s.removeAllListeners('error');
      s.on('error', () => {});
      s.on('data', (c) => { got += c; });
      s.on('close', () => resolve(got));
      s.write(create);
      setTimeout(() => s.destroy(), 10000);
    }));
    proc.kill('SIGCONT');
    const got = await Promise.all(answers);
    const created = got.filter((a) => /^HTTP\/1\.1 201 /.test(a)).length;
    const stored = paused.sql('SELECT count(*) FROM customers');
    assert.equal(Number(stored), created, `${stored} customers stored, ${created} creates answered 201 (of ${got.length})`);
  } finally {
    await paused.stop();
  }
});
