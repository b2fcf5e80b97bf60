// No secret leaks out of the dashboard: an owner and a teammate go
// through everything that makes or takes a secret — setup links and new ones, passwords (right,
// wrong, changed, reset), sessions and their CSRF tokens, API keys (made, used, rolled, a wrong
// one tried), webhook secrets (made, revealed after a password, rotated) — and then none of
// those secrets is in the access log, the server's other output, an error message, the audit
// log or a URL the server saw. Setup links carry their token in the URL's fragment, which the
// browser never sends (dashboard_browser.test.mjs checks the page removes it from the address
// bar at once); the server stores only hashes of tokens.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, runCli, sleep, uniq } from './lib.mjs';
import { Dash, setupToken } from './dashboard_lib.mjs';

let srv;
before(async () => { srv = await startServer({ env: { INNBOCKS_SIGNIN_ADDRESS_BURST: 10000 }, logTail: 50_000_000 }); });
after(() => srv?.stop());

const secrets = new Map(); // what -> the secret's value
const answers = []; // every answer the server gave, as text
const links = []; // every setup link made
const keep = (what, value) => { assert.ok(value && value.length >= 12, `${what}: ${value}`); secrets.set(`${what} #${secrets.size}`, value); };

/** Sends through the Dash client and keeps the answer's text. */
async function call(dash, method, p, json, opts = {}) {
  const r = await dash.request(method, p, { ...opts, json });
  answers.push(r.text);
  return r;
}

test('an owner and a teammate use every secret the dashboard makes or takes', async () => {
  const partner = await srv.createPartner();
  const ownerEmail = `${uniq('owner')}@example.com`.toLowerCase();
  const created = await srv.admin().post(`/partners/${partner.id}/users`, { email: ownerEmail, role: 'owner' });
  assert.equal(created.status, 201, created.text);
  links.push(created.body.setup_url);
  keep('setup token', setupToken(created.body.setup_url));
  // The first link is lost: the operator makes a new one (API, then CLI).
  const again = await srv.admin().post(`/users/${created.body.id}/setup-link`, {});
  links.push(again.body.setup_url);
  keep('setup token', setupToken(again.body.setup_url));
  const cli = await runCli(['user', 'setup-link', created.body.id, '--database', srv.dbPath], { env: { INNBOCKS_LOG: 'json' } });
  assert.equal(cli.code, 0, cli.stderr);
  links.push(cli.json.setup_url);
  const cliToken = setupToken(cli.json.setup_url);
  keep('setup token', cliToken);
  assert.ok(!cli.stderr.split('\n').filter((l) => l.startsWith('{')).some((l) => l.includes(cliToken)), 'the CLI\'s log line has no token');

  const password = 'the owner password, long';
  keep('password', password);
  const owner = new Dash(srv);
  assert.equal((await call(owner, 'POST', '/setup', { token: setupToken(created.body.setup_url), password: 'a stale link password' })).status, 400);
  keep('password', 'a stale link password');
  const set = await owner.setup(cliToken, password);
  assert.equal(set.status, 200, set.text);
  keep('session token', owner.cookie);
  keep('csrf token', owner.csrf);

  const wrong = 'not the owner password';
  keep('password', wrong);
  assert.equal((await call(new Dash(srv), 'POST', '/signin', { email: ownerEmail, password: wrong })).status, 401);
  const second = new Dash(srv);
  assert.equal((await second.signIn(ownerEmail, password)).status, 200);
  keep('session token', second.cookie);

  // Keys: made, used, a wrong one tried, rolled.
  const key = await call(owner, 'POST', '/keys', { name: 'CRM', mode: 'live', scopes: ['customers:read'] });
  assert.equal(key.status, 201, key.text);
  keep('api key', key.body.secret);
  assert.equal((await srv.api(key.body.secret).get('/customers')).status, 200);
  const bogus = `${key.body.secret.slice(0, -4)}zzzz`;
  keep('api key', bogus);
  answers.push((await srv.api(bogus).get('/customers')).text);
  const rolled = await call(owner, 'POST', `/keys/${key.body.id}/roll`, { expires_in: 'now' });
  keep('api key', rolled.body.secret);
  answers.push((await srv.api(key.body.secret).get('/customers')).text);

  // Webhook secrets: made, revealed (a wrong password first), rotated.
  const we = await call(owner, 'POST', '/webhook-endpoints', { url: 'https://crm.example.com/hooks', mode: 'live' });
  assert.equal(we.status, 201, we.text);
  keep('webhook secret', we.body.secret);
  assert.equal((await call(owner, 'POST', `/webhook-endpoints/${we.body.id}/reveal-secret`, { password: wrong })).status, 422);
  assert.equal((await call(owner, 'POST', `/webhook-endpoints/${we.body.id}/reveal-secret`, { password })).status, 200);
  const rot = await call(owner, 'POST', `/webhook-endpoints/${we.body.id}/rotate-secret`, {});
  keep('webhook secret', rot.body.secret);

  // A teammate: invited, a new link, set up; then a reset link, used.
  const mate = await call(owner, 'POST', '/users', { email: `${uniq('mate')}@example.com`.toLowerCase(), role: 'developer' });
  links.push(mate.body.setup_url);
  keep('setup token', setupToken(mate.body.setup_url));
  const relink = await call(owner, 'POST', `/users/${mate.body.id}/setup-link`, {});
  keep('setup token', setupToken(relink.body.setup_url));
  const matePassword = 'the teammate password';
  keep('password', matePassword);
  const teammate = new Dash(srv);
  assert.equal((await teammate.setup(setupToken(relink.body.setup_url), matePassword)).status, 200);
  keep('session token', teammate.cookie);
  const reset = await call(owner, 'POST', `/users/${mate.body.id}/setup-link`, {});
  links.push(relink.body.setup_url, reset.body.setup_url);
  keep('setup token', setupToken(reset.body.setup_url));
  const resetPassword = 'the teammate reset password';
  keep('password', resetPassword);
  assert.equal((await new Dash(srv).setup(setupToken(reset.body.setup_url), resetPassword)).status, 200);
  assert.equal((await call(teammate, 'GET', '/session')).status, 401, 'ended by the reset');

  // The owner's password: a wrong current one, then changed; sign-out; the old cookie tried.
  assert.equal((await call(owner, 'POST', '/password', { current_password: wrong, new_password: 'irrelevant password' })).status, 422);
  keep('password', 'irrelevant password');
  const fresh = 'the owner new password';
  keep('password', fresh);
  const changed = await call(owner, 'POST', '/password', { current_password: password, new_password: fresh });
  assert.equal(changed.status, 200, changed.text);
  keep('csrf token', changed.body.csrf_token);
  assert.equal((await call(second, 'GET', '/session')).status, 401);
  assert.equal((await call(new Dash(srv, { cookie: owner.cookie, csrf: owner.csrf }), 'POST', '/signout', {})).status, 401);
});

test('no secret is in the access log, the server\'s other output, an error message, the audit log or a URL', async () => {
  // The access log is written from each thread's buffer at least every 500 ms: once a last
  // request's line is out, two more of those periods let every earlier line out too.
  const lastId = (await srv.raw().get('/healthz')).headers.get('x-request-id');
  for (const from = Date.now(); !srv.stdout.includes(lastId) && Date.now() - from < 10000;) await sleep(20);
  assert.ok(srv.stdout.includes(lastId), 'the access log has the last request');
  await sleep(1100);
  const log = srv.stdout;
  assert.ok(log.split('\n').filter(Boolean).length > 20, 'the access log has the requests');
  const errors = answers.filter((t) => t.includes('"error"'));
  assert.ok(errors.length >= 8, `the failures answered errors: ${errors.length}`);
  const audit = JSON.stringify(srv.sqlRows('SELECT * FROM audit_log'));
  assert.ok(audit.includes('secret.reveal_failed') && audit.includes('password.change_failed'));
  const stored = JSON.stringify(['user_setup_tokens', 'sessions', 'users'].map((t) => srv.sqlRows(`SELECT * FROM ${t}`)));
  // A setup link's token is in its fragment only, which browsers never send to a server.
  assert.equal(links.length, 6);
  for (const l of links) {
    const u = new URL(l);
    assert.match(u.hash, /^#token=[0-9a-f]{64}$/);
    assert.ok(!(u.pathname + u.search).includes(setupToken(l)), l);
  }
  // Every request the server saw, as its access log has it.
  const urls = log.split('\n').filter(Boolean).map((l) => JSON.stringify(JSON.parse(l)));
  for (const [what, value] of secrets) {
    assert.ok(!urls.some((u) => u.includes(value)), `${what} in the access log`);
    assert.ok(!srv.stderr.includes(value), `${what} in the server's output`);
    assert.ok(!errors.some((t) => t.includes(value)), `${what} in an error message`);
    assert.ok(!audit.includes(value), `${what} in the audit log`);
    if (!what.startsWith('api key') && !what.startsWith('webhook secret') && !what.startsWith('csrf'))
      assert.ok(!stored.includes(value), `${what} stored as itself (only hashes are)`);
  }
});
