// `innbocks backup FILE` (docs/operators.md, docs/deploy.md): a consistent copy while the server runs and writes. A
// stream of creates runs before, during and after the backup; the copy must pass SQLite's
// integrity check, and a server started on it (restoring is starting on the file) must serve
// every customer acknowledged before the backup began, with the same keys. On PostgreSQL the
// command writes nothing and names pg_dump (docs/deploy.md), which is PostgreSQL's own backup.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  startServer, Server, runCli, customerBody, sleep, sqliteOnly, postgresOnly, ON_PG,
} from './lib.mjs';

let srv;
let dir;
before(async () => {
  srv = await startServer();
  dir = await mkdtemp(path.join(tmpdir(), 'innbocks-backup-'));
});
after(async () => {
  await srv?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const sqlite = (file, sql) => execFileSync('sqlite3', [file, sql], { encoding: 'utf8' }).trim();

test('a backup taken during a stream of creates is consistent and serves every customer acknowledged before it began',
  { skip: sqliteOnly('the copy is an SQLite file written by VACUUM INTO; PostgreSQL is backed up with pg_dump') }, async () => {
  const t = await srv.tenant();
  const acked = [];
  const failures = [];
  let stop = false;
  const writer = async () => {
    while (!stop) {
      const r = await t.api.post('/customers', customerBody());
      if (r.status === 201) acked.push(r.body.id);
      else failures.push(`${r.status} ${r.text}`);
    }
  };
  const writers = Array.from({ length: 4 }, writer);
  while (acked.length < 100) await sleep(10);

  const file = path.join(dir, 'backup.db');
  const before = [...acked];
  const r = await runCli(['backup', file], { env: { INNBOCKS_DATABASE: srv.dbPath } });
  const during = acked.length - before.length;
  await sleep(200);
  stop = true;
  await Promise.all(writers);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(failures, [], 'the creates go on while the backup runs');
  assert.ok(during > 0, 'creates were acknowledged while the backup ran');
  const out = JSON.parse(r.stdout);
  assert.equal(out.path, file);
  assert.equal(out.bytes, statSync(file).size);
  assert.deepEqual(readdirSync(dir).filter((n) => n.includes('.partial-')), [], 'no temporary file is left');

  assert.equal(sqlite(file, 'PRAGMA integrity_check'), 'ok');
  const count = Number(sqlite(file, 'SELECT count(*) FROM customers'));
  assert.ok(count >= before.length && count <= acked.length, `${count} customers in the copy`);

  // Restoring is starting the server on the copy.
  const restoreDir = await mkdtemp(path.join(tmpdir(), 'innbocks-restore-'));
  await copyFile(file, path.join(restoreDir, 'innbocks.db'));
  const restored = new Server(restoreDir, { adminToken: srv.adminToken });
  await restored.start();
  try {
    const api = restored.api(t.key.secret);
    for (let i = 0; i < before.length; i += 20) {
      const rs = await Promise.all(before.slice(i, i + 20).map((id) => api.get(`/customers/${id}`)));
      for (const res of rs) assert.equal(res.status, 200, res.text);
    }
    const list = await api.get('/customers?limit=100');
    assert.equal(list.status, 200);
  } finally {
    await restored.stop();
  }
});

test('backup refuses a file that exists and leaves it alone; it needs exactly one FILE', async () => {
  const file = path.join(dir, 'taken.db');
  writeFileSync(file, 'precious');
  const r = await runCli(['backup', file], { env: { INNBOCKS_DATABASE: srv.dbPath } });
  assert.equal(r.code, 1);
  assert.match(r.stderr, ON_PG ? /pg_dump/ : /exists/);
  assert.equal(readFileSync(file, 'utf8'), 'precious');
  assert.equal((await runCli(['backup'], { env: { INNBOCKS_DATABASE: srv.dbPath } })).code, 2);
  assert.equal((await runCli(['backup', 'a.db', 'b.db'], { env: { INNBOCKS_DATABASE: srv.dbPath } })).code, 2);
});

// A backup that was killed (kill -9, the machine's power) left FILE.partial-PID behind for good.
test('a backup removes what killed backups to its file left, and nothing a running one writes',
  { skip: sqliteOnly('backup refuses on PostgreSQL') }, async () => {
    const file = path.join(dir, 'after-a-kill.db');
    const gone = spawnSync('true').pid; // a process that has exited
    writeFileSync(`${file}.partial-${gone}`, 'half a database');
    writeFileSync(`${file}.partial-${process.pid}`, 'a backup still running'); // this process lives
    writeFileSync(`${file}.partial-other`, 'not a backup\'s');
    const r = await runCli(['backup', file], { env: { INNBOCKS_DATABASE: srv.dbPath } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sqlite(file, 'PRAGMA integrity_check'), 'ok');
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('after-a-kill.db')).sort(),
      ['after-a-kill.db', `after-a-kill.db.partial-${process.pid}`, 'after-a-kill.db.partial-other']);
  });

test('on PostgreSQL, backup writes nothing and points at pg_dump', { skip: postgresOnly('backup refuses only there') }, async () => {
  const file = path.join(dir, 'pg.db');
  const r = await runCli(['backup', file], { env: { INNBOCKS_DATABASE: srv.dbPath } });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /pg_dump/);
  assert.equal(r.stdout, '');
  assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('pg.db')), [], 'no file, partial or whole');
});
