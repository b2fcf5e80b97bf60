// audit.js - the audit log page (owners): who did what in the dashboard and when, newest first,
// a page of 50 at a time.
import { api } from './api.js';
import { h, pagedList, when } from './ui.js';

const LABELS = {
  'signin.succeeded': 'Signed in',
  'signin.failed': 'Failed sign-in',
  'signin.rate_limited': 'Sign-in refused: too many attempts',
  'password.set': 'Set a password',
  'password.change_failed': 'Wrong current password when changing it',
  'password.change_rate_limited': 'Password change refused: too many attempts',
  'secret.reveal_failed': 'Wrong password when showing a webhook secret',
  'secret.reveal_rate_limited': 'Showing a webhook secret refused: too many attempts',
  'user.created': 'Created a user',
  'user.setup_link': 'Made a new setup link',
};

/** Refused attempts (wrong passwords, rate limits) stand out. */
const refused = (action) => /(^signin\.failed|_failed|rate_limited)$/.test(action);

/** "POST /dashboard/api/keys/{id}/revoke" -> "Revoked an API key", by the route. */
function describe(action) {
  if (LABELS[action]) return LABELS[action];
  const routes = [
    [/^POST .*\/keys$/, 'Created an API key'], [/\/keys\/\{id\}\/revoke$/, 'Revoked an API key'],
    [/\/keys\/\{id\}\/roll$/, 'Rolled an API key'], [/^POST .*\/users$/, 'Invited a user'],
    [/^PATCH .*\/users\/\{id\}$/, 'Changed a role'], [/^DELETE .*\/users\/\{id\}$/, 'Removed a user'],
    [/\/users\/\{id\}\/setup-link$/, 'Made a setup or password reset link'],
    [/^POST .*\/webhook-endpoints$/, 'Added a webhook endpoint'],
    [/^PATCH .*\/webhook-endpoints\/\{id\}$/, 'Changed a webhook endpoint'],
    [/rotate-secret$/, 'Rotated a webhook secret'], [/reveal-secret$/, 'Showed a webhook secret'],
    [/\/resend$/, 'Resent a webhook event'], [/\/resend-failed$/, 'Resent failed webhook deliveries'],
    [/\/password$/, 'Changed their password'], [/\/signout$/, 'Signed out'],
    [/test-helpers\/customers\/\{id\}\/accept-invite$/, 'Test helper: accepted an invitation'],
    [/test-helpers\/customers\/\{id\}\/compliance$/, 'Test helper: decided compliance'],
    [/test-helpers\/customers\/\{id\}\/billing$/, 'Test helper: changed own billing'],
    [/test-helpers\/mail-actions\/\{id\}\/complete$/, 'Test helper: completed a mail action'],
    [/test-helpers\/mail-actions\/\{id\}\/fail$/, 'Test helper: failed a mail action'],
    [/test-helpers\/mail-actions\/\{id\}\/cancel$/, 'Test helper: canceled a mail action'],
  ];
  return routes.find(([re]) => re.test(action))?.[1] ?? action;
}

export async function auditPage(content) {
  // Focusable: on a narrow screen the table scrolls sideways, and it has no control to reach.
  const box = h('div', { class: 'panel', tabindex: '0', role: 'region', 'aria-label': 'Audit log entries' }, h('p', { class: 'muted' }, 'Loading…'));
  const more = h('div', { class: 'actions' });
  content.replaceChildren(h('p', { class: 'muted' }, 'Every change made in the dashboard and every sign-in, successful or not. It never records passwords, keys or secrets.'), box, more);
  const { load } = pagedList({
    box, more, moreLabel: 'Show older entries',
    fetchPage: (after) => api('GET', `/audit-log?limit=50${after ? `&starting_after=${after}` : ''}`),
    empty: () => h('div', { class: 'empty' }, h('h2', {}, 'Nothing yet'), h('p', { class: 'muted' }, 'Sign-ins and changes will show up here.')),
    draw: (entries) => h('table', {}, h('caption', { class: 'visually-hidden' }, 'Audit log'),
      h('thead', {}, h('tr', {}, ...['When', 'Who', 'What', 'Object', 'Mode', 'From'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, ...entries.map((r) => h('tr', {},
        h('td', {}, when(r.created_at)), h('td', {}, r.actor),
        h('td', {}, refused(r.action) ? h('span', { class: 'pill bad' }, describe(r.action)) : describe(r.action)),
        h('td', { class: 'mono' }, r.target ?? '—'), h('td', {}, r.mode ?? '—'), h('td', { class: 'mono' }, r.client_addr ?? '—'))))),
  });
  await load(null);
}
