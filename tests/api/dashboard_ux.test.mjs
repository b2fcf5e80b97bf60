// The dashboard where a newcomer's path went wrong (a UX audit): every page fits a phone's width
// (the navigation goes above the page, wide tables scroll inside their panel); a dialog never
// outlives its page (Back, an ended session); an ended session leads to sign-in and back to the
// same page; a role changes only after a confirmation; a server that cannot be reached is said
// so, with a way to try again; after navigation the focus is on the page's heading, and a skip
// link leads past the navigation; Team and Audit log have no mode switch; a refused sign-in empties
// the password, and the other password forms name the account; a key's name is optional, and
// the form says so; two tabs keep their own mode; a changed password is confirmed, and a session
// renewed in another tab does not fail the next change (someone else's is said, with Reload);
// times name their zone, UTC on the usage page; the usage page shows a page of line items at a time
// and downloads every one; the session's time limits are said before they end; a list shows only
// its latest filter's answer. Screenshots:
// build/screenshots/ux-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { createCustomer, startServer } from './lib.mjs';
import { approve } from './mail_lib.mjs';
import { SHOTS, axeShot, dashUser } from './dashboard_lib.mjs';

let srv, browser, owner, viewer;
const axeFindings = [];
const PAGES = [['keys', 'API keys'], ['webhooks', 'Webhooks'], ['events', 'Events'], ['customers', 'Customers'],
  ['usage', 'Usage'], ['team', 'Team'], ['audit', 'Audit log']];

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  srv = await startServer({ env: { INNBOCKS_SIGNIN_ADDRESS_BURST: 10000 } });
  owner = await dashUser(srv);
  viewer = await dashUser(srv, 'viewer', owner.partner);
  // Something in the wide tables: keys with long names, an endpoint with a long URL.
  for (let i = 0; i < 3; i++) {
    const k = await owner.dash.post('/keys', { name: `A key with a rather long name number ${i}`, scopes: ['customers:read', 'customers:write', 'mail:read'] });
    assert.equal(k.status, 201, k.text);
  }
  const w = await owner.dash.post('/webhook-endpoints', { url: `https://crm.example.com/${'hooks/'.repeat(12)}innbocks` });
  assert.equal(w.status, 201, w.text);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
});
after(async () => { await browser?.close(); await srv?.stop(); });

/**
 * A browser page at width x 800, signed in by the dashboard's sign-in form as a new owner of the
 * partner (each test its own user, whose sessions no other test ends): {context, page, user}.
 */
async function signedIn(width = 1280) {
  const user = await dashUser(srv, 'owner', owner.partner);
  const context = await browser.newContext({ viewport: { width, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${srv.url}/dashboard/`);
  await signIn(page, user, 'API keys');
  return { context, page, user };
}

/** Fills the sign-in form showing on page as user; waits for the page titled landing. */
async function signIn(page, user, landing) {
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: landing, level: 1 }).waitFor();
}

test('every page fits 375 pixels: no sideways scrolling of the page, the mode switch on screen', async () => {
  const { context, page } = await signedIn(375);
  for (const [hash, title] of PAGES) {
    await page.goto(`${srv.url}/dashboard/#${hash}`);
    await page.getByRole('heading', { name: title, level: 1 }).waitFor();
    // The page's content, not only its heading: a wide table comes with its data.
    await page.waitForFunction(() => !document.querySelector('.main').textContent.includes('Loading'));
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 375, `#${hash} is ${width} pixels wide`);
    if (!['team', 'audit'].includes(hash)) { // the same in both modes: no switch
      const box = await page.getByRole('button', { name: 'Test' }).boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 375, `#${hash}: the mode switch is on screen`);
    }
    await axeShot(page, `ux-375-${hash}`, axeFindings);
  }
  await context.close();
});

test('a dialog closes with its page: Back, and a click in the navigation behind it', async () => {
  const { context, page } = await signedIn();
  await page.getByRole('link', { name: 'Webhooks' }).click();
  await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
  await page.getByRole('link', { name: 'API keys' }).click();
  await page.getByRole('button', { name: 'Create key' }).first().click();
  await page.getByRole('dialog').waitFor();
  await page.goBack();
  await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
  assert.equal(await page.locator('dialog[open]').count(), 0, 'no dialog left over the webhooks page');
  await context.close();
});

test('an ended session: the next change leads to sign-in, with no dialog over it, then back to the same page', async () => {
  const { context, page, user } = await signedIn();
  await page.getByRole('link', { name: 'Webhooks' }).click();
  await page.getByRole('button', { name: 'Add endpoint' }).first().click();
  await page.getByLabel('Endpoint URL').fill('https://crm.example.com/after-the-end');
  // The session ends meanwhile (signed out elsewhere, or idle too long).
  await context.clearCookies();
  await page.getByRole('dialog').getByRole('button', { name: 'Add endpoint' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByText('Your session has ended').waitFor();
  assert.equal(await page.locator('dialog[open]').count(), 0);
  await axeShot(page, 'ux-session-ended', axeFindings);
  await signIn(page, user, 'Webhooks');
  await context.close();
});

test('an ended session found by navigating says so too, and sign-in leads to the page asked for', async () => {
  const { context, page, user } = await signedIn();
  await context.clearCookies();
  await page.getByRole('link', { name: 'Events' }).click();
  await page.getByText('Your session has ended').waitFor();
  await signIn(page, user, 'Events');
  await context.close();
});

test('a role changes only when confirmed: one arrow key alone changes nothing', async () => {
  const { context, page } = await signedIn();
  await page.getByRole('link', { name: 'Team' }).click();
  const select = page.getByLabel(`Role of ${viewer.email}`);
  await select.focus();
  await page.keyboard.press('ArrowUp');
  await page.getByRole('dialog').getByText(`Make ${viewer.email} a developer?`).waitFor();
  await axeShot(page, 'ux-role-confirm', axeFindings);
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
  await page.waitForFunction((id) => document.querySelector(`select[data-user="${id}"]`).value === 'viewer', viewer.user.id);
  const role = async () => (await owner.dash.get('/users')).body.data.find((u) => u.email === viewer.email).role;
  assert.equal(await role(), 'viewer', 'nothing was changed');
  await select.selectOption('developer');
  await page.getByRole('dialog').getByRole('button', { name: 'Change role' }).click();
  await page.getByText(`${viewer.email} is now developer.`).waitFor();
  assert.equal(await role(), 'developer');
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.user), viewer.user.id, 'the focus stays on the menu');
  await context.close();
});

test('a server that cannot be reached is said so, with Try again', async () => {
  const { context, page } = await signedIn();
  await page.route('**/dashboard/api/**', (route) => route.abort());
  await page.getByRole('link', { name: 'Events' }).click();
  await page.getByRole('heading', { name: 'The server cannot be reached' }).waitFor();
  await axeShot(page, 'ux-unreachable', axeFindings);
  await page.unroute('**/dashboard/api/**');
  await page.getByRole('button', { name: 'Try again' }).click();
  await page.getByRole('heading', { name: 'Events', level: 1 }).waitFor();
  await context.close();
});

test('team and audit log are the same in both modes: no switch, no test banner', async () => {
  const { context, page } = await signedIn();
  await page.getByRole('button', { name: 'Test' }).click();
  await page.getByText('Test mode: you are looking at test data.').waitFor();
  for (const [link, title] of [['Team', 'Team'], ['Audit log', 'Audit log']]) {
    await page.getByRole('link', { name: link }).click();
    await page.getByRole('heading', { name: title, level: 1 }).waitFor();
    assert.equal(await page.getByRole('group', { name: 'Mode' }).count(), 0, `${title}: no mode switch`);
    assert.equal(await page.getByText('Test mode: you are looking at test data.').count(), 0, `${title}: no test banner`);
  }
  await page.getByRole('link', { name: 'API keys' }).click();
  await page.getByText('Test mode: you are looking at test data.').waitFor(); // still in test mode
  await context.close();
});

test('the focus: on the heading after navigation, on the switch after a mode change; a skip link first', async () => {
  const { context, page } = await signedIn();
  await page.getByRole('link', { name: 'Customers' }).click();
  await page.getByRole('heading', { name: 'Customers', level: 1 }).waitFor();
  assert.equal(await page.evaluate(() => `${document.activeElement.tagName} ${document.activeElement.textContent}`), 'H1 Customers');
  await page.getByRole('button', { name: 'Test' }).click();
  await page.getByText('Test mode: you are looking at test data.').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Test');
  await page.getByRole('button', { name: 'Live' }).click();
  await page.reload();
  await page.getByRole('heading', { name: 'Customers', level: 1 }).waitFor();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement.tagName), 'H1');
  await context.close();
});

test('password forms: a refused sign-in empties the password; the others name the account for password managers', async () => {
  const user = await dashUser(srv, 'owner', owner.partner);
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${srv.url}/dashboard/`);
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill('not the password at all');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('.alert:not([hidden])').waitFor();
  assert.equal(await page.getByLabel('Password').inputValue(), '');
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
  await page.getByRole('button', { name: 'Change password' }).click();
  assert.equal(await page.getByRole('dialog').locator('input[autocomplete=username]').inputValue(), user.email);
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
  await page.getByRole('link', { name: 'Webhooks' }).click();
  await page.getByRole('button', { name: /^Reveal secret/ }).first().click();
  assert.equal(await page.getByRole('dialog').locator('input[autocomplete=username]').inputValue(), user.email);
  await context.close();
});

test('a key\'s name is optional, and says so: left empty, the key is called "API key"', async () => {
  const { context, page } = await signedIn();
  await page.getByRole('button', { name: 'Create key' }).first().click();
  const name = page.getByRole('dialog').getByLabel('Name (optional)');
  assert.equal(await name.getAttribute('required'), null, 'not marked required');
  await page.getByRole('checkbox', { name: 'customers:read' }).check();
  await page.getByRole('dialog').getByRole('button', { name: 'Create key' }).click();
  await page.getByText('Your new live key “API key”').waitFor();
  await context.close();
});

test('two tabs keep their own mode: a switch in one changes neither what the other shows nor what it asks for', async () => {
  const { context, page } = await signedIn();
  const k = await owner.dash.post('/keys', { name: 'Two tabs live key', scopes: ['customers:read'] });
  assert.equal(k.status, 201, k.text);
  await page.reload();
  await page.getByRole('button', { name: 'Revoke Two tabs live key' }).waitFor();
  const other = await context.newPage();
  await other.goto(`${srv.url}/dashboard/#keys`);
  await other.getByRole('button', { name: 'Test' }).click();
  await other.getByText('Test mode: you are looking at test data.').waitFor();
  // Back in the first tab, not reloaded: it shows live keys and acts on them.
  await page.bringToFront();
  await page.getByRole('button', { name: 'Revoke Two tabs live key' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Revoke key' }).click();
  await page.getByText('“Two tabs live key” is revoked.').waitFor();
  const key = (await owner.dash.get('/keys?limit=100')).body.data.find((x) => x.id === k.body.id);
  assert.ok(key.revoked_at, 'the live key is revoked');
  assert.equal(await page.locator('caption').textContent(), 'live API keys');
  assert.equal(await page.locator('tr', { hasText: 'Two tabs live key' }).count(), 1);
  // A reload keeps the tab's mode; a new tab starts in the mode chosen last.
  await page.reload();
  await page.locator('tr', { hasText: 'Two tabs live key' }).waitFor();
  assert.equal(await page.getByText('Test mode: you are looking at test data.').count(), 0);
  const third = await context.newPage();
  await third.goto(`${srv.url}/dashboard/#keys`);
  await third.getByText('Test mode: you are looking at test data.').waitFor();
  await context.close();
});

/** Changes user's password in page's dialog; waits for the dialog to close. */
async function changePassword(page, user, fresh) {
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.getByLabel('Current password').fill(user.password);
  await page.getByLabel('New password', { exact: true }).fill(fresh);
  await page.getByLabel('Repeat the new password').fill(fresh);
  await page.getByRole('dialog').getByRole('button', { name: 'Change password' }).click();
  await page.getByRole('dialog').waitFor({ state: 'detached' });
  user.password = fresh;
}

test('a changed password is confirmed; in another tab, the same user\'s next change goes through; someone else\'s sign-in is said, with Reload', async () => {
  const { context, page, user } = await signedIn();
  const createKey = async () => {
    await page.getByRole('button', { name: 'Create key' }).first().click();
    await page.getByRole('checkbox', { name: 'customers:read' }).check();
    await page.getByRole('dialog').getByRole('button', { name: 'Create key' }).click();
  };
  // The password changes in another tab: the browser's cookie holds a new session, with its
  // own CSRF token.
  const other = await context.newPage();
  await other.goto(`${srv.url}/dashboard/`);
  await changePassword(other, user, 'changed in the other tab');
  await other.getByRole('status').filter({ hasText: 'Your password is changed. Every other session of yours has ended' }).waitFor();
  await page.bringToFront();
  await createKey();
  await page.getByText('Your new live key “API key”').waitFor();
  // Someone else signs in there: this tab acts for nobody else, and says so.
  const someone = await dashUser(srv, 'owner', owner.partner);
  await other.getByRole('button', { name: 'Sign out' }).click();
  await signIn(other, someone, 'API keys');
  const keys = (await owner.dash.get('/keys?limit=100')).body.data.length;
  await createKey();
  await page.getByRole('heading', { name: 'Your session changed' }).waitFor();
  assert.equal((await owner.dash.get('/keys?limit=100')).body.data.length, keys, 'no key was made');
  await page.getByRole('button', { name: 'Reload' }).click();
  await page.locator('.who').getByText(someone.email).waitFor();
  await context.close();
});

test('every time names its time zone; the usage page, whose month is a UTC month, shows UTC', async () => {
  const key = await srv.createKey(owner.partner.id, ['customers:write', 'billing:read']);
  const api = srv.api(key.secret);
  const c = await api.post('/customers', { email: `zoned-${Date.now()}@example.com`, name: 'Zoned Zoe', prepay: true });
  assert.equal(c.status, 201, c.text);
  const ok = await srv.admin().post(`/customers/${c.body.id}/compliance`, { form_1583: 'approved', identity: 'verified' });
  assert.equal(ok.status, 200, ok.text);
  const item = (await api.get('/billing/usage?limit=100')).body.line_items.data.find((i) => i.customer_id === c.body.id);
  const user = await dashUser(srv, 'owner', owner.partner);
  const context = await browser.newContext({ timezoneId: 'America/New_York', locale: 'en-US' });
  const page = await context.newPage();
  await page.goto(`${srv.url}/dashboard/`);
  await signIn(page, user, 'API keys');
  const created = await page.locator('tr[data-key-id]').first().locator('td').nth(3).textContent();
  assert.match(created, /\d:\d\d\s[AP]M\s(EST|EDT)$/, 'the browser\'s time zone, named');
  await page.getByRole('link', { name: 'Usage' }).click();
  const from = await page.locator('tr', { hasText: c.body.id }).locator('td').nth(4).textContent();
  const [, hour, minute] = from.match(/(\d{1,2}):(\d\d)\s[AP]M\sUTC$/) ?? [];
  const t = new Date(item.active_from);
  assert.deepEqual([Number(hour) % 12, Number(minute)], [t.getUTCHours() % 12, t.getUTCMinutes()], `${from} is ${item.active_from} in UTC`);
  await context.close();
});

test('the usage page shows a page of line items at a time; its CSV has every one of the month', async () => {
  // A partner of its own, with more billable mailboxes than a page holds.
  const mine = await dashUser(srv);
  const key = await srv.createKey(mine.partner.id, ['customers:write', 'billing:read']);
  const api = srv.api(key.secret);
  const N = 103;
  await Promise.all(Array.from({ length: N }, async () => approve(srv, (await createCustomer(api, { prepay: true })).id)));
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${srv.url}/dashboard/#usage`);
  await signIn(page, mine, 'Usage');
  await page.getByText(`${N} billable`).waitFor();
  const rows = page.locator('main tbody tr');
  await page.getByRole('button', { name: 'Show more line items' }).waitFor();
  assert.equal(await rows.count(), 100);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
  const csv = await new Promise((resolve, reject) => {
    download.createReadStream().then((st) => { let t = ''; st.setEncoding('utf8').on('data', (d) => { t += d; }).on('end', () => resolve(t)).on('error', reject); });
  });
  const lines = csv.trim().split('\n').slice(1);
  assert.equal(lines.length, N);
  assert.equal(new Set(lines.map((l) => l.split(',')[2])).size, N, 'every mailbox once');
  await page.getByRole('button', { name: 'Show more line items' }).click();
  await page.waitForFunction((n) => document.querySelectorAll('main tbody tr').length === n, N);
  assert.equal(await page.getByRole('button', { name: 'Show more line items' }).count(), 0);
  // The focus is on the first row added: it has a link, the customer's id.
  assert.equal(await page.evaluate(() => document.activeElement.closest('tr') === document.querySelectorAll('main tbody tr')[100]), true);
  await context.close();
});

test('the session\'s limits are said before they end: Stay signed in renews it; an ended one leads to sign-in', async () => {
  const user = await dashUser(srv, 'owner', owner.partner);
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.clock.install();
  await page.goto(`${srv.url}/dashboard/`);
  await signIn(page, user, 'API keys');
  const warning = page.getByRole('alertdialog', { name: 'Your session ends soon' });
  // 27.5 minutes without a request: the warning, with the focus on what renews the session.
  await page.clock.fastForward('27:30');
  await warning.getByText('signs you out after 30 minutes without activity').waitFor();
  await axeShot(page, 'ux-session-warning', axeFindings);
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Stay signed in');
  await warning.getByRole('button', { name: 'Stay signed in' }).click();
  await warning.waitFor({ state: 'detached' });
  await page.locator('#status', { hasText: 'You are still signed in.' }).waitFor();
  // Past the limit, the page looks: the session is there (as when another tab kept it), so
  // the page stays.
  await page.clock.fastForward('30:10');
  await page.clock.fastForward('00:06');
  assert.equal(await warning.count(), 0);
  await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
  // Ended meanwhile (signed out elsewhere): past the limit the page says so, with sign-in.
  assert.equal(await page.evaluate(async () => (await fetch('/dashboard/api/signout', {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': (await (await fetch('/dashboard/api/session')).json()).csrf_token }, body: '{}',
  })).status), 200);
  await page.clock.fastForward('30:10');
  await page.getByRole('alert').filter({ hasText: 'You were signed out after 30 minutes without activity' }).waitFor();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  // The 12 hours cannot be extended: said once, with the time they end.
  await signIn(page, user, 'API keys');
  const session = await page.evaluate(async () => (await fetch('/dashboard/api/session')).json());
  await page.clock.setSystemTime(Date.parse(session.expires_at) - 90e3);
  await page.getByRole('link', { name: 'Events' }).click(); // a request: not idle
  await page.getByRole('heading', { name: 'Events', level: 1 }).waitFor();
  await page.clock.runFor(5000); // the next look at the clock
  await warning.getByText('a session lasts 12 hours').waitFor();
  await warning.getByRole('button', { name: 'OK' }).click();
  await warning.waitFor({ state: 'detached' });
  // Said once: not again on the next page.
  await page.getByRole('link', { name: 'API keys' }).click();
  await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
  await page.clock.runFor(6000);
  assert.equal(await warning.count(), 0);
  await context.close();
});

test('a list shows only its latest filter: a slower answer to an earlier one is dropped', async () => {
  const mine = await dashUser(srv);
  const key = await srv.createKey(mine.partner.id, ['customers:write']);
  await approve(srv, (await createCustomer(srv.api(key.secret), { prepay: true })).id);
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${srv.url}/dashboard/#events`);
  await signIn(page, mine, 'Events');
  await page.locator('main tbody tr').first().waitFor();
  // The first filter's answer comes late, after the second's.
  let late;
  const released = new Promise((resolve) => { late = resolve; });
  await page.route(/\/dashboard\/api\/events\?.*type=customer\.created/, async (route) => {
    await new Promise((r) => setTimeout(r, 1500));
    await route.continue();
    late();
  });
  await page.getByLabel('Type').selectOption('customer.created');
  await page.getByLabel('Type').selectOption('mailbox.activated');
  await page.locator('main tbody td', { hasText: 'mailbox.activated' }).waitFor();
  await released;
  await page.waitForTimeout(300); // the late answer handled
  const types = await page.locator('main tbody tr td:nth-child(2)').allTextContents();
  assert.deepEqual(types, ['mailbox.activated']);
  await context.close();
});

test('axe-core finds no serious or critical violation on these pages', () => {
  assert.deepEqual(axeFindings, []);
});
