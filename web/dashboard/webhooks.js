// webhooks.js - the webhooks page: the endpoints of the page's mode; add one (URL, events from
// the catalogue), enable or disable it, rotate its signing secret (shown once).
import { api, currentMode } from './api.js';
import { h, field, openDialog, confirmDialog, secretBox, showError, when } from './ui.js';

const canWrite = (session) => session.user.role !== 'viewer';

export async function webhooksPage(content, session) {
  const mode = currentMode();
  const notice = h('div');
  const listBox = h('div', { class: 'panel' }, h('p', { class: 'muted' }, 'Loading endpoints…'));
  content.replaceChildren(
    h('div', { class: 'topbar' },
      h('p', { class: 'muted' }, 'Innbocks POSTs signed events (HMAC-SHA256) to your endpoints as things happen: customers, mailboxes, mail and actions.'),
      canWrite(session) ? h('button', { type: 'button', class: 'primary', onclick: () => addDialog() }, 'Add endpoint') : null),
    notice, listBox);

  async function reload() {
    const page = await api('GET', '/webhook-endpoints?limit=100');
    const eps = page.data.filter((w) => w.mode === mode);
    if (!eps.length) {
      listBox.replaceChildren(h('div', { class: 'empty' }, h('h2', {}, `No ${mode} endpoints yet`),
        h('p', { class: 'muted' }, canWrite(session) ? 'Add one, and your CRM hears about new customers and arriving mail within seconds.' : 'Ask a developer or owner of your team to add one.'),
        canWrite(session) ? h('button', { type: 'button', class: 'primary', onclick: () => addDialog() }, 'Add your first endpoint') : null));
      return;
    }
    listBox.replaceChildren(h('table', {},
      h('caption', { class: 'visually-hidden' }, `${mode} webhook endpoints`),
      h('thead', {}, h('tr', {}, ...['URL', 'Events', 'Status', 'Created'].map((t) => h('th', { scope: 'col' }, t)),
        canWrite(session) ? h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')) : null)),
      h('tbody', {}, ...eps.map((w) => h('tr', {},
        h('td', { class: 'mono' }, w.url),
        h('td', {}, ...w.enabled_events.map((e) => h('span', { class: 'pill' }, e === '*' ? 'all events' : e))),
        h('td', {}, h('span', { class: `pill ${w.status === 'enabled' ? 'ok' : 'off'}` }, w.status === 'enabled' ? 'Enabled' : 'Disabled')),
        h('td', {}, when(w.created_at)),
        canWrite(session) ? h('td', {}, h('div', { class: 'actions' },
          h('button', { type: 'button', class: 'small', 'aria-label': `${w.status === 'enabled' ? 'Disable' : 'Enable'} ${w.url}`, onclick: () => toggle(w) }, w.status === 'enabled' ? 'Disable' : 'Enable'),
          h('button', { type: 'button', class: 'small', 'aria-label': `Reveal secret of ${w.url}`, onclick: () => reveal(w) }, 'Reveal secret'),
          h('button', { type: 'button', class: 'small', 'aria-label': `Rotate secret of ${w.url}`, onclick: () => rotate(w) }, 'Rotate secret'))) : null)))));
  }

  async function toggle(w) {
    try {
      await api('PATCH', `/webhook-endpoints/${w.id}`, { enabled: w.status !== 'enabled' });
      notice.replaceChildren(h('div', { class: 'notice', role: 'status' }, `${w.url} is ${w.status === 'enabled' ? 'disabled: events wait until you enable it again' : 'enabled'}.`));
    } catch (e) { notice.replaceChildren(h('div', { class: 'alert', role: 'alert' }, e.message)); }
    await reload();
  }

  function reveal(w) {
    const pw = field('Your password', { type: 'password', name: 'password', autocomplete: 'current-password', hint: 'To show a signing secret again, confirm it is you.' });
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Show secret');
    const form = h('form', { novalidate: true }, pw.wrap,
      h('div', { class: 'buttons' }, h('button', { type: 'button', onclick: () => d.close() }, 'Cancel'), submit));
    const d = openDialog(`The signing secret of ${w.url}`, form);
    pw.input.focus();
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      pw.setError('');
      submit.disabled = true;
      try {
        const r = await api('POST', `/webhook-endpoints/${w.id}/reveal-secret`, { password: pw.input.value });
        d.close();
        notice.replaceChildren(secretBox(`The signing secret of ${w.url}`, r.secret, 'Keep it in your receiver only.'));
      } catch (e) { pw.setError(e.message); pw.input.focus(); } finally { submit.disabled = false; }
    });
  }

  async function rotate(w) {
    if (!await confirmDialog('Rotate the signing secret?', 'A new secret signs every delivery from now on; for 24 hours deliveries carry both signatures, so you can switch your receiver without missing events.', 'Rotate secret')) return;
    try {
      const r = await api('POST', `/webhook-endpoints/${w.id}/rotate-secret`, {});
      notice.replaceChildren(secretBox(`The new signing secret of ${w.url}`, r.secret, 'Copy it into your receiver now: this is the only time Innbocks shows it.'));
    } catch (e) { notice.replaceChildren(h('div', { class: 'alert', role: 'alert' }, e.message)); }
    await reload();
  }

  async function addDialog() {
    const catalogue = (await api('GET', '/webhook-events')).data.map((e) => e.type);
    const url = field('Endpoint URL', { type: 'url', name: 'url', hint: 'An https:// URL your server answers with 2xx. Private and local addresses are refused.' });
    const evErr = h('div', { class: 'error', role: 'alert', hidden: true });
    const all = h('input', { type: 'checkbox', name: 'all', checked: true });
    const boxes = catalogue.map((t) => h('input', { type: 'checkbox', name: 'events', value: t, disabled: true }));
    all.addEventListener('change', () => boxes.forEach((b) => { b.disabled = all.checked; }));
    const events = h('fieldset', {}, h('legend', {}, 'Events'),
      h('label', {}, all, 'All events, including types added later'),
      h('div', { class: 'checks' }, ...boxes.map((b) => h('label', {}, b, b.value))), evErr);
    const alert = h('div', { class: 'alert', role: 'alert', hidden: true });
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Add endpoint');
    const form = h('form', { novalidate: true }, alert, url.wrap, events,
      h('p', { class: 'muted' }, `It will receive ${mode} events.`),
      h('div', { class: 'buttons' }, h('button', { type: 'button', onclick: () => d.close() }, 'Cancel'), submit));
    const d = openDialog('Add a webhook endpoint', form);
    url.input.focus();
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      url.setError(''); showError(events, evErr, ''); alert.hidden = true;
      const chosen = all.checked ? ['*'] : boxes.filter((b) => b.checked).map((b) => b.value);
      if (!chosen.length) { showError(events, evErr, 'Choose at least one event, or all events.'); return; }
      submit.disabled = true;
      try {
        const w = await api('POST', '/webhook-endpoints', { url: url.input.value, mode, enabled_events: chosen });
        d.close();
        notice.replaceChildren(secretBox(`The signing secret of ${w.url}`, w.secret, 'Copy it into your receiver to verify the Innbocks-Signature header: this is the only time Innbocks shows it.'));
        await reload();
      } catch (e) {
        if (e.param === 'url') url.setError(e.message);
        else if (e.param === 'enabled_events') showError(events, evErr, e.message);
        else { alert.textContent = e.message; alert.hidden = false; }
      } finally { submit.disabled = false; }
    });
  }

  await reload();
}
