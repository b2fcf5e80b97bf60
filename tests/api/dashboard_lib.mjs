// The dashboard's JSON API as a browser page uses it: a session cookie, the session's CSRF token
// on every state change, and the mode switch as the Innbocks-Mode header. Shared by the
// dashboard's API and browser tests.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { uniq, ROOT } from './lib.mjs';

export const COOKIE = '__Host-innbocks_session';

/** The session cookie's value in a response's Set-Cookie header, or null. */
export function sessionCookie(res) {
  const m = (res.headers.get('set-cookie') ?? '').match(new RegExp(`${COOKIE}=([0-9a-f]*)`));
  return m ? m[1] : null;
}

export class Dash {
  constructor(srv, { cookie = null, csrf = null, mode = 'live' } = {}) {
    this.srv = srv; this.cookie = cookie; this.csrf = csrf; this.mode = mode;
  }

  /** One request to /dashboard/api; opts: json, csrf (false omits it, a string replaces it), headers. */
  async request(method, p, opts = {}) {
    const headers = { 'innbocks-mode': this.mode };
    if (this.cookie) headers.cookie = `${COOKIE}=${this.cookie}`;
    const csrf = opts.csrf === undefined ? this.csrf : opts.csrf;
    if (method !== 'GET' && csrf) headers['x-csrf-token'] = csrf;
    let body;
    if (opts.json !== undefined) { body = JSON.stringify(opts.json); headers['content-type'] = 'application/json'; }
    Object.assign(headers, opts.headers ?? {});
    // Like the Partner API clients, alternating between the server's processes: a session works
    // on every instance.
    const base = this.srv.next?.().url ?? this.srv.url;
    const res = await fetch(`${base}/dashboard/api${p}`, { method, headers, body });
    const text = await res.text();
    let parsed;
    try { parsed = JSON.parse(text); } catch {}
    return { status: res.status, headers: res.headers, body: parsed, text };
  }

  get(p, opts) { return this.request('GET', p, opts); }
  post(p, json, opts = {}) { return this.request('POST', p, { ...opts, json }); }

  /** Signs in (or sets the password from a setup token); keeps the cookie and the CSRF token. */
  async signIn(email, password) { return this.#start(await this.post('/signin', { email, password })); }
  async setup(token, password) { return this.#start(await this.post('/setup', { token, password })); }

  #start(r) {
    if (r.status === 200) {
      this.cookie = sessionCookie(r);
      this.csrf = r.body.csrf_token;
    }
    return r;
  }
}

/** The token in a setup link's fragment. */
export const setupToken = (url) => new URL(url).hash.replace(/^#token=/, '');

/**
 * A partner with a dashboard user of role who has set a password and is signed in:
 * {partner, user, email, password, dash}. The email's local part starts with name.
 */
export async function dashUser(srv, role = 'owner', partner = undefined, name = 'user') {
  const p = partner ?? await srv.createPartner();
  const email = `${uniq(name)}@example.com`.toLowerCase();
  const r = await srv.admin().post(`/partners/${p.id}/users`, { email, role });
  assert.equal(r.status, 201, r.text);
  const password = `pw-${uniq('secret')}-long`;
  const dash = new Dash(srv);
  const s = await dash.setup(setupToken(r.body.setup_url), password);
  assert.equal(s.status, 200, s.text);
  return { partner: p, user: r.body, email, password, dash };
}

export const SHOTS = path.join(ROOT, 'build/screenshots');
const AXE = readFileSync(path.join(ROOT, 'tests/node_modules/axe-core/axe.min.js'), 'utf8');

/**
 * Checks a browser page as it is with axe-core (pinned in tests/package.json, run inside the
 * page), adding every serious or critical violation to findings, then saves its screenshot as
 * build/screenshots/<name>.png.
 */
export async function axeShot(page, name, findings) {
  if (!await page.evaluate(() => typeof window.axe !== 'undefined')) await page.evaluate(AXE);
  const violations = await page.evaluate(async () => (await window.axe.run(document)).violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`));
  findings.push(...violations.map((v) => `${name}: ${v}`));
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}
