// webhooks.js - the webhooks page: the endpoints of the page's mode; add one (URL, events from
// the catalogue), enable or disable it, rotate its signing secret (shown once); per endpoint, the
// delivery log (each attempt's status, duration and error; the body sent and the start of the
// answer), resend one event, or every failed delivery since a time (confirmed).
import { api, currentMode } from './api.js';
import { h, announce, attempt, busy, closeButton, field, fieldError, formAlert, group, nextId, onSubmit, openDialog, confirmDialog, pagedList, showError, showSecret, statusRegion, usernameFor, when } from './ui.js';

const canWrite = (session) => session.user.role !== 'viewer';
const PAGE = 50; // endpoints a page

export async function webhooksPage(content, session) {
  const mode = currentMode();
  const notice = h('div');
  const listBox = h('div', { class: 'panel' }, h('p', { class: 'muted' }, 'Loading endpoints…'));
  content.replaceChildren(
    h('div', { class: 'topbar' },
      h('p', { class: 'muted' }, 'Innbocks POSTs signed events (HMAC-SHA256) to your endpoints as things happen: customers, mailboxes, mail and actions.'),
      canWrite(session) ? h('button', { type: 'button', class: 'primary', onclick: () => addDialog() }, 'Add endpoint') : null),
    notice, listBox);
  const logBox = h('div');
  content.append(logBox);

  // The server lists the page's mode only (the Innbocks-Mode header), a page at a time.
  const more = h('div', { class: 'actions' });
  listBox.after(more);
  const { reload } = pagedList({
    box: listBox, more, moreLabel: 'Show more endpoints',
    fetchPage: (after) => api('GET', `/webhook-endpoints?limit=${PAGE}${after ? `&starting_after=${after}` : ''}`),
    empty: () => h('div', { class: 'empty' }, h('h2', {}, `No ${mode} endpoints yet`),
      h('p', { class: 'muted' }, canWrite(session) ? 'Add one, and your CRM hears about new customers and arriving mail within seconds.' : 'Ask a developer or owner of your team to add one.'),
      canWrite(session) ? h('button', { type: 'button', class: 'primary', onclick: () => addDialog() }, 'Add your first endpoint') : null),
    draw: (eps) => h('table', {},
      h('caption', { class: 'visually-hidden' }, `${mode} webhook endpoints`),
      h('thead', {}, h('tr', {}, ...['URL', 'Events', 'Status', 'Created'].map((t) => h('th', { scope: 'col' }, t)),
        h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
      h('tbody', {}, ...eps.map((w) => h('tr', { 'data-endpoint-id': w.id },
        h('td', { class: 'mono' }, w.url),
        h('td', {}, ...w.enabled_events.map((e) => h('span', { class: 'pill' }, e === '*' ? 'all events' : e))),
        h('td', {}, h('span', { class: `pill ${w.status === 'enabled' ? 'ok' : 'off'}` }, w.status === 'enabled' ? 'Enabled' : 'Disabled')),
        h('td', {}, when(w.created_at)),
        h('td', {}, h('div', { class: 'actions' },
          h('button', { type: 'button', class: 'small', 'data-action': 'deliveries', 'aria-label': `Deliveries of ${w.url}`, onclick: () => deliveries(w) }, 'Deliveries'),
          canWrite(session) ? [
          h('button', { type: 'button', class: 'small', 'data-action': 'toggle', 'aria-label': `${w.status === 'enabled' ? 'Disable' : 'Enable'} ${w.url}`, onclick: () => toggle(w) }, w.status === 'enabled' ? 'Disable' : 'Enable'),
          h('button', { type: 'button', class: 'small', 'aria-label': `Reveal secret of ${w.url}`, onclick: () => reveal(w) }, 'Reveal secret'),
          h('button', { type: 'button', class: 'small', 'data-action': 'rotate', 'aria-label': `Rotate secret of ${w.url}`, onclick: () => rotate(w) }, 'Rotate secret')] : null)))))),
  });

  /** The control action of endpoint id's row, after the table was drawn anew (or null). */
  const control = (id, action) => listBox.querySelector(`tr[data-endpoint-id="${id}"] [data-action=${action}]`);

  // The delivery log of one endpoint, newest first, 25 attempts a page.
  async function deliveries(w, focus = true) {
    const headingId = nextId('log');
    const table = h('div', {}, h('p', { class: 'muted' }, 'Loading deliveries…'));
    const more = h('div', { class: 'actions' });
    const logNotice = h('div');
    const logStatus = statusRegion(); // the log's messages, there before them
    const detail = h('div');
    const sinceId = nextId('since');
    const sinceErr = h('div', { id: `${sinceId}-error`, class: 'error', role: 'alert', hidden: true });
    const since = h('input', { id: sinceId, type: 'datetime-local', name: 'since', value: localInput(Date.now() - 86400e3), 'aria-describedby': sinceErr.id });
    const bulk = canWrite(session) ? h('form', { class: 'row-form', novalidate: true },
      h('div', {}, h('label', { for: sinceId }, 'Resend failed since'), since, sinceErr),
      h('button', { type: 'submit' }, 'Resend failed…')) : null;
    bulk?.addEventListener('submit', (ev) => {
      ev.preventDefault();
      showError(since, sinceErr, '');
      if (!since.value || Number.isNaN(new Date(since.value).getTime())) {
        showError(since, sinceErr, 'Choose a date and time.');
        since.focus();
        return;
      }
      resendFailed(w, new Date(since.value), logNotice, logStatus);
    });
    // The focus goes back to the row's Deliveries button when the log closes.
    const back = () => control(w.id, 'deliveries');
    logBox.replaceChildren(h('section', { class: 'panel', 'aria-labelledby': headingId },
      h('div', { class: 'topbar' }, h('h2', { id: headingId, tabindex: '-1' }, `Deliveries to ${w.url}`),
        h('div', { class: 'actions' },
          h('button', { type: 'button', class: 'small', onclick: (ev) => refresh(ev.currentTarget) }, 'Refresh'),
          closeButton(logBox, back))),
      w.status === 'enabled' ? null : h('p', { class: 'muted' }, 'This endpoint is disabled: resent events wait until you enable it again.'),
      bulk, logNotice, logStatus, detail, table, more));
    if (focus) logBox.querySelector('h2').focus();

    // The newest page again, in place of every row shown (after a resend, say); the button
    // keeps the focus, and the log says what it shows now.
    async function refresh(button) {
      await busy(button, async () => {
        try {
          await load(null);
          logNotice.replaceChildren();
          announce(rows.length ? `Refreshed: the ${rows.length} latest ${rows.length === 1 ? 'attempt' : 'attempts'} shown.` : 'Refreshed: no deliveries yet.', logStatus);
        } catch (e) { showLoadError(e); }
      });
    }

    // Newest first: an event's first row is its latest attempt.
    const { items: rows, load } = pagedList({
      box: table, more, moreLabel: 'Show older deliveries',
      fetchPage: (after) => api('GET', `/webhook-endpoints/${w.id}/deliveries?limit=25${after ? `&starting_after=${after}` : ''}`),
      empty: () => h('div', { class: 'empty' }, h('h3', {}, 'No deliveries yet'),
        h('p', { class: 'muted' }, 'Each attempt to deliver an event to this endpoint shows here, with its answer.')),
      draw: (shown) => {
        const newestOf = new Map();
        for (const d of shown) if (!newestOf.has(d.event_id)) newestOf.set(d.event_id, d);
        return h('table', {}, h('caption', { class: 'visually-hidden' }, `Deliveries to ${w.url}`),
          h('thead', {}, h('tr', {}, ...['When', 'Event', 'Attempt', 'Status', 'Answer', 'Duration', 'Error'].map((t) => h('th', { scope: 'col' }, t)),
            h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
          h('tbody', {}, ...shown.map((d) => h('tr', { 'data-delivery-id': d.id },
            h('td', {}, when(d.attempted_at)),
            h('td', {}, h('span', { class: 'pill' }, d.event_type), h('div', { class: 'mono' }, d.event_id)),
            h('td', {}, String(d.attempt)),
            h('td', {}, deliveryStatus(d, newestOf.get(d.event_id) === d)),
            h('td', {}, d.response_status ? `HTTP ${d.response_status}` : '—'),
            h('td', {}, `${d.duration_ms} ms`),
            h('td', { class: 'mono' }, d.error ?? '—'),
            h('td', {}, h('div', { class: 'actions' },
              h('button', { type: 'button', class: 'small', 'data-action': 'details', 'aria-label': `Details of attempt ${d.attempt} of ${d.event_id}`, onclick: () => show(d) }, 'Details'),
              canWrite(session) ? h('button', { type: 'button', class: 'small', 'aria-label': `Resend ${d.event_id}`, onclick: () => resend(w, d, logNotice, logStatus) }, 'Resend') : null))))));
      },
    });

    async function show(d) {
      try {
        const full = await api('GET', `/webhook-endpoints/${w.id}/deliveries/${d.id}`);
        const id = nextId('attempt');
        detail.replaceChildren(h('section', { class: 'panel', 'aria-labelledby': id },
          h('div', { class: 'topbar' }, h('h3', { id, tabindex: '-1' }, `Attempt ${full.attempt} of ${full.event_id}`),
            closeButton(detail, () => table.querySelector(`tr[data-delivery-id="${d.id}"] [data-action=details]`) ?? logBox.querySelector('h2'))),
          h('p', {}, `${full.status === 'succeeded' ? 'Succeeded' : 'Failed'}`,
            full.response_status ? ` with HTTP ${full.response_status}` : '', full.error ? ` (${full.error})` : '',
            ` after ${full.duration_ms} ms, ${when(full.attempted_at)}.`,
            full.next_attempt_at ? ` Next attempt ${when(full.next_attempt_at)}.` : ''),
          h('h4', {}, 'Body sent'),
          h('pre', { class: 'payload', tabindex: '0', 'aria-label': 'Body sent' }, pretty(full.request_body) ?? '(not kept for this attempt)'),
          h('h4', {}, 'Answer (first 4 KiB)'),
          h('pre', { class: 'payload', tabindex: '0', 'aria-label': 'Answer' }, full.response_body ?? '(no answer body)')));
        detail.querySelector('h3').focus();
      } catch (e) { showLoadError(e); }
    }

    function showLoadError(e) { logNotice.replaceChildren(h('div', { class: 'alert', role: 'alert' }, e.message)); }

    await attempt(table, () => load(null));
  }

  // A resend's outcome: said in the log's status region, a failure in its alert slot.
  async function resend(w, d, logNotice, logStatus) {
    try {
      await api('POST', `/webhook-endpoints/${w.id}/resend`, { event_id: d.event_id });
      logNotice.replaceChildren();
      announce(`${d.event_id} is queued for ${w.url}; it arrives with the same Innbocks-Event-Id. Refresh to see the attempt.`, logStatus);
    } catch (e) { logStatus.replaceChildren(); logNotice.replaceChildren(h('div', { class: 'alert', role: 'alert' }, e.message)); }
  }

  async function resendFailed(w, t, logNotice, logStatus) {
    if (!await confirmDialog('Resend every failed delivery?', `Every event that ${w.url} failed to receive since ${when(t.toISOString())} is sent again, with its original event id.`, 'Resend failed deliveries')) return;
    try {
      const r = await api('POST', `/webhook-endpoints/${w.id}/resend-failed`, { since: t.toISOString() });
      logNotice.replaceChildren();
      announce(r.resent
        ? `${r.resent} failed ${r.resent === 1 ? 'delivery is' : 'deliveries are'} queued again.`
        : 'No delivery failed for good since then: nothing to resend.', logStatus);
    } catch (e) { logStatus.replaceChildren(); logNotice.replaceChildren(h('div', { class: 'alert', role: 'alert' }, e.message)); }
  }

  async function toggle(w) {
    try {
      await api('PATCH', `/webhook-endpoints/${w.id}`, { enabled: w.status !== 'enabled' });
      notice.replaceChildren();
      announce(`${w.url} is ${w.status === 'enabled' ? 'disabled: events wait until you enable it again' : 'enabled'}.`);
    } catch (e) { notice.replaceChildren(h('div', { class: 'alert', role: 'alert' }, e.message)); }
    await attempt(listBox, reload);
    control(w.id, 'toggle')?.focus(); // the table is new: back to the switch, now the other way
  }

  function reveal(w) {
    const pw = field('Your password', { type: 'password', name: 'password', autocomplete: 'current-password', hint: 'To show a signing secret again, confirm it is you.' });
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Show secret');
    const form = h('form', { novalidate: true }, usernameFor(session.user.email), pw.wrap,
      h('div', { class: 'buttons' }, h('button', { type: 'button', onclick: () => d.close() }, 'Cancel'), submit));
    const d = openDialog(`The signing secret of ${w.url}`, form);
    pw.input.focus();
    onSubmit(form, submit, null, [pw], async () => { // every error is said at the password
      const r = await api('POST', `/webhook-endpoints/${w.id}/reveal-secret`, { password: pw.input.value });
      d.close();
      showSecret(notice, `The signing secret of ${w.url}`, r.secret, 'Keep it in your receiver only.');
    });
  }

  async function rotate(w) {
    if (!await confirmDialog('Rotate the signing secret?', 'A new secret signs every delivery from now on; for 24 hours deliveries carry both signatures, so you can switch your receiver without missing events.', 'Rotate secret')) return;
    let rotated = false;
    try {
      const r = await api('POST', `/webhook-endpoints/${w.id}/rotate-secret`, {});
      showSecret(notice, `The new signing secret of ${w.url}`, r.secret, 'Copy it into your receiver now. To see it again later, use Reveal secret (it asks for your password).');
      rotated = true;
    } catch (e) { notice.replaceChildren(h('div', { class: 'alert', role: 'alert' }, e.message)); }
    await attempt(listBox, reload);
    // The table is new: the focus stays on the new secret (its label is read out), or goes back
    // to the button when the rotation failed.
    if (!rotated) control(w.id, 'rotate')?.focus();
  }

  // The form needs the event catalogue first; a failure to get it is said above the list.
  function addDialog() {
    return attempt(notice, async () => {
      const catalogue = (await api('GET', '/webhook-events')).data.map((e) => e.type);
      if (content.isConnected) addForm(catalogue); // else the user went to another page meanwhile
    });
  }

  function addForm(catalogue) {
    const url = field('Endpoint URL', { type: 'url', name: 'url', hint: 'An https:// URL your server answers with 2xx. Private and local addresses are refused (a development server may allow its own machine).' });
    const all = h('input', { type: 'checkbox', name: 'all', checked: true });
    const boxes = catalogue.map((t) => h('input', { type: 'checkbox', name: 'events', value: t, disabled: true }));
    all.addEventListener('change', () => boxes.forEach((b) => { b.disabled = all.checked; }));
    const events = group('Events', 'enabled_events',
      h('label', {}, all, 'All events, including types added later'),
      h('div', { class: 'checks' }, ...boxes.map((b) => h('label', {}, b, b.value))));
    const alert = formAlert();
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Add endpoint');
    const form = h('form', { novalidate: true }, alert, url.wrap, events.wrap,
      h('p', { class: 'muted' }, `It will receive ${mode} events.`),
      h('div', { class: 'buttons' }, h('button', { type: 'button', onclick: () => d.close() }, 'Cancel'), submit));
    const d = openDialog('Add a webhook endpoint', form);
    url.input.focus();
    onSubmit(form, submit, alert, [url, events], async () => {
      const chosen = all.checked ? ['*'] : boxes.filter((b) => b.checked).map((b) => b.value);
      if (!chosen.length) throw fieldError('enabled_events', 'Choose at least one event, or all events.');
      const w = await api('POST', '/webhook-endpoints', { url: url.input.value, mode, enabled_events: chosen });
      d.close();
      showSecret(notice, `The signing secret of ${w.url}`, w.secret, 'Copy it into your receiver to verify the Innbocks-Signature header. To see it again later, use Reveal secret (it asks for your password).');
      await attempt(listBox, reload); // below the secret, which keeps the focus
    });
  }

  await reload();
}

/**
 * An attempt's outcome: succeeded; failed with a retry to come (the newest attempt of its event,
 * whose next attempt is still ahead), with its time; or failed.
 */
function deliveryStatus(d, newest) {
  if (d.status === 'succeeded') return h('span', { class: 'pill ok' }, 'Succeeded');
  if (newest && d.next_attempt_at && Date.parse(d.next_attempt_at) > Date.now()) {
    return h('div', {}, h('span', { class: 'pill' }, 'Failed, retrying'),
      h('div', { class: 'muted' }, `next ${when(d.next_attempt_at)}`));
  }
  return h('span', { class: 'pill bad' }, 'Failed');
}

/** The value of a datetime-local input for t (milliseconds), in the browser's time zone. */
function localInput(t) {
  const d = new Date(t - new Date(t).getTimezoneOffset() * 60e3);
  return d.toISOString().slice(0, 16);
}

/** A JSON text indented for reading; other text as it is; null stays null. */
function pretty(text) {
  if (text == null) return null;
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch { return text; }
}
