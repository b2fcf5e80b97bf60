// ui.js - small DOM helpers for the dashboard's pages: element building, dialogs, field errors.

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
  return { wrap, input, setError: (msg) => showError(input, err, msg) };
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
 * A list drawn again after a change, from its first page until as many items as it showed are
 * back, so that a row acted on past the first page stays in sight. items: the array load(after)
 * fills, a page after the item id after (null: the first) at a time, resolving whether more follow.
 */
export async function reloadShown(items, load) {
  const shown = items.length;
  items.length = 0;
  let hasMore = await load(null);
  while (hasMore && items.length < shown) hasMore = await load(items[items.length - 1].id);
}

/** A secret shown once, with a copy button, and Done, which puts it away (the focus goes to the
 * page's heading). */
export function secretBox(label, secret, note) {
  const id = nextId('secret');
  const input = h('input', { id, type: 'text', value: secret, readonly: true, class: 'mono' });
  const status = h('span', { role: 'status', class: 'muted' });
  const copy = h('button', {
    type: 'button', class: 'primary',
    onclick: async () => {
      input.select();
      try { await navigator.clipboard.writeText(secret); } catch { document.execCommand('copy'); }
      status.textContent = 'Copied';
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
  return box;
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
