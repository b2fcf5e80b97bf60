// The write-ahead log stays bounded under sustained writes. SQLite only restarts its WAL from the
// beginning once a checkpoint has copied every frame back; under continuous group-committed
// creates (with readers alongside) a passive checkpoint never gets there, and the WAL used to grow
// by tens of megabytes a second until the disk was full. The server must keep it near its limit
// (64 MiB) at any write rate, while every acknowledged write stays readable.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { startServer, ok, customerBody, uniq } from './lib.mjs';

const DRIVE_MS = Number(process.env.INNBOCKS_WAL_TEST_MS ?? 20000);
const WAL_BOUND = 128 * 1024 * 1024;

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv?.stop(); });

async function walBytes() {
  try {
    return (await stat(`${srv.dbPath}-wal`)).size;
  } catch {
    return 0;
  }
}

test('the WAL stays bounded under a sustained stream of durable creates and reads', async (t) => {
  const tn = await srv.tenant();
  const deadline = Date.now() + DRIVE_MS;
  const created = [];
  let largest = 0;
  let writes = 0;
  const sampler = setInterval(async () => { largest = Math.max(largest, await walBytes()); }, 100);
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
  largest = Math.max(largest, await walBytes());
  const mib = (n) => `${(n / 1048576).toFixed(1)} MiB`;
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
