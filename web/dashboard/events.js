// events.js - the events page: the events of the page's mode (docs/api.md#events, kept 30 days), newest
// first, filtered by type or family; each event's payload exactly as webhooks carry it.
import { api, currentMode } from './api.js';
import { h, announce, attempt, closeButton, nextId, pagedList, when } from './ui.js';

export async function eventsPage(content) {
  const catalogue = (await api('GET', '/webhook-events')).data.map((e) => e.type);
  const families = [...new Set(catalogue.map((t) => `${t.split('.')[0]}.*`))];
  const id = nextId('type');
  const select = h('select', { id },
    h('option', { value: '' }, 'All types'),
    h('optgroup', { label: 'Families' }, ...families.map((f) => h('option', { value: f }, f))),
    h('optgroup', { label: 'Types' }, ...catalogue.map((t) => h('option', { value: t }, t))));
  const box = h('div', { class: 'panel' }, h('p', { class: 'muted' }, 'Loading…'));
  const more = h('div', { class: 'actions' });
  const detail = h('div');
  content.replaceChildren(
    h('p', { class: 'muted' }, `What happened in ${currentMode()} mode in the last 30 days: every event Innbocks sent, or would send, to your webhook endpoints.`),
    h('div', { class: 'panel' }, h('div', { class: 'field' }, h('label', { for: id }, 'Type'), select)),
    detail, box, more);
  const { items: rows, load } = pagedList({
    box, more, moreLabel: 'Show older events',
    fetchPage: (after) => api('GET', `/events?limit=50${select.value ? `&type=${encodeURIComponent(select.value)}` : ''}${after ? `&starting_after=${after}` : ''}`),
    empty: () => h('div', { class: 'empty' }, h('h2', {}, 'No events yet'),
      h('p', { class: 'muted' }, 'Events appear as your customers, their mailboxes and their mail change.')),
    draw: (events) => h('table', {}, h('caption', { class: 'visually-hidden' }, 'Events'),
      h('thead', {}, h('tr', {}, ...['When', 'Type', 'Event', 'Object'].map((t) => h('th', { scope: 'col' }, t)),
        h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Payload')))),
      h('tbody', {}, ...events.map((e) => h('tr', { 'data-event-id': e.id },
        h('td', {}, when(e.created_at)), h('td', {}, h('span', { class: 'pill' }, e.type)),
        h('td', { class: 'mono' }, e.id), h('td', { class: 'mono' }, e.data?.object?.id ?? '—'),
        h('td', {}, h('button', { type: 'button', class: 'small', 'aria-label': `Payload of ${e.id}`, onclick: () => attempt(detail, () => show(e.id)) }, 'Payload')))))),
  });

  async function show(eid) {
    const ev = await api('GET', `/events/${eid}`);
    const headingId = nextId('event');
    detail.replaceChildren(h('section', { class: 'panel', 'aria-labelledby': headingId },
      h('div', { class: 'topbar' }, h('h2', { id: headingId, tabindex: '-1' }, `${ev.type} · ${ev.id}`),
        closeButton(detail, () => box.querySelector(`tr[data-event-id="${eid}"] button`))),
      h('pre', { class: 'payload', tabindex: '0', 'aria-label': 'Event payload' }, JSON.stringify(ev, null, 2))));
    detail.querySelector('h2').focus();
  }

  // A failed request is said where its answer would go, with Try again; what the list shows
  // now is said, as the focus stays on the menu.
  select.addEventListener('change', async () => {
    if (!await attempt(box, () => load(null))) return;
    const kind = select.value ? ` of type ${select.value}` : '';
    announce(rows.length ? `${rows.length}${more.childElementCount ? ' or more' : ''} ${rows.length === 1 ? 'event' : 'events'}${kind} shown.` : `No events${kind}.`);
  });
  await load(null);
}
