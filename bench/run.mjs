// run.mjs - the benchmark driver (started by bench/run). It starts the real
// server on a fresh SQLite database, seeds it through the API (one partner,
// an all-scope key, customers, mail), and drives it
// with wrk from a second process on loopback. Every figure is reported next
// to the GET /healthz baseline of the same server in the same run, as
// medians over repetitions with the spread, because the machine is shared.
//
//   bench/run [--reps 3] [--duration 10] [--connections 64]
//             [--customers 100000] [--mail 10000]
//             [--scenarios customer_get,healthz,...]
//             [--log json|text|off] [--metrics 1|0] [--rate-limit off|on]
//             [--ops-cost [--together]] [--log-pipe] [--threads 2] [--list-limit 20]
//             [--compare BASELINE_BINARY]
//   bench/run --callgrind [--scenarios healthz,customer_get,customer_create] [--compare BASELINE_BINARY]
//             [--callgrind-from 500] [--callgrind-to 2500]
//             user-space instructions per request, log and metrics off and on
//   bench/run --soak SECONDS     mixed load; samples RSS every 5 s
//   bench/run --backends sqlite,pg1,pg2 [--reps 3] [--duration 10]
//             [--connections 64] [--customers 10000] [--scenarios ...]
//             the storage backends side by side in one run
//   bench/run --help             this text
//   --keep (any mode) leaves the run's directory: the database, the callgrind profiles
//
// --log and --metrics set INNBOCKS_LOG and INNBOCKS_METRICS of the server
// (default: json and 1, as in production; the access log goes to /dev/null,
// so its figure is the server's own cost, not a log reader's; with --log-pipe
// it goes to a pipe that cat reads, as a log shipper would). --rate-limit on
// keeps the per-key rate limit on, as in production, at a rate no run
// reaches (10^9 a second), so that its cost is counted; by default it is off
// (INNBOCKS_RATE_LIMIT=0), as in the figures of docs/decisions.md. --ops-cost
// measures every scenario twice in each repetition, with the access log and
// the metrics off and on, and reports the ratio. --threads is wrk's thread
// count (1 leaves a core to the server alone); --list-limit the page size of
// customer_list and of usage_page (the first page of this month's billing
// usage: its totals read every one of the 2 000 mailboxes that the seeding
// makes active, mail's customers). --compare runs every scenario in each repetition on a second
// binary too (another build, on the same database, in alternating order) and
// reports the ratios of this build to it per scenario: the way to tell what a
// change bought on a noisy machine (the group-commit-off run is skipped).
// --ops-cost alternates which of off and on runs first in a repetition and
// reports, per scenario, the CPU per request off and on (medians, min-max)
// and the median and min-max of the repetitions' ratios on/off. With
// --together the two servers run at once instead, each loaded by its own wrk
// with half the connections and threads (read scenarios only): what else
// the shared machine does then weighs on both alike, which the ratios of
// runs one after the other cannot promise.
//
// --callgrind counts instead the instructions the server runs in user space
// per request (valgrind's callgrind; the kernel's share is not in it), with
// the access log and metrics off and on: a server runs the requests of a
// scenario one after another on one connection, once for --callgrind-from
// requests and once for --callgrind-to, and the difference divided by the
// difference in requests leaves out its start and stop. Only the HTTP
// threads and the group-commit writer (customer_create: a request at a time
// is a batch of one) are counted: the others work by the clock, not by the
// request.
//
// --backends compares storage backends in one run, each repetition going
// through them in turn (the first one rotating): sqlite is one server on a
// SQLite file with group commit; pg1 one server on PostgreSQL; pg2 two
// servers on that same PostgreSQL database, loaded by two wrk processes with
// half the connections and one thread each (req/s summed, p99 the larger of
// the two). Scenarios: customer_get, customer_list, customer_create (the
// durable create with an Idempotency-Key). The PostgreSQL cluster is a
// throwaway one (bench/run starts it with scripts/pg_cluster.sh run, fsync
// and synchronous_commit on, and stops it afterwards); each backend's
// database is seeded once through the API with --customers (default 10000
// here) and no mail. "innbocks CPU" is the server processes' user + system
// time per request; "postgres CPU" that of every process of the cluster
// (the postmaster, the backends serving the servers' connections, the WAL
// writer, the checkpointer...), from /proc over the same interval.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, readdirSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'build/innbocks');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const backends = args.includes('--backends') ? args[args.indexOf('--backends') + 1].split(',') : null;
const BACKENDS = ['sqlite', 'pg1', 'pg2'];
if (backends && (!backends.length || backends.some((b) => !BACKENDS.includes(b)))) {
  console.error(`bench/run: --backends takes a list of ${BACKENDS.join(', ')}`);
  process.exit(2);
}
const PG = backends?.some((b) => b.startsWith('pg')) ? process.env.INNBOCKS_TEST_PG : null;
if (backends && backends.some((b) => b.startsWith('pg')) && !PG) {
  console.error('bench/run: a PostgreSQL backend needs a cluster (bench/run starts one; INNBOCKS_TEST_PG)');
  process.exit(2);
}
const soak = opt('soak', 0);
const reps = opt('reps', 3);
const duration = opt('duration', 10);
const connections = opt('connections', 64);
const callgrindMode = args.includes('--callgrind');
const together = args.includes('--together');
const nCustomers = opt('customers', backends ? 10000 : soak ? 20000 : callgrindMode ? 2000 : 100000);
const nMail = opt('mail', backends ? 0 : soak ? 5000 : callgrindMode ? 500 : 10000);
const ELIGIBLE = Math.min(2000, nCustomers);
const ALL_SCENARIOS = ['healthz', 'customer_get', 'customer_list', 'mail_get', 'usage_page', 'customer_create', 'mail_create', 'mixed'];
const only = args.includes('--scenarios') ? args[args.indexOf('--scenarios') + 1].split(',') : null;
const strOpt = (name, dflt) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : dflt);
const OPS_ON = { log: strOpt('log', 'json'), metrics: strOpt('metrics', '1') };
const OPS_OFF = { log: 'off', metrics: '0' };
const opsCost = args.includes('--ops-cost');
const logPipe = args.includes('--log-pipe');
const RATE = strOpt('rate-limit', 'off') === 'on'
  ? { INNBOCKS_RATE_LIMIT: '1000000000', INNBOCKS_RATE_BURST: '1000000000' } : { INNBOCKS_RATE_LIMIT: '0' };
const wrkThreads = opt('threads', 2);
const listLimit = opt('list-limit', 20);
const baseBin = strOpt('compare', null) && path.resolve(strOpt('compare', null));

const dir = mkdtempSync(path.join(tmpdir(), 'innbocks-bench-'));
const db = path.join(dir, 'bench.db');
const adminToken = `ib_admin_${randomBytes(20).toString('hex')}`;
let port;
let server = null;
const live = new Set(); // servers to kill if the run fails

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

/**
 * Starts a server on port p and waits until it answers; returns its process.
 * wrapper: a command the server runs under (valgrind), given before it.
 */
async function spawnServer(groupCommit, ops, bin, wrapper, p) {
  // --log-pipe: the access log goes to a pipe that cat reads, as a log
  // shipper would (the server's cost then includes waking its reader).
  const sink = logPipe ? spawn('cat', [], { stdio: ['pipe', 'ignore', 'inherit'] }) : null;
  const argv = [...wrapper, bin, 'serve'];
  const proc = spawn(argv[0], argv.slice(1), {
    stdio: ['ignore', sink ? sink.stdin : 'ignore', 'inherit'],
    env: {
      ...process.env,
      INNBOCKS_LISTEN: `127.0.0.1:${p}`,
      INNBOCKS_DATABASE: db,
      INNBOCKS_ADMIN_TOKEN: adminToken,
      ...RATE,
      INNBOCKS_GROUP_COMMIT: groupCommit ? '1' : '0',
      INNBOCKS_LOG: ops.log,
      INNBOCKS_METRICS: ops.metrics,
    },
  });
  sink?.stdin.destroy(); // the server holds the pipe; cat ends when it exits
  live.add(proc);
  for (let i = 0; i < (wrapper.length ? 6000 : 500); i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${p}/healthz`);
      if (r.status === 200) return proc;
    } catch {}
    await sleep(20);
  }
  throw new Error('server did not start');
}

async function startServer(groupCommit, ops = OPS_ON, bin = BIN, wrapper = []) {
  server = await spawnServer(groupCommit, ops, bin, wrapper, port);
}

/** Stops a server with SIGTERM (a clean stop) and waits for it. */
async function stopProcess(proc) {
  const exited = new Promise((r) => proc.on('exit', r));
  proc.kill('SIGTERM');
  await exited;
  live.delete(proc);
}

async function stopServer() {
  await stopProcess(server);
  server = null;
}

/**
 * Resident memory of the server in MiB: peak and current in all, and the
 * anonymous part (heap, stacks, SQLite's page caches). The rest is the
 * database file mapped with mmap, which grows with the data, not with leaks.
 */
/** Size of the write-ahead log in MiB (0 when it is absent). */
function walMiB() {
  try {
    return statSync(`${db}-wal`).size / 1048576;
  } catch {
    return 0;
  }
}

function memory() {
  const status = readFileSync(`/proc/${server.pid}/status`, 'utf8');
  const kb = (k) => Number(status.match(new RegExp(`${k}:\\s+(\\d+)`))[1]);
  return { peak: kb('VmHWM') / 1024, now: kb('VmRSS') / 1024, anon: kb('RssAnon') / 1024 };
}

async function call(method, url, { key, body } = {}) {
  const headers = { authorization: `Bearer ${key ?? adminToken}` };
  if (body) headers['content-type'] = 'application/json';
  const r = await fetch(`http://127.0.0.1:${port}${url}`, { method, headers, body: body && JSON.stringify(body) });
  const json = await r.json();
  if (r.status >= 300) throw new Error(`${method} ${url}: ${r.status} ${JSON.stringify(json)}`);
  return json;
}

/** Runs fn(i) for i in [0, n) with `width` requests in flight. */
async function parallel(n, width, fn) {
  let next = 0;
  const out = new Array(n);
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) { const i = next++; out[i] = await fn(i); }
  }));
  return out;
}

async function seed() {
  const t0 = Date.now();
  const partner = await call('POST', '/admin/v1/partners', {
    body: { name: 'Bench Cowork', location: { line1: '1 Bench St', city: 'Austin', state: 'TX', postal_code: '78701', country: 'US' } },
  });
  const key = (await call('POST', `/admin/v1/partners/${partner.id}/keys`, {
    body: { name: 'bench', scopes: ['customers:read', 'customers:write', 'mail:read', 'mail:write', 'mail_actions:write', 'webhooks:read', 'billing:read'] },
  })).secret;
  const customers = await parallel(nCustomers, 64, async (i) => (await call('POST', '/api/v1/customers', {
    key, body: { email: `seed${i}@example.com`, name: `Seed Customer ${i}`, prepay: i < ELIGIBLE },
  })).id);
  const eligible = customers.slice(0, ELIGIBLE);
  await parallel(nMail ? eligible.length : 0, 64, (i) => call('POST', `/admin/v1/customers/${eligible[i]}/compliance`, {
    body: { form_1583: 'approved', identity: 'verified' },
  }));
  const mail = await parallel(nMail, 64, async (i) => (await call('POST', '/api/v1/mail', {
    key, body: { customer_id: eligible[i % eligible.length], type: i % 5 ? 'letter' : 'package', photos: ['https://example.com/p.jpg'], performed_by: 'seed' },
  })).id);
  writeFileSync(path.join(dir, 'customers.txt'), customers.join('\n') + '\n');
  writeFileSync(path.join(dir, 'eligible.txt'), eligible.join('\n') + '\n');
  writeFileSync(path.join(dir, 'mail.txt'), mail.join('\n') + '\n');
  console.log(`seeded ${nCustomers} customers, ${nMail} mail items in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return key;
}

function toMs(v, unit) {
  return Number(v) * ({ us: 0.001, ms: 1, s: 1000, m: 60000 }[unit] ?? 1);
}

/** Clock ticks per second, the unit of /proc's CPU times. */
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
/**
 * The fields of a /proc stat file after the parenthesised command name
 * (which may hold spaces): f[1] is the parent's pid, f[11] and f[12] utime
 * and stime. Throws when the process is gone.
 */
function statFields(file) {
  const stat = readFileSync(file, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}
/** User + system CPU in microseconds, from statFields(). */
const statCpuUs = (f) => ((Number(f[11]) + Number(f[12])) / CLK_TCK) * 1e6;

/** CPU time the server has used so far (user + system), in microseconds. */
function serverCpuUs() {
  return statCpuUs(statFields(`/proc/${server.pid}/stat`));
}

/**
 * CPU time the server's threads have used so far, in microseconds, by what
 * they do: http (libmicrohttpd's workers), writer (the group commit) and
 * other (the checkpointer thread, the main thread, the delivery worker, the hashers).
 * Threads that ended meanwhile are missed; the server's own threads live as
 * long as it does.
 */
function serverCpuByThreadUs() {
  const out = { http: 0, writer: 0, other: 0 };
  const dir = `/proc/${server.pid}/task`;
  for (const tid of readdirSync(dir)) {
    let comm, f;
    try {
      comm = readFileSync(`${dir}/${tid}/comm`, 'utf8').trim();
      f = statFields(`${dir}/${tid}/stat`);
    } catch { continue; } // gone meanwhile
    out[comm === 'MHD-worker' ? 'http' : comm === 'writer' ? 'writer' : 'other'] += statCpuUs(f);
  }
  return out;
}

/** Runs wrk for one scenario and parses what it printed, with the server CPU per request. */
function wrk(scenario, key, seconds = duration) {
  const cpu0 = serverCpuUs();
  const threads0 = serverCpuByThreadUs();
  const out = execFileSync('wrk', [`-t${wrkThreads}`, `-c${connections}`, `-d${seconds}s`, '--latency', '--timeout', '5s',
    '-s', path.join(ROOT, 'bench/scenario.lua'), `http://127.0.0.1:${port}`], {
    encoding: 'utf8',
    env: { ...process.env, BENCH_KEY: key, BENCH_DIR: dir, BENCH_SRC: path.join(ROOT, 'bench'), BENCH_SCENARIO: scenario,
      BENCH_LIST_LIMIT: String(listLimit) },
  });
  const lat = (p) => { const m = out.match(new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s|m)`)); return m ? toMs(m[1], m[2]) : NaN; };
  const non2xx = Number(out.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0);
  const sock = out.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  const errors = sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  const requests = Number(out.match(/(\d+) requests in/)[1]);
  const cpuUs = requests ? (serverCpuUs() - cpu0) / requests : NaN;
  const threads1 = serverCpuByThreadUs();
  const byThread = Object.fromEntries(Object.keys(threads1).map((k) => [k, requests ? (threads1[k] - threads0[k]) / requests : NaN]));
  return { rps: Number(out.match(/Requests\/sec:\s+([\d.]+)/)[1]), p50: lat(50), p99: lat(99), non2xx, errors, cpuUs, byThread };
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '-');

const spread = (xs, d = 1) => `${Math.min(...xs).toFixed(d)}-${Math.max(...xs).toFixed(d)}`;

/**
 * The cost of the access log and the metrics: for each [label, on, off] the
 * server's CPU per request with them on and off (medians, min-max), and the
 * ratio on/off of each repetition (both ran in it, in alternating order)
 * with its median and min-max.
 */
function opsCostTable(runs, rows) {
  const lines = ['', '| scenario | CPU µs/req off | min-max | CPU µs/req on | min-max | CPU on/off median | min-max | '
    + 'req/s on/off median | min-max |', '|---|---|---|---|---|---|---|---|---|'];
  for (const [label, on, off] of rows) {
    const a = runs[on], b = runs[off];
    const cpu = a.map((r, i) => r.cpuUs / b[i].cpuUs), rps = a.map((r, i) => r.rps / b[i].rps);
    lines.push(`| ${label} | ${f1(median(b.map((r) => r.cpuUs)))} | ${spread(b.map((r) => r.cpuUs))} | `
      + `${f1(median(a.map((r) => r.cpuUs)))} | ${spread(a.map((r) => r.cpuUs))} | ${median(cpu).toFixed(3)} | `
      + `${spread(cpu, 3)} | ${median(rps).toFixed(3)} | ${spread(rps, 3)} |`);
  }
  lines.push('', 'CPU on/off: per repetition, the server\'s CPU per request with the access log and metrics on over');
  lines.push('the same with them off (INNBOCKS_LOG=off INNBOCKS_METRICS=0); 1.05 is 5 % more.');
  return lines;
}

async function benchmark(key) {
  // healthz is always measured: every figure is read against it.
  const scenarios = ALL_SCENARIOS.filter((s) => !only || s === 'healthz' || only.includes(s));
  const compareOff = scenarios.includes('customer_create') && !baseBin;
  const off = 'customer_create (group commit off)';
  const bare = (s) => `${s} (log and metrics off)`;
  const based = (s) => `${s} [baseline]`;
  const names = [...scenarios, ...(opsCost ? scenarios.map(bare) : [])];
  const runs = Object.fromEntries([...names, ...(baseBin ? names.map(based) : []),
    ...(compareOff ? [off] : [])].map((s) => [s, []]));
  const rss = {};
  for (let rep = 1; rep <= reps; rep++) {
    // With --compare, both binaries in each repetition, in alternating order.
    const bins = !baseBin ? [BIN] : rep % 2 ? [BIN, baseBin] : [baseBin, BIN];
    for (const bin of bins) {
      // With --ops-cost, the same scenarios on a server with the log and
      // metrics off and on, in alternating order.
      for (const ops of !opsCost ? [OPS_ON] : rep % 2 ? [OPS_OFF, OPS_ON] : [OPS_ON, OPS_OFF]) {
        await startServer(true, ops, bin);
        for (const s of scenarios) {
          const plain = ops === OPS_OFF ? bare(s) : s;
          const name = bin === BIN ? plain : based(plain);
          runs[name].push(wrk(s, key));
          rss[name] = { ...memory(), wal: walMiB() };
          console.log(`rep ${rep} ${name}: ${f1(runs[name].at(-1).rps)} req/s, ${f1(runs[name].at(-1).cpuUs)} CPU µs/req`);
        }
        await stopServer();
      }
    }
    if (!compareOff) continue;
    await startServer(false);
    runs[off].push(wrk('customer_create', key));
    rss[off] = { ...memory(), wal: walMiB() };
    console.log(`rep ${rep} ${off}: ${f1(runs[off].at(-1).rps)} req/s`);
    await stopServer();
  }
  const base = median(runs.healthz.map((r) => r.rps));
  const lines = [];
  lines.push(`Innbocks benchmark ${new Date().toISOString()}: wrk -t${wrkThreads} -c${connections}, ${duration} s x ${reps} reps, `
    + `${nCustomers} customers, ${nMail} mail items, list limit ${listLimit}, SQLite synchronous=FULL`);
  lines.push('');
  lines.push('| scenario | req/s median | min-max | x healthz | p50 ms | p99 ms | CPU µs/req | http / writer / other | non-2xx+errors | peak RSS MiB | anon MiB | WAL MiB |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|');
  const byThread = (rs) => ['http', 'writer', 'other'].map((k) => f1(median(rs.map((r) => r.byThread[k])))).join(' / ');
  for (const [s, rs] of Object.entries(runs)) {
    const rps = rs.map((r) => r.rps);
    lines.push(`| ${s} | ${f1(median(rps))} | ${f1(Math.min(...rps))}-${f1(Math.max(...rps))} | `
      + `${(median(rps) / base).toFixed(2)} | ${f1(median(rs.map((r) => r.p50)))} | ${f1(median(rs.map((r) => r.p99)))} | ${f1(median(rs.map((r) => r.cpuUs)))} | `
      + `${byThread(rs)} | ${rs.reduce((a, r) => a + r.non2xx + r.errors, 0)} | ${f1(rss[s].peak)} | ${f1(rss[s].anon)} | ${f1(rss[s].wal)} |`);
  }
  lines.push('');
  lines.push(`Access log ${OPS_ON.log}, metrics ${OPS_ON.metrics === '0' ? 'off' : 'on'} (INNBOCKS_LOG, INNBOCKS_METRICS), `
    + `rate limit ${RATE.INNBOCKS_RATE_LIMIT === '0' ? 'off' : 'on at 10^9/s'} (INNBOCKS_RATE_LIMIT).`);
  if (opsCost) lines.push(...opsCostTable(runs, scenarios.map((s) => [s, s, bare(s)])));
  if (opsCost && baseBin) {
    lines.push('', 'The same for the baseline:');
    lines.push(...opsCostTable(runs, scenarios.map((s) => [s, based(s), based(bare(s))])));
  }
  lines.push('Peak RSS includes the database file mapped with mmap (it grows with the data);');
  lines.push('anon is the anonymous part (heap, stacks, page caches) after the scenario;');
  lines.push('WAL is the size of the write-ahead log file right after it. CPU µs/req is the');
  lines.push("server's user + system CPU time over the run divided by the requests wrk counted;");
  lines.push("http / writer / other splits it by thread: libmicrohttpd's workers, the group-commit");
  lines.push("writer, and the rest (the checkpointer, the main thread, the delivery worker, the hashers).");
  if (baseBin) {
    // Ratios per repetition (both binaries ran in it), then their median and spread.
    lines.push('');
    lines.push(`This build (${path.relative(ROOT, BIN)}) against the baseline (${baseBin}), per repetition:`);
    lines.push('');
    lines.push('| scenario | CPU µs/req this | CPU µs/req baseline | CPU ratio median | min-max | req/s ratio median | min-max |');
    lines.push('|---|---|---|---|---|---|---|');
    for (const s of names) {
      const a = runs[s], b = runs[based(s)];
      const cpu = a.map((r, i) => r.cpuUs / b[i].cpuUs), rps = a.map((r, i) => r.rps / b[i].rps);
      lines.push(`| ${s} | ${f1(median(a.map((r) => r.cpuUs)))} | ${f1(median(b.map((r) => r.cpuUs)))} | `
        + `${median(cpu).toFixed(3)} | ${Math.min(...cpu).toFixed(3)}-${Math.max(...cpu).toFixed(3)} | `
        + `${median(rps).toFixed(3)} | ${Math.min(...rps).toFixed(3)}-${Math.max(...rps).toFixed(3)} |`);
    }
  }
  if (compareOff) {
    const on = median(runs.customer_create.map((r) => r.rps));
    const offRps = median(runs[off].map((r) => r.rps));
    lines.push(`Group commit: POST /api/v1/customers ${f1(on)} req/s on vs ${f1(offRps)} req/s off = ${(on / offRps).toFixed(2)}x`);
  }
  return lines.join('\n');
}

// ---- --ops-cost --together: the log and metrics off and on side by side ----

/**
 * In each repetition a server with the access log and metrics off and one
 * with them on run at once on the same database, each loaded by its own wrk
 * with half the connections and half of wrk's threads, so whatever else the
 * shared machine does at the time weighs on both alike; the repetition's
 * ratio on/off is then of two figures measured under the same load. Read
 * scenarios only (two servers writing to one SQLite file would wait for
 * each other's locks).
 */
async function opsPairs(key) {
  const scenarios = ['healthz', ...(only ?? ['customer_get']).filter((s) => s !== 'healthz')];
  const writes = scenarios.filter((s) => !['healthz', 'customer_get', 'customer_list', 'mail_get', 'usage_page'].includes(s));
  if (writes.length) throw new Error(`--together measures reads only, not ${writes.join(', ')}`);
  const bare = (s) => `${s} (log and metrics off)`;
  const based = (s) => `${s} [baseline]`;
  const names = scenarios.flatMap((s) => [s, bare(s)]);
  const runs = Object.fromEntries([...names, ...(baseBin ? names.map(based) : [])].map((n) => [n, []]));
  const threads = Math.max(1, Math.floor(wrkThreads / 2)), conns = Math.round(connections / 2);
  const cpuOf = (proc) => procsCpuUs([proc]);
  for (let rep = 1; rep <= reps; rep++) {
    // With --compare, the baseline's pair too, the two pairs in alternating order.
    for (const bin of !baseBin ? [BIN] : rep % 2 ? [BIN, baseBin] : [baseBin, BIN]) {
      // Which one starts first alternates (the first gets the warmer start).
      const order = rep % 2 ? [OPS_OFF, OPS_ON] : [OPS_ON, OPS_OFF];
      const servers = [];
      for (const ops of order) {
        const p = await freePort();
        servers.push({ ops, port: p, proc: await spawnServer(true, ops, bin, [], p) });
      }
      for (const s of scenarios) {
        const cpu0 = servers.map((v) => cpuOf(v.proc));
        const outs = await Promise.all(servers.map((v) => wrkProcess(s, key, dir, v.port, threads, conns)));
        servers.forEach((v, k) => {
          const r = parseWrk(outs[k]);
          const plain = v.ops === OPS_OFF ? bare(s) : s;
          const name = bin === BIN ? plain : based(plain);
          runs[name].push({ rps: r.rps, p99: r.p99, bad: r.non2xx + r.sockErrors, cpuUs: (cpuOf(v.proc) - cpu0[k]) / r.requests });
          console.log(`rep ${rep} ${name}: ${f1(r.rps)} req/s, ${f1(runs[name].at(-1).cpuUs)} CPU µs/req`);
        });
      }
      for (const v of servers) await stopProcess(v.proc);
    }
  }
  const lines = [`Innbocks log and metrics cost ${new Date().toISOString()}: side by side, two servers (off, on) `
    + `at once, each with wrk -t${threads} -c${conns}, ${duration} s x ${reps} reps, ${nCustomers} customers, `
    + `access log ${OPS_ON.log}${logPipe ? ' to a pipe read by cat' : ' to /dev/null'}; non-2xx+errors `
    + `${Object.values(runs).flat().reduce((a, r) => a + r.bad, 0)}`];
  lines.push(...opsCostTable(runs, scenarios.map((s) => [s, s, bare(s)])));
  if (baseBin) {
    lines.push('', `The same for the baseline (${baseBin}), in the same repetitions:`);
    lines.push(...opsCostTable(runs, scenarios.map((s) => [s, based(s), based(bare(s))])));
  }
  return lines.join('\n');
}

// ---- --callgrind: user-space instructions per request ----------------------

let sequentialCalls = 0;

/** Sends n requests of a scenario one after another on one keep-alive connection. */
async function sendSequential(scenario, key, n) {
  const lines = (f) => readFileSync(path.join(dir, f), 'utf8').trim().split('\n');
  const customers = lines('customers.txt'), mail = lines('mail.txt');
  const paths = {
    healthz: () => '/healthz',
    customer_get: (i) => `/api/v1/customers/${customers[(i * 7919) % customers.length]}`,
    customer_list: () => `/api/v1/customers?limit=${listLimit}`,
    mail_get: (i) => `/api/v1/mail/${mail[(i * 7919) % mail.length]}`,
    usage_page: () => `/api/v1/billing/usage?limit=${listLimit}`,
  };
  // The durable create with an Idempotency-Key, as scenario.lua sends it; keys and emails new
  // in every call (the servers of a comparison share the database).
  const call = sequentialCalls++;
  const create = (i) => ({
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': `cg-${call}-${i}` },
    body: JSON.stringify({ email: `cg${call}.${i}@example.com`, name: 'Bench Customer', prepay: true }),
  });
  if (scenario === 'customer_create') paths[scenario] = () => '/api/v1/customers';
  if (!paths[scenario]) throw new Error(`--callgrind measures ${Object.keys(paths).join(', ')}`);
  for (let i = 0; i < n; i++) {
    const init = scenario === 'customer_create' ? create(i) : { headers: {} };
    init.headers.authorization = `Bearer ${key}`;
    const r = await fetch(`http://127.0.0.1:${port}${paths[scenario](i)}`, init);
    await r.arrayBuffer();
    if (r.status !== (init.method === 'POST' ? 201 : 200)) throw new Error(`${scenario}: ${r.status}`);
  }
}

/**
 * Instructions the server's HTTP threads and its group-commit writer ran in
 * user space for a start, n requests of scenario and a clean stop: the
 * threads that called on_uri (http.c) or writer_main (writer.c; a request at
 * a time makes a batch of one). The other threads work by the clock (the
 * webhook worker's poll, the main loop's checkpoints), which valgrind's
 * slowness would count.
 */
async function callgrindTotal(bin, ops, scenario, key, n) {
  const out = path.join(dir, `callgrind.${scenario}.${n}.${ops.log}.${path.basename(bin)}`);
  await startServer(true, ops, bin, ['valgrind', '-q', '--tool=callgrind', '--separate-threads=yes',
    `--callgrind-out-file=${out}`]);
  await sendSequential(scenario, key, n);
  await stopServer();
  let total = 0;
  for (const f of readdirSync(dir).filter((f) => f.startsWith(`${path.basename(out)}-`))) {
    const text = readFileSync(path.join(dir, f), 'utf8');
    if (/^c?fn=\(\d+\) (on_uri|writer_main)$/m.test(text)) total += Number(text.match(/^(?:summary|totals): (\d+)/m)[1]);
  }
  return total;
}

/**
 * User-space instructions per request (callgrind), with the access log and
 * the metrics off and on, and for the --compare baseline too: each server
 * runs under valgrind for N1 and for N2 requests, (I(N2) - I(N1)) / (N2 - N1)
 * leaves out its start and stop. No noise moves it; the kernel's share
 * (the loopback, epoll, the log's write(2)) is not in it.
 */
async function callgrindRun(key) {
  const scenarios = only ?? ['healthz', 'customer_get'];
  const [n1, n2] = [opt('callgrind-from', 500), opt('callgrind-to', 2500)];
  const lines = [`Innbocks user-space instructions per request ${new Date().toISOString()} (callgrind, `
    + `requests ${n1} to ${n2} on one keep-alive connection, ${nCustomers} customers):`, '',
    '| build | scenario | log and metrics off | on | on/off |', '|---|---|---|---|---|'];
  for (const bin of baseBin ? [BIN, baseBin] : [BIN]) {
    for (const s of scenarios) {
      const per = {};
      for (const ops of [OPS_OFF, OPS_ON]) {
        const a = await callgrindTotal(bin, ops, s, key, n1), b = await callgrindTotal(bin, ops, s, key, n2);
        per[ops.log] = (b - a) / (n2 - n1);
        console.log(`${path.basename(bin)} ${s} log ${ops.log}: ${Math.round(per[ops.log])} instructions/request`);
      }
      lines.push(`| ${bin === BIN ? 'this' : 'baseline'} | ${s} | ${Math.round(per.off)} | ${Math.round(per[OPS_ON.log])} | `
        + `${(per[OPS_ON.log] / per.off).toFixed(3)} |`);
    }
  }
  return lines.join('\n');
}

// ---- --backends: the storage backends side by side -------------------------

/** The PostgreSQL cluster's processes: pid -> CPU µs so far (the postmaster and its children). */
function pgCpuByPid() {
  const dataDir = path.join(/host=(\S+)/.exec(PG)[1], 'data');
  const postmaster = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const out = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let f;
    try { f = statFields(`/proc/${name}/stat`); } catch { continue; } // gone meanwhile
    if (Number(name) === postmaster || Number(f[1]) === postmaster) out.set(name, statCpuUs(f));
  }
  return out;
}

/** CPU µs of the cluster between two pgCpuByPid() samples (a process born meanwhile counts whole). */
function pgCpuDelta(before, after) {
  let us = 0;
  for (const [pid, t] of after) us += t - (before.get(pid) ?? 0);
  return us;
}

/** CPU µs used so far by the given processes. */
function procsCpuUs(procs) {
  return procs.reduce((a, p) => a + statCpuUs(statFields(`/proc/${p.pid}/stat`)), 0);
}

/** Starts n servers on `database` (all at once), waits until each answers; returns [{proc, port}]. */
async function startInstances(database, n) {
  const insts = [];
  for (let k = 0; k < n; k++) {
    const p = await freePort();
    const proc = spawn(BIN, ['serve'], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        ...process.env,
        INNBOCKS_LISTEN: `127.0.0.1:${p}`,
        INNBOCKS_DATABASE: database,
        INNBOCKS_ADMIN_TOKEN: adminToken,
        ...RATE,
        INNBOCKS_GROUP_COMMIT: '1',
        INNBOCKS_LOG: OPS_ON.log,
        INNBOCKS_METRICS: OPS_ON.metrics,
      },
    });
    proc.exitedP = new Promise((r) => proc.on('exit', r));
    insts.push({ proc, port: p });
    live.add(proc);
  }
  for (const { port: p, proc } of insts) {
    let up = false;
    for (let i = 0; i < 500 && !up && proc.exitCode === null; i++) {
      try { up = (await fetch(`http://127.0.0.1:${p}/healthz`)).status === 200; } catch {}
      if (!up) await sleep(20);
    }
    if (!up) throw new Error(`server on ${database.startsWith('/') ? 'SQLite' : 'PostgreSQL'} did not start`);
  }
  return insts;
}

async function stopInstances(insts) {
  for (const { proc } of insts) proc.kill('SIGTERM');
  for (const { proc } of insts) { await proc.exitedP; live.delete(proc); }
}

/** Parses what one wrk process printed. */
function parseWrk(out) {
  const lat = (p) => { const m = out.match(new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s|m)`)); return m ? toMs(m[1], m[2]) : NaN; };
  const sock = out.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  return {
    rps: Number(out.match(/Requests\/sec:\s+([\d.]+)/)[1]),
    requests: Number(out.match(/(\d+) requests in/)[1]),
    p99: lat(99),
    non2xx: Number(out.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0),
    sockErrors: sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    sockKinds: sock ? sock[0] : '',
  };
}

/** Runs one wrk process against `p` (ids from the files in idDir); resolves with its output. */
function wrkProcess(scenario, key, idDir, p, threads, conns) {
  return new Promise((resolve, reject) => {
    const w = spawn('wrk', [`-t${threads}`, `-c${conns}`, `-d${duration}s`, '--latency', '--timeout', '5s',
      '-s', path.join(ROOT, 'bench/scenario.lua'), `http://127.0.0.1:${p}`], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, BENCH_KEY: key, BENCH_DIR: idDir, BENCH_SRC: path.join(ROOT, 'bench'), BENCH_SCENARIO: scenario,
        BENCH_LIST_LIMIT: String(listLimit) },
    });
    let out = '';
    w.stdout.on('data', (d) => { out += d; });
    w.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`wrk exited with ${code}`))));
  });
}

/**
 * One scenario against every instance at once: one wrk per instance with its
 * share of the connections and of wrk's two threads. Returns req/s (summed),
 * p99 (the larger), errors, and CPU µs per request of the servers and of the
 * PostgreSQL cluster (NaN on SQLite).
 */
async function wrkInstances(scenario, key, idDir, insts, onPg) {
  const threads = Math.max(1, 2 / insts.length);
  const cpu0 = procsCpuUs(insts.map((i) => i.proc));
  const pg0 = onPg ? pgCpuByPid() : null;
  const outs = await Promise.all(insts.map((i) => wrkProcess(scenario, key, idDir, i.port, threads,
    Math.round(connections / insts.length))));
  const cpu = procsCpuUs(insts.map((i) => i.proc)) - cpu0;
  const pgCpu = onPg ? pgCpuDelta(pg0, pgCpuByPid()) : NaN;
  const rs = outs.map(parseWrk);
  const requests = rs.reduce((a, r) => a + r.requests, 0);
  return {
    rps: rs.reduce((a, r) => a + r.rps, 0),
    p99: Math.max(...rs.map((r) => r.p99)),
    non2xx: rs.reduce((a, r) => a + r.non2xx, 0),
    sockErrors: rs.reduce((a, r) => a + r.sockErrors, 0),
    sockKinds: rs.map((r) => r.sockKinds).filter(Boolean).join('; '),
    cpuUs: cpu / requests,
    pgCpuUs: pgCpu / requests,
  };
}


/** The value of a PostgreSQL setting on the cluster, for the report. */
function pgSetting(name) {
  return execFileSync('psql', ['-X', '-q', '-A', '-t', '-d', PG, '-c', `SHOW ${name}`], { encoding: 'utf8' }).trim();
}

async function backendsRun() {
  const scenarios = only ?? ['customer_get', 'customer_list', 'customer_create'];
  const database = { sqlite: db, pg1: PG, pg2: PG };
  const instances = { sqlite: 1, pg1: 1, pg2: 2 };
  // Seed each database once (pg1 and pg2 share theirs); the id files are per database.
  const keys = {};
  const files = {};
  for (const b of backends) {
    const where = b === 'sqlite' ? 'sqlite' : 'pg';
    if (keys[where]) { keys[b] = keys[where]; files[b] = files[where]; continue; }
    const insts = await startInstances(database[b], 1);
    port = insts[0].port;
    process.stdout.write(`${where}: `);
    keys[b] = keys[where] = await seed();
    await stopInstances(insts);
    files[b] = files[where] = mkdtempSync(path.join(dir, `${where}-`));
    for (const f of ['customers.txt', 'eligible.txt', 'mail.txt']) {
      writeFileSync(path.join(files[b], f), readFileSync(path.join(dir, f)));
    }
  }
  const runs = {};
  for (const b of backends) for (const s of scenarios) runs[`${s} ${b}`] = [];
  for (let rep = 1; rep <= reps; rep++) {
    // The first backend rotates, so no one always runs on a warm (or busy) machine.
    const order = backends.map((_, k) => backends[(k + rep - 1) % backends.length]);
    for (const b of order) {
      const insts = await startInstances(database[b], instances[b]);
      for (const s of scenarios) {
        const r = await wrkInstances(s, keys[b], files[b], insts, b !== 'sqlite');
        runs[`${s} ${b}`].push(r);
        console.log(`rep ${rep} ${s} ${b}: ${f1(r.rps)} req/s, ${f1(r.cpuUs)} innbocks CPU µs/req`
          + (b === 'sqlite' ? '' : `, ${f1(r.pgCpuUs)} postgres CPU µs/req`)
          + (r.non2xx + r.sockErrors ? `; ${r.non2xx} non-2xx, ${r.sockErrors} socket errors` : '')
          + (r.sockKinds ? ` (wrk: ${r.sockKinds})` : ''));
      }
      await stopInstances(insts);
    }
  }
  const lines = [];
  lines.push(`Innbocks backends ${new Date().toISOString()}: ${connections} connections in all (wrk's 2 threads; `
    + `pg2: two wrk -t1 with half each), ${duration} s x ${reps} reps, ${nCustomers} customers; `
    + `SQLite synchronous=FULL with group commit`
    + (PG ? `; PostgreSQL ${pgSetting('server_version')} fsync=${pgSetting('fsync')} `
      + `synchronous_commit=${pgSetting('synchronous_commit')}` : ''));
  lines.push('');
  lines.push('| scenario | backend | req/s median | min-max | x sqlite | p99 ms | innbocks CPU µs/req | postgres CPU µs/req | '
    + 'both µs/req | non-2xx | socket errors |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const s of scenarios) {
    const sq = runs[`${s} sqlite`] ? median(runs[`${s} sqlite`].map((r) => r.rps)) : NaN;
    for (const b of backends) {
      const rs = runs[`${s} ${b}`];
      const rps = rs.map((r) => r.rps);
      const cpu = median(rs.map((r) => r.cpuUs));
      const pgc = median(rs.map((r) => r.pgCpuUs));
      lines.push(`| ${s} | ${b} | ${f1(median(rps))} | ${f1(Math.min(...rps))}-${f1(Math.max(...rps))} | `
        + `${Number.isFinite(sq) ? (median(rps) / sq).toFixed(2) : '-'} | ${f1(median(rs.map((r) => r.p99)))} | `
        + `${f1(cpu)} | ${f1(pgc)} | ${f1(Number.isFinite(pgc) ? cpu + pgc : cpu)} | ${rs.reduce((a, r) => a + r.non2xx, 0)} | ${rs.reduce((a, r) => a + r.sockErrors, 0)} |`);
    }
  }
  lines.push('');
  lines.push('x sqlite: the median req/s over the SQLite median of the same run. p99: the median over');
  lines.push('repetitions (pg2: of the larger of its two wrk processes). innbocks CPU: user + system time');
  lines.push('of the server process(es) over the run per request wrk counted; postgres CPU: the same for');
  lines.push('every process of the cluster (backends, WAL writer, checkpointer, postmaster); both: the sum.');
  return lines.join('\n');
}

async function soakRun(key, seconds) {
  await startServer(true);
  const samples = [];
  const load = spawn('wrk', ['-t2', `-c${connections}`, `-d${seconds}s`, '--timeout', '5s',
    '-s', path.join(ROOT, 'bench/scenario.lua'), `http://127.0.0.1:${port}`], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, BENCH_KEY: key, BENCH_DIR: dir, BENCH_SRC: path.join(ROOT, 'bench'), BENCH_SCENARIO: 'mixed' },
  });
  let out = '';
  load.stdout.on('data', (d) => { out += d; });
  const done = new Promise((r) => load.on('exit', r));
  const t0 = Date.now();
  let finished = false;
  done.then(() => { finished = true; });
  while (!finished) {
    const m = memory();
    samples.push({ t: (Date.now() - t0) / 1000, rss: m.now, anon: m.anon, wal: walMiB() });
    await Promise.race([sleep(5000), done]);
  }
  await stopServer();
  // Judged on anonymous memory: the mapped database file grows with the rows
  // the load writes; a leak shows up as heap.
  const warm = samples.filter((s) => s.t >= seconds * 0.25);
  const first = warm[0]?.anon ?? samples[0].anon;
  const last = median(samples.slice(-3).map((s) => s.anon));
  const growth = ((last - first) / first) * 100;
  return [
    `Soak: mixed load for ${seconds} s, memory every 5 s (MiB, anonymous / all resident):`,
    samples.map((s) => `${s.t.toFixed(0)}s:${s.anon.toFixed(1)}/${s.rss.toFixed(1)}`).join(' '),
    `write-ahead log every 5 s (MiB): ${samples.map((s) => f1(s.wal)).join(' ')}; `
      + `largest ${f1(Math.max(...samples.map((s) => s.wal)))} MiB`,
    `anonymous memory after warm-up ${f1(first)} MiB, at the end ${f1(last)} MiB: ${growth.toFixed(1)} % `
      + `${Math.abs(growth) < 10 ? '(flat)' : '(GROWING)'}`,
    out.match(/Requests\/sec:.*/)?.[0] ?? '',
  ].join('\n');
}

try {
  let report;
  if (backends) {
    report = await backendsRun();
  } else {
    port = await freePort();
    await startServer(true);
    const key = await seed();
    await stopServer();
    report = soak ? await soakRun(key, soak) : callgrindMode ? await callgrindRun(key)
      : opsCost && together ? await opsPairs(key) : await benchmark(key);
  }
  mkdirSync(path.join(ROOT, 'build/bench'), { recursive: true });
  const file = path.join(ROOT, 'build/bench', soak ? 'soak.txt' : backends ? 'backends.txt'
    : callgrindMode ? 'callgrind.txt' : opsCost && together ? 'ops-cost.txt' : 'results.txt');
  writeFileSync(file, report + '\n');
  console.log(`\n${report}\n\n(written to ${path.relative(ROOT, file)})`);
} finally {
  if (server) server.kill('SIGKILL');
  for (const p of live) p.kill('SIGKILL');
  // --keep leaves the run's directory (database, callgrind profiles) for a closer look.
  if (args.includes('--keep')) console.log(`(the run's files are in ${dir})`);
  else rmSync(dir, { recursive: true, force: true });
}
