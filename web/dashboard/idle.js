// idle.js - the session's two time limits, said before they end (WCAG 2.2.1): a session ends
// after 30 minutes without a request and 12 hours after sign-in (GET /session names both). A
// dialog warns two minutes before the first; "Stay signed in" asks the server, which renews it.
// Only after a limit has passed does the page look whether the session is still there (another
// tab may have kept it): a look any earlier would renew a session that was to end.
import { api, lastAnsweredAt } from './api.js';
import { h, announce, openDialog, when } from './ui.js';

const TICK_MS = 5e3;
const WARN_MS = 2 * 60e3; // the warning comes this long before the earliest end
const TOUCH_MS = 60e3; // the server notes a request at most once a minute: it may end this early
const LOOK_MS = 5e3; // the look comes this long after the latest end

let timer = null;
let warnedFor = null; // the end last warned of, over the page's boots: Escape or OK puts a warning away for good

/** Stops watching (signed out, or another session). */
export function stopWatching() {
  clearInterval(timer);
  timer = null;
}

/**
 * Watches the session of session (GET /session's answer) while the page is signed in: warns
 * before it ends, and calls ended(message) once it has ended.
 */
export function watchSession(session, ended) {
  stopWatching();
  const idleMs = session.idle_timeout_seconds * 1000;
  const endsAt = Date.parse(session.expires_at);
  let dialog = null; // the warning shown, if any
  let looking = false;

  function warn(text, button) {
    dialog = openDialog('Your session ends soon', h('div', {}, h('p', {}, text), h('div', { class: 'buttons' }, button)));
    dialog.dialog.setAttribute('role', 'alertdialog');
    button.focus();
  }
  const putAway = () => { dialog?.close(); dialog = null; };

  function signedOut(message) {
    stopWatching();
    putAway();
    ended(`${message} Sign in again to go on where you were.`);
  }

  /** Asks for the session, which renews it if it is there; true when it is. */
  async function look() {
    try {
      await api('GET', '/session');
      return true;
    } catch (e) {
      if (e.status === 401) {
        signedOut(Date.now() >= endsAt
          ? 'Your session ended 12 hours after you signed in, for your security.'
          : 'You were signed out after 30 minutes without activity, for your security.');
      }
      return false;
    }
  }

  async function tick() {
    if (looking) return;
    const now = Date.now();
    const idleEnd = lastAnsweredAt() + idleMs;
    if (now >= Math.min(idleEnd, endsAt) + LOOK_MS) {
      // A limit has passed: the session is gone, unless another tab kept it.
      looking = true;
      try { if (await look()) putAway(); } finally { looking = false; }
      return;
    }
    const idleFirst = idleEnd - TOUCH_MS < endsAt;
    const first = idleFirst ? idleEnd : endsAt;
    if (now < (idleFirst ? idleEnd - TOUCH_MS : endsAt) - WARN_MS || warnedFor === first) return;
    warnedFor = first;
    putAway();
    if (idleFirst) {
      warn('For your security, the dashboard signs you out after 30 minutes without activity. You will be signed out in about 2 minutes.',
        h('button', { type: 'button', class: 'primary', onclick: async () => { if (await look()) { putAway(); announce('You are still signed in.'); } } }, 'Stay signed in'));
    } else {
      warn(`For your security, a session lasts 12 hours. Yours ends at ${when(session.expires_at)}: then sign in again to go on.`,
        h('button', { type: 'button', class: 'primary', onclick: putAway }, 'OK'));
    }
  }
  timer = setInterval(tick, TICK_MS);
}
