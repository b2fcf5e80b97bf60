// Covers `innbocks migrate` (docs/operators.md#migrations): it applies the migrations a database
// lacks and exits, printing the schema version before and after, on SQLite and on PostgreSQL; a
// second run, or one beside a running server, applies nothing; two runs at once on PostgreSQL
// apply each migration once (the advisory lock `serve` takes too); a database newer than the
// binary is refused. The PostgreSQL tests need a cluster: they run under scripts/pg_cluster.sh
// (INNBOCKS_TEST_PG or INNBOCKS_UNIT_PG names its maintenance database) and are skipped otherwise.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, BIN, BACKEND, startServer, runCli, ok, uniq } from './lib.mjs';

/** s with the characters a regular expression gives meaning to escaped. */
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** How many migrations the binary carries for a backend: the files of sql/<backend>/. */
const migrations = (backend) =>
  readdirSync(path.join(ROOT, 'sql', backend)).filter((f) => /^\d{4}_.*\.sql$/.test(f)).length;

const PG = process.env.INNBOCKS_TEST_PG || process.env.INNBOCKS_UNIT_PG || '';
const pgOnly = PG ? false : 'no PostgreSQL cluster (run under scripts/pg_cluster.sh run)';

/** Runs SQL with psql on a database of the cluster (default: its maintenance one). */
const psql = (sql, dbname) =>
  execFileSync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql, dbname ? `${PG} dbname=${dbname}` : PG],
    { encoding: 'utf8' }).trim();

const cleanups = [];
after(async () => { for (const f of cleanups.reverse()) await f(); });

/** A path for a database that does not exist yet, in a directory removed after the file's tests. */
async function newSqlitePath() {
  const dir = await mkdtemp(path.join(tmpdir(), 'innbocks-migrate-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return path.join(dir, 'innbocks.db');
}

/** Runs `innbocks migrate` on database; asserts it succeeded and returns what it printed. */
async function migrate(database) {
  const r = await runCli(['migrate', '--database', database]);
  assert.equal(r.code, 0, `innbocks migrate failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
  assert.ok(r.json, `stdout is not JSON: ${r.stdout}`);
  return r.json;
}

test('migrate brings a new SQLite database to the binary\'s schema, then finds nothing to do', async () => {
  const db = await newSqlitePath();
  const n = migrations('sqlite');
  assert.deepEqual(await migrate(db), {
    backend: 'sqlite', database: db, schema_version_before: 0, schema_version_after: n, migrations_applied: n,
  });
  assert.deepEqual(await migrate(db), {
    backend: 'sqlite', database: db, schema_version_before: n, schema_version_after: n, migrations_applied: 0,
  });
  // serve starts on the migrated database and works.
  const srv = await startServer({ env: { INNBOCKS_DATABASE: db }, instances: 1 });
  try {
    const p = await srv.createPartner();
    assert.equal(ok(await srv.admin().get(`/partners/${p.id}`)).id, p.id);
  } finally {
    await srv.stop();
  }
});

test('migrate beside a running server applies nothing and the server keeps answering', async () => {
  // On PostgreSQL (make api-pg) the server is two instances on its database.
  const srv = await startServer();
  try {
    const n = migrations(BACKEND);
    const before = await srv.createPartner();
    const out = await migrate(srv.dbPath);
    assert.equal(out.schema_version_before, n);
    assert.equal(out.migrations_applied, 0);
    ok(await srv.admin().get(`/partners/${before.id}`));
    await srv.createPartner();
  } finally {
    await srv.stop();
  }
});

test('migrate refuses a database a newer binary migrated, naming both versions', async () => {
  const db = await newSqlitePath();
  const n = migrations('sqlite');
  await migrate(db);
  execFileSync('sqlite3', [db, `INSERT INTO schema_version VALUES (${n + 1})`]);
  const r = await runCli(['migrate', '--database', db]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, new RegExp(`schema version ${n + 1}, newer than this binary's ${n}`));
});

test('a database that cannot be opened is refused at start, naming the file and SQLite\'s reason', async () => {
  const bad = await newSqlitePath();
  writeFileSync(bad, 'not a database, some text\n');
  for (const args of [['migrate', '--database', bad], ['serve', '--database', bad, '--listen', '127.0.0.1:9']]) {
    const r = await runCli(args);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`cannot open the database ${escape(bad)}: file is not a database`));
  }
  // A migration that fails says which one.
  const db = await newSqlitePath();
  await migrate(db);
  const n = migrations('sqlite');
  // The last migration (0013) indexes customers, which are now elsewhere (a later one that leaves
  // customers alone needs another table taken away here).
  execFileSync('sqlite3', [db, `DELETE FROM schema_version WHERE version = ${n}; ALTER TABLE customers RENAME TO customers_elsewhere`]);
  const r = await runCli(['migrate', '--database', db]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`cannot migrate the database ${escape(db)} to schema version ${n}: no such table: (main\\.)?customers`));
});

// Root may write any file: the server runs as another user here, as it does under systemd.
const asRoot = process.getuid?.() === 0 ? false : 'needs root, to run the server as another user';

test('a database file or directory the server may not write is refused at start, not served read-only',
  { skip: asRoot }, async () => {
    const dir = path.dirname(await newSqlitePath());
    chmodSync(dir, 0o777);
    const bin = path.join(dir, 'innbocks');
    copyFileSync(BIN, bin);
    chmodSync(bin, 0o755);
    const asNobody = (db) => spawnSync('runuser', ['-u', 'nobody', '--', bin, 'serve', '--database', db,
      '--listen', '127.0.0.1:9'], { encoding: 'utf8', timeout: 10000, env: { ...process.env, INNBOCKS_LOG: 'off' } });
    // A file it may only read: SQLite opens it read-only without a word, and every write failed.
    const readOnly = path.join(dir, 'read-only.db');
    await migrate(readOnly);
    chmodSync(readOnly, 0o444);
    let r = asNobody(readOnly);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`cannot open the database ${escape(readOnly)}: the file is read-only for this user`));
    // A file it may write in a directory it may not: SQLite cannot make its -wal and -shm files.
    const sub = path.join(dir, 'locked');
    mkdirSync(sub, { mode: 0o755 });
    const locked = path.join(sub, 'innbocks.db');
    await migrate(locked);
    chownSync(locked, 65534, 65534);
    r = asNobody(locked);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`cannot open the database ${escape(locked)}: .*\\(its directory ${escape(sub)} is not writable`));
  });

test('on PostgreSQL, two migrates at once apply each migration once; serve then starts on the database',
  { skip: pgOnly }, async () => {
    const dbname = uniq('innbocks_migrate_').toLowerCase().replace(/[^a-z0-9_]/g, '_');
    psql(`CREATE DATABASE ${dbname}`);
    cleanups.push(() => psql(`DROP DATABASE IF EXISTS ${dbname} WITH (FORCE)`));
    const conninfo = `${PG} dbname=${dbname}`;
    const m = migrations('postgres');
    const both = await Promise.all([migrate(conninfo), migrate(conninfo)]);
    // The connection string may hold a password: it is never printed.
    for (const out of both) {
      assert.equal(out.backend, 'postgresql');
      assert.ok(!('database' in out));
      assert.equal(out.schema_version_after, m);
    }
    // One took the advisory lock and migrated; the other waited for it and found nothing left.
    assert.deepEqual(both.map((o) => o.migrations_applied).sort((a, b) => a - b), [0, m]);
    assert.deepEqual(both.map((o) => o.schema_version_before).sort((a, b) => a - b), [0, m]);
    assert.equal(psql('SELECT count(*) FROM schema_version', dbname), String(m));
    const srv = await startServer({ env: { INNBOCKS_DATABASE: conninfo }, instances: 2 });
    try {
      const p = await srv.createPartner();
      const again = await migrate(conninfo);
      assert.equal(again.migrations_applied, 0);
      ok(await srv.admin().get(`/partners/${p.id}`));
    } finally {
      await srv.stop();
    }
  });
