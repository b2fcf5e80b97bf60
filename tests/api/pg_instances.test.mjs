// Several instances on one PostgreSQL behave as one server (docs/deploy.md, "Several instances"):
// two processes of the binary on one database, each request sent to a chosen one. One
// Idempotency-Key sent 20 times at once to both has one effect and one event, every answer the
// 201 (first or replayed) or 409 idempotency_key_in_use; 200 creates at once across both get
// distinct, gap-free mailbox numbers; and kill -9 of one instance during a stream of creates and
// of webhook deliveries loses no acknowledged create, duplicates none, leaves no event undelivered
// (the survivor takes over the attempt the dead one had in flight once its lease runs out), while
// the survivor answers every request sent to it. Its server starts on an empty database, the two
// processes racing for the migrations (the others' databases are copies of one already migrated).
// On SQLite (one process per file) the file skips.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  startServer, customerBody, ok, assertError, listAll, uniq, sleep, postgresOnly, runCli,
} from './lib.mjs';
import { WEBHOOK_ENV, receiver, closeReceivers, createEndpoint, assertSigned } from './webhook_lib.mjs';

const skip = postgresOnly('two instances on one database');

let srv;
before(async () => { if (!skip) srv = await startServer({ env: WEBHOOK_ENV, pgFresh: true }); });
after(async () => {
  await srv?.stop();
  await closeReceivers();
});

/** The Partner API of instance k for a key secret. */
const on = (server, k, secret) => server.only(k).api(secret);

/**
 * A proxy in front of the test cluster's Unix socket that cuts a server's connection right after
 * passing on the COMMIT of a transaction that created a customer: PostgreSQL has the COMMIT and
 * commits, the server sees its connection break. It reads the client's messages (PostgreSQL's
 * protocol 3: a start packet, then a type byte and a length each) for statements prepared as
 * COMMIT and as the customer INSERT. Returns {conninfo, cuts(), close()}; conninfo is `base` with
 * its host replaced by the proxy's directory. With `fatal`, the connection is not cut: the
 * server's answers are passed on up to the COMMIT's, then a FATAL error (57P01, as
 * pg_terminate_backend() sends) stands where the sync point's answer was, and the socket closes a
 * second later, as when an operator ends the session right after the commit.
 */
async function commitCutter(base, { fatal = false } = {}) {
  const host = base.match(/(?:^|\s)host=(\S+)/)[1];
  const port = base.match(/(?:^|\s)port=(\d+)/)?.[1] ?? '5432';
  const dir = mkdtempSync(path.join(tmpdir(), 'innbocks-pgcut-'));
  let cuts = 0;
  const server = net.createServer((client) => {
    const upstream = net.connect(path.join(host, `.s.PGSQL.${port}`));
    const names = { commit: new Set(), insert: new Set() };
    let pending = Buffer.alloc(0);
    let started = false;
    let inserted = false; // this transaction created a customer
    let cutAtSync = false;
    let fromServer = Buffer.alloc(0);
    let ended = false; // the FATAL was sent: nothing more reaches the client
    const cstr = (b, at) => b.subarray(at, b.indexOf(0, at)).toString();
    client.on('data', (chunk) => {
      upstream.write(chunk);
      pending = Buffer.concat([pending, chunk]);
      let off = 0;
      let cut = false;
      for (;;) {
        if (!started) {
          if (pending.length - off < 4 || pending.length - off < pending.readInt32BE(off)) break;
          off += pending.readInt32BE(off);
          started = true;
          continue;
        }
        if (pending.length - off < 5 || pending.length - off < 1 + pending.readInt32BE(off + 1)) break;
        const type = String.fromCharCode(pending[off]);
        const body = pending.subarray(off + 5, off + 1 + pending.readInt32BE(off + 1));
        if (type === 'P') {
          const name = cstr(body, 0);
          const sql = cstr(body, name.length + 1);
          if (sql === 'COMMIT') names.commit.add(name);
          if (sql.startsWith('INSERT INTO customers')) names.insert.add(name);
        } else if (type === 'B') {
          const stmt = cstr(body, cstr(body, 0).length + 1);
          if (names.insert.has(stmt)) inserted = true;
          if (names.commit.has(stmt) && inserted) cutAtSync = true;
        } else if (type === 'S' && cutAtSync && !fatal) {
          cut = true;
        }
        off += 1 + pending.readInt32BE(off + 1);
      }
      pending = pending.subarray(off);
      if (cut) {
        cuts++;
        client.destroy();
        setTimeout(() => upstream.destroy(), 2000); // PostgreSQL runs what it was sent
      }
    });
    upstream.on('data', (d) => {
      if (client.destroyed || ended) return;
      if (!fatal || !cutAtSync) { client.write(d); return; }
      // Passed on message by message up to the COMMIT's CommandComplete, then the FATAL.
      fromServer = Buffer.concat([fromServer, d]);
      let off = 0;
      while (fromServer.length - off >= 5 && fromServer.length - off >= 1 + fromServer.readInt32BE(off + 1)) {
        const size = 1 + fromServer.readInt32BE(off + 1);
        const msg = fromServer.subarray(off, off + size);
        off += size;
        client.write(msg);
        if (msg[0] === 0x43 && cstr(msg, 5) === 'COMMIT') {
          const field = (code, text) => Buffer.concat([Buffer.from(code), Buffer.from(text), Buffer.alloc(1)]);
          const body = Buffer.concat([field('S', 'FATAL'), field('V', 'FATAL'), field('C', '57P01'),
            field('M', 'terminating connection due to administrator command'), Buffer.alloc(1)]);
          const head = Buffer.alloc(5);
          head[0] = 0x45;
          head.writeInt32BE(4 + body.length, 1);
          client.write(Buffer.concat([head, body]));
          ended = true;
          cuts++;
          setTimeout(() => client.destroy(), 1000);
          setTimeout(() => upstream.destroy(), 2000);
          return;
        }
      }
      fromServer = fromServer.subarray(off);
    });
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => setTimeout(() => upstream.destroy(), 2000));
    upstream.on('close', () => client.destroy());
  });
  await new Promise((resolve) => server.listen(path.join(dir, `.s.PGSQL.${port}`), resolve));
  return {
    conninfo: base.replace(/(^|\s)host=\S+/, `$1host=${dir}`),
    cuts: () => cuts,
    close: () => new Promise((resolve) => server.close(() => { rmSync(dir, { recursive: true, force: true }); resolve(); })),
  };
}

/** Runs fn over items with at most `width` at once; resolves with the results in order. */
async function pool(items, width, fn) {
  const out = new Array(items.length);
  let next = 0;
  const one = async () => { while (next < items.length) { const i = next++; out[i] = await fn(items[i], i); } };
  await Promise.all(Array.from({ length: width }, one));
  return out;
}

test('one Idempotency-Key sent 20 times at once to both instances: one customer, one event, 201 or 409 each',
  { skip }, async (ctx) => {
    const t = await srv.tenant();
    const key = uniq('idem');
    const body = customerBody();
    const answers = await Promise.all(Array.from({ length: 20 },
      (_, i) => on(srv, i % 2, t.key.secret).post('/customers', body, { idem: key })));
    const ids = new Set();
    let inUse = 0;
    for (const r of answers) {
      if (r.status === 409) { assertError(r, 409, 'idempotency_key_in_use'); inUse++; continue; }
      ids.add(ok(r, 201).id);
    }
    assert.equal(ids.size, 1, `one customer for one key: ${[...ids]}`);
    assert.ok(inUse < 20, 'at least the first request was answered 201');
    ctx.diagnostic(`${20 - inUse} answered 201, ${inUse} answered 409 idempotency_key_in_use`);
    const created = answers.find((r) => r.status === 201 && r.headers.get('idempotent-replayed') !== 'true');
    assert.ok(created, 'one answer is the original 201, not a replay');
    for (const r of answers.filter((x) => x.status === 201)) assert.deepEqual(r.body, created.body, 'every 201 is the same customer');
    assert.deepEqual((await listAll(t.api, '/customers')).map((c) => c.id), [...ids]);
    assert.equal((await srv.events(t.partner.id, 'customer.created')).length, 1, 'one customer.created');
    assert.equal((await srv.events(t.partner.id)).length, 1, 'no other event either');
    // Afterwards both instances replay the stored answer.
    for (const k of [0, 1]) {
      const replay = await on(srv, k, t.key.secret).post('/customers', body, { idem: key });
      assert.equal(replay.headers.get('idempotent-replayed'), 'true', `instance ${k} replays`);
      assert.deepEqual(ok(replay, 201), created.body);
    }
  });

/**
 * A psql session that takes the rows of `table` whose `column` is one of ids, as a stopped instance
 * (or an operator's session left open) would, and keeps them for `seconds`. Resolves once the rows
 * are held, with {released() (whether the session has ended), end() (ends the session and resolves
 * once it has)}.
 */
async function holdRows(table, ids, seconds, column = 'id') {
  const list = ids.map((id) => `'${id}'`).join(', ');
  return holdWith(`SELECT 1 FROM ${table} WHERE ${column} IN (${list}) FOR UPDATE`, seconds, list);
}

/**
 * A psql session that runs `statement` in a transaction and keeps it open for `seconds` (holdRows;
 * end() ends the session, which rolls its transaction back). `what` names it in errors.
 */
async function holdWith(statement, seconds, what = statement) {
  const tag = uniq('held');
  const holder = spawn('psql', ['-X', '-q', '-d', srv.dbPath, '-c',
    `BEGIN; ${statement}; SELECT pg_sleep(${seconds}) AS "${tag}"; COMMIT;`],
  { stdio: 'ignore' });
  let released = false;
  const exited = new Promise((resolve, reject) => {
    holder.on('error', reject);
    holder.on('exit', () => { released = true; resolve(); });
  });
  const active = `FROM pg_stat_activity WHERE query LIKE '%${tag}%' AND state = 'active' AND pid <> pg_backend_pid()`;
  for (let i = 0; srv.sql(`SELECT count(*) ${active}`) !== '1'; i++) {
    if (released || i === 200) throw new Error(`the session holding ${what} did not start`);
    await sleep(50);
  }
  return {
    released: () => released,
    end: async () => { srv.sql(`SELECT count(pg_terminate_backend(pid)) ${active}`); await exited; },
  };
}

/**
 * A session that has inserted, and not committed, the operator's stored answer for Idempotency-Key
 * `key` (holdWith): a write with that key waits at its end, once its changes and events are in,
 * until the session ends. The key is stored as its digest (src/idem.c, idem_key_digest()).
 */
const holdOperatorKey = (key, seconds) => holdWith('INSERT INTO idempotency (scope, key, fingerprint, status, body, created_at)'
  + ` VALUES ('operator', encode(sha256(convert_to('innbocks-idempotency-key-v1:${key}', 'UTF8')), 'hex'), '', 0, '', 0)`,
seconds, `the operator's key ${key}`);

/** A session holding partner id's row (holdRows). */
const holdPartner = (id, seconds) => holdRows('partners', [id], seconds);

test('a partner row another session holds makes a write wait 5 s at most: 503 with Retry-After, and other tenants\' writes on that instance go on, in its batch too',
  { skip }, async () => {
    const [a, b, c] = [await srv.tenant(), await srv.tenant(), await srv.tenant()];
    const heldA = await holdPartner(a.partner.id, 30);
    // C's row held for 2 s keeps instance 0's writer on C's write, so that A's and B's writes
    // arrive while it waits and run in one batch: the batch gives up A's, and B's commits.
    const heldC = await holdPartner(c.partner.id, 2);
    try {
      const first = on(srv, 0, c.key.secret).post('/customers', customerBody());
      await sleep(300);
      const [blocked, other] = await Promise.all([
        on(srv, 0, a.key.secret).post('/customers', customerBody()),
        on(srv, 0, b.key.secret).post('/customers', customerBody()),
      ]);
      assert.equal(heldA.released(), false, 'answered while the row is still held');
      assertError(blocked, 503, 'unavailable');
      assert.equal(blocked.headers.get('retry-after'), '1');
      ok(other, 201);
      ok(await first, 201);
      ok(await on(srv, 1, b.key.secret).post('/customers', customerBody()), 201);
    } finally {
      await heldA.end();
      await heldC.end();
    }
    // Once the row is free, partner A's writes go through again, and the refused one left nothing.
    ok(await on(srv, 0, a.key.secret).post('/customers', customerBody()), 201);
    assert.equal((await listAll(a.api, '/customers')).length, 1);
    assert.equal((await listAll(b.api, '/customers')).length, 2);
  });

// Each held partner cost 5 s and one of the batch's four attempts: with four held, every write of
// the batch was answered 503 after 20 s, the free partner's too.
test('four partners held in one batch: their writes are 503, and the free partner\'s write in the same batch commits',
  { skip }, async () => {
    const held = [];
    const tenants = [];
    for (let i = 0; i < 4; i++) tenants.push(await srv.tenant());
    const [free, c] = [await srv.tenant(), await srv.tenant()];
    try {
      for (const t of tenants) held.push(await holdPartner(t.partner.id, 40));
      held.push(await holdPartner(c.partner.id, 2)); // keeps the writer while the rest arrive
      const first = on(srv, 0, c.key.secret).post('/customers', customerBody());
      await sleep(300);
      const answers = await Promise.all([...tenants, free].map((t) => on(srv, 0, t.key.secret).post('/customers', customerBody())));
      for (const h of held.slice(0, 4)) assert.equal(h.released(), false, 'answered while the rows are still held');
      for (const r of answers.slice(0, 4)) assertError(r, 503, 'unavailable');
      ok(answers[4], 201);
      ok(await first, 201);
    } finally {
      for (const h of held) await h.end();
    }
    for (const t of tenants) assert.equal((await listAll(t.api, '/customers')).length, 0, 'a refused write left nothing');
  });

// A request's own lock wait (a customer row held elsewhere) cost the instance's writer the whole
// lock timeout for every such request in a batch, and twice for the first: the batch's first run,
// without savepoints, waited it out, then its run with savepoints waited again. After one full
// wait a transaction now waits 250 ms for each further lock.
test('customer rows another session holds: a batch waits out the lock timeout once, then briefly; the held writes are 503, the others commit',
  { skip }, async () => {
    const [t, other, c] = [await srv.tenant(), await srv.tenant(), await srv.tenant()];
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(ok(await t.api.post('/customers', customerBody()), 201).id);
    const patch = (id) => on(srv, 0, t.key.secret).patch(`/customers/${id}`, { name: 'Renamed' });
    const held = await holdRows('customers', ids, 60);
    try {
      // Alone in its batch: 5 s and a little (10 s when the run with savepoints waited again).
      let start = Date.now();
      assertError(await patch(ids[0]), 503, 'unavailable');
      let took = Date.now() - start;
      assert.ok(took >= 4500 && took < 8000, `one held row answered after ${took} ms`);

      // Three held rows and another partner's create in one batch (C's row held for 2 s keeps
      // the writer while they arrive): one full wait, two brief ones (15 s and more before).
      const keep = await holdPartner(c.partner.id, 2);
      const first = on(srv, 0, c.key.secret).post('/customers', customerBody());
      await sleep(300);
      start = Date.now();
      const answers = await Promise.all([...ids.map(patch), on(srv, 0, other.key.secret).post('/customers', customerBody())]);
      took = Date.now() - start;
      for (const r of answers.slice(0, 3)) {
        assertError(r, 503, 'unavailable');
        assert.equal(r.headers.get('retry-after'), '1');
      }
      ok(answers[3], 201);
      ok(await first, 201);
      assert.ok(took < 10000, `the batch answered after ${took} ms`);
      assert.equal(held.released(), false, 'answered while the rows are still held');
      await keep.end();
    } finally {
      await held.end();
    }
    // Nothing of the refused writes stayed; once free, the rows take writes again at once.
    for (const id of ids) assert.notEqual(ok(await t.api.get(`/customers/${id}`)).name, 'Renamed');
    assert.equal(ok(await patch(ids[0]), 200).name, 'Renamed');
  });

// The rate limit's bucket of a key is a row every instance updates per request. Held by another
// session, each request of that key waited out the whole lock timeout (5 s) on an HTTP thread,
// and two such requests took both threads of an instance (two on two cores): every partner's
// requests there waited too.
test('a rate bucket another session holds costs its key one brief wait, not the lock timeout per request, and holds up no other partner',
  { skip }, async () => {
    const [a, b] = [await srv.tenant(), await srv.tenant()];
    ok(await on(srv, 0, a.key.secret).get('/customers'), 200); // the bucket's row exists
    const bucket = `key:${a.key.id}`;
    const held = await holdRows('rate_buckets', [bucket], 60, 'key_id');
    try {
      const started = Date.now();
      const flood = Array.from({ length: 6 }, () => on(srv, 0, a.key.secret).get('/customers'));
      await sleep(50);
      const other = await on(srv, 0, b.key.secret).get('/customers');
      const otherMs = Date.now() - started;
      const answers = await Promise.all(flood);
      const floodMs = Date.now() - started;
      ok(other, 200);
      for (const r of answers) {
        ok(r, 200);
        assert.equal(r.headers.get('ratelimit-limit'), '100000');
      }
      assert.equal(held.released(), false, 'answered while the bucket is still held');
      assert.ok(otherMs < 2000, `another partner's request waited ${otherMs} ms`);
      assert.ok(floodMs < 2000, `the held key's requests waited ${floodMs} ms`);
      // Meanwhile the key's requests on that instance do not wait for the bucket at all.
      const next = Date.now();
      for (let i = 0; i < 5; i++) ok(await on(srv, 0, a.key.secret).get('/customers'), 200);
      assert.ok(Date.now() - next < 1000, `five more requests took ${Date.now() - next} ms`);
    } finally {
      await held.end();
    }
    // Once the row is free, the database's bucket counts again (within seconds): its row changes.
    const row = () => srv.sql(`SELECT tokens || ' ' || updated_at FROM rate_buckets WHERE key_id = '${bucket}'`);
    const was = row();
    let now = was;
    for (let i = 0; i < 100 && now === was; i++) {
      ok(await on(srv, 0, a.key.secret).get('/customers'), 200);
      now = row();
      if (now === was) await sleep(100);
    }
    assert.notEqual(now, was, 'the bucket in the database was not spent from again');
  });

test('a statement canceled on PostgreSQL (pg_cancel_backend, a statement_timeout) is 503 with Retry-After, not 500, and writes nothing',
  { skip }, async () => {
    const t = await srv.tenant();
    const held = await holdPartner(t.partner.id, 30);
    try {
      const answer = on(srv, 0, t.key.secret).post('/customers', customerBody());
      // The server's session waits for the partner's row: cancel its statement.
      const waiting = "FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%FOR NO KEY UPDATE%'";
      for (let i = 0; srv.sql(`SELECT count(*) ${waiting}`) !== '1'; i++) {
        assert.ok(i < 200, 'the server\'s session never waited for the row');
        await sleep(10);
      }
      assert.equal(srv.sql(`SELECT count(pg_cancel_backend(pid)) ${waiting}`), '1');
      const r = await answer;
      assertError(r, 503, 'unavailable');
      assert.equal(r.headers.get('retry-after'), '1');
      assert.equal(held.released(), false, 'answered while the row is still held');
    } finally {
      await held.end();
    }
    assert.equal((await listAll(t.api, '/customers')).length, 0, 'nothing written');
  });

// PostgreSQL has taken the COMMIT of a create when the server's connection breaks (the proxy cuts
// it), or when PostgreSQL ends the session right after answering it (an operator's
// pg_terminate_backend(), a shutdown: the pipeline's sync point then answers FATAL, before libpq
// sees the socket close). Either way the write is durable, and was answered 503 before (a client
// retrying without an Idempotency-Key made a duplicate).
for (const [how, fatal] of [['a connection that breaks after PostgreSQL took the COMMIT', false],
  ['a session ended right after PostgreSQL answered the COMMIT', true]]) {
  test(`${how}: the write committed, and the answer says so (201, not 503)`, { skip }, async () => {
    const cutter = await commitCutter(srv.dbPath, { fatal });
    // More instances on the same database, connected through the proxy.
    const other = await startServer({ env: { ...WEBHOOK_ENV, INNBOCKS_DATABASE: cutter.conninfo } });
    try {
      const t = await srv.tenant();
      const r = await on(other, 0, t.key.secret).post('/customers', customerBody(), { idem: uniq('cut') });
      assert.equal(cutter.cuts(), 1, 'the proxy ended the connection after the COMMIT');
      const created = ok(r, 201);
      assert.deepEqual(ok(await on(srv, 0, t.key.secret).get(`/customers/${created.id}`)), created);
      assert.equal((await listAll(t.api, '/customers')).length, 1, 'one customer');
      // The instance goes on with a new session.
      ok(await on(other, 0, t.key.secret).post('/customers', customerBody()), 201);
    } finally {
      await other.stop();
      await cutter.close();
    }
  });
}

// A warning from PostgreSQL (here an operator's trigger; libpq's own notices, after a session
// ended, come the same way; the server asks for warnings and worse) was printed bare by libpq,
// unlike every other line of the server.
test('a warning from PostgreSQL reaches stderr with the server\'s prefix, like its other messages', { skip }, async () => {
  const t = await srv.tenant();
  const tag = uniq('notice');
  srv.sql(`CREATE FUNCTION ${tag}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE WARNING '${tag} seen'; RETURN NEW; END $$;`
    + ` CREATE TRIGGER ${tag} AFTER INSERT ON customers FOR EACH ROW EXECUTE FUNCTION ${tag}();`);
  try {
    await createCustomerOn(srv, 0, t.key.secret);
    // stderr is a pipe: the line may come a moment after the answer.
    for (let i = 0; i < 250 && !srv.instances[0].stderr.includes(`${tag} seen`); i++) await sleep(20);
    const lines = srv.instances[0].stderr.split('\n');
    assert.ok(lines.some((l) => l.startsWith('innbocks: postgres: WARNING:') && l.includes(`${tag} seen`)),
      `no prefixed warning in:\n${lines.slice(-20).join('\n')}`);
    assert.ok(!lines.some((l) => l.startsWith('WARNING:')), 'a bare warning line');
  } finally {
    srv.sql(`DROP TRIGGER ${tag} ON customers; DROP FUNCTION ${tag}();`);
  }
});

// libpq's reason for a failed connection names the database's socket or host and port; it was the
// message of partners' 503s.
test('while PostgreSQL refuses the server, partners read only "storage is unreachable"; libpq\'s reason goes to stderr',
  { skip }, async () => {
    const own = await startServer();
    const admin = (sql) => execFileSync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d',
      process.env.INNBOCKS_TEST_PG, '-c', sql], { encoding: 'utf8' }).trim();
    const db = own.sql('SELECT current_database()');
    try {
      const t = await own.tenant();
      admin(`ALTER DATABASE ${db} ALLOW_CONNECTIONS false`);
      admin(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '${db}'`);
      for (const r of [await t.api.get('/customers'), await t.api.post('/customers', customerBody())]) {
        assertError(r, 503, 'unavailable');
        assert.equal(r.body.error.message, 'storage is unreachable, retry shortly');
      }
      assert.match(own.instances[0].stderr, /innbocks: cannot reach PostgreSQL: .*not currently accepting connections/);
      admin(`ALTER DATABASE ${db} ALLOW_CONNECTIONS true`);
      ok(await t.api.get('/customers'));
    } finally {
      admin(`ALTER DATABASE ${db} ALLOW_CONNECTIONS true`);
      await own.stop();
    }
  });

// An operator's write on a partner's objects took no lock of the partner's: its event got its
// place in the list when inserted, and could commit after a later event of the partner's own
// writes on the other instance, so a partner catching up with ending_before=<the newest seen>
// passed over it for good. It now takes the partner's tenant, as the partner's writes do.
test('an operator\'s write on a partner\'s customer is ordered with the partner\'s writes: catching up with ending_before misses none of its events',
  { skip }, async () => {
    const t = await srv.tenant();
    const [a, b] = [ok(await t.api.post('/customers', customerBody()), 201), ok(await t.api.post('/customers', customerBody()), 201)];
    const seen = ok(await t.api.get('/events?limit=1'), 200).data[0].id;
    const key = uniq('op');
    const held = await holdOperatorKey(key, 30);
    let operator, partner;
    try {
      // Instance 0: the operator's write stores its event, then waits for the held key.
      operator = srv.only(0).admin().post(`/customers/${a.id}/billing`, { active: true }, { idem: key });
      await sleep(500);
      // Instance 1: the partner's own write, after it.
      partner = on(srv, 1, t.key.secret).patch(`/customers/${b.id}`, { name: 'Renamed' });
      await sleep(500);
      // What a partner polling now sees as its newest event.
      const newest = ok(await t.api.get('/events?limit=1'), 200).data[0].id;
      await held.end();
      ok(await operator, 200);
      ok(await partner, 200);
      const caughtUp = [];
      for (let before = newest; ;) {
        const page = ok(await t.api.get(`/events?ending_before=${before}&limit=100`), 200);
        if (page.data.length === 0) break;
        caughtUp.push(...page.data);
        before = page.data[0].id;
        if (!page.has_more) break;
      }
      const recent = ok(await t.api.get('/events?limit=100'), 200).data;
      const since = recent.slice(0, recent.findIndex((e) => e.id === seen));
      assert.deepEqual(since.map((e) => e.type), ['customer.updated', 'customer.updated'], 'the two writes\' events');
      const missed = since.filter((e) => e.id !== newest && !caughtUp.some((c) => c.id === e.id));
      assert.deepEqual(missed.map((e) => e.id), [], `events a partner catching up from ${newest} never sees`);
    } finally {
      await held.end();
      await operator?.catch(() => {});
      await partner?.catch(() => {});
    }
  });

// A write outside the writer (the command line; group commit off) took no tenant either, so it
// could commit an event ahead of the partner's writes in the same way.
test('the command line\'s write on a partner\'s customer waits for the partner\'s row, as the partner\'s own writes do',
  { skip }, async () => {
    const t = await srv.tenant();
    const c = ok(await t.api.post('/customers', customerBody({ prepay: false })), 201);
    assert.equal(c.billing_status, 'inactive');
    const held = await holdPartner(t.partner.id, 30);
    let cli;
    try {
      cli = runCli(['customer', 'billing', c.id, '--active', 'true', '--database', srv.dbPath]);
      await sleep(1000);
      assert.equal(ok(await t.api.get(`/customers/${c.id}`)).billing_status, 'inactive', 'not written while the row is held');
    } finally {
      await held.end();
    }
    const r = await cli;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(ok(await t.api.get(`/customers/${c.id}`)).billing_status, 'active');
  });

// The duplicate's batch read its key ahead (held by the first request's transaction, on the
// other instance), then waited for the partner's row like any write of the partner, up to the
// lock timeout, with its answer already known: 503 after 5 s, or a stale 409 once the first had
// ended.
test('a duplicate on the other instance while the first waits for its partner\'s row is 409 at once',
  { skip }, async () => {
    const t = await srv.tenant();
    const key = uniq('dup');
    const body = customerBody();
    const held = await holdPartner(t.partner.id, 30);
    let first;
    try {
      first = on(srv, 0, t.key.secret).post('/customers', body, { idem: key });
      await sleep(500);
      const started = Date.now();
      const dup = await on(srv, 1, t.key.secret).post('/customers', body, { idem: key });
      assert.equal(held.released(), false, 'answered while the row is still held');
      assertError(dup, 409, 'idempotency_key_in_use');
      assert.ok(Date.now() - started < 4000, `answered after ${Date.now() - started} ms, not the lock timeout`);
    } finally {
      await held.end();
    }
    const created = ok(await first, 201);
    const replay = await on(srv, 1, t.key.secret).post('/customers', body, { idem: key });
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.equal(ok(replay, 201).id, created.id);
  });

test('200 creates at once across both instances get distinct, gap-free mailbox numbers', { skip }, async () => {
  const t = await srv.tenant();
  const answers = await Promise.all(Array.from({ length: 200 },
    (_, i) => on(srv, i % 2, t.key.secret).post('/customers', customerBody())));
  const customers = answers.map((r) => ok(r, 201));
  assert.equal(new Set(customers.map((c) => c.id)).size, 200);
  const numbers = await pool(customers, 16, async (c, i) => ok(await on(srv, i % 2, t.key.secret).get(`/customers/${c.id}/mailbox`)).number);
  const sorted = numbers.map(Number).sort((a, b) => a - b);
  assert.deepEqual(sorted, Array.from({ length: 200 }, (_, i) => 1001 + i), 'numbers 1001 to 1200, each once');
  assert.equal((await srv.events(t.partner.id, 'customer.created')).length, 200, 'one event per customer');
  // The next number, on either instance, follows them.
  const next = await createCustomerOn(srv, 1, t.key.secret);
  assert.equal(Number(ok(await on(srv, 0, t.key.secret).get(`/customers/${next.id}/mailbox`)).number), 1201);
});

/** Creates a customer on instance k; returns it (asserts 201). */
async function createCustomerOn(server, k, secret) {
  return ok(await on(server, k, secret).post('/customers', customerBody()), 201);
}

/**
 * The local ports of the TCP connections process pid has open to 127.0.0.1:port, read from
 * /proc: which instance sends a delivery the receiver holds.
 */
function connectionPorts(pid, port) {
  const inodes = new Set();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {}
  }
  const ports = new Set();
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || !inodes.has(f[9])) continue;
    if (parseInt(f[2].split(':')[1], 16) === port) ports.add(parseInt(f[1].split(':')[1], 16));
  }
  return ports;
}

test('kill -9 of one instance during creates and deliveries: nothing acknowledged lost or doubled, every event delivered, the other kept answering',
  { skip }, async (ctx) => {
    const own = await startServer({ env: WEBHOOK_ENV });
    try {
      const t = await own.tenant();
      // Each delivery is held 200 ms (the attempt timeout is 1 s): attempts are in flight all along.
      const rcv = await receiver({ status: 200, delay: 200 });
      await createEndpoint(own, t.partner.id, rcv);
      const victim = 1;
      const victimPid = own.instances[victim].proc.pid;

      // Creates from 3 clients, each to the next running instance, about 100 a second in all (the
      // receiver takes 20 a second); a request cut off by the kill has an unknown outcome and is
      // retried with its key below.
      const attempted = [];
      const acked = [];
      const refused = [];
      const cut = [];
      let stopped = false;
      let killedAt = Infinity;
      const client = async () => {
        while (!stopped) {
          const k = own.instances.indexOf(own.next());
          const req = { key: uniq('kill'), body: customerBody(), k };
          attempted.push(req);
          try {
            const r = await on(own, k, t.key.secret).post('/customers', req.body, { idem: req.key, timeout: 10000 });
            if (r.status === 201) acked.push({ ...req, id: r.body.id, at: Date.now() });
            else refused.push(`instance ${k}: ${r.status} ${r.text}`);
          } catch (err) {
            cut.push({ ...req, err: err.message });
          }
          await sleep(25);
        }
      };
      const clients = Array.from({ length: 3 }, client);

      // Kill the victim while the receiver holds one of its attempts.
      let inFlight;
      const deadline = Date.now() + 20000;
      while (!inFlight && Date.now() < deadline) {
        if (acked.length >= 20) {
          const ports = connectionPorts(victimPid, rcv.port);
          inFlight = rcv.deliveries.find((d) => d.answeredAt === undefined && ports.has(d.remotePort));
        }
        if (!inFlight) await sleep(5);
      }
      assert.ok(inFlight, `the victim had no attempt in flight within 20 s (${acked.length} creates, ${rcv.deliveries.length} deliveries)`);
      await own.instances[victim].kill9();
      killedAt = Date.now();
      const ackedBefore = acked.length;
      await sleep(1000);
      stopped = true;
      await Promise.all(clients);

      ctx.diagnostic(`${ackedBefore} creates acknowledged before the kill, ${acked.length - ackedBefore} after; `
        + `${cut.length} cut off; event ${inFlight.eventId} was in flight on the victim`);
      assert.deepEqual(refused, [], 'every answered create was a 201');
      assert.ok(cut.every((c) => c.k === victim), `only requests to the victim were cut off: ${JSON.stringify(cut.filter((c) => c.k !== victim))}`);
      assert.ok(acked.filter((a) => a.k !== victim && a.at > killedAt).length >= 10, 'the survivor kept answering');

      // Every acknowledged create is there; a cut-off request retried with its key lands once.
      const api = on(own, 1 - victim, t.key.secret);
      for (const c of cut) ok(await api.post('/customers', c.body, { idem: c.key }), 201);
      const customers = await listAll(api, '/customers');
      const byEmail = new Map(customers.map((c) => [c.email, c]));
      for (const a of acked) assert.equal(byEmail.get(a.body.email)?.id, a.id, `acknowledged ${a.id} is there`);
      assert.equal(customers.length, attempted.length, 'one customer per request, none doubled');
      assert.equal(byEmail.size, customers.length);

      // Every event reaches the receiver, answered and logged as succeeded; the attempt the victim
      // had in flight is made again by the survivor once its lease has run out.
      const events = await own.events(t.partner.id, 'customer.created');
      assert.deepEqual(events.map((e) => e.data.object.id).sort(), customers.map((c) => c.id).sort());
      const ids = events.map((e) => e.id);
      await rcv.until((r) => ids.every((id) => r.of(id).some((d) => d.answeredAt !== undefined)),
        'an answered delivery of every event', 60000);
      let missing = ids;
      for (const until = Date.now() + 10000; missing.length && Date.now() < until; await sleep(200)) {
        const succeeded = new Set((await listAll(api, '/webhook-deliveries', { status: 'succeeded' })).map((d) => d.event_id));
        missing = ids.filter((id) => !succeeded.has(id));
      }
      assert.deepEqual(missing, [], 'a succeeded attempt in the log for every event');
      const again = rcv.of(inFlight.eventId).filter((d) => d.at > killedAt);
      assert.ok(again.length >= 1, `event ${inFlight.eventId}, in flight on the victim, was delivered again after the kill`);
      let doubled = 0;
      for (const id of ids) {
        const copies = rcv.of(id);
        if (copies.length > 1) doubled++;
        for (const d of copies) {
          assert.deepEqual(d.json, copies[0].json, `every copy of ${id} carries the same event`);
          assertSigned(d);
        }
      }
      ctx.diagnostic(`${ids.length} events, ${doubled} delivered more than once`);
    } finally {
      await own.stop();
    }
  });
