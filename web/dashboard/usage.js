// usage.js - the usage page: the billing usage of a chosen month (docs/api.md#billing-usage) in the page's mode:
// its totals, its line items a page at a time (each customer id a link to that customer's detail),
// and a CSV download of every line item.
import { api, currentMode } from './api.js';
import { h, announce, busy, nextId, pagedList, showError, when } from './ui.js';
import { customerHref } from './customers.js';

const COLUMNS = ['customer_id', 'external_customer_id', 'mailbox_id', 'mailbox_number', 'prepay', 'active_from', 'active_until', 'active_days'];

const UTC = { utc: true }; // a billing month is a UTC month: its times are shown in UTC too

/** The current UTC month as YYYY-MM. */
const thisMonth = () => new Date().toISOString().slice(0, 7);

const PAGE = 100; // line items a page

/** The usage of period (YYYY-MM) with the page of line items after the mailbox id after. */
const fetchUsage = (period, after) =>
  api('GET', `/billing/usage?period=${period}&limit=${PAGE}${after ? `&starting_after=${after}` : ''}`);

/** Every line item of the period, walking the pages. */
async function lineItemsAll(period) {
  const items = [];
  for (let after = null; ;) {
    const page = (await fetchUsage(period, after)).line_items;
    items.push(...page.data);
    if (!page.has_more || !page.data.length) return items;
    after = items[items.length - 1].mailbox_id;
  }
}

// A text that a spreadsheet would take for a formula (= + - @, a tab or a return first: an
// external id may start with "-") is kept as text by a leading apostrophe (OWASP's advice).
const csvCell = (v) => {
  let s = v === null || v === undefined ? '' : String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export async function usagePage(content) {
  const id = nextId('month');
  const month = h('input', { id, type: 'month', value: thisMonth(), max: thisMonth() });
  const err = h('div', { id: `${id}-error`, class: 'error', role: 'alert', hidden: true });
  month.setAttribute('aria-describedby', err.id);
  const download = h('button', { type: 'button' }, 'Download CSV');
  const downloadAlert = h('div');
  const summary = h('div');
  // Focusable: on a narrow screen the table scrolls sideways, and it has no control to reach.
  const box = h('div', { class: 'panel', tabindex: '0', role: 'region', 'aria-label': 'Line items' }, h('p', { class: 'muted' }, 'Loading…'));
  const more = h('div', { class: 'actions' });
  content.replaceChildren(
    h('p', { class: 'muted' }, `Innbocks bills per active mailbox. This is the ${currentMode()} usage of the month you choose (a UTC month: times here are in UTC); the CSV has one line per billable mailbox.`),
    h('div', { class: 'panel' }, h('div', { class: 'topbar' },
      h('div', { class: 'field' }, h('label', { for: id }, 'Month'), month, err), download), downloadAlert),
    summary, box, more);

  const period = () => month.value || thisMonth();
  let usage = null; // the month's totals, with its first page
  const lines = pagedList({
    box, more, moreLabel: 'Show more line items', cursor: (i) => i.mailbox_id,
    fetchPage: async (after) => {
      const u = await fetchUsage(period(), after);
      return { ...u.line_items, usage: u };
    },
    empty: (page) => {
      drawSummary(page.usage);
      return h('div', { class: 'empty' }, h('h2', {}, 'No billable mailboxes this month'),
        h('p', { class: 'muted' }, 'A mailbox counts from the moment its customer is approved for mail receipt.'));
    },
    draw: (items, page) => {
      drawSummary(page.usage);
      return h('table', {}, h('caption', { class: 'visually-hidden' }, 'Line items'),
        h('thead', {}, h('tr', {}, ...['Mailbox', 'Customer', 'External id', 'Prepaid', 'Active from', 'Until', 'Days'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, ...items.map((i) => h('tr', {},
          h('td', {}, i.mailbox_number), h('td', { class: 'mono' }, h('a', { href: customerHref(i.customer_id) }, i.customer_id)), h('td', {}, i.external_customer_id ?? '—'),
          h('td', {}, i.prepay ? 'Yes' : 'No'), h('td', {}, when(i.active_from, '—', UTC)), h('td', {}, when(i.active_until, 'still active', UTC)),
          h('td', {}, String(i.active_days))))));
    },
  });

  function drawSummary(u) {
    usage = u;
    summary.replaceChildren(h('div', { class: 'panel' }, h('p', {},
      h('strong', {}, String(u.active_mailboxes)), ' active mailboxes · ',
      h('strong', {}, String(u.billable_mailboxes)), ' billable · ',
      h('strong', {}, String(u.mailbox_days)), ' mailbox-days')));
  }

  /** Shows the chosen month's usage; changed: by the user, who is then told what it is. */
  async function load(changed = false) {
    showError(month, err, '');
    const asked = period();
    try {
      await lines.load(null);
    } catch (e) { showError(month, err, e.message); return; }
    if (changed && asked === period()) {
      announce(`${asked}: ${usage.active_mailboxes} active mailboxes, ${usage.billable_mailboxes} billable, ${usage.mailbox_days} mailbox-days.`);
    }
  }

  // The CSV has every line item of the month, read page by page when asked for.
  download.addEventListener('click', () => busy(download, async () => {
    const chosen = period();
    let items;
    try {
      items = await lineItemsAll(chosen);
    } catch (e) {
      downloadAlert.replaceChildren(h('div', { class: 'alert', role: 'alert' }, `The download failed: ${e.message}`));
      return;
    }
    downloadAlert.replaceChildren();
    const rows = [COLUMNS.join(','), ...items.map((i) => COLUMNS.map((c) => csvCell(i[c])).join(','))];
    const url = URL.createObjectURL(new Blob([`${rows.join('\n')}\n`], { type: 'text/csv' }));
    const a = h('a', { href: url, download: `innbocks-usage-${currentMode()}-${chosen}.csv` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }));
  month.addEventListener('change', () => load(true));
  await load();
}
