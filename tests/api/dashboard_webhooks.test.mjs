// The dashboard's delivery log of a webhook endpoint, in a real browser (Debian's chromium driven
// by playwright-core; its JSON API alone, with roles and other partners, is
// dashboard_deliveries.test.mjs): an owner adds an endpoint pointing at a local receiver, an event
// made through the Partner API shows in the log with its attempt (status, duration, the body sent,
// the start of the answer); Resend delivers the same event again (the same Innbocks-Event-Id);
// "Resend failed since…" (confirmed) sends again what failed for good. A request of the page that
// fails (the log, a payload, the form's catalogue, every "Show more") is said there, with Try
// again; after a row's action the focus stays with that row. The page is saved as a screenshot
// under build/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { startServer, createCustomer } from './lib.mjs';
import { WEBHOOK_ENV, receiver, closeReceivers, waitForLog } from './webhook_lib.mjs';
import { SHOTS, axeShot } from './dashboard_lib.mjs';

const CHROMIUM = '/usr/bin/chromium';
const axeFindings = []; // serious and critical accessibility violations of every page
const PASSWORD = 'a long owner password';
let srv, browser, partner, page, context, rcv, key;
const problems = []; // console errors and CSP violations

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: scripts/deps.sh installs Debian's chromium`);
  mkdirSync(SHOTS, { recursive: true });
  // One retry a second after the first attempt: a failing receiver fails for good quickly.
  srv = await startServer({ env: { ...WEBHOOK_ENV, INNBOCKS_WEBHOOK_RETRY_SCHEDULE: '1', INNBOCKS_SIGNIN_ADDRESS_BURST: 10000 } });
  partner = await srv.createPartner({ name: 'Delivery Cowork' });
  key = await srv.createKey(partner.id);
  rcv = await receiver({ status: 200, headers: { 'content-type': 'text/plain' }, body: 'thanks from the receiver' });
  browser = await chromium.launch({ executablePath: CHROMIUM });
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`${page.url()}: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`${page.url()}: ${e.message}`));
  const r = await srv.admin().post(`/partners/${partner.id}/users`, { email: 'owner@delivery.example', role: 'owner' });
  assert.equal(r.status, 201, r.text);
  await page.goto(r.body.setup_url);
  await page.getByLabel('New password').fill(PASSWORD);
  await page.getByLabel('Repeat the password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Set password and continue' }).click();
  await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
});
after(async () => { await browser?.close(); await closeReceivers(); await srv?.stop(); });

let endpointId, eventId;

test('an event delivered to a local receiver shows in the endpoint\'s log, with the body sent and the answer', async () => {
  await page.getByRole('link', { name: 'Webhooks' }).click();
  await page.getByRole('heading', { name: 'No live endpoints yet' }).waitFor();
  await page.getByRole('button', { name: 'Add endpoint' }).first().click();
  await page.getByLabel('Endpoint URL').fill(rcv.url);
  await page.getByRole('dialog').getByRole('button', { name: 'Add endpoint' }).click();
  await page.locator('.secret input').waitFor();
  // The log is empty before any event.
  await page.getByRole('button', { name: `Deliveries of ${rcv.url}` }).click();
  await page.getByRole('heading', { name: 'No deliveries yet' }).waitFor();

  const customer = await createCustomer(srv.api(key.secret));
  await rcv.waitFor(1);
  const first = rcv.deliveries[0];
  eventId = first.eventId;
  assert.equal(first.type, 'customer.created');
  assert.equal(first.json.data.object.id, customer.id);
  // The receiver has answered; the server logs the attempt a moment later.
  await waitForLog(srv.api(key.secret), { event_id: eventId }, (l) => l.length === 1, 'the attempt in the log');

  // Reopened, the log shows the attempt.
  await page.getByRole('button', { name: `Deliveries of ${rcv.url}` }).click();
  const row = page.locator('tr', { hasText: eventId });
  await row.getByText('Succeeded').waitFor();
  await row.getByText('HTTP 200').waitFor();
  assert.match(await row.textContent(), /\d+ ms/);
  await row.getByRole('button', { name: `Details of attempt 1 of ${eventId}` }).click();
  const sent = await page.getByLabel('Body sent').textContent();
  assert.deepEqual(JSON.parse(sent), first.json, 'the body sent, as the receiver got it');
  assert.equal(await page.getByLabel('Answer').textContent(), 'thanks from the receiver');
  await axeShot(page, '20-webhook-deliveries', axeFindings);
  endpointId = (await page.evaluate(async () => (await (await fetch('/dashboard/api/webhook-endpoints')).json()).data[0].id));
  assert.match(endpointId, /^we_/);
});

test('Resend delivers the same event again, with the same Innbocks-Event-Id', async () => {
  assert.ok(eventId, 'the first test made an event');
  await page.locator('tr', { hasText: eventId }).getByRole('button', { name: `Resend ${eventId}` }).click();
  await page.getByText(`${eventId} is queued for ${rcv.url}`).waitFor();
  await rcv.waitFor(2);
  assert.deepEqual(rcv.of(eventId).map((d) => d.eventId), [eventId, eventId]);
  assert.deepEqual(rcv.deliveries[1].json, rcv.deliveries[0].json, 'the same payload');
  await waitForLog(srv.api(key.secret), { event_id: eventId }, (l) => l.length === 2, 'both attempts in the log');
  // The log, reloaded, has both attempts, newest first.
  await page.getByRole('button', { name: `Deliveries of ${rcv.url}` }).click();
  await page.locator('tbody tr', { hasText: eventId }).nth(1).waitFor();
});

test('"Resend failed since…" asks first, then sends again every delivery that failed for good', async () => {
  assert.ok(endpointId, 'the first test made an endpoint');
  rcv.script({ status: 500, body: 'receiver down' }, { status: 500, body: 'receiver down' }, 200);
  await createCustomer(srv.api(key.secret));
  await rcv.waitFor(4); // the first attempt and its one retry, both refused
  const failedId = rcv.deliveries[2].eventId;
  assert.equal(rcv.deliveries[3].eventId, failedId);
  // The receiver has answered the retry; the server logs it a moment later.
  await waitForLog(srv.api(key.secret), { event_id: failedId }, (l) => l.length === 2, 'both attempts in the log');
  await page.getByRole('button', { name: `Deliveries of ${rcv.url}` }).click();
  const failedRow = page.locator('tr', { hasText: failedId }).first();
  await failedRow.getByText('Failed').waitFor();
  await failedRow.getByText('HTTP 500').waitFor();
  await failedRow.getByRole('button', { name: `Details of attempt 2 of ${failedId}` }).click();
  assert.equal(await page.getByLabel('Answer').textContent(), 'receiver down');

  // Cancel sends nothing.
  await page.getByRole('button', { name: 'Resend failed…' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(rcv.deliveries.length, 4);
  await page.getByRole('button', { name: 'Resend failed…' }).click();
  await page.getByRole('dialog').getByText('Resend every failed delivery?').waitFor();
  await axeShot(page, '21-webhook-resend-failed-confirm', axeFindings);
  await page.getByRole('dialog').getByRole('button', { name: 'Resend failed deliveries' }).click();
  await page.getByText('1 failed delivery is queued again.').waitFor();
  await rcv.waitFor(5);
  assert.equal(rcv.deliveries[4].eventId, failedId, 'the failed event, with its own id');
  assert.equal(rcv.of(eventId).length, 2, 'the succeeded one is not sent again');
});

test('a request that fails is said in the page with Try again, never a script error: events, deliveries, the endpoint form, every "Show more"', async () => {
  const before = problems.length;
  const lists = new Map(); // a route is removed by the very matcher that added it
  const list = (name) => lists.get(name) ?? lists.set(name, (url) => url.pathname === `/dashboard/api/${name}`).get(name);
  const log = (url) => url.pathname.endsWith('/deliveries');
  const payload = (url) => url.pathname.startsWith('/dashboard/api/events/');
  const fails = (which) => page.route(which, (route) => route.abort()); // as if the server were gone
  // The first page of a list says there is more; asking for it fails.
  const moreFails = (which) => page.route(which, async (route) => {
    if (new URL(route.request().url()).searchParams.has('starting_after')) return route.abort();
    const r = await route.fetch();
    return route.fulfill({ response: r, json: { ...await r.json(), has_more: true } });
  });
  const failed = () => page.getByRole('alert').filter({ hasText: 'The dashboard cannot reach the Innbocks server.' });
  /** Clicks the button called name and finds the failure said; focus: the button was replaced,
   * and Try again has the focus instead. */
  async function failsAt(name, focus) {
    await page.getByRole('button', { name }).first().click();
    await failed().getByRole('button', { name: 'Try again' }).waitFor();
    if (focus) assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Try again', name);
  }
  /** The server answers again: Try again does what failed, and the failure goes. */
  async function recovers(which) {
    await page.unroute(which);
    await failed().getByRole('button', { name: 'Try again' }).click();
    await failed().first().waitFor({ state: 'detached' });
  }

  // Events: older events, a payload, the type filter.
  await moreFails(list('events'));
  await page.getByRole('link', { name: 'Events' }).click();
  await failsAt('Show older events', true);
  await recovers(list('events'));
  await fails(payload);
  await failsAt(/^Payload of evt_/, false);
  await recovers(payload);
  await page.getByLabel('Event payload').waitFor();
  await fails(list('events'));
  await page.getByLabel('Type').selectOption('customer.*');
  await failed().waitFor();
  await recovers(list('events'));
  await page.getByRole('cell', { name: 'customer.created' }).first().waitFor();

  // Webhooks: more endpoints, the delivery log and its older attempts, the form's catalogue.
  await moreFails(list('webhook-endpoints'));
  await page.getByRole('link', { name: 'Webhooks' }).click();
  await failsAt('Show more endpoints', true);
  await recovers(list('webhook-endpoints'));
  await fails(log);
  await failsAt(`Deliveries of ${rcv.url}`, false);
  assert.equal(await page.getByText('Loading deliveries…').count(), 0);
  await recovers(log);
  await page.locator('tbody tr', { hasText: eventId }).first().waitFor();
  await moreFails(log);
  await page.getByRole('button', { name: 'Refresh' }).click();
  await failsAt('Show older deliveries', true);
  await recovers(log);
  await fails(list('webhook-events'));
  await failsAt('Add endpoint', false);
  await recovers(list('webhook-events'));
  await page.getByRole('dialog').getByLabel('Endpoint URL').waitFor();
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();

  // API keys: more keys.
  await moreFails(list('keys'));
  await page.getByRole('link', { name: 'API keys' }).click();
  await failsAt('Show more keys', true);
  await recovers(list('keys'));
  // Chromium logs the failed requests themselves; a script error would be a page error.
  assert.deepEqual(problems.splice(before).filter((p) => !/Failed to load resource: net::ERR_FAILED/.test(p)), []);
});

test('after a row\'s action the focus is on that row\'s control or on the result, not lost with the redrawn table', async () => {
  const focused = () => page.evaluate(() => document.activeElement.getAttribute('aria-label') ?? document.activeElement.textContent);
  await page.getByRole('link', { name: 'Webhooks' }).click();
  await page.getByRole('button', { name: `Disable ${rcv.url}` }).click();
  await page.getByRole('button', { name: `Enable ${rcv.url}` }).waitFor();
  assert.equal(await focused(), `Enable ${rcv.url}`);
  await page.keyboard.press('Enter'); // the keyboard goes on from there
  await page.getByRole('button', { name: `Disable ${rcv.url}` }).waitFor();
  assert.equal(await focused(), `Disable ${rcv.url}`);
  await page.getByRole('button', { name: `Rotate secret of ${rcv.url}` }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Rotate secret' }).click();
  await page.getByText(`The new signing secret of ${rcv.url}`).waitFor();
  await page.waitForFunction(() => document.activeElement.matches('.secret input'));
  assert.match(await page.evaluate(() => document.activeElement.value), /^whsec_/);
  assert.equal(await page.evaluate(() => document.activeElement.labels[0].textContent), `The new signing secret of ${rcv.url}`, 'read out with its label');
  // API keys: a revoked key's row keeps no button; the focus is on what happened.
  await srv.createKey(partner.id, ['customers:read'], 'Focus probe');
  await page.getByRole('link', { name: 'API keys' }).click();
  await page.getByRole('button', { name: 'Revoke Focus probe' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Revoke key' }).click();
  await page.locator('tr', { hasText: 'Focus probe' }).getByText('Revoked').waitFor(); // the table redrawn
  assert.equal(await focused(), '“Focus probe” is revoked.');
});

test('axe-core finds no serious or critical accessibility violation in the delivery log', () => {
  assert.deepEqual(axeFindings, []);
});

test('no page logged an error or a Content-Security-Policy violation', () => {
  const real = problems.filter((p) => !/status of (401|403|422)/.test(p));
  assert.deepEqual(real, []);
});
