// Covers the webhook SSRF guard (docs/webhooks.md#where-webhooks-may-go, INNBOCKS_WEBHOOK_ALLOW_LOOPBACK): at endpoint
// creation (and update) every forbidden address is refused in every spelling, http:// and loopback
// only with the development switch; at delivery the address actually connected to is checked, so
// an endpoint that slipped in (created by a command line run with the switch) is never reached by a
// server running without it. No traffic leaves 127.0.0.1: accepted public URLs belong to partners
// that never have events.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, ok, assertError, createCustomer, sleep, TIME, runCli } from './lib.mjs';
import {
  receiver, closeReceivers, createEndpoint, patchEndpoint, waitForLog, newestEvent,
  assertDeliveryShape, assertAllSigned,
} from './webhook_lib.mjs';

let strict; // no development switch: production behaviour
let loose;  // INNBOCKS_WEBHOOK_ALLOW_LOOPBACK=1

before(async () => {
  strict = await startServer({ env: { INNBOCKS_WEBHOOK_RETRY_SCHEDULE: '1', INNBOCKS_WEBHOOK_TIMEOUT_MS: '1000' } });
  loose = await startServer({ env: { INNBOCKS_WEBHOOK_ALLOW_LOOPBACK: '1', INNBOCKS_WEBHOOK_RETRY_SCHEDULE: '1', INNBOCKS_WEBHOOK_TIMEOUT_MS: '1000' } });
});
after(async () => {
  await strict?.stop();
  await loose?.stop();
  await closeReceivers();
});

/** Hosts that are forbidden in any case: private, link-local, shared, multicast, unspecified. */
const ALWAYS_FORBIDDEN_HOSTS = [
  '10.0.0.1', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '224.0.0.1', '0.0.0.0',
  '[::]', '[fe80::1]', '[fc00::1]', '[::ffff:10.0.0.1]', '[::ffff:169.254.169.254]', '2852039166',
  '[64:ff9b:1::a00:1]', '１０.０.０.１', '169。254。169。254', `${'a'.repeat(63)}.`.repeat(4) + 'com',
];
/** Loopback in the spellings of docs/webhooks.md and more. */
const LOOPBACK_HOSTS = [
  '127.0.0.1', '2130706433', '0x7f.1', '0177.0.0.1', '127.1', '[::1]', '[::ffff:127.0.0.1]',
  '[::ffff:7f00:1]', 'localhost', 'foo.localhost', '127.0.0.1.', '%31%32%37.0.0.1', 'LOCALHOST',
  '127.0.0.1:8443', '１２７.０.０.１', '127。0。0。1', 'ⓛⓞⓒⓐⓛⓗⓞⓢⓣ', '%EF%BC%91%EF%BC%92%EF%BC%97.0.0.1',
];

const urls = (hosts) => hosts.map((h) => `https://${h}/hooks`);

/** Asserts that creating an endpoint with each URL is refused (422 url) and nothing is created. */
async function assertRefused(srv, partnerId, list) {
  const admin = srv.admin();
  const before = ok(await admin.get(`/partners/${partnerId}/webhook-endpoints?limit=100`)).data.map((e) => e.id);
  const accepted = [];
  for (const url of list) {
    const r = await admin.post(`/partners/${partnerId}/webhook-endpoints`, { url });
    if (r.status !== 422) { accepted.push(`${url} -> ${r.status}`); continue; }
    assertError(r, 422, 'validation_failed', 'url');
  }
  assert.deepEqual(accepted, [], 'these URLs must be refused with 422 validation_failed (param url)');
  const after = ok(await admin.get(`/partners/${partnerId}/webhook-endpoints?limit=100`)).data.map((e) => e.id);
  assert.deepEqual(after, before, 'a refused URL creates nothing');
}

test('without the switch: every forbidden address in every spelling, and http://, are refused at creation', async () => {
  const partner = await strict.createPartner();
  await assertRefused(strict, partner.id, [
    ...urls(LOOPBACK_HOSTS), ...urls(ALWAYS_FORBIDDEN_HOSTS),
    'http://127.0.0.1:8080/hooks', 'http://localhost:8080/hooks', 'http://crm.example.com/hooks',
    'ftp://crm.example.com/hooks', 'crm.example.com/hooks', 'https://', 'not a url',
  ]);
});

test('without the switch: a public https URL is accepted, and an update to a forbidden one is refused', async () => {
  const partner = await strict.createPartner(); // never has events: nothing is sent to example.com
  const ep = ok(await strict.admin().post(`/partners/${partner.id}/webhook-endpoints`,
    { url: 'https://crm.example.com/hooks' }), 201);
  assert.equal(ep.url, 'https://crm.example.com/hooks');
  for (const url of [...urls(['127.0.0.1', '0x7f.1', '[::ffff:127.0.0.1]', 'localhost', '169.254.169.254', '10.0.0.1']),
    'http://crm.example.com/hooks']) {
    assertError(await strict.admin().patch(`/webhook-endpoints/${ep.id}`, { url }), 422, 'validation_failed', 'url');
  }
  assert.equal(ok(await strict.admin().get(`/webhook-endpoints/${ep.id}`)).url, 'https://crm.example.com/hooks',
    'a refused update changes nothing');
});

test('without the switch: the command line refuses a loopback URL too', async () => {
  const partner = await strict.createPartner();
  const r = await runCli(['webhook', 'create', '--database', strict.dbPath, '--partner', partner.id,
    '--url', 'http://127.0.0.1:9/hooks']);
  assert.equal(r.code, 1, `exit 1 expected: ${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr, /validation_failed/);
  assert.deepEqual(ok(await strict.admin().get(`/partners/${partner.id}/webhook-endpoints`)).data, []);
});

test('with the switch: http:// and loopback are accepted, every other forbidden range still refused', async () => {
  const partner = await loose.createPartner(); // never has events
  for (const url of ['http://127.0.0.1:9/hooks', 'https://[::1]/hooks', 'http://localhost:9/hooks', 'https://127.0.0.1/hooks']) {
    const r = await loose.admin().post(`/partners/${partner.id}/webhook-endpoints`, { url });
    assert.equal(r.status, 201, `${url} must be accepted with the switch: ${r.text}`);
  }
  await assertRefused(loose, partner.id, [
    ...urls(ALWAYS_FORBIDDEN_HOSTS), 'http://10.0.0.1/hooks', 'http://169.254.169.254/latest/meta-data/',
    'http://[fe80::1]/hooks', 'http://192.168.1.1/hooks',
  ]);
});

test('without the switch, a loopback endpoint that slipped in is never connected to: forbidden_address', async (t) => {
  const partner = await strict.createPartner();
  const key = await strict.createKey(partner.id);
  const api = strict.api(key.secret);
  const rcv = await receiver(200);
  // The command line, run with the switch, writes loopback endpoints into the strict server's
  // database: the serving process must still refuse to connect when delivering.
  const created = {};
  for (const [name, url] of [
    ['https-ip', `https://127.0.0.1:${rcv.port}/hooks`],
    ['https-name', `https://localhost:${rcv.port}/hooks`],
    ['http-ip', `http://127.0.0.1:${rcv.port}/hooks`],
    ['http-name', `http://localhost:${rcv.port}/hooks`],
  ]) {
    const r = await runCli(['webhook', 'create', '--database', strict.dbPath, '--partner', partner.id, '--url', url],
      { env: { INNBOCKS_WEBHOOK_ALLOW_LOOPBACK: '1' } });
    assert.equal(r.code, 0, `innbocks webhook create ${url}: ${r.stdout}\n${r.stderr}`);
    assert.match(r.json?.id ?? '', /^we_/, r.stdout);
    created[name] = r.json;
  }
  rcv.secret = created['https-ip'].secret; // nothing should arrive; if it does, it is checked

  await createCustomer(api);
  const ev = await newestEvent(strict, partner.id, 'customer.created');
  // Schedule "1": two attempts per endpoint, both refused.
  const log = await waitForLog(api, { event_id: ev.id }, (l) => Object.values(created).every((ep) =>
    l.some((d) => d.endpoint_id === ep.id && d.next_attempt_at === null)), 'both attempts for every endpoint', 15000);
  for (const ep of Object.values(created)) await patchEndpoint(strict, ep.id, { enabled: false });
  await sleep(200);

  for (const d of log) {
    assertDeliveryShape(d);
    const name = Object.keys(created).find((k) => created[k].id === d.endpoint_id);
    assert.equal(d.status, 'failed', name);
    assert.equal(d.response_status, null, name);
    if (name.startsWith('https')) assert.equal(d.error, 'forbidden_address', `${name}: ${JSON.stringify(d)}`);
    else assert.ok(['forbidden_address', 'unsupported_protocol'].includes(d.error), `${name}: ${JSON.stringify(d)}`);
  }
  t.diagnostic(`errors: ${log.map((d) => `${Object.keys(created).find((k) => created[k].id === d.endpoint_id)}#${d.attempt}=${d.error}`).join(' ')}`);
  assert.equal(log.length, 8, `two attempts for each of the four endpoints: ${JSON.stringify(log)}`);
  assert.match(log.find((d) => d.attempt === 1).next_attempt_at ?? '', TIME, 'a refused address is retried like any failure');
  assert.equal(rcv.deliveries.length, 0, 'the receiver must receive nothing');
  assert.equal(rcv.connections, 0, 'the receiver must not even be connected to');
});

test('verifyInnbocksWebhook accepts every delivery received in this file (there should be none)', () => {
  assert.equal(assertAllSigned(), 0);
});
