// app.js - the dashboard's entry: the setup page (from the one-time link), sign-in, and the
// signed-in shell (navigation, live/test switch, sign-out) around the page the hash names.
import { api, ApiError, currentMode, setMode, setCsrf, setSession, onSessionEnded, onSessionChanged } from './api.js';
import { stopWatching, watchSession } from './idle.js';
import { h, announce, field, formAlert, onSubmit, fieldError, openDialog, usernameFor } from './ui.js';
import { keysPage } from './keys.js';
import { webhooksPage } from './webhooks.js';
import { auditPage } from './audit.js';
import { teamPage } from './team.js';
import { usagePage } from './usage.js';
import { customersPage } from './customers.js';
import { eventsPage } from './events.js';

const root = document.getElementById('app');
const PAGES = {
  keys: { title: 'API keys', render: keysPage },
  webhooks: { title: 'Webhooks', render: webhooksPage },
  events: { title: 'Events', render: eventsPage },
  customers: { title: 'Customers', render: customersPage },
  usage: { title: 'Usage', render: usagePage },
  // bothModes: the same in both modes (no switch, no test banner).
  team: { title: 'Team', render: teamPage, owners: true, bothModes: true },
  audit: { title: 'Audit log', render: auditPage, owners: true, bothModes: true },
};

// What the page shows: 'signed-in' (a 401 now means the session ended), 'sign-in' (a late 401
// leaves the form and its typing alone), or null (anything else: setup, an error, loading).
let showing = null;

/** Shows node as the whole page; a dialog left open (a page changed under it, Back, an ended
 * session) closes first, so it never covers the next page. */
function mount(node) {
  showing = null;
  for (const d of document.querySelectorAll('dialog[open]')) d.close();
  root.className = '';
  root.replaceChildren(node);
}

function brand() {
  return h('div', { class: 'brand' }, h('img', { src: '/dashboard/logo.svg', alt: '' }), 'Innbocks');
}

/**
 * A card with a form (sign-in, setup); onsubmit's errors are shown at their field or above the
 * form. said: the intro is news (the session ended, signed out), read out as an alert.
 */
function cardForm(title, intro, fields, submitLabel, onsubmit, said = false) {
  const alert = formAlert();
  const button = h('button', { class: 'primary', type: 'submit' }, submitLabel);
  const form = h('form', { novalidate: true }, alert, ...fields.map((f) => f.wrap), button);
  onSubmit(form, button, alert, fields, onsubmit);
  mount(h('main', { class: 'card-page' }, h('div', { class: 'card' }, brand(), h('h1', {}, title),
    h('p', { class: 'muted', role: said ? 'alert' : null }, intro), form)));
  fields[0].input.focus();
}

const SESSION_ENDED = 'Your session has ended. Sign in again to go on where you were.';

function signInPage(message) {
  stopWatching();
  document.title = 'Sign in · Innbocks';
  const email = field('Email', { type: 'email', name: 'email', autocomplete: 'username' });
  const password = field('Password', { type: 'password', name: 'password', autocomplete: 'current-password' });
  cardForm('Sign in', message ?? 'Sign in to manage your API keys and webhooks.', [email, password], 'Sign in', async () => {
    let r;
    try {
      r = await api('POST', '/signin', { email: email.input.value, password: password.input.value });
    } catch (e) {
      if (e.status === 401) password.input.value = ''; // a refused password is not kept
      throw e;
    }
    setCsrf(r.csrf_token);
    // Back to the page the session ended on, if it names one.
    if (!PAGES[location.hash.slice(1).split('?')[0]]) location.hash = '#keys';
    await boot('start');
  }, Boolean(message));
  showing = 'sign-in';
}

async function setupPage() {
  document.title = 'Choose a password · Innbocks';
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  // The token leaves the address bar (and the history) at once; it is posted, never put in a URL.
  history.replaceState(null, '', '/dashboard/setup.html');
  if (!token) {
    signInPage('This setup link is incomplete. Ask an owner of your team for a new one, or sign in.');
    return;
  }
  // Whom the link is for, without using it; one that no longer works is said before any typing.
  let link = null;
  try {
    link = await api('POST', '/setup/check', { token });
  } catch (e) {
    if (e.param === 'token') {
      signInPage(`${e.message[0].toUpperCase()}${e.message.slice(1)}. If you have chosen a password already, sign in.`);
      return;
    }
    // Not answered now: the form without the account's name; setting the password says the rest.
  }
  const password = field('New password', { type: 'password', name: 'password', autocomplete: 'new-password', hint: 'At least 12 characters. A few unrelated words work well.' });
  const again = field('Repeat the password', { type: 'password', name: 'password_again', autocomplete: 'new-password' });
  // The account's email, for the browser's password manager to file the new password under.
  const username = link && usernameFor(link.email);
  const account = link ? [{ wrap: username, input: username, setError: () => {} }] : [];
  const intro = !link ? 'Welcome to the Innbocks dashboard. Choose a password to finish setting up your account, or to replace one you forgot.'
    : link.password_set ? `Choose a new password for ${link.email}. Every session of this account ends when you do.`
      : `Welcome to the Innbocks dashboard. Choose a password for ${link.email} to finish setting up your account.`;
  cardForm(link?.password_set ? 'Reset your password' : 'Choose your password', intro,
    [password, again, ...account], 'Set password and continue', async () => {
      if (password.input.value !== again.input.value) throw fieldError('password_again', 'The two passwords differ.');
      const r = await api('POST', '/setup', { token, password: password.input.value });
      setCsrf(r.csrf_token);
      history.replaceState(null, '', '/dashboard/#keys');
      await boot('start');
    });
}

function modeSwitch(onchange) {
  const mk = (m, label) => h('button', {
    type: 'button', class: m, 'aria-pressed': String(currentMode() === m),
    onclick: () => { if (currentMode() !== m) { setMode(m); onchange(); } },
  }, label);
  return h('div', { class: 'mode', role: 'group', 'aria-label': 'Mode' }, mk('live', 'Live'), mk('test', 'Test'));
}

/** The change-password dialog: the current password, then the new one twice; the page's
 * status region says when it is done. */
function passwordDialog(email) {
  const current = field('Current password', { type: 'password', name: 'current_password', autocomplete: 'current-password' });
  const fresh = field('New password', { type: 'password', name: 'new_password', autocomplete: 'new-password', hint: 'At least 12 characters. Every other session of yours ends.' });
  const again = field('Repeat the new password', { type: 'password', name: 'new_password_again', autocomplete: 'new-password' });
  const alert = formAlert();
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Change password');
  const fields = [current, fresh, again];
  const form = h('form', { novalidate: true }, alert, usernameFor(email), ...fields.map((f) => f.wrap),
    h('div', { class: 'buttons' }, h('button', { type: 'button', onclick: () => d.close() }, 'Cancel'), submit));
  const d = openDialog('Change your password', form);
  current.input.focus();
  onSubmit(form, submit, alert, fields, async () => {
    if (fresh.input.value !== again.input.value) throw fieldError('new_password_again', 'The two passwords differ.');
    const r = await api('POST', '/password', { current_password: current.input.value, new_password: fresh.input.value });
    setCsrf(r.csrf_token);
    d.close();
    announce('Your password is changed. Every other session of yours has ended: sign in there again with the new password.');
  });
}

async function shell(session, moved) {
  const visible = Object.entries(PAGES).filter(([, p]) => !p.owners || session.user.role === 'owner');
  const name = (location.hash.slice(1) || 'keys').split('?')[0];
  const pageName = visible.some(([k]) => k === name) ? name : 'keys';
  const page = PAGES[pageName];
  // Test mode is named first, like the test banner: two tabs, one in each mode, tell
  // themselves apart, with a screen reader too.
  const mode = currentMode() === 'test' && !page.bothModes ? 'Test — ' : '';
  document.title = `${mode}${page.title} · ${session.partner.name} · Innbocks`;
  const nav = h('nav', { class: 'nav', 'aria-label': 'Dashboard' },
    ...visible.map(([k, p]) => h('a', { href: `#${k}`, 'aria-current': k === pageName ? 'page' : null }, p.title)));
  const signOut = h('button', {
    type: 'button', class: 'small',
    onclick: async () => { await api('POST', '/signout', {}).catch(() => {}); setCsrf(null); signInPage('You have signed out.'); },
  }, 'Sign out');
  const content = h('div');
  const heading = h('h1', { tabindex: '-1' }, page.title);
  // announce() writes here: there before its message, so it is read out.
  const status = h('div', { role: 'status', id: 'status' });
  const main = h('main', { class: 'main', id: 'main' },
    h('div', { class: 'topbar' },
      h('div', {}, heading, h('div', { class: 'muted' }, session.partner.name)),
      page.bothModes ? null : modeSwitch(() => {
        // What the address names after the page (a customer: #customers?id=...) is of one mode:
        // the other mode shows the page itself.
        if (location.hash.includes('?')) history.replaceState(null, '', `#${pageName}`);
        boot('mode');
      })),
    currentMode() === 'test' && !page.bothModes ? h('div', { class: 'test-banner', role: 'note' }, 'Test mode: you are looking at test data. Test keys start with ib_test_ and never touch live customers.') : null,
    status, content);
  mount(h('div', { class: 'shell' },
    h('a', { class: 'skip', href: '#main', onclick: (ev) => { ev.preventDefault(); heading.focus(); } }, 'Skip to content'),
    h('aside', { class: 'side' }, brand(), nav,
      h('div', { class: 'who' }, h('div', { class: 'email' }, session.user.email),
        h('div', {}, `Role: ${session.user.role}`),
        h('p', { class: 'actions' }, h('button', { type: 'button', class: 'small', onclick: () => passwordDialog(session.user.email) }, 'Change password'), signOut))),
    main));
  showing = 'signed-in';
  // A page reached from the navigation, sign-in or Try again starts at its heading, not at the
  // top (the control that led there is gone); after the mode switch, the focus stays on the switch.
  if (moved === 'mode') main.querySelector('.mode [aria-pressed="true"]').focus();
  else if (moved) heading.focus();
  await page.render(content, session);
}

let boots = 0; // the latest boot() wins: a slower, earlier one mounts nothing

/** Shows the signed-in page the address names, or sign-in; moved: how the user got there
 * ('nav', 'mode', or 'start': sign-in, setup, Try again), where the focus goes. */
async function boot(moved = null) {
  if (location.pathname.endsWith('/setup.html') && location.hash.includes('token=')) return setupPage();
  const mine = ++boots;
  try {
    const s = await api('GET', '/session');
    if (mine !== boots) return;
    setSession(s);
    watchSession(s, (message) => { setCsrf(null); if (showing === 'signed-in') signInPage(message); });
    if (location.pathname.endsWith('/setup.html')) history.replaceState(null, '', '/dashboard/#keys');
    await shell(s, moved);
  } catch (e) {
    if (mine !== boots) return;
    if (e instanceof ApiError && e.status === 401) {
      if (showing === 'signed-in') signInPage(SESSION_ENDED);
      // The setup page again without its link (a reload: the link left the address at once).
      else if (location.pathname.endsWith('/setup.html')) signInPage('A setup link works once, and this page no longer holds it. If you have not chosen a password yet, ask an owner of your team for a new link; otherwise sign in.');
      else if (showing !== 'sign-in') signInPage();
    } else {
      const retry = h('button', { type: 'button', class: 'primary', onclick: () => boot('start') }, 'Try again');
      const title = e.status === 0 ? 'The server cannot be reached' : 'Something went wrong';
      document.title = `${title} · Innbocks`;
      mount(h('main', { class: 'card-page' }, h('div', { class: 'card' }, brand(),
        h('h1', {}, title), h('p', {}, e.message), retry)));
      retry.focus();
    }
  }
}

onSessionEnded(() => { setCsrf(null); if (showing === 'signed-in') signInPage(SESSION_ENDED); });
// Signed in as someone else in another tab: this page is not theirs to act on, so it offers a reload.
onSessionChanged(() => {
  if (showing !== 'signed-in') return;
  stopWatching(); // the session is another's now
  const reload = h('button', { type: 'button', class: 'primary', onclick: () => location.reload() }, 'Reload');
  document.title = 'Your session changed · Innbocks';
  mount(h('main', { class: 'card-page' }, h('div', { class: 'card' }, brand(),
    h('h1', {}, 'Your session changed'),
    h('p', {}, 'You signed in again in another tab or window, perhaps as someone else. Reload the page to go on; this page made no change.'), reload)));
  reload.focus();
});
window.addEventListener('hashchange', () => { if (!location.pathname.endsWith('/setup.html')) boot('nav'); });
boot();
