// customers.js - the customers page: search by email or external id in the page's mode; a
// customer's compliance, mailbox, and mail with its photos and actions, at an address of its own
// (#customers?id=cus_...: a link to send, a bookmark, a reload, Back). Customers are managed
// through the API; in test mode a developer or owner also has the test helpers, which do what
// Innbocks staff do in live mode (accept the invitation, decide compliance, complete, fail or
// cancel a requested mail action).
import { api, currentMode } from './api.js';
import { h, announce, attempt, nextId, pagedList, showMore, statusRegion, when } from './ui.js';

/** The address of a customer's detail; the usage page links there too. */
export const customerHref = (id) => `#customers?id=${encodeURIComponent(id)}`;

/** The customer id the address names (#customers?id=...), or null. */
const addressedId = () => new URLSearchParams(location.hash.split('?')[1] ?? '').get('id');

// An id as the API makes them (prefix, then base62): anything else is not asked for, so an
// address never turns into another path ("../keys").
const ID_SHAPE = /^cus_[0-9A-Za-z]+$/;

const PAGE = 50; // customers, or a customer's mail, a page

const pill = (text, kind = '') => h('span', { class: `pill ${kind}` }, text);
const statusKind = { active: 'ok', approved: 'ok', verified: 'ok', deactivated: 'off', closed: 'off', rejected: 'bad', failed: 'bad' };

/**
 * The test helpers for a test customer: a panel of buttons, each one request; after it,
 * refresh() shows the customer again. A scan completes with an example document URL, a forward
 * with an example carrier and tracking number.
 */
function testHelpers(c, comp, mail, refresh) {
  const notice = h('div');
  const run = async (path, body, done) => {
    try {
      await api('POST', `/test-helpers/${path}`, body);
      await refresh(done);
    } catch (e) {
      notice.replaceChildren(h('div', { class: 'alert', role: 'alert' }, e.message));
    }
  };
  const button = (label, path, body, done) => h('button', { type: 'button', class: 'small', onclick: () => run(path, body, done) }, label);
  const customer = [];
  if (c.status === 'invited') customer.push(button('Accept the invitation', `customers/${c.id}/accept-invite`, {}, 'The invitation is accepted.'));
  if (!comp.mail_receipt_approved && c.status !== 'deactivated') {
    customer.push(button('Approve Form 1583 and verify identity', `customers/${c.id}/compliance`,
      { form_1583: 'approved', identity: 'verified' }, 'Form 1583 is approved and the identity verified.'));
  }
  if (c.billing_status !== 'active' && c.status !== 'deactivated') {
    customer.push(button('Turn on its own billing', `customers/${c.id}/billing`, { active: true }, 'Its own billing is on.'));
  }
  const result = { scan: { document_url: 'https://example.com/test-scan.pdf' }, forward: { carrier: 'usps', tracking_number: 'TEST0000000001' } };
  const actions = mail.data.flatMap((m) => (m.actions ?? []).filter((a) => a.status === 'requested').map((a) => h('li', {},
    `${m.type.replace('_', ' ')} received ${when(m.received_at)}: ${a.type} requested `,
    button(`Complete the ${a.type}`, `mail-actions/${a.id}/complete`, result[a.type], `The ${a.type} is completed.`), ' ',
    button(`Fail the ${a.type}`, `mail-actions/${a.id}/fail`, { reason: 'Failed with a test helper' }, `The ${a.type} has failed.`), ' ',
    button(`Cancel the ${a.type}`, `mail-actions/${a.id}/cancel`, {}, `The ${a.type} is canceled.`))));
  return h('section', { class: 'panel test-helpers', 'aria-label': 'Test helpers' },
    h('h3', {}, 'Test helpers'),
    h('p', { class: 'muted' }, 'In test mode you do here what Innbocks staff do in live mode. Each step sends its events to your test endpoints.'),
    customer.length ? h('div', { class: 'actions' }, ...customer) : null,
    actions.length ? h('ul', {}, ...actions) : null,
    customer.length || actions.length ? null : h('p', { class: 'muted' }, 'Nothing to decide for this customer or its mail.'),
    notice);
}

export async function customersPage(content, session) {
  const helpers = currentMode() === 'test' && session?.user.role !== 'viewer';
  const title = document.title; // the shell's; a detail puts the customer's name first
  const id = nextId('search');
  const input = h('input', { id, type: 'text', name: 'q', placeholder: 'jane@example.com or crm_123', autocomplete: 'off' });
  const form = h('form', { role: 'search', class: 'panel' },
    h('div', { class: 'field' }, h('label', { for: id }, 'Search by email or external id'),
      h('div', { class: 'actions' }, input, h('button', { type: 'submit', class: 'primary' }, 'Search'))));
  const listBox = h('div', { class: 'panel' }, h('p', { class: 'muted' }, 'Loading…'));
  const more = h('div', { class: 'actions' });
  const detail = h('div');
  const helperStatus = statusRegion(); // what a test helper did, below the detail
  content.replaceChildren(h('p', { class: 'muted' }, `Your ${currentMode()} customers, newest first. Your CRM creates and changes them through the API.`), form, listBox, more, detail, helperStatus);

  let query = '', filter = ''; // what the list shows was searched for
  const { items: found, load } = pagedList({
    box: listBox, more, moreLabel: 'Show more customers',
    fetchPage: (after) => api('GET', `/customers?limit=${PAGE}${filter}${after ? `&starting_after=${after}` : ''}`),
    empty: () => h('div', { class: 'empty' }, h('h2', {}, query ? 'No customer matches' : `No ${currentMode()} customers yet`),
      h('p', { class: 'muted' }, query ? 'Search by the whole email address or external id.' : 'Create one with POST /api/v1/customers from your CRM.')),
    draw: (customers) => h('table', {}, h('caption', { class: 'visually-hidden' }, 'Customers'),
      h('thead', {}, h('tr', {}, ...['Name', 'Email', 'External id', 'Status', 'Created'].map((t) => h('th', { scope: 'col' }, t)),
        h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Details')))),
      h('tbody', {}, ...customers.map((c) => h('tr', {},
        h('td', {}, c.name), h('td', {}, c.email), h('td', { class: 'mono' }, c.external_customer_id ?? '—'),
        h('td', {}, pill(c.status, statusKind[c.status])), h('td', {}, when(c.created_at)),
        h('td', {}, h('a', { href: customerHref(c.id), class: 'button small', 'aria-label': `Details of ${c.name}`, onclick: (ev) => open(ev, c.id) }, 'Details')))))),
  });
  let searches = 0; // only the latest search is said

  /** Shows the customers matching the search box; asked: by the user (Search), who is then
   * told what was found. */
  async function search(asked = false) {
    query = input.value.trim();
    const q = encodeURIComponent(query);
    filter = !query ? '' : query.includes('@') ? `&email=${q}` : `&external_customer_id=${q}`;
    const mine = ++searches;
    if (!await attempt(listBox, () => load(null)) || !asked || mine !== searches) return;
    const n = found.length;
    announce(!n ? (query ? 'No customer matches.' : `No ${currentMode()} customers yet.`)
      : `${n}${more.childElementCount ? ' or more' : ''} ${n === 1 ? 'customer' : 'customers'} ${query ? 'found' : 'shown'}.`);
  }

  /** A plain click on Details: the detail's address goes into the history and the detail
   * shows below the list as it is (the search stays); a click that opens a new tab or window
   * is the browser's. */
  function open(ev, cid) {
    if (ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    ev.preventDefault();
    const href = customerHref(cid);
    // No second history entry for the detail already shown (a click on Details to refresh).
    if (location.hash === href) history.replaceState(null, '', href);
    else history.pushState(null, '', href);
    show(cid);
  }

  let shown = 0;
  // The latest show() of the page still showing wins: a slower, earlier one, or one whose page
  // was left meanwhile (another page, sign-in), shows nothing and leaves the title alone.
  const latest = (mine) => mine === shown && detail.isConnected;

  /** Shows the customer's detail, focused on its heading; or, when it cannot, says why in the
   * detail's place. done: the message of the test helper that ran (refresh). */
  async function show(cid, done) {
    const mine = ++shown;
    const fail = (message) => {
      document.title = title;
      detail.replaceChildren(h('div', { class: 'alert', role: 'alert' }, message));
    };
    if (!ID_SHAPE.test(cid)) { fail(`“${cid}” is not a customer id. Customer ids start with cus_.`); return; }
    let c, comp, box, mail;
    try {
      [c, comp, box, mail] = await Promise.all([
        api('GET', `/customers/${cid}`), api('GET', `/customers/${cid}/compliance`),
        api('GET', `/customers/${cid}/mailbox`), api('GET', `/customers/${cid}/mail?limit=${PAGE}`)]);
    } catch (e) {
      if (!latest(mine)) return;
      // A customer is of one mode: a link from the other mode finds nothing in this one.
      const other = currentMode() === 'live' ? 'test' : 'live';
      fail(e.status === 404 ? `There is no ${currentMode()} customer ${cid}. A ${other} customer is shown in ${other} mode only.` : e.message);
      return;
    }
    if (!latest(mine)) return;
    document.title = `${c.name} · ${title}`; // for the history, bookmarks and tabs
    const headingId = nextId('customer');
    const mailBox = h('div');
    const moreMail = h('div', { class: 'actions' });
    const helperBox = h('div');
    detail.replaceChildren(h('section', { class: 'panel', 'aria-labelledby': headingId },
      h('h2', { id: headingId, tabindex: '-1' }, `${c.name} · ${c.email}`),
      h('table', {}, h('tbody', {},
        h('tr', {}, h('th', { scope: 'row' }, 'Mailbox'), h('td', {}, `${box.number} `, pill(box.status, statusKind[box.status]),
          h('div', { class: 'muted' }, [box.address?.line1, box.address?.line2, box.address?.city, box.address?.state, box.address?.postal_code].filter(Boolean).join(', ')))),
        h('tr', {}, h('th', { scope: 'row' }, 'Form 1583'), h('td', {}, pill(comp.form_1583?.status ?? comp.form_1583_status ?? '—', statusKind[comp.form_1583?.status]))),
        h('tr', {}, h('th', { scope: 'row' }, 'Identity'), h('td', {}, pill(comp.identity?.status ?? comp.identity_status ?? '—', statusKind[comp.identity?.status]))),
        h('tr', {}, h('th', { scope: 'row' }, 'Mail receipt'), h('td', {}, comp.mail_receipt_approved ? pill('approved', 'ok') : pill('not approved', 'bad'))))),
      h('h3', {}, 'Mail'),
      mailBox, moreMail,
      helperBox));
    drawMail();
    detail.querySelector('h2').focus();
    if (done) announce(done, helperStatus);
    else helperStatus.replaceChildren();

    // The mail shown so far, newest first, and the test helpers for its requested actions.
    function drawMail() {
      const last = mail.data[mail.data.length - 1]?.id;
      moreMail.replaceChildren(mail.has_more ? showMore(moreMail, mailBox, 'Show more mail', () => nextMail(last)) : '');
      mailBox.replaceChildren(mail.data.length ? h('table', {}, h('caption', { class: 'visually-hidden' }, 'Mail'),
        h('thead', {}, h('tr', {}, ...['Received', 'Type', 'Status', 'Photos', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, ...mail.data.map((m) => h('tr', {},
          h('td', {}, when(m.received_at)), h('td', {}, m.type.replace('_', ' ')), h('td', {}, pill(m.status.replace('_', ' '))),
          // Photos are links, not images: the page loads nothing from other origins (CSP).
          h('td', {}, ...(m.photos ?? []).map((u, i) => h('a', { href: u, target: '_blank', rel: 'noopener noreferrer', class: 'pill' },
            `Photo ${i + 1}`, h('span', { class: 'visually-hidden' }, ' (opens in a new tab)')))),
          h('td', {}, ...(m.actions ?? []).map((a) => pill(`${a.type}: ${a.status}`, a.status === 'completed' ? 'ok' : a.status === 'failed' ? 'bad' : '')))))))
        : h('p', { class: 'muted' }, 'No mail yet.'));
      helperBox.replaceChildren(helpers ? testHelpers(c, comp, mail, async (message) => { await search(); await show(cid, message); }) : '');
    }

    async function nextMail(after) {
      const page = await api('GET', `/customers/${cid}/mail?limit=${PAGE}&starting_after=${after}`);
      if (!latest(mine)) return;
      mail.data.push(...page.data);
      mail.has_more = page.has_more;
      drawMail();
    }
  }

  form.addEventListener('submit', (ev) => { ev.preventDefault(); search(true); });
  const cid = addressedId();
  await Promise.all([search(), cid === null ? null : show(cid)]);
}
