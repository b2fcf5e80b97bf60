// usage.js - the usage page: the billing usage of a chosen month (docs/api.md#billing-usage) in the page's mode,
// its line items (each customer id a link to that customer's detail), and a CSV download of
// every line item.
import { api, currentMode } from './api.js';
import { h, announce, nextId, showError, when } from './ui.js';
import { customerHref } from './customers.js';

const COLUMNS = ['customer_id', 'external_customer_id', 'mailbox_id', 'mailbox_number', 'prepay', 'active_from', 'active_until', 'active_days'];

const UTC = { utc: true }; // a billing month is a UTC month: its times are shown in UTC too

/** The current UTC month as YYYY-MM. */
const thisMonth = () => new Date().toISOString().slice(0, 7);

/** Every line item of the period, walking the pages. Returns {usage, items}. */
async function usageAll(period) {
  let usage;
  const items = [];
  let after = null;
  for (;;) {
    usage = await api('GET', `/billing/usage?period=${period}&limit=100${after ? `&starting_after=${after}` : ''}`);
    items.push(...usage.line_items.data);
    if (!usage.line_items.has_more || !usage.line_items.data.length) break;
    after = items[items.length - 1].mailbox_id;
  }
  return { usage, items };
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
  const summary = h('div');
  // Focusable: on a narrow screen the table scrolls sideways, and it has no control to reach.
  const box = h('div', { class: 'panel', tabindex: '0', role: 'region', 'aria-label': 'Line items' }, h('p', { class: 'muted' }, 'Loading…'));
  content.replaceChildren(
    h('p', { class: 'muted' }, `Innbocks bills per active mailbox. This is the ${currentMode()} usage of the month you choose (a UTC month: times here are in UTC); the CSV has one line per billable mailbox.`),
    h('div', { class: 'panel' }, h('div', { class: 'topbar' },
      h('div', { class: 'field' }, h('label', { for: id }, 'Month'), month, err), download)),
    summary, box);

  let current = { items: [], usage: null };
  /** Shows the chosen month's usage; changed: by the user, who is then told what it is. */
  async function load(changed = false) {
    showError(month, err, '');
    try {
      current = await usageAll(month.value || thisMonth());
    } catch (e) { showError(month, err, e.message); return; }
    const u = current.usage;
    if (changed) announce(`${month.value || thisMonth()}: ${u.active_mailboxes} active mailboxes, ${u.billable_mailboxes} billable, ${u.mailbox_days} mailbox-days.`);
    summary.replaceChildren(h('div', { class: 'panel' }, h('p', {},
      h('strong', {}, String(u.active_mailboxes)), ' active mailboxes · ',
      h('strong', {}, String(u.billable_mailboxes)), ' billable · ',
      h('strong', {}, String(u.mailbox_days)), ' mailbox-days')));
    if (!current.items.length) {
      box.replaceChildren(h('div', { class: 'empty' }, h('h2', {}, 'No billable mailboxes this month'),
        h('p', { class: 'muted' }, 'A mailbox counts from the moment its customer is approved for mail receipt.')));
      return;
    }
    box.replaceChildren(h('table', {}, h('caption', { class: 'visually-hidden' }, 'Line items'),
      h('thead', {}, h('tr', {}, ...['Mailbox', 'Customer', 'External id', 'Prepaid', 'Active from', 'Until', 'Days'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, ...current.items.map((i) => h('tr', {},
        h('td', {}, i.mailbox_number), h('td', { class: 'mono' }, h('a', { href: customerHref(i.customer_id) }, i.customer_id)), h('td', {}, i.external_customer_id ?? '—'),
        h('td', {}, i.prepay ? 'Yes' : 'No'), h('td', {}, when(i.active_from, '—', UTC)), h('td', {}, when(i.active_until, 'still active', UTC)),
        h('td', {}, String(i.active_days)))))));
  }

  download.addEventListener('click', () => {
    const lines = [COLUMNS.join(','), ...current.items.map((i) => COLUMNS.map((c) => csvCell(i[c])).join(','))];
    const url = URL.createObjectURL(new Blob([`${lines.join('\n')}\n`], { type: 'text/csv' }));
    const a = h('a', { href: url, download: `innbocks-usage-${currentMode()}-${month.value || thisMonth()}.csv` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  });
  month.addEventListener('change', () => load(true));
  await load();
}
