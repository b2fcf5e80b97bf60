// The write-ahead log stays bounded under sustained writes. SQLite only restarts its WAL from the
// beginning once a checkpoint has copied every frame back; under continuous group-committed
// creates (with readers alongside) a passive checkpoint never gets there, and the WAL used to grow
// by tens of megabytes a second until the disk was full. The server must keep it near its limit
// (64 MiB) at any write rate, while every acknowledged write stays readable.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { startServer, ok, customerBody, uniq, sqliteOnly } from './lib.mjs';

const DRIVE_MS = Number(process.env.INNBOCKS_WAL_TEST_MS ?? 20000);
const WAL_BOUND = 128 * 1024 * 1024;
const skip = sqliteOnly("the file measured is SQLite's write-ahead log (PostgreSQL keeps its own)");

let srv;
before(async () => { if (!skip) srv = await startServer(); });
after(async () => { await srv?.stop(); });

async function walBytes() {
  try {
    return (await stat(`${srv.dbPath}-wal`)).size;
  } catch {
    return 0;
  }
}

/**
 * Drives 32 writers of durable creates and 4 readers at server for ms; returns
 * {largest WAL bytes, writes, created ids}.
 */
async function drive(server, ms) {
  const tn = await server.tenant();
  const deadline = Date.now() + ms;
  const created = [];
  let largest = 0;
  let writes = 0;
  const wal = async () => {
    try {
      return (await stat(`${server.dbPath}-wal`)).size;
    } catch {
      return 0;
    }
  };
  const sampler = setInterval(async () => { largest = Math.max(largest, await wal()); }, 100);
  const writer = async () => {
    while (Date.now() < deadline) {
      const r = await tn.api.post('/customers', customerBody({ metadata: { pad: 'x'.repeat(400) } }),
        { idem: uniq('wal') });
      created.push(ok(r, 201).id);
      writes++;
    }
  };
  const reader = async () => {
    while (Date.now() < deadline) {
      if (created.length) ok(await tn.api.get(`/customers/${created[created.length - 1]}`));
      ok(await tn.api.get('/customers?limit=10'));
    }
  };
  try {
    await Promise.all([
      ...Array.from({ length: 32 }, writer),
      ...Array.from({ length: 4 }, reader),
    ]);
  } finally {
    clearInterval(sampler);
  }
  return { largest: Math.max(largest, await wal()), writes, created, tn };
}

const mib = (n) => `${(n / 1048576).toFixed(1)} MiB`;

test('the WAL stays bounded under a sustained stream of durable creates and reads', { skip }, async (t) => {
  const { largest, writes, created, tn } = await drive(srv, DRIVE_MS);
  t.diagnostic(`${writes} creates in ${DRIVE_MS} ms, largest WAL ${mib(largest)}`);
  assert.ok(largest < WAL_BOUND,
    `the WAL reached ${mib(largest)} after ${writes} creates in ${DRIVE_MS} ms (bound ${mib(WAL_BOUND)})`);
  // The checkpoints lost nothing: the first, a middle and the last acknowledged create are readable.
  for (const id of [created[0], created[created.length >> 1], created.at(-1)]) {
    assert.equal(ok(await tn.api.get(`/customers/${id}`)).id, id);
  }
  // And the data survives a restart on the checkpointed database.
  await srv.stop({ keep: true });
  await srv.restart();
  assert.equal(ok(await tn.api.get(`/customers/${created.at(-1)}`)).id, created.at(-1));
});

// With group commit off every request commits on its own thread; the log was bounded only by the
// main thread's check twice a second, and passed 130 MiB within seconds. Each commit checks now.
test('with group commit off the WAL stays under 96 MiB too', { skip }, async (t) => {
  const own = await startServer({ env: { INNBOCKS_GROUP_COMMIT: '0' } });
  try {
    const ms = Math.min(DRIVE_MS, 10000);
    const { largest, writes } = await drive(own, ms);
    t.diagnostic(`${writes} creates in ${ms} ms, largest WAL ${mib(largest)}`);
    assert.ok(largest < 96 * 1024 * 1024, `the WAL reached ${mib(largest)} after ${writes} creates in ${ms} ms`);
  } finally {
    await own.stop();
  }
});

// A reader holding an old snapshot (a backup's VACUUM INTO, a report in the sqlite3 shell) keeps
// the WAL from restarting. Waiting it out with the write lock held stopped every write for the
// busy timeout (10 s without one acknowledged create); now writes go on, the WAL grows while the
// reader lasts, and it restarts once the reader is done.
test('a long reader in another process does not stop writes once the WAL is past its bound', { skip }, async (t) => {
  const { spawn } = await import('node:child_process');
  const tn = await srv.tenant();
  const HOLD_S = 4;
  let stop = false;
  const acked = []; // acknowledgement times
  const writer = async () => {
    while (!stop) {
      ok(await tn.api.post('/customers', customerBody({ metadata: { pad: 'x'.repeat(400) } }),
        { idem: uniq('long') }), 201);
      acked.push(Date.now());
    }
  };
  const writers = Array.from({ length: 16 }, writer);
  try {
    // Past the bound, where every commit tries to restart the WAL.
    while (await walBytes() < 60 * 1048576) await new Promise((r) => setTimeout(r, 100));
    const reader = spawn('sqlite3', [srv.dbPath], { stdio: ['pipe', 'ignore', 'pipe'] });
    reader.stdin.end(`BEGIN;\nSELECT count(*) FROM customers;\n.shell sleep ${HOLD_S}\nCOMMIT;\n`);
    const from = Date.now();
    await new Promise((r) => reader.on('exit', r));
    const to = Date.now();
    const walAfterReader = await walBytes();
    await new Promise((r) => setTimeout(r, 1500));
    stop = true;
    await Promise.all(writers);
    const perSecond = Array.from({ length: HOLD_S }, (_, i) => acked.filter((a) => a >= from + i * 1000 && a < from + (i + 1) * 1000).length);
    t.diagnostic(`creates acknowledged per second while the reader held: ${perSecond.join(', ')}; WAL ${(walAfterReader / 1048576).toFixed(0)} MiB when it ended, ${((await walBytes()) / 1048576).toFixed(0)} MiB later`);
    assert.ok(to - from >= HOLD_S * 1000, 'the reader held its snapshot');
    // A WAL is deleted only by the database's last connection closing: had the server lost its
    // locks on the database file, the reader's exit would have taken it (and checkpointed the
    // server's database from under it).
    assert.ok(walAfterReader > 0, "the reader's exit deleted the running server's WAL");
    for (const n of perSecond) assert.ok(n > 0, `a second without one acknowledged create: ${perSecond}`);
  } finally {
    stop = true;
    await Promise.allSettled(writers);
  }
});
