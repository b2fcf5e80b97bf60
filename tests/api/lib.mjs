// Harness for the black-box API tests. It starts the real binary (`build/innbocks`, or
// $INNBOCKS_BIN) on a fresh SQLite database in a temporary directory, waits for /healthz, and
// offers small request helpers for the Partner API (/api/v1) and the operator API (/admin/v1).
// Stopping the server asserts a clean exit (code 0, no sanitizer report), so a crash, a leak or a
// hang at shutdown fails the test file that started it.
// With INNBOCKS_TEST_BACKEND=postgres (and INNBOCKS_TEST_PG, the conninfo of a throwaway cluster:
// `scripts/pg_cluster.sh run` sets it, `make api-pg`), a "server" is instead a fresh database on
// that cluster (created per server as a copy of one migrated once, dropped after it stops) served
// by TWO processes of the binary:
// the request helpers alternate between them, either one delivers webhooks (docs/deploy.md: several
// instances behave as one server). Tests of SQLite's own files skip there, saying why.
// Every response the request helpers (Client, rawHttp) receive is validated against the OpenAPI
// document (openapi_lib.mjs): a response the document does not describe fails the request.
import { spawn, execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import http from 'node:http';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { validateResponse } from './openapi_lib.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.resolve(ROOT, process.env.INNBOCKS_BIN || 'build/innbocks');
/**
 * The skip option of a test that runs no server (the OpenAPI documents, their linting, the
 * clients generated from them): the same whichever binary and backend run the suite, so the
 * stages that run it again (api-asan, api-pg) set INNBOCKS_DOCUMENT_TESTS=skip and leave
 * them to the plain stage.
 */
export const DOCUMENT_TEST = process.env.INNBOCKS_DOCUMENT_TESTS === 'skip'
  ? { skip: 'runs no server: checked in the plain stage (make api)' } : {};

export const ALL_SCOPES = [
  'customers:read', 'customers:write', 'mail:read', 'mail:write',
  'mail_actions:write', 'webhooks:read', 'billing:read',
];
export const LOCATION = {
  line1: '548 Market St', city: 'San Francisco', state: 'CA', postal_code: '94104', country: 'US',
};
/** 'sqlite' (the default) or 'postgres': the backend every Server of this run uses. */
export const BACKEND = process.env.INNBOCKS_TEST_BACKEND || 'sqlite';
if (!['sqlite', 'postgres'].includes(BACKEND)) throw new Error(`INNBOCKS_TEST_BACKEND=${BACKEND}: sqlite or postgres`);
export const ON_PG = BACKEND === 'postgres';
/** The conninfo of the cluster's maintenance database, where servers' databases are created. */
const PG_ADMIN = process.env.INNBOCKS_TEST_PG;
if (ON_PG && !PG_ADMIN) throw new Error('INNBOCKS_TEST_BACKEND=postgres needs INNBOCKS_TEST_PG (scripts/pg_cluster.sh run sets it)');
/** How many processes serve one Server: two on PostgreSQL, one on SQLite (a file has one server). */
export const INSTANCES = ON_PG ? 2 : 1;

/**
 * For node:test's `skip` option of a test that only means something on SQLite (its WAL, its file,
 * VACUUM INTO): the reason when this run is on PostgreSQL, else false.
 */
export function sqliteOnly(why) { return ON_PG ? `SQLite only: ${why}` : false; }
/** For node:test's `skip` option of a test that only means something on PostgreSQL. */
export function postgresOnly(why) { return ON_PG ? false : `PostgreSQL only (INNBOCKS_TEST_BACKEND=postgres): ${why}`; }

/** The conninfo `base` with its dbname replaced by `name`. */
function pgConninfo(base, name) {
  return `${base.replace(/(^|\s)dbname=\S+/g, '').trim()} dbname=${name}`;
}

/** psql's arguments for running `sql` on conninfo, unaligned, without headers, stopping at an error. */
const psqlArgs = (conninfo, sql) => ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', conninfo, '-c', sql];

/** Runs one statement on the cluster's maintenance database (CREATE/DROP DATABASE). */
function pgAdmin(sql) {
  return new Promise((resolve, reject) => {
    execFile('psql', psqlArgs(PG_ADMIN, sql), { encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`psql ${sql}: ${stderr || err.message}`)); else resolve(stdout);
    });
  });
}

/**
 * The database every server's PostgreSQL database is copied from (CREATE DATABASE ... TEMPLATE),
 * migrated once by this binary: migrating each server's own took a fifth of the stage's time. One
 * per cluster and binary (its name carries a digest of the binary), made by the first test file
 * that needs it: it migrates a database of its own and renames it to the shared name, so that name
 * exists only once the schema is whole; a file that loses that race drops its copy. The servers
 * that must migrate an empty database themselves ask for `pgFresh`.
 */
let pgTemplate = null;
function pgTemplateName() {
  pgTemplate ??= (async () => {
    const name = `innbocks_template_${createHash('sha256').update(readFileSync(BIN)).digest('hex').slice(0, 16)}`;
    const exists = async () => (await pgAdmin(`SELECT count(*) FROM pg_database WHERE datname = '${name}'`)).trim() === '1';
    if (await exists()) return name;
    const own = `${name}_${process.pid}`;
    await pgAdmin(`CREATE DATABASE ${own}`);
    const r = await runCli(['migrate', '--database', pgConninfo(PG_ADMIN, own)]);
    if (r.code !== 0) throw new Error(`innbocks migrate of the template database: ${r.stderr}`);
    try {
      await pgAdmin(`ALTER DATABASE ${own} RENAME TO ${name}`);
    } catch (err) {
      await pgAdmin(`DROP DATABASE ${own}`);
      if (!(await exists())) throw err;
    }
    return name;
  })();
  return pgTemplate;
}

/**
 * Databases of stopped servers being dropped (about 0.3 s each on the cluster, which runs with
 * fsync on): a stop does not wait for it; the test file's process does, before it exits, and
 * fails when a drop failed.
 */
function pgDropLater(name) {
  pgAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch((err) => {
    console.error(`dropping the database of a stopped server: ${err.message}`);
    process.exitCode = 1;
  });
}

export const REQ_ID = /^req_[A-Za-z0-9_-]{8,}$/;
export const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

const running = new Set();
process.on('exit', () => { for (const p of running) { try { p.kill('SIGKILL'); } catch {} } });

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let counter = 0;
/** A short string unique within this test run (for emails, names, idempotency keys). */
export function uniq(prefix = 'u') {
  return `${prefix}${Date.now().toString(36)}${(counter++).toString(36)}${randomBytes(3).toString('hex')}`;
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/**
 * Runs start(port) on a port free right now and returns what it returns. That port can be taken
 * (by a client's outgoing connection, another process's listener) before start binds it: when
 * start throws an error saying this port is already in use (as startServer's error quotes the
 * server's "Failed to bind to port N: Address already in use"), start runs again on a fresh port,
 * at most 5 times in all. Any other error, or one about another port, is thrown at once.
 * startServer uses it for the ports it chooses; a caller choosing a port (opts.port, a metrics
 * address) wraps startServer in it.
 */
export async function onFreePort(start) {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await start(port);
    } catch (err) {
      const msg = String(err?.message ?? err);
      if (attempt === 5 || !/already in use/i.test(msg) || !new RegExp(`\\b${port}\\b`).test(msg)) throw err;
    }
  }
}

/**
 * A TCP port on 127.0.0.1 that refuses connections and, unlike freePort()'s, that no process can
 * listen on until release(): the local end of a connection this process holds open (to a
 * listener of its own, closed at once). Resolves {port, release()}.
 */
export async function closedPort() {
  const listener = net.createServer();
  listener.unref();
  await new Promise((resolve, reject) => { listener.on('error', reject); listener.listen(0, '127.0.0.1', resolve); });
  const accepted = new Promise((resolve) => listener.once('connection', resolve));
  const near = net.connect(listener.address().port, '127.0.0.1');
  await new Promise((resolve, reject) => { near.on('error', reject); near.on('connect', resolve); });
  // Closed only once it accepted: closing before would reset the connection, and free the port.
  const far = await accepted;
  listener.close();
  const ends = [near, far];
  for (const s of ends) s.on('error', () => {}).unref();
  return { port: near.localPort, release: () => { for (const s of ends) s.destroy(); } };
}

/** The environment of this process without any INNBOCKS_* setting, plus `extra` (undefined deletes). */
function childEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('INNBOCKS_')) env[k] = v;
  for (const [k, v] of Object.entries(extra)) { if (v === undefined) delete env[k]; else env[k] = String(v); }
  return env;
}

/** Turns {a: 1, b: undefined} into "?a=1" (undefined values are left out). */
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.append(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}

/**
 * Starts `innbocks serve` on a fresh database (on PostgreSQL: two processes on one fresh
 * database). Options:
 *   rateLimit, rateBurst  (default 100000 each: effectively unlimited, but headers still sent)
 *   env                   extra or overriding environment (undefined removes a variable)
 *   args                  extra command-line arguments after `serve`
 *   port                  the port to poll when args/env choose it; default: a free port
 *                         (a fixed port means one process, on PostgreSQL too)
 *   adminToken            the token admin() uses (default: the one put in the environment)
 *   nofile                run under `ulimit -n nofile`
 *   logTail               how many characters of stdout (the access log) to keep (default 200000)
 *   instances             how many processes serve the database (default INSTANCES)
 *   pgLocale              on PostgreSQL, the locale the database is created with (default the
 *                         cluster's, C); ignored on SQLite
 *   pgFresh               on PostgreSQL, an empty database that the processes migrate at start,
 *                         racing each other (default: a copy of one already migrated)
 */
export async function startServer(opts = {}) {
  const dir = await mkdtemp(path.join(tmpdir(), 'innbocks-api-'));
  const srv = new Server(dir, opts);
  try {
    await srv.start();
  } catch (err) {
    await srv.drop();
    throw err;
  }
  return srv;
}

/** One process of the binary: its port, its child process and what it wrote. */
class Instance {
  constructor(port) { this.port = port; this.proc = null; this.stdout = ''; this.stderr = ''; this.exited = null; }

  get url() { return `http://127.0.0.1:${this.port}`; }

  /** Spawns `innbocks serve` with env and waits for /healthz; throws when it exits or hangs. */
  async start(env, o) {
    // nofile: start under `ulimit -n nofile` (the soft and hard descriptor limit).
    const [cmd, argv] = o.nofile
      ? ['sh', ['-c', `ulimit -n ${Number(o.nofile)} && exec "$0" serve "$@"`, BIN, ...(o.args ?? [])]]
      : [BIN, ['serve', ...(o.args ?? [])]];
    const proc = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    running.add(proc);
    // stdout carries the access log only; stderr the server's other messages.
    const logTail = o.logTail ?? 200000;
    proc.stdout.setEncoding('utf8').on('data', (chunk) => { this.stdout = (this.stdout + chunk).slice(-logTail); });
    proc.stderr.setEncoding('utf8').on('data', (chunk) => { this.stderr = (this.stderr + chunk).slice(-200000); });
    this.exited = new Promise((resolve) => {
      proc.on('error', (err) => { running.delete(proc); resolve({ code: null, signal: null, error: err }); });
      proc.on('exit', (code, signal) => { running.delete(proc); resolve({ code, signal }); });
    });
    let done = null;
    this.exited.then((r) => { done = r; });
    const deadline = Date.now() + 10000;
    while (Date.now() < deadline) {
      if (done) {
        throw new Error(`server exited before it was ready (${done.error ?? `code ${done.code}, signal ${done.signal}`}); `
          + `binary ${BIN}\n${this.stderr}`);
      }
      // Only once it says it listens: until then another process may hold the port.
      if (!this.stderr.includes(`listening on ${this.url}`)) { await sleep(20); continue; }
      try {
        const res = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(1000) });
        const text = await res.text();
        if (res.status === 200 && JSON.parse(text).status === 'ok') return;
      } catch {}
      await sleep(20);
    }
    proc.kill('SIGKILL');
    throw new Error(`server not ready within 10 s on port ${this.port}\n${this.stderr}`);
  }

  /** Stops the process with `signal` and asserts a clean exit: code 0 and no sanitizer report. */
  async stop(signal) {
    const proc = this.proc;
    if (!proc) return;
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    let timer;
    const timeout = new Promise((r) => { timer = setTimeout(() => r(null), 30000); });
    const r = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    this.proc = null;
    if (!r) {
      proc.kill('SIGKILL');
      assert.fail(`server did not exit within 30 s of ${signal}\n${this.stderr.slice(-5000)}`);
    }
    assert.ok(r.code === 0 && r.signal === null,
      `server must exit with code 0 after ${signal}, got code ${r.code} signal ${r.signal}\n${this.stderr.slice(-20000)}`);
    assert.doesNotMatch(this.stderr, /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:/,
      `sanitizer report in server output:\n${this.stderr.slice(-20000)}`);
  }

  /** Kills the process with SIGKILL (no cleanup at all) and waits until it is gone. */
  async kill9() {
    const proc = this.proc;
    if (!proc) return;
    proc.kill('SIGKILL');
    await this.exited;
    this.proc = null;
  }
}

/**
 * A server as a partner sees it: one database and the processes serving it (one on SQLite,
 * INSTANCES on PostgreSQL). Requests through its clients alternate between the processes;
 * `url`, `port` and `proc` are the first one's, `stdout` and `stderr` all of theirs.
 */
export class Server {
  constructor(dir, opts) {
    this.dir = dir;
    this.opts = opts;
    // The database as --database and INNBOCKS_DATABASE take it: the SQLite file, or the
    // conninfo of this server's own database on the PostgreSQL cluster.
    this.pgName = ON_PG ? `innbocks_${randomBytes(8).toString('hex')}` : null;
    this.dbPath = ON_PG ? pgConninfo(PG_ADMIN, this.pgName) : path.join(dir, 'innbocks.db');
    this.pgCreated = false;
    this.adminToken = opts.adminToken ?? `ib_admin_${randomBytes(24).toString('hex')}`;
    const n = opts.instances ?? (opts.port === undefined ? INSTANCES : 1);
    this.instances = Array.from({ length: n }, () => new Instance(null));
    this.turn = 0;
  }

  get url() { return this.instances[0].url; }
  /** Every process's URL: an answer naming the server's own address names one of these. */
  get urls() { return this.instances.map((i) => i.url); }
  get port() { return this.instances[0].port; }
  get proc() { return this.instances.find((i) => i.proc)?.proc ?? null; }
  /** The access log of every process (each one's lines whole, one process after the other). */
  get stdout() { return this.instances.map((i) => i.stdout).filter(Boolean).join('\n'); }
  get stderr() { return this.instances.map((i) => i.stderr).filter(Boolean).join('\n'); }

  /** The next process in turn that is running (round robin): where the next request goes. */
  next() {
    for (let k = 0; k < this.instances.length; k++) {
      const inst = this.instances[this.turn++ % this.instances.length];
      if (inst.proc) return inst;
    }
    return this.instances[0];
  }

  async start() {
    const o = this.opts;
    if (ON_PG && !this.pgCreated) {
      if (o.pgLocale) await pgAdmin(`CREATE DATABASE ${this.pgName} TEMPLATE template0 LOCALE '${o.pgLocale}'`);
      else if (o.pgFresh) await pgAdmin(`CREATE DATABASE ${this.pgName}`);
      else await pgAdmin(`CREATE DATABASE ${this.pgName} TEMPLATE ${await pgTemplateName()}`);
      this.pgCreated = true;
    }
    // Every process starts at once (on an empty PostgreSQL database, pgFresh, they race for the
    // migrations). When one fails, the others are killed: nothing is left running.
    const started = await Promise.allSettled(this.instances.map((inst, k) => {
      let attempts = 0;
      const run = (port) => {
        // A port taken before the server bound it: that failure is not this start's.
        if (attempts++ > 0) inst.stderr = '';
        inst.port = port;
        return inst.start(childEnv({
          INNBOCKS_LISTEN: `127.0.0.1:${port}`,
          INNBOCKS_DATABASE: this.dbPath,
          INNBOCKS_ADMIN_TOKEN: this.adminToken,
          INNBOCKS_RATE_LIMIT: o.rateLimit ?? 100000,
          INNBOCKS_RATE_BURST: o.rateBurst ?? 100000,
          ...(o.env ?? {}),
        }), o);
      };
      return k === 0 && o.port !== undefined ? run(o.port) : onFreePort(run);
    }));
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) {
      await this.kill9();
      throw failed.reason;
    }
    return this;
  }

  /**
   * Stops every process with `signal` and asserts each exits cleanly. The database (directory,
   * or PostgreSQL database) is removed afterwards unless `keep` is set (for restart()).
   */
  async stop({ signal = 'SIGTERM', keep = false } = {}) {
    const results = await Promise.allSettled(this.instances.map((i) => i.stop(signal)));
    if (!keep) await this.drop();
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  }

  /** Removes the database: the temporary directory, and on PostgreSQL the server's database. */
  async drop() {
    if (this.pgCreated) {
      pgDropLater(this.pgName);
      this.pgCreated = false;
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Kills every process with SIGKILL (no cleanup at all) and waits until they are gone. */
  async kill9() {
    await Promise.all(this.instances.map((i) => i.kill9()));
  }

  /** Starts the processes again on the same database (on new ports unless opts.port fixed one). */
  async restart() {
    assert.equal(this.proc, null, 'restart() needs a stopped server');
    return this.start();
  }

  /**
   * Runs SQL (one or more statements) on the server's database with the backend's command line
   * tool (sqlite3, psql), while the server runs; returns the output, trimmed: one line per row,
   * columns separated by `|`. Write it in the SQL both backends share.
   */
  sql(statement) {
    if (ON_PG) return execFileSync('psql', psqlArgs(this.dbPath, statement), { encoding: 'utf8' }).trim();
    return execFileSync('sqlite3', ['-cmd', '.timeout 10000', this.dbPath, statement], { encoding: 'utf8' }).trim();
  }

  /** The rows of a query as objects (column name to value). */
  sqlRows(query) {
    if (ON_PG) return JSON.parse(this.sql(`SELECT coalesce(json_agg(q), '[]') FROM (${query}) q`));
    const out = execFileSync('sqlite3', ['-cmd', '.timeout 10000', '-json', this.dbPath, query], { encoding: 'utf8' });
    return out.trim() ? JSON.parse(out) : [];
  }

  /**
   * Clients of process k alone ({api, admin, raw}, as below), for what each process keeps for
   * itself: its metrics, its memory, its access log.
   */
  only(k) {
    const inst = this.instances[k];
    const pinned = { next: () => inst, get url() { return inst.url; }, get port() { return inst.port; } };
    return {
      api: (secret) => new Client(pinned, '/api/v1', secret),
      admin: (token = this.adminToken) => new Client(pinned, '/admin/v1', token),
      raw: (token) => new Client(pinned, '', token),
    };
  }

  /** A client for the Partner API authenticated with an API key secret (or none). */
  api(secret) { return new Client(this, '/api/v1', secret); }
  /** A client for the operator API (default: the server's operator token). */
  admin(token = this.adminToken) { return new Client(this, '/admin/v1', token); }
  /** A client with no prefix and no Authorization header, for /healthz and unknown paths. */
  raw(token) { return new Client(this, '', token); }

  /** Creates a partner through the operator API; returns the partner object. */
  async createPartner(fields = {}) {
    const r = await this.admin().post('/partners', { name: uniq('Partner '), location: LOCATION, ...fields });
    assert.equal(r.status, 201, `create partner: ${r.text}`);
    return r.body;
  }

  /**
   * Creates an API key for the partner (mode 'live' or 'test'; the server's default when
   * undefined); returns the api_key object including `secret`.
   */
  async createKey(partnerId, scopes = ALL_SCOPES, name = 'test key', mode = undefined) {
    const r = await this.admin().post(`/partners/${partnerId}/keys`, { name, scopes, ...(mode ? { mode } : {}) });
    assert.equal(r.status, 201, `create key: ${r.text}`);
    return r.body;
  }

  /**
   * A partner with one key: {partner, key, api, mode, livemode}. A fresh partner unless
   * `partner` is given (e.g. a test-mode key of an existing partner).
   */
  async tenant(scopes = ALL_SCOPES, { mode = 'live', partner } = {}) {
    const p = partner ?? await this.createPartner();
    const key = await this.createKey(p.id, scopes, 'test key', mode === 'live' ? undefined : mode);
    return { partner: p, key, api: this.api(key.secret), mode, livemode: mode === 'live' };
  }

  /**
   * Every outbox event of a partner (optionally of one type, and of one mode when livemode is a
   * boolean), newest first, walking all pages.
   */
  async events(partnerId, type, livemode) {
    const all = [];
    let after;
    for (;;) {
      const r = await this.admin().get(`/events${qs({ partner_id: partnerId, type, livemode, limit: 100, starting_after: after })}`);
      assert.equal(r.status, 200, `list events: ${r.text}`);
      all.push(...r.body.data);
      if (!r.body.has_more) return all;
      after = r.body.data.at(-1).id;
    }
  }

  /** Runs fn and returns {value, events, types}: the partner's events fn added, oldest first. */
  async captureEvents(partnerId, fn) {
    const before = new Set((await this.events(partnerId)).map((e) => e.id));
    const value = await fn();
    const events = (await this.events(partnerId)).filter((e) => !before.has(e.id)).reverse();
    return { value, events, types: events.map((e) => e.type) };
  }
}

export class Client {
  constructor(srv, prefix, token) { this.srv = srv; this.prefix = prefix; this.token = token; }

  /**
   * Sends one request. opts: json (sent as application/json), raw (a string or Buffer body) with
   * type (its Content-Type; null sends none), idem (Idempotency-Key), headers (added last).
   * Returns {status, headers, body (parsed JSON or undefined), text, bytes, method, path}.
   */
  async request(method, p, opts = {}) {
    const headers = {};
    if (this.token !== undefined && this.token !== null) headers.authorization = `Bearer ${this.token}`;
    let body;
    if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['content-type'] = 'application/json';
    } else if (opts.raw !== undefined) {
      body = opts.raw;
      if (opts.type !== null) headers['content-type'] = opts.type ?? 'application/json';
    }
    if (opts.idem !== undefined) headers['idempotency-key'] = opts.idem;
    Object.assign(headers, opts.headers ?? {});
    const fullPath = this.prefix + p;
    const base = this.srv.next?.().url ?? this.srv.url;
    const res = await fetch(base + fullPath, { method, headers, body, signal: AbortSignal.timeout(opts.timeout ?? 30000) });
    const bytes = Buffer.from(await res.arrayBuffer());
    const text = bytes.toString('utf8');
    let parsed;
    try { parsed = JSON.parse(text); } catch {}
    const result = { status: res.status, headers: res.headers, body: parsed, text, bytes, method, path: fullPath };
    // The path as fetch sent it (dot segments resolved), with its query.
    const sent = new URL(base + fullPath);
    validateResponse(result, sent.pathname + sent.search);
    return result;
  }

  get(p, opts) { return this.request('GET', p, opts); }
  post(p, json, opts = {}) { return this.request('POST', p, json === undefined ? opts : { ...opts, json }); }
  patch(p, json, opts = {}) { return this.request('PATCH', p, json === undefined ? opts : { ...opts, json }); }
  del(p, opts) { return this.request('DELETE', p, opts); }
}

/**
 * The pairs of tenants every tenancy test runs with: [owner, intruder]. Isolation holds between
 * partners in either mode, and between the two modes of one partner (docs/api.md#authentication-and-scopes, #live-and-test-mode).
 */
export const TENANCY_PAIRS = [
  { name: 'two partners, live keys', make: async (srv) => [await srv.tenant(), await srv.tenant()] },
  {
    name: 'two partners, test keys',
    make: async (srv) => [await srv.tenant(ALL_SCOPES, { mode: 'test' }), await srv.tenant(ALL_SCOPES, { mode: 'test' })],
  },
  {
    name: "one partner's live data, its own test key",
    make: async (srv) => {
      const a = await srv.tenant();
      return [a, await srv.tenant(ALL_SCOPES, { partner: a.partner, mode: 'test' })];
    },
  },
  {
    name: "one partner's test data, its own live key",
    make: async (srv) => {
      const a = await srv.tenant(ALL_SCOPES, { mode: 'test' });
      return [a, await srv.tenant(ALL_SCOPES, { partner: a.partner })];
    },
  },
];

/** A customer body with a unique email and name, plus `fields`. */
export function customerBody(fields = {}) {
  const u = uniq('c');
  return { email: `${u}@example.com`, name: `Customer ${u}`, ...fields };
}

/** Creates a customer through the Partner API; returns the customer object (asserts 201). */
export async function createCustomer(api, fields = {}, opts = {}) {
  const r = await api.post('/customers', customerBody(fields), opts);
  assert.equal(r.status, 201, `create customer: ${r.text}`);
  return r.body;
}

/** Asserts a 2xx-or-given status and returns the parsed body. */
export function ok(res, status = 200) {
  assert.equal(res.status, status, `${res.method} ${res.path} -> ${res.status} ${res.text.slice(0, 1000)}`);
  return res.body;
}

/**
 * Asserts the error envelope: the status, {"error": {code, message, param?, request_id}} and
 * nothing else, request_id equal to the X-Request-Id header. `param` is checked when given
 * (null: must be absent or null). Returns the error object.
 */
export function assertError(res, status, code, param) {
  const ctx = `${res.method} ${res.path} -> ${res.status} ${res.text.slice(0, 1000)}`;
  assert.equal(res.status, status, ctx);
  assert.equal(typeof res.body?.error, 'object', `error envelope expected: ${ctx}`);
  assert.deepEqual(Object.keys(res.body), ['error'], ctx);
  const e = res.body.error;
  assert.equal(e.code, code, ctx);
  assert.equal(typeof e.message, 'string', ctx);
  assert.ok(e.message.length > 0, ctx);
  for (const k of Object.keys(e)) assert.ok(['code', 'message', 'param', 'request_id'].includes(k) || (k === 'reason' && code === 'customer_not_eligible'), `unexpected error field ${k}: ${ctx}`);
  if (code === 'customer_not_eligible') assert.match(e.reason ?? '', /^(deactivated|billing_inactive|not_approved)$/, `customer_not_eligible carries a reason: ${ctx}`);
  assert.match(e.request_id ?? '', REQ_ID, ctx);
  assert.equal(res.headers.get('x-request-id'), e.request_id, `X-Request-Id must equal error.request_id: ${ctx}`);
  if (param === null) assert.ok(e.param === undefined || e.param === null, `no param expected: ${ctx}`);
  else if (param !== undefined) assert.equal(e.param, param, ctx);
  return e;
}

/** Asserts an RFC 3339 UTC timestamp within `slackMs` of now. */
export function assertRecentTime(value, slackMs = 10 * 60 * 1000) {
  assert.match(value ?? '', TIME, `timestamp expected, got ${value}`);
  assert.ok(Math.abs(Date.parse(value) - Date.now()) < slackMs, `timestamp ${value} is not close to now`);
}

/** Every item of a list endpoint, walking pages with starting_after. */
export async function listAll(client, p, params = {}) {
  const all = [];
  let after;
  for (;;) {
    const r = await client.get(`${p}${qs({ ...params, limit: 100, starting_after: after })}`);
    ok(r);
    all.push(...r.body.data);
    if (!r.body.has_more) return all;
    after = r.body.data.at(-1).id;
  }
}

/**
 * Runs the binary as a command (`innbocks partner create ...`): {code, stdout, stderr, json}.
 * The environment has no INNBOCKS_* setting but those in `env`, and INNBOCKS_LOG=off unless `env`
 * sets it: a command's access-log line goes to stderr, after its answer (accesslog.test.mjs).
 */
export function runCli(args, { timeout = 30000, env = {} } = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(BIN, args, { env: childEnv({ INNBOCKS_LOG: 'off', ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (c) => { stdout += c; });
    p.stderr.setEncoding('utf8').on('data', (c) => { stderr += c; });
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`innbocks ${args.join(' ')} timed out\n${stderr}`)); }, timeout);
    p.on('error', (e) => { clearTimeout(timer); reject(e); });
    p.on('close', (code) => {
      clearTimeout(timer);
      let json;
      try { json = JSON.parse(stdout); } catch {}
      resolve({ code, stdout, stderr, json });
    });
  });
}

/**
 * A request through node:http instead of fetch, for bodies the server may refuse before reading
 * them all (413): resolves with the response as soon as it arrives and ignores later write errors.
 * body: a Buffer; chunked: true sends it without Content-Length.
 */
export function rawHttp(srv, method, p, { headers = {}, body, chunked = false } = {}) {
  return new Promise((resolve, reject) => {
    const h = { ...headers };
    if (body && !chunked) h['content-length'] = body.length;
    const port = srv.next?.().port ?? srv.port;
    const req = http.request({ host: '127.0.0.1', port, method, path: p, headers: h, agent: false });
    let answered = false;
    req.setTimeout(30000, () => req.destroy(new Error('timeout')));
    req.on('response', (res) => {
      answered = true;
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed;
        try { parsed = JSON.parse(text); } catch {}
        const hdrs = new Headers();
        for (const [k, v] of Object.entries(res.headers)) hdrs.set(k, Array.isArray(v) ? v.join(', ') : v);
        const result = { status: res.statusCode, headers: hdrs, body: parsed, text, method, path: p };
        try { validateResponse(result); } catch (err) { reject(err); return; }
        resolve(result);
      });
      res.on('error', reject);
    });
    req.on('error', (e) => { if (!answered) reject(e); });
    if (body) {
      if (chunked) {
        // Several writes so the body really goes out in pieces.
        const step = 256 * 1024;
        for (let i = 0; i < body.length; i += step) req.write(body.subarray(i, i + step));
      } else {
        req.write(body);
      }
    }
    req.end();
  });
}

/**
 * Another session that keeps partnerId's writes waiting, as a long write of another process would:
 * on SQLite the database's write lock (sqlite3, BEGIN IMMEDIATE), on PostgreSQL the partner's row
 * (psql, FOR UPDATE), on srv's database. Resolves once it holds them, with end() (lets go,
 * resolves once it has).
 */
export async function holdWrites(srv, partnerId) {
  const proc = ON_PG
    ? spawn('psql', ['-X', '-q', '-d', srv.dbPath], { stdio: ['pipe', 'pipe', 'inherit'] })
    : spawn('sqlite3', [srv.dbPath], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk) => { out += chunk; });
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  proc.stdin.write(ON_PG
    ? `BEGIN; SELECT 1 FROM partners WHERE id = '${partnerId}' FOR UPDATE; SELECT 'held';\n`
    : "BEGIN IMMEDIATE; SELECT 'held';\n");
  for (let i = 0; !out.includes('held'); i++) {
    if (i === 200) throw new Error(`the session did not take the lock: ${out}`);
    await sleep(25);
  }
  let ended = false;
  return {
    end: async () => {
      if (!ended) proc.stdin.end('COMMIT;\n');
      ended = true;
      await exited;
    },
  };
}
