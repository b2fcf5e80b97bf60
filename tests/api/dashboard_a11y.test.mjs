// The dashboard with a keyboard and a screen reader (an accessibility audit): the focus never
// falls to the page when the control that held it goes away (Show more, Close, Refresh, a
// refused form, Remove, sign-in, Try again); a one-time secret takes the focus, so that it is
// read out with its label; what changed is said through a status region that was on the page
// before (a new one is often not read out); an ended session is said as an alert; the edges of
// form controls stand out from white (WCAG 1.4.11); the title names the mode and the error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { startServer, createCustomer } from './lib.mjs';
import { WEBHOOK_ENV, receiver, closeReceivers } from './webhook_lib.mjs';
import { dashUser } from './dashboard_lib.mjs';

let srv, browser, rcv;

before(async () => {
  srv = await startServer({ env: { ...WEBHOOK_ENV, INNBOCKS_SIGNIN_ADDRESS_BURST: 10000 } });
  rcv = await receiver({ status: 200, body: 'ok' });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
});
after(async () => { await browser?.close(); await closeReceivers(); await srv?.stop(); });

/** A browser page signed in by the form as user (a new owner of a new partner by default):
 * {context, page, user}. */
async function signedIn(user) {
  user ??= await dashUser(srv);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${srv.url}/dashboard/#keys`); // a page named: sign-in leads there, no navigation
  await signIn(page, user);
  await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
  return { context, page, user };
}

async function signIn(page, user) {
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** What has the focus, as a person would name it: "BUTTON Roll Key 3", "H1 API keys". */
const focused = (page) => page.evaluate(() => {
  const a = document.activeElement;
  return `${a.tagName} ${a.getAttribute('aria-label') ?? a.textContent.trim()}`;
});

/**
 * Asserts that the focus comes to what `want` (a string, or a RegExp) names within 5 s: the page
 * moves it once its request has been answered and the page drawn, which a slow machine takes a
 * moment over.
 */
async function focusComesTo(page, want, message) {
  const matches = (v) => (want instanceof RegExp ? want.test(v) : v === want);
  let now = await focused(page);
  for (const deadline = Date.now() + 5000; !matches(now) && Date.now() < deadline;) {
    await new Promise((r) => setTimeout(r, 50));
    now = await focused(page);
  }
  if (want instanceof RegExp) assert.match(now, want, message); else assert.equal(now, want, message);
}

/** Runs act(); asserts that a status region that was on the page before it says text. */
async function saysInStatus(page, act, text) {
  await page.evaluate(() => { window.regionsBefore = [...document.querySelectorAll('[role=status]')]; });
  await act();
  await page.waitForFunction((t) => window.regionsBefore.some((r) => r.isConnected && r.textContent.includes(t)), text, { timeout: 5000 })
    .catch(() => assert.fail(`no status region that was there before says "${text}"`));
}

/** The contrast ratio of two CSS rgb() colours (WCAG's relative luminance). */
function contrast(a, b) {
  const lum = (c) => {
    const [r, g, bl] = c.match(/\d+(\.\d+)?/g).slice(0, 3).map((v) => {
      const s = Number(v) / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

test('after sign-in the focus is on the page\'s heading; the title names test mode', async () => {
  const { context, page } = await signedIn();
  await focusComesTo(page, 'H1 API keys');
  assert.match(await page.title(), /^API keys · /);
  await page.getByRole('button', { name: 'Test' }).click();
  await page.getByText('Test mode: you are looking at test data.').waitFor();
  assert.match(await page.title(), /^Test — API keys · /);
  await page.getByRole('link', { name: 'Team' }).click();
  await page.getByRole('heading', { name: 'Team', level: 1 }).waitFor();
  assert.match(await page.title(), /^Team · /, 'the same in both modes: no mode named');
  await context.close();
});

test('the error page: its title says what went wrong; after Try again the focus is on the heading', async () => {
  const { context, page } = await signedIn();
  await page.route('**/dashboard/api/**', (route) => route.abort());
  await page.getByRole('link', { name: 'Events' }).click();
  await page.getByRole('heading', { name: 'The server cannot be reached' }).waitFor();
  assert.equal(await page.title(), 'The server cannot be reached · Innbocks');
  await page.unroute('**/dashboard/api/**');
  await page.getByRole('button', { name: 'Try again' }).click();
  await page.getByRole('heading', { name: 'Events', level: 1 }).waitFor();
  await page.waitForFunction(() => document.activeElement.tagName === 'H1');
  await context.close();
});

test('Show more keys: the focus goes to the first new row\'s first control', async () => {
  const owner = await dashUser(srv);
  for (let i = 0; i < 51; i++) {
    const r = await owner.dash.post('/keys', { name: `Key ${String(i).padStart(2, '0')}`, scopes: ['customers:read'] });
    assert.equal(r.status, 201, r.text);
  }
  const { context, page } = await signedIn(owner);
  await page.getByRole('button', { name: 'Show more keys' }).focus();
  await page.keyboard.press('Enter');
  await page.locator('tr[data-key-id]').nth(50).waitFor();
  await focusComesTo(page, 'BUTTON Roll Key 00', 'the oldest key, the one row added');
  // The audit log has no control in its rows: the focus goes to the first row added. A failure
  // is said with Try again, which has the focus.
  await page.getByRole('link', { name: 'Audit log' }).click();
  const older = (url) => url.pathname.endsWith('/audit-log') && url.searchParams.has('starting_after');
  await page.route(older, (route) => route.abort());
  await page.getByRole('button', { name: 'Show older entries' }).click();
  await page.getByRole('alert').filter({ hasText: 'The dashboard cannot reach the Innbocks server.' }).waitFor();
  await focusComesTo(page, 'BUTTON Try again');
  await page.unroute(older);
  await page.keyboard.press('Enter');
  await page.getByRole('region', { name: 'Audit log entries' }).locator('tbody tr').nth(50).waitFor();
  const rowFocused = () => page.evaluate(() => document.activeElement.closest('tr')?.rowIndex);
  await page.waitForFunction(() => document.activeElement.closest('tr')?.rowIndex === 51, null, { timeout: 5000 }).catch(() => {});
  assert.equal(await rowFocused(), 51, 'the first row added (after the head row)');
  await context.close();
});

test('Close and Refresh: the focus goes back to the button that opened the panel, or stays', async () => {
  const owner = await dashUser(srv);
  const key = await srv.createKey(owner.partner.id);
  const ep = await owner.dash.post('/webhook-endpoints', { url: rcv.url });
  assert.equal(ep.status, 201, ep.text);
  const customer = await createCustomer(srv.api(key.secret));
  for (let i = 0; i < 100; i++) {
    if ((await owner.dash.get(`/webhook-endpoints/${ep.body.id}/deliveries`)).body.data.length) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const { context, page } = await signedIn(owner);
  // An event's payload.
  await page.getByRole('link', { name: 'Events' }).click();
  await page.getByRole('button', { name: /^Payload of / }).first().click();
  await page.getByRole('region', { name: /customer\.created/ }).getByRole('button', { name: 'Close' }).click();
  await focusComesTo(page, /^BUTTON Payload of evt_/);
  // The delivery log, an attempt's detail in it, and Refresh.
  await page.getByRole('link', { name: 'Webhooks' }).click();
  await page.getByRole('button', { name: `Deliveries of ${rcv.url}` }).click();
  const log = page.getByRole('region', { name: `Deliveries to ${rcv.url}` });
  await log.getByRole('button', { name: /^Details of attempt 1/ }).click();
  await log.getByRole('region', { name: /^Attempt 1 of / }).getByRole('button', { name: 'Close' }).click();
  await focusComesTo(page, /^BUTTON Details of attempt 1 of evt_/);
  await saysInStatus(page, () => log.getByRole('button', { name: 'Refresh' }).click(), 'Refreshed');
  await focusComesTo(page, 'BUTTON Refresh');
  await log.getByRole('button', { name: 'Close' }).click();
  await focusComesTo(page, `BUTTON Deliveries of ${rcv.url}`);
  assert.ok(customer.id);
  await context.close();
});

test('a refused form: the focus goes to the field in error, or to the alert; a scope is described', async () => {
  const { context, page, user } = await signedIn();
  await page.getByRole('button', { name: 'Create key' }).first().click();
  const dialog = page.getByRole('dialog');
  const read = await dialog.getByRole('checkbox', { name: 'customers:read' })
    .evaluate((el) => document.getElementById(el.getAttribute('aria-describedby'))?.textContent);
  assert.equal(read, 'Read customers, compliance and mailboxes', 'a visible description, read with the checkbox');
  // No scope chosen: the error is said at the scopes, and the focus goes there.
  await dialog.getByRole('button', { name: 'Create key' }).click();
  await dialog.getByText('Choose at least one scope.').waitFor();
  await focusComesTo(page, 'INPUT ');
  assert.equal(await page.evaluate(() => document.activeElement.name), 'scopes');
  await dialog.getByRole('checkbox', { name: 'customers:read' }).check();
  // The server refuses the name.
  await page.route('**/dashboard/api/keys', (route) => route.fulfill({ status: 400, contentType: 'application/json',
    body: JSON.stringify({ error: { code: 'invalid_request', message: 'name is too long', param: 'name' } }) }));
  await dialog.getByRole('button', { name: 'Create key' }).click();
  await dialog.getByText('name is too long').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.labels?.[0]?.textContent), 'Name (optional)');
  // A refusal of no one field: the alert has the focus.
  await page.route('**/dashboard/api/keys', (route) => route.fulfill({ status: 500, contentType: 'application/json',
    body: JSON.stringify({ error: { code: 'internal_error', message: 'The server had a problem.' } }) }));
  await dialog.getByRole('button', { name: 'Create key' }).click();
  await dialog.getByRole('alert').filter({ hasText: 'The server had a problem.' }).waitFor();
  await focusComesTo(page, 'DIV The server had a problem.');
  await page.unroute('**/dashboard/api/keys');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  // A refused sign-in.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill('not the password at all');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('.alert:not([hidden])').waitFor();
  await focusComesTo(page, /^DIV /, 'the alert');
  await context.close();
});

test('a new secret, key, setup link or signing secret takes the focus', async () => {
  const { context, page } = await signedIn();
  const secretFocused = async (prefix) => {
    await page.waitForFunction(() => document.activeElement.matches('.secret input'));
    assert.ok((await page.evaluate(() => document.activeElement.value)).startsWith(prefix));
  };
  // From the empty list's own button, which the new list replaces.
  await page.getByRole('button', { name: 'Create your first key' }).click();
  await page.getByRole('checkbox', { name: 'customers:read' }).check();
  await page.getByRole('dialog').getByRole('button', { name: 'Create key' }).click();
  await secretFocused('ib_live_');
  await page.getByRole('link', { name: 'Webhooks' }).click();
  await page.getByRole('button', { name: 'Add your first endpoint' }).click();
  await page.getByLabel('Endpoint URL').fill(rcv.url);
  await page.getByRole('dialog').getByRole('button', { name: 'Add endpoint' }).click();
  await secretFocused('whsec_');
  await page.getByRole('link', { name: 'Team' }).click();
  await page.getByRole('button', { name: 'Invite someone' }).click();
  await page.getByLabel('Email').fill(`invited-${Date.now()}@example.com`);
  await page.getByRole('dialog').getByRole('button', { name: 'Invite' }).click();
  await secretFocused('http');
  await context.close();
});

test('what changed is said in a status region that was there before; Remove leaves the focus on what happened', async () => {
  const { context, page, user } = await signedIn();
  const key = await srv.createKey(user.partner.id);
  const customer = await createCustomer(srv.api(key.secret), { name: 'Said Sam' });
  const ep = await user.dash.post('/webhook-endpoints', { url: rcv.url });
  assert.equal(ep.status, 201, ep.text);
  const teammate = await dashUser(srv, 'viewer', user.partner, 'teammate');
  await page.getByRole('link', { name: 'Webhooks' }).click();
  const disable = page.getByRole('button', { name: `Disable ${rcv.url}` });
  await disable.waitFor(); // the page drawn: its status region there
  await saysInStatus(page, () => disable.click(), `${rcv.url} is disabled`);
  await page.getByRole('link', { name: 'Customers' }).click();
  await page.getByRole('link', { name: 'Details of Said Sam' }).waitFor();
  await page.getByLabel('Search by email or external id').fill(customer.email);
  await saysInStatus(page, () => page.getByRole('button', { name: 'Search' }).click(), '1 customer found.');
  await page.getByLabel('Search by email or external id').fill('nobody@example.com');
  await saysInStatus(page, () => page.getByRole('button', { name: 'Search' }).click(), 'No customer matches.');
  await page.getByRole('link', { name: 'Events' }).click();
  await page.getByLabel('Type').waitFor();
  await saysInStatus(page, () => page.getByLabel('Type').selectOption('customer.created'), '1 event of type customer.created shown.');
  await page.getByRole('link', { name: 'Team' }).click();
  await page.getByRole('button', { name: `Remove ${teammate.email}` }).click();
  await saysInStatus(page, () => page.getByRole('dialog').getByRole('button', { name: 'Remove' }).click(), `${teammate.email} is removed.`);
  await page.waitForFunction((t) => document.activeElement.textContent === t, `${teammate.email} is removed.`);
  await context.close();
});

test('an ended session and a sign-out are said: an alert above the sign-in form', async () => {
  const { context, page } = await signedIn();
  await context.clearCookies();
  await page.getByRole('link', { name: 'Events' }).click();
  await page.getByText('Your session has ended').waitFor();
  assert.equal(await page.getByText('Your session has ended').evaluate((el) => el.closest('[role=alert]') !== null), true);
  const user = await dashUser(srv);
  await signIn(page, user);
  await page.getByRole('heading', { name: 'Events', level: 1 }).waitFor();
  await page.waitForFunction(() => document.activeElement.tagName === 'H1', null, { timeout: 5000 });
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByText('You have signed out.').waitFor();
  assert.equal(await page.getByText('You have signed out.').evaluate((el) => el.closest('[role=alert], [role=status]') !== null), true);
  await context.close();
});

test('the edges of inputs, menus, buttons and the mode switch stand out from white by 3:1 or more', async () => {
  const { context, page } = await signedIn();
  // Each page drawn before its controls are measured: an element the shell is replacing has no
  // computed style.
  const open = async (name) => {
    await page.getByRole('link', { name }).click();
    await page.getByRole('heading', { name, level: 1 }).waitFor();
  };
  const edges = async (selector) => page.locator(selector).first().evaluate((el) => getComputedStyle(el).borderTopColor);
  await open('Customers');
  await page.locator('input[name=q]').waitFor();
  const checked = { 'the mode switch': await edges('.mode'), 'the search field': await edges('input[name=q]'),
    'a small button': await edges('.side button') };
  await open('Events');
  await page.locator('select').first().waitFor();
  checked['the type menu'] = await edges('select');
  await open('Usage');
  await page.getByRole('button', { name: 'Download CSV' }).waitFor();
  checked['the Download CSV button'] = await edges('button:text("Download CSV")');
  checked['the month field'] = await edges('input[type=month]');
  for (const [what, color] of Object.entries(checked)) {
    const ratio = contrast(color, 'rgb(255, 255, 255)');
    assert.ok(ratio >= 3, `${what}: ${color} is ${ratio.toFixed(2)}:1 against white`);
  }
  await context.close();
});

test('Skip to content shows where the keyboard is: the heading it leads to is marked', async () => {
  const { context, page } = await signedIn();
  await page.reload();
  await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await focusComesTo(page, 'H1 API keys');
  assert.notEqual(await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle), 'none');
  await context.close();
});
