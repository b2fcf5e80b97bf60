// ui.js - small DOM helpers for the dashboard's pages: element building, dialogs, field errors,
// where the keyboard focus goes when what held it goes away, and what a screen reader is told.

/** Builds an element: h('button', {class: 'primary', onclick}, 'Text', child...). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let uid = 0;
/** A fresh id for label/input pairs. */
export const nextId = (p = 'f') => `${p}-${++uid}`;

/** A labelled text input with its hint and error slot: {wrap, input, setError}. */
export function field(label, { type = 'text', name, hint, value = '', autocomplete, required = true } = {}) {
  const id = nextId(name);
  const errId = `${id}-error`;
  const hintId = hint ? `${id}-hint` : null;
  const input = h('input', { id, name, type, value, autocomplete, required, 'aria-describedby': [hintId, errId].filter(Boolean).join(' ') });
  const err = h('div', { id: errId, class: 'error', role: 'alert', hidden: true });
  const wrap = h('div', { class: 'field' }, h('label', { for: id }, label), input,
    hint ? h('div', { id: hintId, class: 'hint' }, hint) : null, err);
  return { wrap, input, param: name, setError: (msg) => showError(input, err, msg) };
}

/**
 * A fieldset of checkboxes or radios (children) with its error slot, like field(): {wrap, input
 * (the first control, where the focus goes on an error), param (the request's parameter it
 * sets), setError}.
 */
export function group(legend, param, ...children) {
  const errId = nextId(`${param}-error`);
  const err = h('div', { id: errId, class: 'error', role: 'alert', hidden: true });
  const wrap = h('fieldset', { 'aria-describedby': errId }, h('legend', {}, legend), ...children, err);
  return { wrap, input: wrap.querySelector('input'), param, setError: (msg) => showError(wrap, err, msg) };
}

/** The account a password form is for, hidden: password managers file the password under it. */
export const usernameFor = (email) => h('input', { type: 'email', name: 'username', autocomplete: 'username', value: email, hidden: true, readonly: true });

/** Shows msg (or clears it when empty) next to the control it concerns. */
export function showError(control, slot, msg) {
  slot.textContent = msg || '';
  slot.hidden = !msg;
  if (msg) control.setAttribute('aria-invalid', 'true');
  else control.removeAttribute('aria-invalid');
}

/** A focusable alert slot for a form's errors that belong to no one field; hidden until used. */
export const formAlert = () => h('div', { class: 'alert', role: 'alert', tabindex: '-1', hidden: true });

/**
 * Runs send() when form is submitted (its button, Enter in a field), after clearing the errors
 * shown before. Meanwhile submit is marked busy (aria-disabled: a disabled button would drop the
 * keyboard focus to the page) and a second submit is ignored. When send() throws, the error is
 * said at the field it names (e.param) or, naming none, in alert, and the focus goes there.
 * fields: the form's field()s and group()s; alert: a formAlert(), or null (then the first
 * field shows every error).
 */
export function onSubmit(form, submit, alert, fields, send) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (submit.getAttribute('aria-disabled') === 'true') return;
    fields.forEach((f) => f.setError(''));
    if (alert) alert.hidden = true;
    submit.setAttribute('aria-disabled', 'true');
    try {
      await send();
    } catch (e) {
      const f = fields.find((x) => x.param === e.param) ?? (alert ? null : fields[0]);
      if (f) { f.setError(e.message); f.input.focus(); } else { alert.textContent = e.message; alert.hidden = false; alert.focus(); }
    } finally {
      submit.removeAttribute('aria-disabled');
    }
  });
}

/** An error for onSubmit() to show at the field of the request's parameter param. */
export const fieldError = (param, message) => Object.assign(new Error(message), { param });

/**
 * Runs work() with button marked busy (aria-disabled, so the focus stays on it), ignoring presses
 * meanwhile; resolves with what work() resolves, or undefined for an ignored press.
 */
export async function busy(button, work) {
  if (button.getAttribute('aria-disabled') === 'true') return undefined;
  button.setAttribute('aria-disabled', 'true');
  try { return await work(); } finally { button.removeAttribute('aria-disabled'); }
}

/**
 * Puts node into region, a status region that was on the page before (a new one is often not
 * read out), in place of what it said: the same text twice is read twice. Returns node.
 */
function say(region, node) {
  if (region.textContent !== node.textContent) { region.replaceChildren(node); return node; }
  // The same text again: emptied first, so that a screen reader notices the change.
  region.replaceChildren();
  setTimeout(() => region.replaceChildren(node), 100);
  return node;
}

/**
 * Says text through the signed-in page's status region (the shell's, above the page), shown as
 * a notice there; region: a status region of the page's own, near what it concerns (a delivery
 * log). Returns the notice, which can take the focus (tabindex -1); null with no region.
 */
export function announce(text, region = document.getElementById('status')) {
  return region ? say(region, h('div', { class: 'notice', tabindex: '-1' }, text)) : null;
}

/** A status region to announce() into, placed where its messages belong. */
export const statusRegion = () => h('div', { role: 'status' });

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), [tabindex]';

/**
 * A "Show more" button for the list in list (its rows: tbody tr), which sits in slot: runs
 * load(), which adds rows and draws the next button in slot (through attempt(): a failure is
 * said there, with Try again). The pressed button goes away; the focus goes to the first
 * control of the first row added, or, the row having none, to the next Show more button, or
 * to the row itself.
 */
export function showMore(slot, list, label, load) {
  return h('button', {
    type: 'button',
    // Try again runs all of it again: the focus moves after a retry too.
    onclick: () => attempt(slot, async () => {
      const before = list.querySelectorAll('tbody tr').length;
      await load();
      const row = list.querySelectorAll('tbody tr')[before];
      let target = row?.querySelector(FOCUSABLE) ?? slot.querySelector('button');
      if (!target && row) { target = row.cells[0]; target.tabIndex = -1; }
      target?.focus();
    }),
  }, label);
}

/**
 * A Close button for a panel shown in slot by a button: empties slot and puts the focus back on
 * back() (the button that opened it, looked up when closing: its table may have been drawn
 * again meanwhile), or on the page's heading.
 */
export function closeButton(slot, back) {
  return h('button', {
    type: 'button', class: 'small',
    onclick: () => { slot.replaceChildren(); (back() ?? document.querySelector('main h1'))?.focus(); },
  }, 'Close');
}

/** Opens a modal dialog built from content; returns {dialog, close}. Esc closes it. */
export function openDialog(title, content, { onclose } = {}) {
  const id = nextId('dlg');
  const dialog = h('dialog', { 'aria-labelledby': id }, h('h2', { id }, title), content);
  document.body.append(dialog);
  dialog.addEventListener('close', () => { dialog.remove(); onclose?.(); });
  dialog.showModal();
  return { dialog, close: () => dialog.close() };
}

/** Asks to confirm a destructive action; resolves true when confirmed. */
export function confirmDialog(title, text, confirmLabel) {
  return new Promise((resolve) => {
    let answer = false;
    const yes = h('button', { class: 'danger', type: 'button', onclick: () => { answer = true; d.close(); } }, confirmLabel);
    const no = h('button', { type: 'button', onclick: () => d.close() }, 'Cancel');
    const d = openDialog(title, h('div', {}, h('p', {}, text), h('div', { class: 'buttons' }, no, yes)),
      { onclose: () => resolve(answer) });
    no.focus();
  });
}

/**
 * Runs request (a function that asks the server and shows the answer); when it fails, says why
 * in slot (an alert) with Try again, which runs it again, and resolves false. A failure shown by
 * a retry that then succeeds goes away. The focus, if it was on what the alert replaced, goes
 * to Try again.
 */
export async function attempt(slot, request) {
  try {
    await request();
    return true;
  } catch (e) {
    const hadFocus = slot.contains(document.activeElement) || document.activeElement === document.body;
    const again = h('button', { type: 'button', class: 'small', onclick: async () => { if (await attempt(slot, request)) alert.remove(); } }, 'Try again');
    const alert = h('div', { class: 'alert', role: 'alert' }, h('p', {}, e.message), again);
    slot.replaceChildren(alert);
    if (hadFocus) again.focus();
    return false;
  }
}

/**
 * A list the server gives a page at a time, drawn whole after each page: draw(items, page) in
 * box (empty(page) while there are none), and under it, in more, a Show more button (labelled
 * moreLabel) for the next page while there is one. fetchPage(after) resolves the page
 * ({data, has_more}) after the item whose cursor(item) is after (null: the first page).
 * Returns {items, load, reload}:
 * - load(after) adds that page, or with a null after starts the list over, and resolves whether
 *   more follow; a page asked for before the list last started over is dropped (a search or a
 *   filter changed meanwhile), and a failed one rejects (Show more says it, with Try again);
 * - reload() starts over and reads pages until as many items as were shown are back, so that a
 *   row acted on past the first page stays in sight.
 */
export function pagedList({ box, more, moreLabel, fetchPage, draw, empty, cursor = (item) => item.id }) {
  const items = [];
  let starts = 0;
  async function load(after) {
    const mine = after === null ? ++starts : starts;
    const page = await fetchPage(after);
    if (mine !== starts) return false;
    if (after === null) items.length = 0;
    items.push(...page.data);
    box.replaceChildren(items.length ? draw(items, page) : empty(page));
    const last = items.length ? cursor(items[items.length - 1]) : null;
    more.replaceChildren(page.has_more && last ? showMore(more, box, moreLabel, () => load(last)) : '');
    return page.has_more;
  }
  async function reload() {
    const shown = items.length;
    let hasMore = await load(null);
    while (hasMore && items.length < shown) hasMore = await load(cursor(items[items.length - 1]));
  }
  return { items, load, reload };
}

/**
 * A secret shown once, with a copy button, and Done, which puts it away (the focus goes to the
 * page's heading); shown in slot, in place of what it held, with the focus on the secret, so
 * that it is read out with its label. Returns the secret's input.
 */
export function showSecret(slot, label, secret, note) {
  const id = nextId('secret');
  const input = h('input', { id, type: 'text', value: secret, readonly: true, class: 'mono' });
  const status = h('span', { role: 'status', class: 'muted' });
  const copy = h('button', {
    type: 'button', class: 'primary',
    onclick: async () => {
      input.select();
      try { await navigator.clipboard.writeText(secret); } catch { document.execCommand('copy'); }
      say(status, h('span', {}, 'Copied')); // a second copy is said again
    },
  }, 'Copy');
  const done = h('button', {
    type: 'button',
    onclick: () => { box.remove(); document.querySelector('main h1')?.focus(); },
  }, 'Done');
  const box = h('div', { class: 'secret' },
    h('label', { for: id }, label),
    h('p', { class: 'muted' }, note),
    h('div', { class: 'row' }, input, copy, done), status);
  slot.replaceChildren(box);
  input.focus();
  return input;
}

/**
 * "Mar 12, 2026, 2:05 PM EST": a time with its time zone named, the browser's or, with utc,
 * UTC (the usage page's: a billing month is a UTC month); or the fallback for null.
 */
export function when(t, fallback = '—', { utc = false } = {}) {
  if (!t) return fallback;
  return new Date(t).toLocaleString(undefined, {
    year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit',
    timeZoneName: 'short', timeZone: utc ? 'UTC' : undefined,
  });
}
