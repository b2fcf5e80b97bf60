// Every list of the dashboard reaches its last row, 50 at a time with "Show more", in a real
// browser (Debian's chromium driven by playwright-core): the customers, a customer's mail, and
// the team, where the owner who looks is the oldest user and so on the last page; a change made
// on a later page (a role, a key revoked) keeps the rows shown, so the row acted on stays.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { startServer } from './lib.mjs';
import { dashUser } from './dashboard_lib.mjs';

let srv, browser, page, owner, api;
const problems = []; // console errors and page errors

before(async () => {
  srv = await startServer({ env: { INNBOCKS_SIGNIN_ADDRESS_BURST: 10000 } });
  owner = await dashUser(srv); // the partner's first user: the last of the team's pages
  const key = await srv.createKey(owner.partner.id, ['customers:write', 'customers:read']);
  api = srv.api(key.secret);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
  page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`${page.url()}: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`${page.url()}: ${e.message}`));
  await page.goto(`${srv.url}/dashboard/`);
  await page.getByLabel('Email').fill(owner.email);
  await page.getByLabel('Password').fill(owner.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
});
after(async () => { await browser?.close(); await srv?.stop(); });

/** Makes n things at once with make(i), each answered 201. */
async function many(n, make) {
  for (const r of await Promise.all(Array.from({ length: n }, (_, i) => make(i)))) assert.equal(r.status, 201, r.text);
}

test('customers: 50 at a time, and "Show more customers" shows the rest', async () => {
  const customer = (i) => api.post('/customers', { email: `listed${i}@lists.example`, name: `Listed ${i}`, prepay: true });
  assert.equal((await customer(0)).status, 201); // the oldest: the last row
  await many(50, (i) => customer(i + 1));
  await page.getByRole('link', { name: 'Customers' }).click();
  await page.locator('tbody tr').nth(49).waitFor();
  assert.equal(await page.locator('tbody tr').count(), 50);
  assert.equal(await page.getByRole('link', { name: 'Details of Listed 0' }).count(), 0, 'the oldest is on the next page');
  await page.getByRole('button', { name: 'Show more customers' }).click();
  await page.getByRole('link', { name: 'Details of Listed 0' }).waitFor();
  assert.equal(await page.locator('tbody tr').count(), 51);
  assert.equal(await page.getByRole('button', { name: 'Show more customers' }).count(), 0);
});

test('a customer\'s mail: 50 letters at a time, and "Show more mail" shows the rest', async () => {
  const holder = await api.post('/customers', { email: 'holder@lists.example', name: 'Mail Holder', prepay: true });
  assert.equal(holder.status, 201, holder.text);
  const ok = await srv.admin().post(`/customers/${holder.body.id}/compliance`, { form_1583: 'approved', identity: 'verified' });
  assert.equal(ok.status, 200, ok.text);
  await many(51, (i) => srv.admin().post('/mail', { customer_id: holder.body.id, type: 'letter', photos: [`https://photos.example.com/${i}.jpg`], performed_by: 'desk_1' }));
  await page.goto(new URL(`#customers?id=${holder.body.id}`, page.url()).href); // the detail's own address
  const mail = page.getByRole('region', { name: /Mail Holder/ }).getByRole('table', { name: 'Mail' });
  await mail.locator('tbody tr').first().waitFor();
  assert.equal(await mail.locator('tbody tr').count(), 50);
  await page.getByRole('button', { name: 'Show more mail' }).click();
  await mail.locator('tbody tr').nth(50).waitFor();
  assert.equal(await mail.locator('tbody tr').count(), 51);
  assert.equal(await page.getByRole('button', { name: 'Show more mail' }).count(), 0);
});

test('team: the owner who looks, the oldest of 102 users, is on the last page; a role changed there keeps the rows', async () => {
  const teammate = (i) => srv.admin().post(`/partners/${owner.partner.id}/users`, { email: `teammate${i}@lists.example`, role: 'viewer' });
  assert.equal((await teammate(0)).status, 201); // the oldest after the owner
  await many(100, (i) => teammate(i + 1));
  await page.getByRole('link', { name: 'Team' }).click();
  const rows = page.locator('tbody tr');
  await page.getByRole('button', { name: 'Show more users' }).click();
  await rows.nth(99).waitFor();
  assert.equal(await page.locator('tr', { hasText: '(you)' }).count(), 0);
  await page.getByRole('button', { name: 'Show more users' }).click();
  await page.locator('tr', { hasText: '(you)' }).waitFor();
  assert.equal(await rows.count(), 102);
  assert.equal(await page.getByRole('button', { name: 'Show more users' }).count(), 0);
  // The oldest teammate is on the last page too.
  await page.getByLabel('Role of teammate0@lists.example').selectOption('developer');
  await page.getByRole('dialog').getByRole('button', { name: 'Change role' }).click();
  await page.getByText('teammate0@lists.example is now developer.').waitFor();
  assert.equal(await rows.count(), 102);
  const menu = await page.getByLabel('Role of teammate0@lists.example').getAttribute('id');
  assert.equal(await page.evaluate(() => document.activeElement.id), menu, 'the focus stays on the menu');
});

test('keys: a key revoked on the second page stays in sight, revoked', async () => {
  const key = (name) => srv.admin().post(`/partners/${owner.partner.id}/keys`, { name, scopes: ['customers:read'] });
  assert.equal((await key('Far key')).status, 201); // past the first page
  await many(50, (i) => key(`Near key ${i}`));
  await page.getByRole('link', { name: 'API keys' }).click();
  await page.reload(); // the keys made just now, wherever the page was
  await page.getByRole('button', { name: 'Show more keys' }).click();
  await page.getByRole('button', { name: 'Revoke Far key' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Revoke key' }).click();
  await page.getByText('“Far key” is revoked.').waitFor();
  await page.locator('tr', { hasText: 'Far key' }).getByText('Revoked').waitFor();
  assert.equal(await page.locator('tr[data-key-id]').count(), 52, 'every key shown before, the one made in before() too');
});

test('no page logged an error', () => {
  // Chromium logs the 401 of the first look at the session, before sign-in.
  assert.deepEqual(problems.filter((p) => !/status of 401/.test(p)), []);
});
