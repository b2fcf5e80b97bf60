// The OpenAPI document (openapi/innbocks.yaml): served by the server as built, valid for a real
// linter (@redocly/cli, pinned in tests/package.json), and describing exactly the routes of the
// router — every documented operation is routed, every route of src/routes.c is documented with
// its security. Every response of the whole suite is validated against it by lib.mjs
// (openapi_lib.mjs); the last tests here check that validator itself.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { DOCUMENT_TEST, ROOT, startServer, createCustomer, ok } from './lib.mjs';
import { doc, loadDocument, validateResponse, validateWebhookDelivery } from './openapi_lib.mjs';
import { WEBHOOK_ENV, receiver, closeReceivers, createEndpoint, hmacHex } from './webhook_lib.mjs';
import { approve, createMail, requestAction, completeAction, failAction } from './mail_lib.mjs';

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv?.stop(); await closeReceivers(); });

/** Every documented operation: {method, path, op}. */
function documented() {
  const ops = [];
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const m of HTTP_METHODS) if (item[m]) ops.push({ method: m.toUpperCase(), path: p, op: item[m] });
  }
  return ops;
}

/** "/api/v1/customers/{customer_id}" -> "/api/v1/customers/{}" (parameter names do not matter). */
const shape = (p) => p.replace(/\{[^}]*\}/g, '{}');

/**
 * The route table of src/routes.c, parsed: [{method, path, scope, flags}]. The path is the
 * concatenation of the string literals and #define'd prefixes (API, ADMIN, DASH) of the entry;
 * a prefix may name another define, of routes.c or of router.h (ROUTE_DASHBOARD_API).
 */
function routeTable() {
  const read = (file) => readFileSync(path.join(ROOT, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  const src = read('src/routes.c');
  const raw = Object.fromEntries([...`${read('src/router.h')}\n${src}`.matchAll(/^#define\s+(\w+)\s+("[^"]*"|\w+)\s*$/gm)]
    .map((m) => [m[1], m[2]]));
  const resolve = (v) => (v?.startsWith('"') ? v.slice(1, -1) : v in raw ? resolve(raw[v]) : undefined);
  const defines = Object.fromEntries(Object.keys(raw).map((k) => [k, resolve(raw[k])]));
  const table = src.slice(src.indexOf('routes[]'));
  const entries = [...table.matchAll(/\{\s*"([A-Z]+)"\s*,\s*((?:(?:\w+|"[^"]*")\s*)+),\s*(\w+)\s*,\s*(\w+)\s*,\s*([\w|\s]+?)\s*(?:,[^{}]*)?\}/g)];
  const routes = entries.map((m) => ({
    method: m[1],
    path: [...m[2].matchAll(/"([^"]*)"|(\w+)/g)].map((t) => (t[1] !== undefined ? t[1] : defines[t[2]] ?? `<${t[2]}?>`)).join(''),
    handler: m[3],
    scope: m[4],
    flags: m[5].split('|').map((f) => f.trim()),
  }));
  // Every entry of the table must have been understood: count the entries by their method strings.
  const opened = [...table.matchAll(/\{\s*"[A-Z]+"\s*,/g)].length;
  assert.equal(routes.length, opened, `parsed ${routes.length} of the ${opened} entries of src/routes.c's table`);
  // The dashboard (its pages, and its JSON API under /dashboard/api/, session-authenticated) is
  // not part of the public document (tests/api/dashboard*.test.mjs cover it).
  return routes.filter((r) => r.path !== '/dashboard' && !r.path.startsWith('/dashboard/'));
}

/** SCOPE_MAIL_ACTIONS_WRITE -> "mail_actions:write". */
const scopeName = (macro) => macro.replace(/^SCOPE_/, '').toLowerCase().replace(/_([a-z]+)$/, ':$1');

test('GET /api/v1/openapi.json serves openapi/innbocks.yaml as JSON, without authentication', async () => {
  const r = await srv.raw().get('/api/v1/openapi.json');
  assert.equal(r.status, 200, r.text.slice(0, 500));
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(r.body?.openapi, '3.1.0');
  assert.deepEqual(r.body, loadDocument(),
    'the served document differs from openapi/innbocks.yaml: rebuild the binary (make) after changing the YAML');
  // Credentials change nothing (even wrong ones): the route is public.
  const withToken = await srv.raw('ib_live_wrong').get('/api/v1/openapi.json');
  assert.equal(withToken.status, 200);
  assert.equal(withToken.text, r.text);
});

test('the document passes @redocly/cli lint with no errors and no warnings', DOCUMENT_TEST, () => {
  const bin = path.join(ROOT, 'tests/node_modules/.bin/redocly');
  assert.ok(existsSync(bin), `${bin} is missing: run (cd tests && npm ci)`);
  const r = spawnSync(bin, ['lint', '--config', 'tests/redocly.yaml', '--format', 'json', 'openapi/innbocks.yaml'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120000,
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
  });
  assert.equal(r.error, undefined, String(r.error));
  let report;
  try { report = JSON.parse(r.stdout); } catch { assert.fail(`redocly lint printed no JSON report (exit ${r.status}):\n${r.stdout}\n${r.stderr}`); }
  const problems = report.problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location?.map((l) => l.pointer).join(', ')}`).join('\n');
  assert.equal(report.totals.errors, 0, `redocly lint errors (see: npx redocly lint --config tests/redocly.yaml openapi/innbocks.yaml):\n${problems}`);
  assert.equal(report.totals.warnings, 0, `redocly lint warnings:\n${problems}`);
  assert.equal(r.status, 0, `redocly lint exited ${r.status}\n${r.stderr}`);
});

test('every documented operation is routed: no 404 route_not_found, no 405', async () => {
  const ops = documented();
  assert.ok(ops.length > 0);
  for (const { method, path: p } of ops) {
    const concrete = p.replace(/\{[^}]*\}/g, 'probe_0000');
    // No credentials: a routed operation answers 401 (or 200 when public) before anything else.
    const r = await srv.raw().request(method, concrete, method === 'GET' ? {} : { json: {} });
    assert.notEqual(r.status, 405, `${method} ${p}: 405 ${r.text}`);
    assert.ok(!(r.status === 404 && r.body?.error?.code === 'route_not_found'), `${method} ${p}: ${r.text}`);
    assert.ok([200, 401].includes(r.status), `${method} ${p}: ${r.status} ${r.text}`);
  }
});

test('every route of src/routes.c is documented, with its security, and nothing else is', () => {
  const routes = routeTable();
  const ops = documented();
  const key = (m, p) => `${m} ${shape(p)}`;
  const docKeys = new Map(ops.map((o) => [key(o.method, o.path), o]));
  const routeKeys = new Map(routes.map((r) => [key(r.method, r.path), r]));
  const missing = [...routeKeys.keys()].filter((k) => !docKeys.has(k));
  const extra = [...docKeys.keys()].filter((k) => !routeKeys.has(k));
  assert.deepEqual(missing, [], 'routes of src/routes.c missing from openapi/innbocks.yaml');
  assert.deepEqual(extra, [], 'operations of openapi/innbocks.yaml that src/routes.c does not route');
  assert.equal(docKeys.size, ops.length, 'an operation is documented twice (paths differing only in parameter names)');
  for (const [k, r] of routeKeys) {
    const { op } = docKeys.get(k);
    let expected;
    if (r.flags.includes('ROUTE_PUBLIC')) expected = [];
    else if (r.flags.includes('ROUTE_ADMIN')) expected = [{ operatorToken: [] }];
    else expected = [{ partnerKey: [scopeName(r.scope)] }];
    assert.deepEqual(op.security, expected, `${k}: security of the operation (route scope ${r.scope}, flags ${r.flags.join('|')})`);
    if (expected[0]?.partnerKey) assert.equal(op['x-required-scope'], expected[0].partnerKey[0], `${k}: x-required-scope`);
    if (r.method !== 'GET' && !r.flags.includes('ROUTE_PUBLIC')) {
      assert.ok((op.parameters ?? []).some((p) => p.$ref === '#/components/parameters/IdempotencyKey'), `${k}: Idempotency-Key parameter`);
    }
  }
  // The partnerKey scheme documents exactly the scopes the operations use.
  const scopes = new Set(routes.filter((r) => r.scope !== '0').map((r) => scopeName(r.scope)));
  assert.deepEqual(Object.keys(doc.components.securitySchemes.partnerKey['x-scopes']).sort(), [...scopes].sort());
  assert.deepEqual([...doc.components.schemas.Scope.enum].sort(), [...scopes].sort());
});

test('the webhook events are the server\'s catalogue, one per type, each with its signature headers', async () => {
  const t = await srv.tenant(['webhooks:read']);
  const r = await t.api.get('/webhook-events');
  assert.equal(r.status, 200);
  const types = r.body.data.map((e) => e.type);
  assert.deepEqual(Object.keys(doc.webhooks).sort(), [...types].sort());
  assert.deepEqual([...doc.components.schemas.EventType.enum].sort(), [...types].sort());
  for (const [type, item] of Object.entries(doc.webhooks)) {
    const names = item.post.parameters.map((p) => p.$ref.split('/').pop());
    assert.deepEqual(names, ['InnbocksEventId', 'InnbocksEventType', 'InnbocksTimestamp', 'InnbocksSignature'], type);
    const schema = item.post.requestBody.content['application/json'].schema;
    assert.equal(schema.allOf[1].properties.type.const, type);
    const group = doc.components.schemas[schema.allOf[0].$ref.split('/').pop()];
    assert.ok(group.properties.type.enum.includes(type), `${type} in ${schema.allOf[0].$ref}`);
    assert.equal(doc.components.schemas.Event.discriminator.mapping[type], schema.allOf[0].$ref, `${type}: Event's discriminator`);
  }
});

test('every error code the server source can answer is in the document\'s error code enum', () => {
  const codes = new Set();
  const dirs = ['src', 'src/store']; // the storage backends answer codes too (409, 503)
  const files = dirs.flatMap((d) => readdirSync(path.join(ROOT, d)).filter((n) => n.endsWith('.c')).map((n) => path.join(ROOT, d, n)));
  for (const f of files) {
    const src = readFileSync(f, 'utf8');
    for (const m of src.matchAll(/\berror\(\s*[^,]+,\s*\d{3}\s*,\s*"([a-z_]+)"/g)) codes.add(m[1]);
  }
  assert.ok(codes.size > 10, `found only ${codes.size} error codes in src/`);
  const documentedCodes = new Set(doc.components.schemas.ErrorCode.enum);
  assert.deepEqual([...codes].filter((c) => !documentedCodes.has(c)), []);
});

test('real deliveries of every event type match the document\'s webhooks: body and signed headers', async () => {
  const hooks = await startServer({ env: WEBHOOK_ENV });
  try {
    const t = await hooks.tenant();
    const rcv = await receiver(200);
    await createEndpoint(hooks, t.partner.id, rcv);
    const c = await createCustomer(t.api, { prepay: true, phone: '+15555555555', metadata: { plan: 'gold' } });
    ok(await t.api.patch(`/customers/${c.id}`, { name: 'Renamed Customer', external_customer_id: 'crm_openapi_1' }));
    ok(await hooks.admin().post(`/customers/${c.id}/accept-invite`));
    await approve(hooks, c.id); // compliance.updated, mailbox.activated
    const letter = await createMail(t.api, c.id, { carrier: 'usps', sender: 'IRS', notes: 'two\nlines', tracking_number: 'T1' });
    await createMail(t.api, c.id, { type: 'package' });
    const doomed = await createMail(t.api, c.id);
    ok(await t.api.del(`/mail/${doomed.id}`));
    await completeAction(hooks, await requestAction(t.api, letter.id, 'scan', { notes: 'both sides' }));
    await failAction(hooks, await requestAction(t.api, letter.id, 'forward'));
    ok(await t.api.post(`/customers/${c.id}/deactivate`, { reason: 'moved away' })); // + mailbox.closed
    const types = Object.keys(doc.webhooks);
    await rcv.until((r) => types.every((ty) => r.deliveries.some((d) => d.type === ty)), 'a delivery of every event type');
    for (const d of rcv.deliveries) {
      validateWebhookDelivery(d);
      assert.equal(d.json.type, d.type, 'Innbocks-Event-Type is the body\'s type');
      assert.equal(d.json.id, d.eventId, 'Innbocks-Event-Id is the body\'s id');
      assert.equal(d.signature, `v1=${hmacHex(rcv.secret, d.timestamp, d.body)}`, 'the signature scheme the document describes');
    }
  } finally {
    await hooks.stop();
  }
});

// The validator lib.mjs runs on every response must refuse what the document does not describe.
test('the response validator refuses responses the document does not describe', async () => {
  const t = await srv.tenant();
  const created = await t.api.post('/customers', { email: 'validator@example.com', name: 'Validator' });
  assert.equal(created.status, 201);
  const base = await t.api.get(`/customers/${created.body.id}`);
  const variant = (changes) => {
    const v = { ...base, headers: new Headers(base.headers), ...changes };
    if (changes.body !== undefined) v.text = JSON.stringify(changes.body);
    return v;
  };
  const refused = (res, pattern, why) => assert.throws(() => validateResponse(res), (err) => {
    assert.equal(err.code, 'ERR_OPENAPI_MISMATCH', err.stack);
    assert.match(err.message, pattern);
    return true;
  }, why);

  validateResponse(base); // the real one is fine
  const { mailbox_id: _m, ...noMailbox } = base.body;
  refused(variant({ body: noMailbox }), /mailbox_id/, 'a required field missing');
  refused(variant({ body: { ...base.body, secret_field: 1 } }), /additional/, 'an undocumented field');
  refused(variant({ body: { ...base.body, status: 'sleeping' } }), /status/, 'a value outside the enum');
  refused(variant({ body: { ...base.body, phone: 5 } }), /phone/, 'a wrong type');
  refused(variant({ status: 418 }), /status 418 is not documented/, 'an undocumented status');
  const noRid = variant({});
  noRid.headers.delete('x-request-id');
  refused(noRid, /X-Request-Id is missing/, 'no X-Request-Id');
  const replayed = variant({});
  replayed.headers.set('idempotent-replayed', 'true');
  refused(replayed, /idempotent-replayed is sent but not documented/, 'a header a GET never sends');
  refused(variant({ status: 404, body: { error: { code: 'invalid_state', message: 'x', request_id: base.headers.get('x-request-id') } } }),
    /code/, 'an error code the status does not carry');
  refused(variant({ path: '/api/v1/nowhere', status: 200 }), /404 route_not_found/, 'an unknown route answering 200');
  refused(variant({ method: 'PUT' }), /405 method_not_allowed/, 'an undocumented method answering 200');

  // Webhook deliveries.
  const evt = { id: `evt_${'a'.repeat(24)}`, object: 'event', type: 'customer.created', api_version: 'v1', livemode: base.body.livemode, created_at: base.body.created_at, data: { object: base.body } };
  const headers = { 'innbocks-event-id': evt.id, 'innbocks-event-type': evt.type, 'innbocks-timestamp': '1795778428', 'innbocks-signature': `v1=${'0'.repeat(64)}` };
  validateWebhookDelivery({ headers, json: evt });
  const webhookRefused = (d, pattern) => assert.throws(() => validateWebhookDelivery(d), pattern);
  webhookRefused({ headers: { ...headers, 'innbocks-signature': undefined }, json: evt }, /Innbocks-Signature is missing/);
  webhookRefused({ headers: { ...headers, 'innbocks-signature': 'sha256=abc' }, json: evt }, /Innbocks-Signature/);
  webhookRefused({ headers, json: { ...evt, type: 'customer.updated' } }, /type/);
  const compliance = (await t.api.get(`/customers/${created.body.id}/compliance`)).body;
  webhookRefused({ headers, json: { ...evt, data: { object: compliance } } }, /data\/object/);
  webhookRefused({ headers: { ...headers, 'innbocks-event-type': 'customer.exploded' }, json: evt }, /no webhooks entry/);
});
