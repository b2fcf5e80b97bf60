// keys.js - the API keys page: the keys of the page's mode; create (name, mode, scopes), the
// secret shown once with a copy button, revoke (confirmed) and roll (a new key; the old one
// stops after the chosen delay). Viewers see the list only.
import { api, currentMode } from './api.js';
import { h, announce, attempt, field, formAlert, group, nextId, onSubmit, openDialog, confirmDialog, pagedList, showSecret, fieldError, when } from './ui.js';

const SCOPES = [
  ['customers:read', 'Read customers, compliance and mailboxes'],
  ['customers:write', 'Create, update and deactivate customers'],
  ['mail:read', 'Read mail'],
  ['mail:write', 'Record and delete mail'],
  ['mail_actions:write', 'Request scans, forwards, shredding, pickups'],
  ['webhooks:read', 'Read the event catalogue and deliveries'],
  ['billing:read', 'Read billing usage'],
];
const DELAYS = [['now', 'Now'], ['1h', 'In 1 hour'], ['24h', 'In 24 hours'], ['7d', 'In 7 days']];

const canWrite = (session) => session.user.role !== 'viewer';
const PAGE = 50; // keys a page

function status(k) {
  if (!k.revoked_at) return h('span', { class: 'pill ok' }, 'Active');
  if (Date.parse(k.revoked_at) > Date.now()) return h('span', { class: 'pill' }, `Stops ${when(k.revoked_at)}`);
  return h('span', { class: 'pill bad' }, 'Revoked');
}

export async function keysPage(content, session) {
  const mode = currentMode();
  const notice = h('div');
  const listBox = h('div', { class: 'panel' }, h('p', { class: 'muted' }, 'Loading keys…'));
  const create = canWrite(session)
    ? h('button', { type: 'button', class: 'primary', onclick: () => createDialog() }, 'Create key') : null;
  content.replaceChildren(
    h('div', { class: 'topbar' },
      h('p', { class: 'muted' }, `Keys let your CRM call the Innbocks API (/api/v1). Each key has the scopes you choose; ${mode === 'test' ? 'test keys see only test data.' : 'live keys act on real customers.'}`),
      create),
    notice, listBox);

  const secret = (title, k) => showSecret(notice, title, k.secret,
    'Copy it now and keep it somewhere safe: this is the only time Innbocks shows it.');

  // The server lists the page's mode only (the Innbocks-Mode header), a page at a time.
  const more = h('div', { class: 'actions' });
  listBox.after(more);
  const { reload } = pagedList({
    box: listBox, more, moreLabel: 'Show more keys',
    fetchPage: (after) => api('GET', `/keys?limit=${PAGE}${after ? `&starting_after=${after}` : ''}`),
    empty: () => h('div', { class: 'empty' },
      h('h2', {}, `No ${mode} keys yet`),
      h('p', { class: 'muted' }, canWrite(session)
        ? 'Create a key to let your CRM create customers and receive mail events.'
        : 'Ask a developer or owner of your team to create one.'),
      canWrite(session) ? h('button', { type: 'button', class: 'primary', onclick: () => createDialog() }, 'Create your first key') : null),
    draw: (keys) => h('table', {},
      h('caption', { class: 'visually-hidden' }, `${mode} API keys`),
      h('thead', {}, h('tr', {}, ...['Name', 'Key', 'Scopes', 'Created', 'Last used', 'Status'].map((t) => h('th', { scope: 'col' }, t)),
        canWrite(session) ? h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')) : null)),
      h('tbody', {}, ...keys.map((k) => {
        const live = !k.revoked_at || Date.parse(k.revoked_at) > Date.now();
        return h('tr', { 'data-key-id': k.id },
          h('td', {}, k.name),
          h('td', { class: 'mono' }, `${k.prefix}…`),
          h('td', {}, ...k.scopes.map((s) => h('span', { class: 'pill' }, s))),
          h('td', {}, when(k.created_at)),
          h('td', {}, when(k.last_used_at, 'Never')),
          h('td', {}, status(k)),
          canWrite(session) ? h('td', {}, live ? h('div', { class: 'actions' },
            h('button', { type: 'button', class: 'small', 'data-action': 'roll', 'aria-label': `Roll ${k.name}`, onclick: () => rollDialog(k) }, 'Roll'),
            h('button', { type: 'button', class: 'small', 'data-action': 'revoke', 'aria-label': `Revoke ${k.name}`, onclick: () => revoke(k) }, 'Revoke')) : null) : null);
      }))),
  });

  function createDialog() {
    const name = field('Name (optional)', { name: 'name', required: false, hint: 'What uses it, e.g. “CRM production”. Left empty, it is called “API key”.' });
    const modeId = nextId('mode');
    const modeBox = h('fieldset', {}, h('legend', { id: modeId }, 'Mode'),
      h('div', { class: 'radios' }, ...['live', 'test'].map((m) => h('label', {},
        h('input', { type: 'radio', name: 'mode', value: m, checked: m === mode }), m === 'live' ? 'Live (ib_live_…)' : 'Test (ib_test_…)'))));
    // Each scope with what it allows, shown and read with its checkbox.
    const scopes = group('Scopes', 'scopes', h('div', { class: 'checks' }, ...SCOPES.map(([s, desc]) => {
      const hintId = nextId('scope');
      return h('div', {}, h('label', {}, h('input', { type: 'checkbox', name: 'scopes', value: s, 'aria-describedby': hintId }), s),
        h('div', { id: hintId, class: 'hint' }, desc));
    })));
    const alert = formAlert();
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Create key');
    const form = h('form', { novalidate: true }, alert, name.wrap, modeBox, scopes.wrap,
      h('div', { class: 'buttons' }, h('button', { type: 'button', onclick: () => d.close() }, 'Cancel'), submit));
    const d = openDialog('Create an API key', form);
    name.input.focus();
    onSubmit(form, submit, alert, [name, scopes], async () => {
      const chosen = [...form.querySelectorAll('input[name=scopes]:checked')].map((i) => i.value);
      if (!chosen.length) throw fieldError('scopes', 'Choose at least one scope.');
      const k = await api('POST', '/keys', { name: name.input.value || undefined, mode: form.querySelector('input[name=mode]:checked').value, scopes: chosen });
      d.close();
      secret(`Your new ${k.mode} key “${k.name}”`, k); // the table is drawn anew below it
      await attempt(listBox, reload);
    });
  }

  async function revoke(k) {
    if (!await confirmDialog(`Revoke “${k.name}”?`, `Requests with ${k.prefix}… will fail at once. This cannot be undone.`, 'Revoke key')) return;
    let said = null;
    try {
      await api('POST', `/keys/${k.id}/revoke`, {});
      notice.replaceChildren();
      said = announce(`“${k.name}” is revoked.`);
    } catch (e) {
      notice.replaceChildren(h('div', { class: 'alert', role: 'alert' }, e.message));
    }
    await attempt(listBox, reload);
    // The table is new, and a revoked key's row has no button left: the focus goes to what
    // happened, or back to Revoke when it failed.
    (said ?? listBox.querySelector(`tr[data-key-id="${k.id}"] [data-action=revoke]`))?.focus();
  }

  function rollDialog(k) {
    const alert = formAlert();
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Roll key');
    const form = h('form', {},
      h('p', {}, `A new key with the same scopes replaces “${k.name}”. When should ${k.prefix}… stop working?`),
      alert,
      h('fieldset', {}, h('legend', {}, 'The old key stops'),
        h('div', { class: 'radios' }, ...DELAYS.map(([v, label], i) => h('label', {},
          h('input', { type: 'radio', name: 'expires_in', value: v, checked: i === 0 }), label)))),
      h('div', { class: 'buttons' }, h('button', { type: 'button', onclick: () => d.close() }, 'Cancel'), submit));
    const d = openDialog(`Roll “${k.name}”`, form);
    form.querySelector('input[name=expires_in]').focus();
    onSubmit(form, submit, alert, [], async () => {
      const n = await api('POST', `/keys/${k.id}/roll`, { expires_in: form.querySelector('input[name=expires_in]:checked').value });
      d.close();
      secret(`The new key replacing “${k.name}”`, n); // the table is drawn anew below it
      await attempt(listBox, reload);
    });
  }

  await reload();
}
