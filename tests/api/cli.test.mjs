// Covers the operator command line (docs/operators.md#the-command-line) run against the database of a running
// server: `innbocks partner create` and `innbocks key create` print JSON the server then serves and
// accepts, `innbocks key revoke` takes effect on the server's very next request, and bad input
// exits non-zero with a message on stderr.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  startServer, runCli, createCustomer, assertError, ok, assertRecentTime, customerBody, uniq, rawHttp,
} from './lib.mjs';

let srv;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

before(async () => { srv = await startServer(); });
after(() => srv?.stop());

const partnerArgs = (name, extra = []) => [
  'partner', 'create', '--database', srv.dbPath, '--name', name, '--line1', '1 Ferry Building',
  '--city', 'San Francisco', '--state', 'CA', '--postal-code', '94111', '--country', 'US', ...extra,
];

/** Runs a command that must succeed and print JSON; returns the JSON. */
async function cliOk(args) {
  const r = await runCli(args);
  assert.equal(r.code, 0, `innbocks ${args.join(' ')} failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
  assert.ok(r.json, `stdout is not JSON: ${r.stdout}`);
  return r.json;
}

/** Runs a command that must fail: non-zero exit and a message on stderr. */
async function cliFails(args) {
  const r = await runCli(args);
  assert.notEqual(r.code, 0, `innbocks ${args.join(' ')} should fail:\n${r.stdout}`);
  assert.ok(r.stderr.trim().length > 0, 'a failing command explains itself on stderr');
  return r;
}

test('partner create prints the partner, which the running server then serves', async () => {
  const name = uniq('CLI Partner ');
  const p = await cliOk(partnerArgs(name, ['--line2', 'Suite 100']));
  assert.match(p.id, /^ptn_/);
  assert.equal(p.object, 'partner');
  assert.equal(p.name, name);
  assert.deepEqual(p.location, {
    line1: '1 Ferry Building', line2: 'Suite 100', city: 'San Francisco', state: 'CA', postal_code: '94111', country: 'US',
  });
  assertRecentTime(p.created_at);
  assert.deepEqual(ok(await srv.admin().get(`/partners/${p.id}`)), p);
});

test('key create --mode test and webhook create --mode test make test-mode objects the server keeps apart', async () => {
  const p = await cliOk(partnerArgs(uniq('CLI ')));
  const k = await cliOk(['key', 'create', '--database', srv.dbPath, '--partner', p.id, '--scopes', 'customers:read,customers:write', '--mode', 'test']);
  assert.match(k.secret, /^ib_test_/);
  assert.equal(k.mode, 'test');
  assert.equal(k.partner_id, p.id);
  const ep = await cliOk(['webhook', 'create', '--database', srv.dbPath, '--partner', p.id, '--url', 'https://crm.example.com/hooks', '--mode', 'test']);
  assert.equal(ep.mode, 'test');
  assert.equal(ep.livemode, false);
  const c = await createCustomer(srv.api(k.secret));
  assert.equal(c.livemode, false);
  const live = await cliOk(['key', 'create', '--database', srv.dbPath, '--partner', p.id, '--scopes', 'customers:read']);
  assert.equal(live.mode, 'live');
  assertError(await srv.api(live.secret).get(`/customers/${c.id}`), 404, 'not_found');
  await cliFails(['key', 'create', '--database', srv.dbPath, '--partner', p.id, '--scopes', 'customers:read', '--mode', 'sandbox']);
});

test('key create prints the key with its secret; the server accepts it at once with its scopes', async () => {
  const p = await cliOk(partnerArgs(uniq('CLI ')));
  const k = await cliOk(['key', 'create', '--database', srv.dbPath, '--partner', p.id, '--scopes', 'customers:read,customers:write', '--name', 'crm']);
  assert.match(k.id, /^key_/);
  assert.equal(k.object, 'api_key');
  assert.equal(k.name, 'crm');
  assert.deepEqual([...k.scopes].sort(), ['customers:read', 'customers:write']);
  assert.match(k.secret, /^ib_live_/);
  assert.equal(k.revoked_at, null);
  const api = srv.api(k.secret);
  const c = await createCustomer(api);
  assert.deepEqual(ok(await api.get(`/customers/${c.id}`)), c);
  assertError(await api.get('/billing/usage'), 403, 'insufficient_scope');
  const listed = ok(await srv.admin().get(`/partners/${p.id}/keys`)).data;
  assert.deepEqual(listed.map((x) => x.id), [k.id]);
  assert.ok(!('secret' in listed[0]));
});

test('key create without --name works too', async () => {
  const p = await cliOk(partnerArgs(uniq('CLI ')));
  const k = await cliOk(['key', 'create', '--database', srv.dbPath, '--partner', p.id, '--scopes', 'billing:read']);
  ok(await srv.api(k.secret).get('/billing/usage'));
});

test('key revoke takes effect on the running server\'s very next request', async () => {
  const t = await srv.tenant(['customers:read']);
  ok(await t.api.get('/customers'));
  const revoked = await cliOk(['key', 'revoke', '--database', srv.dbPath, t.key.id]);
  assert.equal(revoked.id, t.key.id);
  assertRecentTime(revoked.revoked_at);
  assert.ok(!('secret' in revoked) || revoked.secret === undefined);
  assertError(await t.api.get('/customers'), 401, 'unauthenticated');
});

test('a key created by the operator API can be revoked by the command line and vice versa', async () => {
  const p = await cliOk(partnerArgs(uniq('CLI ')));
  const k = await cliOk(['key', 'create', '--database', srv.dbPath, '--partner', p.id, '--scopes', 'customers:read']);
  const api = srv.api(k.secret);
  ok(await api.get('/customers'));
  ok(await srv.admin().post(`/keys/${k.id}/revoke`));
  assertError(await api.get('/customers'), 401, 'unauthenticated');
});

test('bad command-line input exits non-zero with a message', async () => {
  const p = await cliOk(partnerArgs(uniq('CLI ')));
  await cliFails(['partner', 'create', '--database', srv.dbPath, '--line1', 'x', '--city', 'c', '--state', 's', '--postal-code', 'p', '--country', 'US']);
  await cliFails(['key', 'create', '--database', srv.dbPath, '--partner', 'ptn_doesnotexist00000000', '--scopes', 'customers:read']);
  await cliFails(['key', 'create', '--database', srv.dbPath, '--partner', p.id, '--scopes', 'customers:read,everything:write']);
  await cliFails(['key', 'create', '--database', srv.dbPath, '--partner', p.id]);
  await cliFails(['key', 'revoke', '--database', srv.dbPath, 'key_doesnotexist00000000']);
  await cliFails(['no-such-command']);
  // None of the failures left a key behind.
  assert.deepEqual(ok(await srv.admin().get(`/partners/${p.id}/keys`)).data, []);
});

test('the server keeps serving while the command line writes to its database', async () => {
  const t = await srv.tenant();
  const writes = Promise.all(Array.from({ length: 20 }, () => t.api.post('/customers', customerBody())));
  const [cliKey] = await Promise.all([
    cliOk(['key', 'create', '--database', srv.dbPath, '--partner', t.partner.id, '--scopes', 'customers:read']),
    writes,
  ]);
  for (const r of await writes) ok(r, 201);
  ok(await srv.api(cliKey.secret).get('/customers'));
});

test('with no command it lists every command on stderr and exits 2', async () => {
  const r = await runCli([]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  for (const cmd of ['serve', 'partner create', 'partner list', 'key create', 'key list', 'key revoke',
    'customer accept-invite|show', 'customer billing', 'customer compliance', 'mail record',
    'action list', 'action complete', 'action fail', 'action cancel', 'webhook create',
    'webhook list', 'webhook update', 'webhook rotate-secret', 'user create', 'admin-token create', 'demo',
    'request', 'version']) {
    assert.match(r.stderr, new RegExp(`^  innbocks ${cmd.replace('|', '\\|')}( |$)`, 'm'), cmd);
  }
});

// Which binary runs where, for an operator in the middle of a rolling upgrade (docs/deploy.md):
// the commit it was built from and the schema versions it migrates to, with no database at hand.
test('version (and --version) prints the commit and the schema versions, and needs no database', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'innbocks-version-'));
  try {
    const db = path.join(dir, 'none.db');
    const count = (backend) => readdirSync(path.join(ROOT, 'sql', backend)).filter((f) => /^\d{4}_.*\.sql$/.test(f)).length;
    let head = 'unknown';
    try { head = execFileSync('git', ['rev-parse', '--short=7', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim(); } catch {}
    for (const arg of ['version', '--version']) {
      const r = await runCli([arg, '--database', db]);
      assert.equal(r.code, 0, r.stderr);
      const m = r.stdout.match(/^innbocks (\S+) \(schema: SQLite (\d+), PostgreSQL (\d+)\)\n$/);
      assert.ok(m, r.stdout);
      assert.ok(m[1].startsWith(head), `${m[1]} is not built from ${head}`);
      assert.deepEqual([Number(m[2]), Number(m[3])], [count('sqlite'), count('postgres')]);
      assert.ok(!existsSync(db), 'no database made');
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an option the command does not take is refused with exit 2, naming it, before anything is written', async () => {
  const p = await cliOk(partnerArgs(uniq('CLI ')));
  const r = await runCli(['key', 'create', '--database', srv.dbPath, '--partner', p.id, '--scopes', 'customers:read', '--scope', 'mail:read']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown option --scope for 'key create'/);
  assert.match(r.stderr, /--partner --scopes --name/);
  const eq = await runCli(['key', 'revoke', '--database', srv.dbPath, 'key_doesnotexist00000000', '--force=yes']);
  assert.equal(eq.code, 2);
  assert.match(eq.stderr, /unknown option --force for 'key revoke' \(it takes none\)/);
  assert.deepEqual(ok(await srv.admin().get(`/partners/${p.id}/keys`)).data, []);
});

// Extra words were ignored: `key revoke A B` revoked A, exited 0, and B kept working.
test('an argument more than the command takes is refused with exit 2, naming it, before anything is done', async () => {
  const p = await cliOk(partnerArgs(uniq('CLI ')));
  const [a, b] = [await srv.createKey(p.id, ['customers:read']), await srv.createKey(p.id, ['customers:read'])];
  const r = await runCli(['key', 'revoke', '--database', srv.dbPath, a.id, b.id]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`'key revoke' takes one argument besides its options; '${b.id}' is one too many`));
  for (const k of [a, b]) assert.equal((await srv.api(k.secret).get('/customers')).status, 200, 'neither key was revoked');
  const list = await runCli(['partner', 'list', '--database', srv.dbPath, 'extra']);
  assert.equal(list.code, 2);
  assert.match(list.stderr, /'partner list' takes no argument besides its options; 'extra' is one too many/);
  const req = await runCli(['request', '--database', srv.dbPath, 'POST', '/admin/v1/partners', '{}', 'extra']);
  assert.equal(req.code, 2);
  assert.match(req.stderr, /'request' takes 3 arguments at most/);
  const serve = await runCli(['serve', 'extra']);
  assert.equal(serve.code, 2);
  assert.match(serve.stderr, /'serve' takes no argument besides its options; 'extra' is one too many/);
  // What a command takes still works, with its options on either side.
  const one = await runCli(['key', 'revoke', a.id, '--database', srv.dbPath]);
  assert.equal(one.code, 0, one.stderr);
  assertError(await srv.api(a.secret).get('/customers'), 401, 'unauthenticated');
});

/** What a command printed as its answer: the JSON on stdout, or on stderr before its log line. */
function answerOf(r) {
  const text = r.code === 0 ? r.stdout : r.stderr.split('\n').filter((l) => !l.startsWith('{"time"')).join('\n');
  const body = JSON.parse(text);
  if (body.error) delete body.error.request_id;
  return body;
}

test('request decodes its path and query as the HTTP layer does: the same targets, the same answers', async () => {
  const p = await cliOk(partnerArgs(uniq('CLI ')));
  for (const target of [
    '/admin/v1/partners?limit=%31', // %31 is 1
    '/admin/v1/mail-actions?status=a+b%2Bc', // a '+' is a space, %2B a '+'
    `/admin/v1/partners/${p.id.replace('_', '%5F')}`,
    '/admin/v1/partners?lim%69t=1',
    '/admin/v1/customers/a%2Fb', // a slash spelled inside a segment
    '/admin/v1/customers/a%00b',
    '/admin/v1/partners?limit=1&limit=2',
    '/admin/v1/partners?&limit=1', // an empty name between two '&'s
    '/admin/v1/partners?limit=1&&',
    '/admin/v1/partners?limit=1&',
    '/admin/v1/partners?&&&',
    '/admin/v1/partners?',
  ]) {
    const http = await rawHttp(srv, 'GET', target, { headers: { authorization: `Bearer ${srv.adminToken}` } });
    if (http.body.error) delete http.body.error.request_id;
    const cli = await runCli(['request', '--database', srv.dbPath, 'GET', target]);
    assert.equal(cli.code, http.status < 300 ? 0 : 1, `${target}: ${cli.stderr}`);
    assert.deepEqual(answerOf(cli), http.body, target);
  }
});

test('a command\'s id and filter are taken whole, as typed: never split at a ? or & into a query', async () => {
  const shown = await runCli(['customer', 'show', '--database', srv.dbPath, 'cus_x?limit=1']);
  assert.equal(shown.code, 1);
  assert.equal(answerOf(shown).error.message, 'no such customer: cus_x?limit=1');
  // A slash would split the id's segment: no route, as %2F over HTTP.
  const slashed = await runCli(['customer', 'show', '--database', srv.dbPath, 'cus_x/accept-invite']);
  assert.equal(slashed.code, 1);
  assert.equal(answerOf(slashed).error.code, 'route_not_found');
  const listed = await runCli(['action', 'list', '--database', srv.dbPath, '--status', 'requested&limit=1']);
  assert.equal(listed.code, 1);
  assert.equal(answerOf(listed).error.message, 'requested&limit=1 is not a valid status: use requested, completed, failed or canceled');
  // An id longer than a path holds is refused before any request, not cut
  // short into another one.
  const long = await runCli(['customer', 'billing', '--database', srv.dbPath, 'c'.repeat(3000), '--active', 'true']);
  assert.equal(long.code, 2, long.stderr);
  assert.match(long.stderr, /is too long to be an id/);
  assert.doesNotMatch(long.stderr, /"source":"cli"/, 'no request was logged');
});

test('request sends any JSON body it is given, and the server answers one that is no object as over HTTP', async () => {
  const r = await runCli(['request', '--database', srv.dbPath, 'POST', '/admin/v1/partners', 'null']);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(answerOf(r).error.message, 'the body must be a JSON object');
});

test('a command without a flag or argument it needs says which, with its usage line, before anything is done', async () => {
  for (const [name, args, what, usage] of [
    ['key create', ['--partner', 'ptn_x'], '--scopes', 'key create --partner ptn_... --scopes'],
    ['key revoke', [], 'an argument', 'key revoke key_...'],
    ['customer show', [], 'an argument', 'customer accept-invite|show cus_...'],
    ['user create', ['--partner', 'ptn_x', '--email', 'a@example.com'], '--role', 'user create --partner'],
    ['request', ['GET'], 'more arguments', 'request METHOD PATH'],
  ]) {
    const r = await runCli([...name.split(' '), ...args, '--database', srv.dbPath]);
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stderr.startsWith(`innbocks: '${name}' needs ${what}; usage:\n  innbocks ${usage}`), r.stderr);
  }
});

test('request prints an answer that is not JSON (the metrics) as it came', async () => {
  const r = await runCli(['request', '--database', srv.dbPath, 'GET', '/metrics']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^# TYPE innbocks_\w+ (counter|gauge|histogram)$/m, 'it printed nothing');
});

test('operator commands refuse to create a database: they name the path and how to point them at the server\'s', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'innbocks-nodb-'));
  try {
    const missing = path.join(dir, 'typo.db');
    for (const args of [['partner', 'list', '--database', missing], ['admin-token', 'create', '--database', missing]]) {
      const r = await runCli(args);
      assert.equal(r.code, 1, `innbocks ${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, new RegExp(`no database at ${missing.replace(/[.]/g, '\\.')}`));
      assert.match(r.stderr, /--database PATH or INNBOCKS_DATABASE=PATH/);
      assert.ok(!existsSync(missing), `${args.join(' ')} created ${missing}`);
    }
    // A relative path says in which directory it looked.
    const rel = await runCli(['partner', 'list'], { env: { INNBOCKS_DATABASE: 'no-such.db' } });
    assert.equal(rel.code, 1);
    assert.match(rel.stderr, new RegExp(`no database at no-such\\.db \\(looked in ${process.cwd().replace(/[.]/g, '\\.')}\\)`));
    // demo creates it, as serve does; then the operator commands work on it.
    const demo = await runCli(['demo', '--database', missing]);
    assert.equal(demo.code, 0, demo.stderr);
    assert.ok(existsSync(missing));
    const list = await cliOk(['partner', 'list', '--database', missing]);
    assert.equal(list.data.length, 1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

// A true|false option spelled otherwise is refused as the API refuses it (422), never read as false:
// `--active TRUE` used to turn a customer's billing off, and `--enabled maybe` an endpoint.
test('billing --active and webhook --enabled take true or false only', async () => {
  const t = await srv.tenant();
  const c = await createCustomer(t.api, { prepay: false });
  await cliOk(['customer', 'billing', c.id, '--database', srv.dbPath, '--active', 'true']);
  for (const typo of ['TRUE', 'yes', '1', 'maybe']) {
    const r = await cliFails(['customer', 'billing', c.id, '--database', srv.dbPath, '--active', typo]);
    assert.match(r.stderr, /validation_failed|true or false/);
  }
  assert.equal(ok(await t.api.get(`/customers/${c.id}`)).billing_status, 'active');
  const w = await cliOk(['webhook', 'create', '--database', srv.dbPath, '--partner', t.partner.id, '--url', 'https://crm.example.com/hooks']);
  const r = await cliFails(['webhook', 'update', w.id, '--database', srv.dbPath, '--enabled', 'no']);
  assert.match(r.stderr, /validation_failed|true or false/);
  assert.equal(ok(await srv.admin().get(`/webhook-endpoints/${w.id}`)).status, 'enabled');
  assert.equal((await cliOk(['webhook', 'update', w.id, '--database', srv.dbPath, '--enabled', 'false'])).status, 'disabled');
});
