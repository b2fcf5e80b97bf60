// api.js - the dashboard's JSON API (/dashboard/api/): the session cookie goes by itself, the
// session's CSRF token goes with every change, and the mode switch as the Innbocks-Mode header.

const MODE_KEY = 'innbocks.mode';
let csrfToken = null;

// Each tab keeps the mode it shows (sessionStorage: it stays over a reload), so a switch in
// another tab never changes what this one asks for; a new tab starts in the mode chosen last
// in this browser (localStorage).
let mode = (sessionStorage.getItem(MODE_KEY) ?? localStorage.getItem(MODE_KEY)) === 'test' ? 'test' : 'live';
sessionStorage.setItem(MODE_KEY, mode);

/** The page's mode: 'live' or 'test'. */
export const currentMode = () => mode;
export const setMode = (m) => {
  mode = m;
  sessionStorage.setItem(MODE_KEY, m);
  localStorage.setItem(MODE_KEY, m);
};
export const setCsrf = (t) => { csrfToken = t; };

let userId = null; // whom the page shows: the session's user, from GET /session
/** The session the page is drawn for (GET /session's answer): its CSRF token and user. */
export const setSession = (s) => { csrfToken = s.csrf_token; userId = s.user.id; };

/** A refused request: status, code, message and param of the error envelope; status 0 when
 * the server could not be reached. */
export class ApiError extends Error {
  constructor(status, body) {
    const e = body?.error ?? {};
    super(e.message ?? `the server answered ${status}`);
    this.status = status;
    this.code = e.code;
    this.param = e.param;
  }
}

const UNREACHABLE = 'The dashboard cannot reach the Innbocks server. Check your connection, then try again: nothing you typed is lost.';

let answeredAt = Date.now();
/** When the server last answered a request of this page with the session (each one renews it). */
export const lastAnsweredAt = () => answeredAt;

let sessionEnded = null;
/** fn() runs when a request of a signed-in page finds its session gone (401). */
export const onSessionEnded = (fn) => { sessionEnded = fn; };

const SESSION_CHANGED = 'You signed in again in another tab or window, perhaps as someone else: reload the page to go on.';
let sessionChanged = null;
/** fn() runs when the browser's session is no longer the one the page was drawn for. */
export const onSessionChanged = (fn) => { sessionChanged = fn; };

/**
 * Sends one request; resolves with the parsed answer or throws ApiError. A change refused with
 * csrf_failed was made with an older session's token: signed in again, or the password changed,
 * in another tab, whose new session the cookie now holds. When that session is the same
 * user's, the request is sent once more with its token; else the page says the session changed.
 */
export async function api(method, path, body) {
  try {
    return await send(method, path, body);
  } catch (e) {
    if (e.code !== 'csrf_failed') throw e;
  }
  let s;
  try {
    s = await send('GET', '/session');
  } catch (e) {
    if (e.status === 401) sessionEnded?.(); // signed out there
    throw e;
  }
  if (s.user.id === userId) {
    csrfToken = s.csrf_token;
    try {
      return await send(method, path, body);
    } catch (e) {
      if (e.code !== 'csrf_failed') throw e;
    }
  }
  sessionChanged?.();
  throw new ApiError(403, { error: { code: 'session_changed', message: SESSION_CHANGED } });
}

async function send(method, path, body) {
  const headers = { 'Innbocks-Mode': currentMode() };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let res;
  try {
    res = await fetch(`/dashboard/api${path}`, {
      method, headers, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, { error: { code: 'unreachable', message: UNREACHABLE } });
  }
  if (res.status !== 401) answeredAt = Date.now();
  let json = null;
  try { json = await res.json(); } catch { /* not JSON */ }
  if (!res.ok) {
    const err = new ApiError(res.status, json);
    // Sign-in, setup and the first look at the session answer 401 as part of their job.
    if (res.status === 401 && csrfToken && !['/signin', '/setup', '/session'].includes(path)) sessionEnded?.();
    throw err;
  }
  return json;
}
