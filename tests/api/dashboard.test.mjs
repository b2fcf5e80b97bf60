// The dashboard's users, sessions and JSON API (docs/decisions.md, "Dashboard") without a browser: the operator makes
// a user with a one-time setup link, the user chooses a password there and is signed in; sessions
// are cookies that HttpOnly/Secure/SameSite keep from scripts and other sites, every state change
// needs the session's CSRF token, roles are checked per route, keys made in the dashboard work on
// /api/v1 within their scopes, and revoke and roll take effect at once. Nothing secret reaches
// the audit log. The page files are served byte for byte, with their type and headers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, runCli, assertError, ok, uniq, qs, ON_PG, ROOT } from './lib.mjs';
import { Dash, COOKIE, dashUser, setupToken, sessionCookie } from './dashboard_lib.mjs';
import { mailBody } from './mail_lib.mjs';

let srv;

// Many users sign in from 127.0.0.1 here: the per-address limit is raised (it has a test of its own).
before(async () => { srv = await startServer({ env: { INNBOCKS_SIGNIN_ADDRESS_BURST: 10000 } }); });
after(() => srv?.stop());

/** The rows of a query on the server's database as JSON text, to search for secrets or to parse. */
const sql = (q) => JSON.stringify(srv.sqlRows(q));

test('the operator creates a user and gets a one-time setup link; the token is stored only as a hash', async () => {
  const p = await srv.createPartner();
  const r = await srv.admin().post(`/partners/${p.id}/users`, { email: 'Owner@Example.com', role: 'owner' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.object, 'user');
  assert.equal(r.body.role, 'owner');
  assert.equal(r.body.password_set, false);
  // The link names the address the request came to (on PostgreSQL, either instance's).
  const origin = r.body.setup_url.slice(0, r.body.setup_url.indexOf('/dashboard/'));
  assert.ok(srv.urls.includes(origin), `${r.body.setup_url} names this server`);
  assert.match(r.body.setup_url, /\/dashboard\/setup\.html#token=[0-9a-f]{64}$/);
  const hours = (Date.parse(r.body.setup_expires_at) - Date.now()) / 3600e3;
  assert.ok(hours > 71.9 && hours <= 72, `valid 72 h, not ${hours}`);
  const token = setupToken(r.body.setup_url);
  assert.ok(!sql('SELECT * FROM user_setup_tokens').includes(token), 'the token itself is not stored');

  // An email belongs to one user, whatever its case.
  const again = await srv.admin().post(`/partners/${p.id}/users`, { email: 'owner@example.com', role: 'viewer' });
  assertError(again, 409, 'user_exists', 'email');
  assertError(await srv.admin().post(`/partners/${p.id}/users`, { email: 'x@example.com', role: 'admin' }),
    422, 'validation_failed', 'role');
  assertError(await srv.admin().post(`/partners/${p.id}/users`, { email: 'not an email', role: 'owner' }),
    422, 'validation_failed', 'email');
});

test('with INNBOCKS_PUBLIC_URL the setup links name the address users reach, behind a proxy', async () => {
  const other = await startServer({ env: { INNBOCKS_PUBLIC_URL: 'https://mail.example.com:8443/' } });
  try {
    const p = await other.createPartner();
    const r = await other.admin().post(`/partners/${p.id}/users`, { email: 'proxied@example.com', role: 'owner' });
    assert.equal(r.status, 201, r.text);
    assert.match(r.body.setup_url, /^https:\/\/mail\.example\.com:8443\/dashboard\/setup\.html#token=[0-9a-f]{64}$/);
    const cli = await runCli(['user', 'create', '--database', other.dbPath, '--partner', p.id,
      '--email', 'proxied-cli@example.com', '--role', 'viewer', '--public-url', 'https://mail.example.com']);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.json.setup_url, /^https:\/\/mail\.example\.com\/dashboard\/setup\.html#token=/);
  } finally {
    await other.stop();
  }
});

test('innbocks user create prints the user and its setup link', async () => {
  const p = await srv.createPartner();
  const r = await runCli(['user', 'create', '--database', srv.dbPath, '--partner', p.id,
    '--email', 'cli-owner@example.com', '--role', 'owner']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.email, 'cli-owner@example.com');
  // The link only on stdout: stderr is where log lines go (before: the link was repeated there).
  assert.match(r.json.setup_url, /\/dashboard\/setup\.html#token=[0-9a-f]{64}$/);
  assert.match(r.stderr, /setup_url/);
  assert.doesNotMatch(r.stderr, /token=/);
  const dash = new Dash(srv);
  assert.equal((await dash.setup(setupToken(r.json.setup_url), 'a long enough password')).status, 200);
});

test('GET /admin/v1/partners/{id}/users lists the partner\'s users newest first, never another partner\'s', async () => {
  const owner = await dashUser(srv, 'owner');
  const p = owner.partner;
  const made = [owner.user];
  for (const role of ['developer', 'viewer', 'viewer', 'owner']) {
    const r = await srv.admin().post(`/partners/${p.id}/users`, { email: `${uniq('listed')}@example.com`, role });
    assert.equal(r.status, 201, r.text);
    made.push(r.body);
  }
  const other = await dashUser(srv, 'owner');
  await srv.admin().post(`/partners/${other.partner.id}/users`, { email: `${uniq('other')}@example.com`, role: 'viewer' });

  const r = await srv.admin().get(`/partners/${p.id}/users`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.object, 'list');
  assert.equal(r.body.url, `/admin/v1/partners/${p.id}/users`);
  assert.equal(r.body.has_more, false);
  const newestFirst = [...made].reverse();
  const asListed = ({ setup_url, setup_expires_at, ...u }) => u;
  assert.deepEqual(r.body.data, newestFirst.map((u) => ({ ...asListed(u), password_set: u.id === owner.user.id })));
  // The owner's own team page lists the same users.
  assert.deepEqual((await owner.dash.get('/users')).body.data, r.body.data);

  // Walking pages of 2 forwards, then backwards from the oldest, visits each user once.
  const forwards = [];
  let after;
  for (;;) {
    const page = await srv.admin().get(`/partners/${p.id}/users${qs({ limit: 2, starting_after: after })}`);
    assert.equal(page.status, 200, page.text);
    forwards.push(...page.body.data.map((u) => u.id));
    if (!page.body.has_more) break;
    after = page.body.data.at(-1).id;
  }
  assert.deepEqual(forwards, newestFirst.map((u) => u.id));
  const backwards = [];
  let before = made[0].id;
  for (;;) {
    const page = await srv.admin().get(`/partners/${p.id}/users${qs({ limit: 2, ending_before: before })}`);
    assert.equal(page.status, 200, page.text);
    backwards.unshift(...page.body.data.map((u) => u.id));
    if (!page.body.has_more) break;
    before = page.body.data[0].id;
  }
  assert.deepEqual(backwards, newestFirst.slice(0, -1).map((u) => u.id));

  // Another partner's user is not a cursor of this list; an unknown partner has no list.
  assertError(await srv.admin().get(`/partners/${p.id}/users?starting_after=${other.user.id}`), 400, 'invalid_request', 'starting_after');
  assertError(await srv.admin().get('/partners/ptn_doesnotexist0000000000/users'), 404, 'not_found');
  assertError(await srv.admin().get(`/partners/${p.id}/users?limit=0`), 400, 'invalid_request', 'limit');
  assertError(await srv.admin(null).get(`/partners/${p.id}/users`), 401, 'unauthenticated');
});

test('the operator\'s list of users shows no password, hash or token', async () => {
  const u = await dashUser(srv, 'owner');
  const invited = await srv.admin().post(`/partners/${u.partner.id}/users`, { email: `${uniq('pending')}@example.com`, role: 'viewer' });
  const r = await srv.admin().get(`/partners/${u.partner.id}/users`);
  assert.equal(r.status, 200, r.text);
  const hash = srv.sqlRows(`SELECT password_hash FROM users WHERE id = '${u.user.id}'`)[0].password_hash;
  assert.match(hash, /\$argon2id\$/);
  for (const secret of [u.password, hash, setupToken(invited.body.setup_url), u.dash.cookie, u.dash.csrf]) {
    assert.ok(!r.text.includes(secret), `the list shows ${secret}`);
  }
  assert.ok(!/argon2|password_hash|setup_url|token/.test(r.text), r.text);
  for (const item of r.body.data) {
    assert.deepEqual(Object.keys(item).sort(), ['created_at', 'email', 'id', 'object', 'partner_id', 'password_set', 'role']);
  }
});

test('innbocks user list prints the partner\'s users; without --partner it prints the usage', async () => {
  const u = await dashUser(srv, 'owner');
  const r = await runCli(['user', 'list', '--database', srv.dbPath, '--partner', u.partner.id]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.json.data.map((x) => x.id), [u.user.id]);
  assert.equal(r.json.data[0].email, u.email);
  const missing = await runCli(['user', 'list', '--database', srv.dbPath]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /user list --partner ptn_/);
  const unknown = await runCli(['user', 'list', '--database', srv.dbPath, '--partner', 'ptn_doesnotexist0000000000']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /not_found/);
});

test('the setup link sets a password of 12 or more characters once, and signs the user in', async () => {
  const p = await srv.createPartner();
  const r = await srv.admin().post(`/partners/${p.id}/users`, { email: 'setup@example.com', role: 'developer' });
  const token = setupToken(r.body.setup_url);
  const dash = new Dash(srv);
  assertError(await dash.post('/setup', { token, password: 'short pw' }), 422, 'validation_failed', 'password');
  const ok = await dash.setup(token, 'correct horse battery');
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.body.user.password_set, true);
  assert.match(ok.body.csrf_token, /^[0-9a-f]{64}$/);
  const me = await dash.get('/session');
  assert.equal(me.status, 200, me.text);
  assert.equal(me.body.user.email, 'setup@example.com');
  assert.equal(me.body.partner.id, p.id);
  assert.equal(me.body.mode, 'live');
  // Used once: a second use (or a made-up token) is refused.
  assertError(await new Dash(srv).post('/setup', { token, password: 'another long password' }), 400, 'invalid_request', 'token');
  assertError(await new Dash(srv).post('/setup', { token: 'f'.repeat(64), password: 'another long password' }), 400, 'invalid_request', 'token');
  const stored = sql("SELECT password_hash FROM users WHERE email = 'setup@example.com'");
  assert.match(stored, /\$argon2id\$/, 'the password is stored as Argon2id');
  assert.ok(!stored.includes('correct horse battery'));
});

test('the session cookie is __Host-, HttpOnly, Secure, SameSite=Lax, Path=/; sign-in issues a new one', async () => {
  const u = await dashUser(srv);
  const r = await new Dash(srv).post('/signin', { email: u.email, password: u.password });
  assert.equal(r.status, 200, r.text);
  const cookie = r.headers.get('set-cookie');
  assert.match(cookie, new RegExp(`^${COOKIE}=[0-9a-f]{64}; `));
  for (const flag of ['HttpOnly', 'Secure', 'SameSite=Lax', 'Path=/']) assert.ok(cookie.split('; ').includes(flag), `${flag} in ${cookie}`);
  assert.doesNotMatch(cookie, /Domain=/i, '__Host- cookies have no Domain');
  assert.notEqual(sessionCookie(r), u.dash.cookie, 'a new session id at every sign-in');
  assert.ok(!sql('SELECT hash FROM sessions').includes(sessionCookie(r)), 'only the hash of the token is stored');
});

test('sign-in failures answer the same for an unknown email and a wrong password, and are audited', async () => {
  const u = await dashUser(srv);
  const wrong = await new Dash(srv).post('/signin', { email: u.email, password: 'wrong password!!' });
  const unknown = await new Dash(srv).post('/signin', { email: 'nobody@example.com', password: 'wrong password!!' });
  assertError(wrong, 401, 'unauthenticated');
  assertError(unknown, 401, 'unauthenticated');
  assert.equal(wrong.body.error.message, unknown.body.error.message);
  assert.equal(wrong.headers.get('set-cookie'), null);
  const rows = JSON.parse(sql(`SELECT action, actor, partner_id FROM audit_log WHERE action = 'signin.failed' ORDER BY seq`));
  assert.ok(rows.some((a) => a.actor === u.email && a.partner_id === u.partner.id), JSON.stringify(rows));
  assert.ok(rows.some((a) => a.actor === 'unknown user' && a.partner_id === null));
  assert.ok(!sql('SELECT * FROM audit_log').includes('wrong password'), 'no password in the audit log');
});

// An email of 40 characters or more was never limited: its bucket was kept under the first 39,
// so the next attempt found none of its own and started a full one.
for (const [what, name] of [['', 'user'], [', however long its email', 'a.rather.long.name.of.a.department']]) {
  test(`sign-in attempts are limited per account${what}`, async () => {
    const u = await dashUser(srv, 'owner', undefined, name);
    let limited;
    for (let i = 0; i < 12 && !limited; i++) {
      const r = await new Dash(srv).post('/signin', { email: u.email.toUpperCase(), password: 'wrong password!!' });
      if (r.status === 429) limited = r;
    }
    assert.ok(limited, 'the 11th attempt on one account is refused');
    assertError(limited, 429, 'rate_limited');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    // The refusal is in the audit log, once a minute however many follow.
    for (let i = 0; i < 3; i++) assertError(await new Dash(srv).post('/signin', { email: u.email, password: u.password }), 429, 'rate_limited');
    const rows = JSON.parse(sql(`SELECT * FROM audit_log WHERE action = 'signin.rate_limited' AND user_id = '${u.user.id}'`));
    // Once a minute per process: each instance on a shared database writes its own.
    assert.ok(rows.length >= 1 && rows.length <= srv.instances.length, JSON.stringify(rows));
    assert.equal(rows[0].partner_id, u.partner.id);
    assert.equal(rows[0].actor, u.email);
    assert.equal(rows[0].client_addr, '127.0.0.1');
    assert.ok(!sql('SELECT * FROM audit_log').includes('wrong password!!') && !sql('SELECT * FROM audit_log').includes(u.password));
  });
}

// Only wrong passwords use up an account's attempts: a correct one gives back the token its
// attempt spent. Before, the eleventh sign-in within minutes was refused, however right.
test('a user who signs in often is never refused; a right password does not wipe out the wrong ones', async () => {
  const u = await dashUser(srv);
  const signIn = (password) => new Dash(srv).post('/signin', { email: u.email, password });
  for (let i = 0; i < 15; i++) assert.equal((await signIn(u.password)).status, 200, `sign-in ${i + 1}`);
  for (let i = 0; i < 9; i++) assertError(await signIn('wrong password!!'), 401, 'unauthenticated');
  assert.equal((await signIn(u.password)).status, 200, 'the right password, one attempt left');
  assertError(await signIn('wrong password!!'), 401, 'unauthenticated');
  // The tenth wrong password spent the last attempt: now even the right one waits.
  assertError(await signIn(u.password), 429, 'rate_limited');
});

test('sign-in attempts are limited per client address, whatever the account', async () => {
  const small = await startServer({ env: { INNBOCKS_SIGNIN_ADDRESS_BURST: 3 } });
  try {
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await new Dash(small).post('/signin', { email: `u${i}@example.com`, password: 'whatever it is' })).status);
    assert.deepEqual(codes, [401, 401, 401, 429]);
    const rows = small.sqlRows("SELECT actor, partner_id, client_addr FROM audit_log WHERE action = 'signin.rate_limited'");
    assert.deepEqual(rows, [{ actor: 'unknown user', partner_id: null, client_addr: '127.0.0.1' }]);
  } finally {
    await small.stop();
  }
});

test('a state change without the session\'s CSRF token is refused with 403', async () => {
  const u = await dashUser(srv);
  assertError(await u.dash.post('/keys', { name: 'k', scopes: ['customers:read'] }, { csrf: false }), 403, 'csrf_failed');
  assertError(await u.dash.post('/keys', { name: 'k', scopes: ['customers:read'] }, { csrf: '0'.repeat(64) }), 403, 'csrf_failed');
  assertError(await u.dash.post('/signout', {}, { csrf: false }), 403, 'csrf_failed');
  assert.equal((await u.dash.get('/keys')).status, 200, 'reads need no token');
  assertError(await new Dash(srv).get('/keys'), 401, 'unauthenticated');
});

test('an Idempotency-Key on a dashboard write replays for its user, and is a key of its own for another user', async () => {
  const u = await dashUser(srv);
  const v = await dashUser(srv, 'owner', u.partner);
  const key = uniq('dash-idem-');
  const body = { name: 'CRM', mode: 'live', scopes: ['customers:read'] };
  const send = (who) => who.dash.post('/keys', body, { headers: { 'idempotency-key': key } });
  const first = await send(u);
  assert.equal(first.status, 201, first.text);
  assert.equal(first.headers.get('idempotent-replayed'), null);
  const again = await send(u);
  assert.equal(again.status, 201, again.text);
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  assert.equal(again.body.id, first.body.id);
  const other = await send(v);
  assert.equal(other.status, 201, other.text);
  assert.equal(other.headers.get('idempotent-replayed'), null, "another user's key is not a replay");
  assert.notEqual(other.body.id, first.body.id);
  const ids = (await u.dash.get('/keys')).body.data.map((k) => k.id);
  assert.ok(ids.includes(first.body.id) && ids.includes(other.body.id));
  assert.equal(ids.filter((id) => id === first.body.id).length, 1);
});

// The team is the same in both modes: a retry after switching the page's mode made a second
// setup link (the first one then refused) and a second audit row.
test('on the team, which is the same in both modes, a user\'s Idempotency-Key is one key in both modes', async () => {
  const u = await dashUser(srv);
  const invited = await u.dash.post('/users', { email: `${uniq('mate')}@example.com`.toLowerCase(), role: 'viewer' });
  assert.equal(invited.status, 201, invited.text);
  const key = uniq('both-modes-');
  const send = () => u.dash.post(`/users/${invited.body.id}/setup-link`, {}, { headers: { 'idempotency-key': key } });
  const live = await send();
  assert.ok(live.status < 300, live.text);
  u.dash.mode = 'test';
  const again = await send();
  u.dash.mode = 'live';
  assert.equal(again.headers.get('idempotent-replayed'), 'true', 'the same request in the other mode replays');
  assert.equal(again.status, live.status);
  assert.deepEqual(again.body, live.body);
});

test('a key made in the dashboard works within its two scopes, gets 403 outside, and revoke stops it at once', async () => {
  const u = await dashUser(srv);
  const r = await u.dash.post('/keys', { name: 'CRM', mode: 'live', scopes: ['customers:read', 'customers:write'] });
  assert.equal(r.status, 201, r.text);
  assert.match(r.body.secret, /^ib_live_/);
  const api = srv.api(r.body.secret);
  const cus = await api.post('/customers', { email: 'jane@example.com', name: 'Jane' });
  assert.equal(cus.status, 201, cus.text);
  assert.equal((await api.get(`/customers/${cus.body.id}`)).status, 200);
  assertError(await api.get('/billing/usage'), 403, 'insufficient_scope');
  const list = await u.dash.get('/keys');
  assert.equal(list.status, 200);
  const item = list.body.data.find((k) => k.id === r.body.id);
  assert.equal(item.secret, undefined, 'the secret is shown once');
  assert.deepEqual(item.scopes, ['customers:read', 'customers:write']);
  assert.equal((await u.dash.post(`/keys/${r.body.id}/revoke`, {})).status, 200);
  assertError(await api.get(`/customers/${cus.body.id}`), 401, 'unauthenticated');
  const audit = sql('SELECT * FROM audit_log');
  assert.match(audit, /POST \/dashboard\/api\/keys\/\{id\}\/revoke/);
  assert.ok(!audit.includes(r.body.secret), 'no key in the audit log');
});

test('roll: a new key with the same scopes; the old one stops now or after the chosen delay', async () => {
  const u = await dashUser(srv, 'developer');
  const old = (await u.dash.post('/keys', { name: 'sync', mode: 'live', scopes: ['customers:read'] })).body;
  const later = await u.dash.post(`/keys/${old.id}/roll`, { expires_in: '1h' });
  assert.equal(later.status, 201, later.text);
  assert.deepEqual(later.body.scopes, ['customers:read']);
  assert.equal(later.body.rolled_key.id, old.id);
  const hours = (Date.parse(later.body.rolled_key.revoked_at) - Date.now()) / 3600e3;
  assert.ok(hours > 0.95 && hours <= 1, `stops in an hour, not ${hours}`);
  assert.equal((await srv.api(old.secret).get('/customers')).status, 200, 'still works during the hour');
  assert.equal((await srv.api(later.body.secret).get('/customers')).status, 200);
  const now = await u.dash.post(`/keys/${later.body.id}/roll`, { expires_in: 'now' });
  assert.equal(now.status, 201, now.text);
  assertError(await srv.api(later.body.secret).get('/customers'), 401, 'unauthenticated');
  assert.equal((await srv.api(now.body.secret).get('/customers')).status, 200);
  assertError(await u.dash.post(`/keys/${later.body.id}/roll`, { expires_in: 'now' }), 409, 'invalid_state');
  assertError(await u.dash.post(`/keys/${now.body.id}/roll`, { expires_in: '2d' }), 422, 'validation_failed', 'expires_in');
  // Revoking the key that still runs for an hour stops it now.
  assert.equal((await u.dash.post(`/keys/${old.id}/revoke`, {})).status, 200);
  assertError(await srv.api(old.secret).get('/customers'), 401, 'unauthenticated');
});

test('the mode switch: test mode makes test keys, and another partner\'s keys are not found', async () => {
  const u = await dashUser(srv);
  u.dash.mode = 'test';
  assert.equal((await u.dash.get('/session')).body.mode, 'test');
  const k = await u.dash.post('/keys', { name: 'sandbox', mode: 'test', scopes: ['customers:read'] });
  assert.equal(k.status, 201, k.text);
  assert.equal(k.body.mode, 'test');
  assert.match(k.body.secret, /^ib_test_/);
  const other = await srv.tenant(['customers:read']);
  assertError(await u.dash.post(`/keys/${other.key.id}/revoke`, {}), 404, 'not_found');
  assertError(await u.dash.post(`/keys/${other.key.id}/roll`, { expires_in: 'now' }), 404, 'not_found');
  assert.equal((await other.api.get('/customers')).status, 200);
  assertError(await u.dash.get('/session', { headers: { 'innbocks-mode': 'sandbox' } }), 400, 'invalid_request');
});

// Without a mode, a key or endpoint made on the test page was live: a client of the JSON API
// that left it out got a live key it could neither list nor revoke on that page.
test('a key or endpoint made without a mode takes the page\'s mode; the operator API\'s stays live', async () => {
  const u = await dashUser(srv);
  for (const mode of ['test', 'live']) {
    u.dash.mode = mode;
    const k = await u.dash.post('/keys', { name: 'no mode', scopes: ['customers:read'] });
    assert.equal(k.status, 201, k.text);
    assert.equal(k.body.mode, mode);
    assert.ok(k.body.secret.startsWith(`ib_${mode}_`), k.body.secret);
    const w = await u.dash.post('/webhook-endpoints', { url: `https://crm.example.com/${mode}` });
    assert.equal(w.status, 201, w.text);
    assert.equal(w.body.mode, mode);
    // Found on that page, and revoked there.
    assert.ok((await u.dash.get('/keys?limit=100')).body.data.some((x) => x.id === k.body.id));
    assert.ok((await u.dash.get('/webhook-endpoints?limit=100')).body.data.some((x) => x.id === w.body.id));
    assert.equal((await u.dash.post(`/keys/${k.body.id}/revoke`, {})).status, 200);
  }
  const k = await srv.admin().post(`/partners/${u.partner.id}/keys`, { name: 'operator', scopes: ['customers:read'] });
  assert.equal(k.status, 201, k.text);
  assert.equal(k.body.mode, 'live');
});

// The form may choose the other mode for a new key or endpoint: its audit row names the mode the
// object was made in, not the page's (before: the page's, a live key audited as test).
test('a key or endpoint made in the other mode than the page\'s is audited in its own mode', async () => {
  const owner = await dashUser(srv);
  owner.dash.mode = 'test';
  const k = await owner.dash.post('/keys', { name: 'live from test', mode: 'live', scopes: ['customers:read'] });
  assert.equal(k.status, 201, k.text);
  assert.equal(k.body.mode, 'live');
  const w = await owner.dash.post('/webhook-endpoints', { url: 'https://crm.example.com/live', mode: 'live' });
  assert.equal(w.status, 201, w.text);
  const log = (await owner.dash.get('/audit-log?limit=100')).body.data;
  const rowOf = (id) => log.find((a) => a.target === id);
  assert.equal(rowOf(k.body.id)?.mode, 'live');
  assert.equal(rowOf(w.body.id)?.mode, 'live');
  const t = await owner.dash.post('/keys', { name: 'test from test', scopes: ['customers:read'] });
  assert.equal(t.status, 201, t.text);
  assert.equal((await owner.dash.get('/audit-log?limit=100')).body.data.find((a) => a.target === t.body.id)?.mode, 'test');
});

test('a key or endpoint of the other mode is not found by id, as in the lists', async () => {
  const u = await dashUser(srv);
  u.dash.mode = 'test';
  const k = await u.dash.post('/keys', { name: 'sandbox', mode: 'test', scopes: ['customers:read'] });
  assert.equal(k.status, 201, k.text);
  const w = await u.dash.post('/webhook-endpoints', { url: 'https://crm.example.com/test', mode: 'test' });
  assert.equal(w.status, 201, w.text);
  u.dash.mode = 'live';
  assertError(await u.dash.post(`/keys/${k.body.id}/revoke`, {}), 404, 'not_found');
  assertError(await u.dash.post(`/keys/${k.body.id}/roll`, { expires_in: 'now' }), 404, 'not_found');
  assertError(await u.dash.request('PATCH', `/webhook-endpoints/${w.body.id}`, { json: { enabled: false } }), 404, 'not_found');
  assertError(await u.dash.post(`/webhook-endpoints/${w.body.id}/rotate-secret`, {}), 404, 'not_found');
  assertError(await u.dash.get(`/webhook-endpoints/${w.body.id}/deliveries`), 404, 'not_found');
  assert.equal((await srv.api(k.body.secret).get('/customers')).status, 200, 'the test key still works');
  // In its own mode it is found, and the audit row carries that mode.
  u.dash.mode = 'test';
  const revoked = await u.dash.post(`/keys/${k.body.id}/revoke`, {});
  assert.equal(revoked.status, 200, revoked.text);
  const row = (await u.dash.get('/audit-log?limit=100')).body.data.find((a) => a.action === 'POST /dashboard/api/keys/{id}/revoke');
  assert.equal(row.target, k.body.id);
  assert.equal(row.mode, 'test');
  assertError(await srv.api(k.body.secret).get('/customers'), 401, 'unauthenticated');
  const disabled = await u.dash.request('PATCH', `/webhook-endpoints/${w.body.id}`, { json: { enabled: false } });
  assert.equal(disabled.status, 200, disabled.text);
  assert.equal(disabled.body.status, 'disabled');
});

test('keys and endpoints are listed for the page\'s mode only, and paged within it', async () => {
  const u = await dashUser(srv);
  const made = { live: { keys: [], eps: [] }, test: { keys: [], eps: [] } };
  for (const mode of ['live', 'test', 'live', 'test', 'live']) {
    const k = await u.dash.post('/keys', { name: `${mode} key`, mode, scopes: ['customers:read'] });
    assert.equal(k.status, 201, k.text);
    made[mode].keys.unshift(k.body.id);
    const w = await u.dash.post('/webhook-endpoints', { url: `https://crm.example.com/${mode}`, mode, enabled_events: ['customer.created'] });
    assert.equal(w.status, 201, w.text);
    made[mode].eps.unshift(w.body.id);
  }
  for (const [what, p] of [['keys', '/keys'], ['eps', '/webhook-endpoints']]) {
    for (const mode of ['live', 'test']) {
      u.dash.mode = mode;
      const first = await u.dash.get(`${p}?limit=2`);
      assert.equal(first.status, 200, first.text);
      assert.deepEqual(first.body.data.map((x) => x.id), made[mode][what].slice(0, 2), `${mode} ${p}`);
      assert.ok(first.body.data.every((x) => x.mode === mode));
      assert.equal(first.body.has_more, mode === 'live', `${mode} ${p}: a second page only in live mode`);
      const rest = await u.dash.get(`${p}?limit=2&starting_after=${first.body.data[1].id}`);
      assert.deepEqual(rest.body.data.map((x) => x.id), made[mode][what].slice(2), `${mode} ${p}, page 2`);
      assert.equal(rest.body.has_more, false);
      // The other mode's object is no cursor of this list.
      const other = made[mode === 'live' ? 'test' : 'live'][what][0];
      assertError(await u.dash.get(`${p}?starting_after=${other}`), 400, 'invalid_request', 'starting_after');
    }
  }
  // The operator still sees both modes of the partner.
  const all = await srv.admin().get(`/partners/${u.partner.id}/keys?limit=100`);
  assert.equal(all.body.data.length, 5);
});

test('a viewer reads but cannot change: 403 insufficient_role', async () => {
  const owner = await dashUser(srv);
  const viewer = await dashUser(srv, 'viewer', owner.partner);
  assert.equal((await viewer.dash.get('/keys')).status, 200);
  assertError(await viewer.dash.post('/keys', { name: 'k', scopes: ['customers:read'] }), 403, 'insufficient_role');
  const k = (await owner.dash.post('/keys', { name: 'k', mode: 'live', scopes: ['customers:read'] })).body;
  assertError(await viewer.dash.post(`/keys/${k.id}/revoke`, {}), 403, 'insufficient_role');
  assertError(await viewer.dash.post('/users', { email: 'x@example.com', role: 'owner' }), 403, 'insufficient_role');
  const dev = await dashUser(srv, 'developer', owner.partner);
  assertError(await dev.dash.post('/users', { email: 'x@example.com', role: 'owner' }), 403, 'insufficient_role');
  const invited = await owner.dash.post('/users', { email: 'teammate@example.com', role: 'viewer' });
  assert.equal(invited.status, 201, invited.text);
  assert.equal(invited.body.partner_id, owner.partner.id);
});

test('sign-out ends the session; setting the password again ends every session of the user', async () => {
  const u = await dashUser(srv);
  const second = new Dash(srv);
  assert.equal((await second.signIn(u.email, u.password)).status, 200);
  const out = await u.dash.post('/signout', {});
  assert.equal(out.status, 200);
  assert.match(out.headers.get('set-cookie'), /Max-Age=0/);
  assertError(await u.dash.get('/session'), 401, 'unauthenticated');
  assert.equal((await second.get('/session')).status, 200, 'other sessions live on');
  // A password change (here: a new setup link) ends them all.
  const id = u.user.id;
  const fresh = await srv.admin().post(`/partners/${u.partner.id}/users`, { email: `x${u.email}`, role: 'viewer' });
  assert.equal(fresh.status, 201);
  srv.sql(`UPDATE user_setup_tokens SET user_id = '${id}' WHERE user_id = '${fresh.body.id}'`);
  assert.equal((await new Dash(srv).setup(setupToken(fresh.body.setup_url), 'a brand new password')).status, 200);
  assertError(await second.get('/session'), 401, 'unauthenticated');
});

test('a session ends after 30 minutes idle and after 12 hours in all; a request renews the idle limit', async () => {
  const idle = await dashUser(srv);
  const old = await dashUser(srv);
  const renewed = await dashUser(srv);
  assert.equal((await idle.dash.get('/session')).status, 200);
  const now = Math.floor(Date.now() / 1000);
  srv.sql(`UPDATE sessions SET last_seen_at = ${now - 30 * 60} WHERE user_id = '${idle.user.id}'`);
  assertError(await idle.dash.get('/session'), 401, 'unauthenticated');
  srv.sql(`UPDATE sessions SET created_at = ${now - 12 * 3600}, last_seen_at = ${now} WHERE user_id = '${old.user.id}'`);
  assertError(await old.dash.get('/session'), 401, 'unauthenticated');
  // Idle for 29 minutes: the next request still works and starts the 30 minutes again (the time
  // is written at most once a minute).
  srv.sql(`UPDATE sessions SET last_seen_at = ${now - 29 * 60} WHERE user_id = '${renewed.user.id}'`);
  assert.equal((await renewed.dash.get('/session')).status, 200);
  const [{ last_seen_at: seen }] = srv.sqlRows(`SELECT last_seen_at FROM sessions WHERE user_id = '${renewed.user.id}'`);
  assert.ok(Number(seen) >= now, `last seen ${seen}, the request came at ${now} or later`);
});

// The pages themselves (their behaviour in a browser: dashboard_browser.test.mjs and the other
// files that import playwright-core): every file of web/dashboard/ as it is, with its type and the
// pages' headers; /dashboard leads to /dashboard/; a missing page is a 404 in the error envelope.
test('the dashboard\'s files are served as they are, with their type, a strict CSP and no-cache', async () => {
  const dir = path.join(ROOT, 'web/dashboard');
  const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
    '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };
  const pageHeaders = (res, what) => {
    assert.match(res.headers.get('content-security-policy'), /^default-src 'self'; frame-ancestors 'none';/, what);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff', what);
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer', what);
  };
  const files = readdirSync(dir);
  assert.ok(files.includes('index.html') && files.includes('app.js'), files.join(' '));
  for (const name of [...files, '']) {
    const res = await fetch(`${srv.url}/dashboard/${name}`);
    const file = name || 'index.html';
    assert.equal(res.status, 200, name);
    assert.equal(res.headers.get('content-type'), types[path.extname(file)], name);
    assert.equal(res.headers.get('cache-control'), 'no-cache', name);
    pageHeaders(res, name);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(readFileSync(path.join(dir, file))), `${name}: the file's bytes`);
  }
  const root = await fetch(`${srv.url}/dashboard`, { redirect: 'manual' });
  assert.equal(root.status, 301);
  assert.equal(root.headers.get('location'), '/dashboard/');
  const missing = await fetch(`${srv.url}/dashboard/no-such-page.js`);
  pageHeaders(missing, 'a missing page');
  const text = await missing.text();
  assertError({ status: missing.status, headers: missing.headers, text, body: JSON.parse(text) }, 404, 'route_not_found');
});

test('webhook endpoints in the dashboard: add in the page\'s mode, disable, rotate; others\' are not found', async () => {
  const u = await dashUser(srv);
  const cat = await u.dash.get('/webhook-events');
  assert.equal(cat.status, 200);
  assert.ok(cat.body.data.some((e) => e.type === 'customer.created'));
  assertError(await u.dash.post('/webhook-endpoints', { url: 'http://127.0.0.1/hook', mode: 'live' }), 422, 'validation_failed', 'url');
  const we = await u.dash.post('/webhook-endpoints', { url: 'https://crm.example.com/hooks', mode: 'live', enabled_events: ['customer.created'] });
  assert.equal(we.status, 201, we.text);
  assert.match(we.body.secret, /^whsec_/);
  const off = await u.dash.request('PATCH', `/webhook-endpoints/${we.body.id}`, { json: { enabled: false } });
  assert.equal(off.status, 200, off.text);
  assert.equal(off.body.status, 'disabled');
  const rot = await u.dash.post(`/webhook-endpoints/${we.body.id}/rotate-secret`, {});
  assert.equal(rot.status, 200);
  assert.notEqual(rot.body.secret, we.body.secret);
  const list = await u.dash.get('/webhook-endpoints');
  assert.equal(list.body.data.length, 1);
  assert.equal(list.body.data[0].secret, undefined);
  const other = await dashUser(srv);
  assertError(await other.dash.request('PATCH', `/webhook-endpoints/${we.body.id}`, { json: { enabled: true } }), 404, 'not_found');
  assertError(await other.dash.post(`/webhook-endpoints/${we.body.id}/rotate-secret`, {}), 404, 'not_found');
  assert.ok(!sql('SELECT * FROM audit_log').includes(rot.body.secret), 'no webhook secret in the audit log');
});

test('demo (what scripts/start.sh runs on an empty database) prints the demo owner\'s setup link', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'innbocks-demo-'));
  try {
    const r = await runCli(['demo', '--database', path.join(dir, 'demo.db'), '--listen', '127.0.0.1:8080']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Dashboard: open this one-time link[\s\S]*owner@demo\.example[\s\S]*\n {2}http:\/\/127\.0\.0\.1:8080\/dashboard\/setup\.html#token=[0-9a-f]{64}\n/);
    // Only its summary: the answers of the requests it makes were printed before it, a page of JSON.
    assert.doesNotMatch(r.stdout, /"object"/);
    assert.match(r.stdout, /^curl -X POST http:\/\/127\.0\.0\.1:8080\/api\/v1\/customers/m);
    // The partner's id, which the operator commands take.
    const partner = r.stdout.match(/^Partner: Demo Coworking, (ptn_[A-Za-z0-9]+)$/m)?.[1];
    assert.ok(partner, `the partner id is printed:\n${r.stdout}`);
    const listed = await runCli(['partner', 'list', '--database', path.join(dir, 'demo.db')]);
    assert.deepEqual(listed.json.data.map((p) => p.id), [partner]);
    // Behind a public address its curl goes there, as its setup link does.
    const pub = await runCli(['demo', '--database', path.join(dir, 'public.db'), '--public-url', 'https://mail.example.com']);
    assert.equal(pub.code, 0, pub.stderr);
    assert.match(pub.stdout, /^ {2}https:\/\/mail\.example\.com\/dashboard\/setup\.html#token=/m);
    assert.match(pub.stdout, /^curl -X POST https:\/\/mail\.example\.com\/api\/v1\/customers/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// The setup page says for whom a link is before a password is chosen, without using the link.
test('POST /setup/check names the link\'s account and whether it resets a password; the link still works', async () => {
  const owner = await dashUser(srv);
  const email = `${uniq('checked')}@example.com`.toLowerCase();
  const invited = await owner.dash.post('/users', { email, role: 'viewer' });
  const token = setupToken(invited.body.setup_url);
  const check = (t) => new Dash(srv).post('/setup/check', { token: t });
  const r = await check(token);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { object: 'setup_link', email, password_set: false });
  assert.equal((await check(token)).status, 200, 'asking twice uses nothing');
  assert.equal((await new Dash(srv).setup(token, 'a long enough password')).status, 200);
  assertError(await check(token), 400, 'invalid_request', 'token');
  assertError(await check('f'.repeat(64)), 400, 'invalid_request', 'token');
  assertError(await new Dash(srv).post('/setup/check', { token, password: 'x' }), 400, 'unknown_parameter', 'password');
  // A reset link says so.
  const reset = await owner.dash.post(`/users/${invited.body.id}/setup-link`, {});
  assert.deepEqual((await check(setupToken(reset.body.setup_url))).body, { object: 'setup_link', email, password_set: true });
});

// A link does not say which owner made it: an owner removed or demoted kept a way in through a
// teammate's reset link made before (found by a security audit), for 72 hours.
test('removing or demoting an owner ends every setup and reset link of the partner not used yet', async () => {
  for (const how of ['removed', 'demoted']) {
    const boss = await dashUser(srv, 'owner', undefined, 'boss');
    const rogue = await dashUser(srv, 'owner', boss.partner, 'rogue');
    const reset = await rogue.dash.post(`/users/${boss.user.id}/setup-link`, {});
    assert.equal(reset.status, 200, reset.text);
    const invite = await rogue.dash.post('/users', { email: `${uniq('backdoor')}@example.com`, role: 'owner' });
    assert.equal(invite.status, 201, invite.text);
    if (how === 'removed') ok(await boss.dash.request('DELETE', `/users/${rogue.user.id}`));
    else ok(await boss.dash.request('PATCH', `/users/${rogue.user.id}`, { json: { role: 'viewer' } }));
    for (const link of [reset.body.setup_url, invite.body.setup_url]) {
      assertError(await new Dash(srv).post('/setup', { token: setupToken(link), password: 'rogue takes over' }),
        400, 'invalid_request', 'token');
    }
    // The boss's password and session are untouched; a new link for the invitee works.
    assert.equal((await boss.dash.get('/session')).status, 200);
    const fresh = await boss.dash.post(`/users/${invite.body.id}/setup-link`, {});
    assert.equal((await new Dash(srv).setup(setupToken(fresh.body.setup_url), 'a long enough password')).status, 200, how);
  }
  // A developer removed made no links: another owner's pending invitation stays.
  const owner = await dashUser(srv);
  const dev = await dashUser(srv, 'developer', owner.partner);
  const pending = await owner.dash.post('/users', { email: `${uniq('pending')}@example.com`, role: 'viewer' });
  ok(await owner.dash.request('DELETE', `/users/${dev.user.id}`));
  assert.equal((await new Dash(srv).setup(setupToken(pending.body.setup_url), 'a long enough password')).status, 200);
});

test('the audit log: owners read who did what, newest first; others get 403', async () => {
  const owner = await dashUser(srv);
  const dev = await dashUser(srv, 'developer', owner.partner);
  dev.dash.mode = 'test';
  const k = await dev.dash.post('/keys', { name: 'audited', mode: 'test', scopes: ['customers:read'] });
  assert.equal(k.status, 201);
  await new Dash(srv).post('/signin', { email: dev.email, password: 'not the password!' });
  const log = await owner.dash.get('/audit-log?limit=100');
  assert.equal(log.status, 200, log.text);
  const actions = log.body.data.map((a) => `${a.actor} ${a.action}`);
  assert.equal(log.body.data[0].action, 'signin.failed', 'newest first');
  assert.ok(actions.includes(`${dev.email} POST /dashboard/api/keys`), actions.join('\n'));
  assert.ok(actions.includes(`${dev.email} password.set`));
  assert.ok(actions.includes('operator user.created'));
  // An owner's invitation is one row, the route's.
  const invited = await owner.dash.post('/users', { email: `${uniq('inv')}@example.com`, role: 'viewer' });
  const about = (await owner.dash.get('/audit-log?limit=100')).body.data.filter((a) => a.target === invited.body.id);
  assert.deepEqual(about.map((a) => `${a.actor} ${a.action}`), [`${owner.email} POST /dashboard/api/users`]);
  assert.equal(about[0].mode, null, 'the team is the same in both modes: no mode');
  const created = log.body.data.find((a) => a.action === 'POST /dashboard/api/keys');
  assert.equal(created.target, k.body.id);
  assert.equal(created.mode, 'test');
  assert.equal(created.client_addr, '127.0.0.1');
  assert.ok(!log.text.includes(k.body.secret) && !log.text.includes(dev.password), 'no secret in the log');
  // A roll's row names the key rolled (the path's), not the new one it made.
  dev.dash.mode = 'test';
  const rolled = await dev.dash.post(`/keys/${k.body.id}/roll`, { expires_in: 'now' });
  assert.equal(rolled.status, 201, rolled.text);
  const rollRow = (await owner.dash.get('/audit-log?limit=100')).body.data.find((a) => a.action === 'POST /dashboard/api/keys/{id}/roll');
  assert.equal(rollRow.target, k.body.id);
  assert.notEqual(rolled.body.id, k.body.id);
  const other = await dashUser(srv);
  assert.ok(!(await other.dash.get('/audit-log')).body.data.some((a) => a.actor === dev.email), 'another partner\'s log is its own');
  assertError(await dev.dash.get('/audit-log'), 403, 'insufficient_role');
});

test('the team: owners list users, change a role, remove someone (signed out at once), never themselves', async () => {
  const owner = await dashUser(srv);
  const dev = await dashUser(srv, 'developer', owner.partner);
  const list = await owner.dash.get('/users');
  assert.equal(list.status, 200, list.text);
  assert.deepEqual(list.body.data.map((u) => u.email).sort(), [owner.email, dev.email].sort());
  assert.ok(list.body.data.every((u) => u.password_hash === undefined && u.setup_url === undefined));
  const demoted = await owner.dash.request('PATCH', `/users/${dev.user.id}`, { json: { role: 'viewer' } });
  assert.equal(demoted.status, 200, demoted.text);
  assert.equal(demoted.body.role, 'viewer');
  assertError(await dev.dash.post('/keys', { name: 'k', scopes: ['customers:read'] }), 403, 'insufficient_role');
  assertError(await owner.dash.request('PATCH', `/users/${owner.user.id}`, { json: { role: 'viewer' } }), 409, 'invalid_state');
  assertError(await owner.dash.request('DELETE', `/users/${owner.user.id}`), 409, 'invalid_state');
  const other = await dashUser(srv);
  assertError(await other.dash.request('DELETE', `/users/${dev.user.id}`), 404, 'not_found');
  assertError(await dev.dash.get('/users'), 403, 'insufficient_role');
  const removed = await owner.dash.request('DELETE', `/users/${dev.user.id}`);
  assert.equal(removed.status, 200, removed.text);
  assert.equal(removed.body.deleted, true);
  assertError(await dev.dash.get('/session'), 401, 'unauthenticated');
  assertError(await new Dash(srv).post('/signin', { email: dev.email, password: dev.password }), 401, 'unauthenticated');
});

test('a fresh setup link for someone who has not set a password: operator (API, CLI) and owners; the old link stops at once', async () => {
  const owner = await dashUser(srv);
  const invited = await srv.admin().post(`/partners/${owner.partner.id}/users`, { email: `${uniq('late')}@example.com`, role: 'developer' });
  assert.equal(invited.status, 201, invited.text);
  const id = invited.body.id;
  const links = [invited.body.setup_url];

  const op = await srv.admin().post(`/users/${id}/setup-link`, {});
  assert.equal(op.status, 200, op.text);
  assert.equal(op.body.id, id);
  assert.equal(op.body.password_set, false);
  // The link names the instance that made it.
  assert.ok(srv.instances.some((i) => op.body.setup_url.startsWith(`${i.url}/dashboard/setup.html#token=`)), op.body.setup_url);
  assert.match(op.body.setup_url, /#token=[0-9a-f]{64}$/);
  assert.ok(Date.parse(op.body.setup_expires_at) > Date.now() + 71.9 * 3600e3);
  links.push(op.body.setup_url);

  const cli = await runCli(['user', 'setup-link', id, '--database', srv.dbPath]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.json.setup_url, /\/dashboard\/setup\.html#token=[0-9a-f]{64}$/);
  assert.doesNotMatch(cli.stderr, /token=/);
  links.push(cli.json.setup_url);

  const dash = await owner.dash.post(`/users/${id}/setup-link`, {});
  assert.equal(dash.status, 200, dash.text);
  links.push(dash.body.setup_url);
  assert.equal(new Set(links).size, 4, 'a new token each time');
  // Only the newest works: each new link ended the one before at once.
  for (const old of links.slice(0, 3))
    assertError(await new Dash(srv).post('/setup', { token: setupToken(old), password: 'a long enough password' }), 400, 'invalid_request', 'token');
  assert.equal((await new Dash(srv).setup(setupToken(links[3]), 'a long enough password')).status, 200);
  assert.equal(sql(`SELECT count(*) AS n FROM user_setup_tokens WHERE user_id = '${id}' AND used_at IS NULL`).trim(), '[{"n":0}]');

  // The operator's link is for a first password only.
  assertError(await srv.admin().post(`/users/${id}/setup-link`, {}), 409, 'invalid_state');
  assertError(await srv.admin().post('/users/usr_nope/setup-link', {}), 404, 'not_found');
  assertError(await srv.admin().post(`/users/${id}/setup-link`, { role: 'owner' }), 400, 'unknown_parameter', 'role');
  // Owners of this partner only, and not for themselves.
  const other = await dashUser(srv);
  assertError(await other.dash.post(`/users/${id}/setup-link`, {}), 404, 'not_found');
  const dev = await dashUser(srv, 'developer', owner.partner);
  assertError(await dev.dash.post(`/users/${id}/setup-link`, {}), 403, 'insufficient_role');
  assertError(await owner.dash.post(`/users/${owner.user.id}/setup-link`, {}), 409, 'invalid_state');
  assertError(await owner.dash.post(`/users/${id}/setup-link`, {}, { csrf: false }), 403, 'csrf_failed');

  const rows = JSON.parse(sql(`SELECT actor, action, target FROM audit_log WHERE target = '${id}' ORDER BY seq`));
  assert.deepEqual(rows.map((r) => `${r.actor} ${r.action}`), [
    'operator user.created', 'operator user.setup_link', 'operator user.setup_link',
    `${owner.email} POST /dashboard/api/users/{id}/setup-link`, `${invited.body.email} password.set`,
  ]);
  const audit = sql('SELECT * FROM audit_log');
  assert.ok(links.every((l) => !audit.includes(setupToken(l))), 'no setup token in the audit log');
});

test('owners send a teammate a password reset link: the old password works until it is used, then every session ends', async () => {
  const owner = await dashUser(srv);
  const dev = await dashUser(srv, 'developer', owner.partner);
  const first = await owner.dash.post(`/users/${dev.user.id}/setup-link`, {});
  assert.equal(first.status, 200, first.text);
  assert.equal(first.body.password_set, true);
  assert.equal((await dev.dash.get('/session')).status, 200, 'nothing changes until the link is used');
  assert.equal((await new Dash(srv).signIn(dev.email, dev.password)).status, 200);
  const second = await owner.dash.post(`/users/${dev.user.id}/setup-link`, {});
  assertError(await new Dash(srv).post('/setup', { token: setupToken(first.body.setup_url), password: 'the reset password' }), 400, 'invalid_request', 'token');
  const reset = await new Dash(srv).setup(setupToken(second.body.setup_url), 'the reset password');
  assert.equal(reset.status, 200, reset.text);
  assert.equal(reset.body.user.id, dev.user.id);
  assertError(await dev.dash.get('/session'), 401, 'unauthenticated');
  assertError(await new Dash(srv).post('/signin', { email: dev.email, password: dev.password }), 401, 'unauthenticated');
  assert.equal((await new Dash(srv).signIn(dev.email, 'the reset password')).status, 200);
  // Changing the password ends a reset link not used yet.
  const third = await owner.dash.post(`/users/${dev.user.id}/setup-link`, {});
  const me = new Dash(srv);
  await me.signIn(dev.email, 'the reset password');
  assert.equal((await me.post('/password', { current_password: 'the reset password', new_password: 'my own new password' })).status, 200);
  assertError(await new Dash(srv).post('/setup', { token: setupToken(third.body.setup_url), password: 'someone else\'s password' }), 400, 'invalid_request', 'token');
});

test('changing the password needs the current one, ends every other session and keeps this one signed in', async () => {
  const u = await dashUser(srv);
  const elsewhere = new Dash(srv);
  assert.equal((await elsewhere.signIn(u.email, u.password)).status, 200);
  assertError(await u.dash.post('/password', { current_password: 'not it at all', new_password: 'a whole new password' }), 422, 'validation_failed', 'current_password');
  const failed = JSON.parse(sql(`SELECT * FROM audit_log WHERE action = 'password.change_failed' AND user_id = '${u.user.id}'`));
  assert.equal(failed.length, 1, 'a wrong current password is audited');
  assert.equal(failed[0].actor, u.email);
  assert.equal(failed[0].partner_id, u.partner.id);
  assertError(await u.dash.post('/password', { current_password: u.password, new_password: 'too short' }), 422, 'validation_failed', 'new_password');
  assertError(await u.dash.post('/password', { current_password: u.password, new_password: 'a whole new password' }, { csrf: false }), 403, 'csrf_failed');
  const oldCookie = u.dash.cookie;
  const r = await u.dash.post('/password', { current_password: u.password, new_password: 'a whole new password' });
  assert.equal(r.status, 200, r.text);
  const fresh = sessionCookie(r);
  assert.ok(fresh && fresh !== oldCookie, 'a new session id');
  assertError(await elsewhere.get('/session'), 401, 'unauthenticated');
  assertError(await new Dash(srv, { cookie: oldCookie }).get('/session'), 401, 'unauthenticated');
  u.dash.cookie = fresh;
  u.dash.csrf = r.body.csrf_token;
  assert.equal((await u.dash.get('/session')).status, 200);
  assertError(await new Dash(srv).post('/signin', { email: u.email, password: u.password }), 401, 'unauthenticated');
  assert.equal((await new Dash(srv).signIn(u.email, 'a whole new password')).status, 200);
  const audit = sql('SELECT * FROM audit_log');
  assert.match(audit, /POST \/dashboard\/api\/password/);
  assert.ok(!audit.includes('a whole new password') && !audit.includes('not it at all'));
});

// A password change retried with its Idempotency-Key (its answer lost on the way) replays the first
// answer: the retry is not checked again against a password the first request replaced, spends
// no attempt and writes no audit row. The stored answer holds the new session's CSRF token, so it
// is kept sealed. Before: the retry was 422 on current_password, audited as a failed change, and
// the token was stored in the clear.
test('a password change retried with its Idempotency-Key replays the first answer, stored sealed', async () => {
  const u = await dashUser(srv);
  const key = uniq('pw-change-');
  const body = { current_password: u.password, new_password: 'a password for retries' };
  const first = await u.dash.post('/password', body, { headers: { 'idempotency-key': key } });
  assert.equal(first.status, 200, first.text);
  // The first answer's session is the only one left: the retry comes with it.
  const signedIn = new Dash(srv, { cookie: sessionCookie(first), csrf: first.body.csrf_token });
  const again = await signedIn.post('/password', body, { headers: { 'idempotency-key': key } });
  assert.equal(again.status, 200, again.text);
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  assert.equal(again.text, first.text, 'the first answer, byte for byte');
  assert.equal(sql(`SELECT * FROM audit_log WHERE action = 'password.change_failed' AND user_id = '${u.user.id}'`), '[]');
  assert.equal((await new Dash(srv).signIn(u.email, 'a password for retries')).status, 200, 'the new password holds');
  const hex = Buffer.from(first.body.csrf_token).toString('hex');
  const stored = srv.sqlRows(ON_PG
    ? "SELECT encode(body, 'hex') AS body FROM idempotency"
    : 'SELECT hex(body) AS body FROM idempotency');
  assert.ok(stored.length >= 1);
  for (const row of stored) assert.ok(!row.body.toLowerCase().includes(hex), 'a CSRF token stored in the clear');
});

// The current password re-entered to change it counts as at sign-in: a right one gives back the
// attempt it spent, a wrong one uses up one of the account's 10.
test('a user who changes the password often is never refused; a right current password does not wipe out the wrong ones', async () => {
  const u = await dashUser(srv);
  let password = u.password;
  // Each change ends every session and starts a new one: the page goes on with that.
  const change = async (current, fresh) => {
    const r = await u.dash.post('/password', { current_password: current, new_password: fresh });
    if (r.status === 200) { u.dash.cookie = sessionCookie(r); u.dash.csrf = r.body.csrf_token; }
    return r;
  };
  for (let i = 0; i < 12; i++) {
    const fresh = `${u.password} ${i + 1}`;
    const r = await change(password, fresh);
    assert.equal(r.status, 200, `change ${i + 1}: ${r.text}`);
    password = fresh;
  }
  const wrong = () => change('not it at all', 'a whole new password');
  for (let i = 0; i < 9; i++) assertError(await wrong(), 422, 'validation_failed', 'current_password');
  const last = `${u.password} last`;
  assert.equal((await change(password, last)).status, 200, 'the right password, one attempt left');
  assertError(await wrong(), 422, 'validation_failed', 'current_password');
  // The tenth wrong password spent the last attempt: now even the right one waits.
  assertError(await change(last, 'a whole new password'), 429, 'rate_limited');
});

test('an endpoint\'s secret is shown again only after the password is re-entered', async () => {
  const u = await dashUser(srv, 'developer');
  const we = await u.dash.post('/webhook-endpoints', { url: 'https://crm.example.com/again', mode: 'live' });
  assert.equal(we.status, 201, we.text);
  assertError(await u.dash.post(`/webhook-endpoints/${we.body.id}/reveal-secret`, { password: 'not my password' }), 422, 'validation_failed', 'password');
  assertError(await u.dash.post(`/webhook-endpoints/${we.body.id}/reveal-secret`, {}), 422, 'validation_failed', 'password');
  const r = await u.dash.post(`/webhook-endpoints/${we.body.id}/reveal-secret`, { password: u.password });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.secret, we.body.secret);
  const other = await dashUser(srv);
  assertError(await other.dash.post(`/webhook-endpoints/${we.body.id}/reveal-secret`, { password: other.password }), 404, 'not_found');
  const viewer = await dashUser(srv, 'viewer', u.partner);
  assertError(await viewer.dash.post(`/webhook-endpoints/${we.body.id}/reveal-secret`, { password: viewer.password }), 403, 'insufficient_role');
  const audit = sql('SELECT * FROM audit_log');
  assert.match(audit, /reveal-secret/);
  assert.ok(!audit.includes(we.body.secret));
  const failed = JSON.parse(sql(`SELECT * FROM audit_log WHERE action = 'secret.reveal_failed' AND user_id = '${u.user.id}'`));
  assert.equal(failed.length, 1, 'the wrong password is audited, the missing one is not an attempt');
  assert.equal(failed[0].target, we.body.id);
  assert.equal(failed[0].mode, 'live');
  assert.ok(!audit.includes('not my password'));
  // A right password re-entered gives its attempt back: more reveals than the account's 10
  // attempts all succeed.
  for (let i = 0; i < 12; i++) {
    const right = await u.dash.post(`/webhook-endpoints/${we.body.id}/reveal-secret`, { password: u.password });
    assert.equal(right.status, 200, `reveal ${i + 1}: ${right.text}`);
  }
  // Re-entries count against the account's sign-in limit; the refusal is audited too.
  let limited;
  for (let i = 0; i < 12 && !limited; i++) {
    const r = await u.dash.post(`/webhook-endpoints/${we.body.id}/reveal-secret`, { password: 'not my password' });
    if (r.status === 429) limited = r;
  }
  assert.ok(limited, 'the account runs out of attempts');
  assertError(limited, 429, 'rate_limited');
  const refused = JSON.parse(sql(`SELECT * FROM audit_log WHERE action = 'secret.reveal_rate_limited' AND user_id = '${u.user.id}'`));
  assert.equal(refused.length, 1);
  assert.equal(refused[0].target, we.body.id);
});

test('events in the dashboard: the page\'s mode only, readable by every role', async () => {
  const u = await dashUser(srv, 'viewer');
  const live = await srv.createKey(u.partner.id, ['customers:write']);
  const test = await srv.createKey(u.partner.id, ['customers:write'], 'test key', 'test');
  const a = await srv.api(live.secret).post('/customers', { email: 'live@example.com', name: 'Live' });
  const b = await srv.api(test.secret).post('/customers', { email: 'test@example.com', name: 'Test' });
  const liveEvents = await u.dash.get('/events?type=customer.*');
  assert.equal(liveEvents.status, 200, liveEvents.text);
  assert.deepEqual(liveEvents.body.data.map((e) => e.data.object.id), [a.body.id]);
  u.dash.mode = 'test';
  const testEvents = await u.dash.get('/events');
  assert.deepEqual(testEvents.body.data.map((e) => e.data.object.id), [b.body.id]);
  assert.equal((await u.dash.get(`/events/${testEvents.body.data[0].id}`)).status, 200);
  assertError(await u.dash.get(`/events/${liveEvents.body.data[0].id}`), 404, 'not_found');
});

test('test helpers: a developer in test mode accepts an invitation and decides compliance for a test customer, as staff do in live mode', async () => {
  const owner = await dashUser(srv);
  const dev = await dashUser(srv, 'developer', owner.partner);
  const viewer = await dashUser(srv, 'viewer', owner.partner);
  const test = await srv.createKey(owner.partner.id, ['customers:write', 'customers:read'], 'test key', 'test');
  const live = await srv.createKey(owner.partner.id, ['customers:write']);
  const c = (await srv.api(test.secret).post('/customers', { email: 'helped@example.com', name: 'Helped' })).body;
  const l = (await srv.api(live.secret).post('/customers', { email: 'live@example.com', name: 'Live' })).body;
  const accept = `/test-helpers/customers/${c.id}/accept-invite`;
  // The page in live mode: refused for what it is.
  assertError(await dev.dash.post(accept, {}), 403, 'test_mode_only');
  dev.dash.mode = 'test';
  viewer.dash.mode = 'test';
  assertError(await viewer.dash.post(accept, {}), 403, 'insufficient_role');
  assertError(await dev.dash.post(`/test-helpers/customers/${l.id}/accept-invite`, {}), 404, 'not_found');
  const active = await dev.dash.post(accept, {});
  assert.equal(active.status, 200, active.text);
  assert.equal(active.body.status, 'active');
  const comp = await dev.dash.post(`/test-helpers/customers/${c.id}/compliance`, { form_1583: 'approved', identity: 'verified' });
  assert.equal(comp.status, 200, comp.text);
  assert.equal(comp.body.mail_receipt_approved, true);
  assert.equal((await srv.api(test.secret).get(`/customers/${c.id}`)).body.status, 'active');
  // A requested mail action canceled, as staff do when a request is withdrawn.
  await srv.admin().post(`/customers/${c.id}/billing`, { active: true });
  const mailKey = await srv.createKey(owner.partner.id, ['mail:write', 'mail_actions:write'], 'test mail key', 'test');
  const m = (await srv.api(mailKey.secret).post('/mail', mailBody(c.id))).body;
  const scan = (await srv.api(mailKey.secret).post(`/mail/${m.id}/scan`, {})).body;
  assertError(await viewer.dash.post(`/test-helpers/mail-actions/${scan.id}/cancel`, {}), 403, 'insufficient_role');
  const canceled = await dev.dash.post(`/test-helpers/mail-actions/${scan.id}/cancel`, {});
  assert.equal(canceled.status, 200, canceled.text);
  assert.equal(canceled.body.status, 'canceled');
  const log = (await owner.dash.get('/audit-log?limit=100')).body.data;
  for (const route of ['customers/{id}/accept-invite', 'mail-actions/{id}/cancel']) {
    assert.ok(log.some((a) => a.actor === dev.email && a.action === `POST /dashboard/api/test-helpers/${route}`
      && a.mode === 'test'), `the audit log has ${route}`);
  }
});

// The pages are nosniff; so is every answer of the dashboard's JSON API, refusals included.
test('every dashboard API answer is X-Content-Type-Options: nosniff', async () => {
  const u = await dashUser(srv);
  const anonymous = new Dash(srv);
  const answers = {
    session: await u.dash.get('/session'),
    keys: await u.dash.get('/keys'),
    'no session': await anonymous.get('/session'),
    'bad sign-in': await anonymous.post('/signin', { email: 'nobody@example.com', password: 'wrong password' }),
    'no such route': await u.dash.get('/no-such-route'),
  };
  for (const [what, r] of Object.entries(answers))
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff', `${what} (${r.status})`);
});
