// api.js - the dashboard's JSON API (/dashboard/api/): the session cookie goes by itself, the
// session's CSRF token goes with every change, and the mode switch as the Innbocks-Mode header.

const MODE_KEY = 'innbocks.mode';
let csrfToken = null;

/** The page's mode: 'live' or 'test' (remembered in this browser). */
export const currentMode = () => (localStorage.getItem(MODE_KEY) === 'test' ? 'test' : 'live');
export const setMode = (m) => localStorage.setItem(MODE_KEY, m);
export const setCsrf = (t) => { csrfToken = t; };

/** A refused request: status, code, message and param of the error envelope. */
export class ApiError extends Error {
  constructor(status, body) {
    const e = body?.error ?? {};
    super(e.message ?? `the server answered ${status}`);
    this.status = status;
    this.code = e.code;
    this.param = e.param;
  }
}

/** Sends one request; resolves with the parsed answer or throws ApiError. */
export async function api(method, path, body) {
  const headers = { 'Innbocks-Mode': currentMode() };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  const res = await fetch(`/dashboard/api${path}`, {
    method, headers, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let json = null;
  try { json = await res.json(); } catch { /* not JSON */ }
  if (!res.ok) throw new ApiError(res.status, json);
  return json;
}
