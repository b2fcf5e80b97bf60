// team.js - the team page (owners): who can sign in to this partner's dashboard; invite someone
// (a one-time setup link to send them), make a new setup link or a password reset link
// (confirmed; earlier links stop working), change a role, remove someone (confirmed).
import { api } from './api.js';
import { h, announce, attempt, field, formAlert, group, nextId, onSubmit, openDialog, confirmDialog, pagedList, showSecret, when } from './ui.js';

// [role, label, what it may do, the role in a sentence]
const ROLES = [
  ['owner', 'Owner', 'everything, the team included', 'an owner'],
  ['developer', 'Developer', 'API keys and webhooks', 'a developer'],
  ['viewer', 'Viewer', 'reads only', 'a viewer'],
];
const PAGE = 50; // users a page

export async function teamPage(content, session) {
  const notice = h('div');
  const box = h('div', { class: 'panel' }, h('p', { class: 'muted' }, 'Loading…'));
  content.replaceChildren(
    h('div', { class: 'topbar' },
      h('p', { class: 'muted' }, 'Owners manage the team; developers manage keys and webhooks; viewers only look.'),
      h('button', { type: 'button', class: 'primary', onclick: () => inviteDialog() }, 'Invite someone')),
    notice, box);

  // A page of users at a time, newest first: the owner who looks may be on a later page.
  const more = h('div', { class: 'actions' });
  box.after(more);
  const { reload } = pagedList({
    box, more, moreLabel: 'Show more users',
    fetchPage: (after) => api('GET', `/users?limit=${PAGE}${after ? `&starting_after=${after}` : ''}`),
    empty: () => h('p', { class: 'muted' }, 'No users.'), // the owner looking is one
    draw: (users) => h('table', {}, h('caption', { class: 'visually-hidden' }, 'Team'),
      h('thead', {}, h('tr', {}, ...['Email', 'Role', 'Status', 'Added'].map((t) => h('th', { scope: 'col' }, t)),
        h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
      h('tbody', {}, ...users.map((u) => {
        const self = u.id === session.user.id;
        const selectId = nextId('role');
        const select = h('select', { id: selectId, 'data-user': u.id, disabled: self, onchange: () => changeRole(u, select) },
          ...ROLES.map(([v, label]) => h('option', { value: v, selected: v === u.role }, label)));
        return h('tr', {},
          h('td', {}, u.email, self ? h('span', { class: 'muted' }, ' (you)') : null),
          h('td', {}, h('label', { for: selectId, class: 'visually-hidden' }, `Role of ${u.email}`), select),
          h('td', {}, u.password_set ? h('span', { class: 'pill ok' }, 'Active') : h('span', { class: 'pill' }, 'Invited')),
          h('td', {}, when(u.created_at)),
          h('td', {}, self ? null : h('div', { class: 'actions' },
            h('button', { type: 'button', class: 'small', 'aria-label': `${u.password_set ? 'Password reset link' : 'New setup link'} for ${u.email}`, onclick: () => newLink(u) },
              u.password_set ? 'Reset link' : 'New setup link'),
            h('button', { type: 'button', class: 'small', 'aria-label': `Remove ${u.email}`, onclick: () => remove(u) }, 'Remove'))));
      }))),
  });

  // Asked first: a menu changes with one arrow key, and the role decides what someone can do.
  async function changeRole(u, select) {
    const [, label, what, phrase] = ROLES.find(([v]) => v === select.value);
    if (!await confirmDialog(`Make ${u.email} ${phrase}?`,
      `${label}s can do this: ${what}. The change applies to their open sessions at once.`, 'Change role')) {
      select.value = u.role;
      select.focus();
      return;
    }
    let failure = null;
    try {
      await api('PATCH', `/users/${u.id}`, { role: select.value });
    } catch (e) { failure = e; }
    await attempt(box, reload);
    box.querySelector(`select[data-user="${u.id}"]`)?.focus(); // where the user was
    if (failure) notice.replaceChildren(h('div', { class: 'alert', role: 'alert' }, failure.message));
    else { notice.replaceChildren(); announce(`${u.email} is now ${select.value}.`); }
  }

  // A fresh one-time link: the setup link again for someone who has not chosen a password, or a
  // password reset link for someone who has. Either way the links sent before stop working.
  async function newLink(u) {
    const ok = u.password_set
      ? await confirmDialog(`Make a password reset link for ${u.email}?`,
        'Whoever opens it can choose a new password for this account, so send it to them only. Their current password works until the link is used; then every session of theirs ends.', 'Make reset link')
      : await confirmDialog(`Make a new setup link for ${u.email}?`,
        'The link sent before stops working at once.', 'Make new link');
    if (!ok) return;
    try {
      const r = await api('POST', `/users/${u.id}/setup-link`, {});
      showSecret(notice, u.password_set ? `The password reset link for ${u.email}` : `The new setup link for ${u.email}`, r.setup_url,
        'Send it to them: it works once, for 72 hours. Earlier links no longer work.');
    } catch (e) { notice.replaceChildren(h('div', { class: 'alert', role: 'alert' }, e.message)); }
  }

  async function remove(u) {
    if (!await confirmDialog(`Remove ${u.email}?`, 'They are signed out at once and cannot sign in again.', 'Remove')) return;
    let said;
    try {
      await api('DELETE', `/users/${u.id}`);
      notice.replaceChildren();
      said = announce(`${u.email} is removed.`);
    } catch (e) {
      said = h('div', { class: 'alert', role: 'alert', tabindex: '-1' }, e.message);
      notice.replaceChildren(said);
    }
    await attempt(box, reload);
    said.focus(); // the row and its Remove button are gone, or drawn anew
  }

  function inviteDialog() {
    const email = field('Email', { type: 'email', name: 'email', autocomplete: 'off' });
    const roles = group('Role', 'role',
      h('div', { class: 'radios' }, ...ROLES.map(([v, label, what], i) => h('label', {},
        h('input', { type: 'radio', name: 'role', value: v, checked: i === 1 }), `${label} (${what})`))));
    const alert = formAlert();
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Invite');
    const form = h('form', { novalidate: true }, alert, email.wrap, roles.wrap,
      h('div', { class: 'buttons' }, h('button', { type: 'button', onclick: () => d.close() }, 'Cancel'), submit));
    const d = openDialog('Invite someone', form);
    email.input.focus();
    onSubmit(form, submit, alert, [email, roles], async () => {
      const u = await api('POST', '/users', { email: email.input.value, role: form.querySelector('input[name=role]:checked').value });
      d.close();
      showSecret(notice, `The setup link for ${u.email}`, u.setup_url,
        'Send it to them: it works once, for 72 hours, and lets them choose their password.');
      await attempt(box, reload); // below the link, which keeps the focus
    });
  }

  await reload();
}
