// Helpers for the webhook tests (docs/webhooks.md, docs/operators.md), on top of lib.mjs: a scripted webhook
// receiver on 127.0.0.1 that records every delivery byte for byte, endpoint creation, polling of
// the delivery log, the signature checks with the overview's own verifyInnbocksWebhook, and the
// command line run with an environment of our choosing.
import http from 'node:http';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { ok, listAll, sleep, TIME } from './lib.mjs';
import { verifyInnbocksWebhook } from './verify_webhook.mjs';

/**
 * The server environment for webhook tests: http://127.0.0.1 receivers allowed, seven retries one
 * second apart (8 attempts in all), one second per attempt. Spread and override as needed.
 */
export const WEBHOOK_ENV = {
  INNBOCKS_WEBHOOK_ALLOW_LOOPBACK: '1',
  INNBOCKS_WEBHOOK_RETRY_SCHEDULE: '1,1,1,1,1,1,1',
  INNBOCKS_WEBHOOK_TIMEOUT_MS: '1000',
};

export const EVENT_TYPES = [
  'customer.created', 'customer.updated', 'customer.activated', 'customer.deactivated',
  'compliance.updated', 'mailbox.activated', 'mailbox.closed', 'mail.arrived', 'package.arrived',
  'mail.deleted', 'mail_action.requested', 'mail_action.completed', 'mail_action.failed',
];

export const ENDPOINT_KEYS = [
  'id', 'object', 'livemode', 'mode', 'partner_id', 'url', 'enabled_events', 'status', 'created_at', 'updated_at',
].sort();
export const DELIVERY_KEYS = [
  'id', 'object', 'livemode', 'event_id', 'event_type', 'endpoint_id', 'url', 'attempt', 'status',
  'response_status', 'error', 'duration_ms', 'attempted_at', 'next_attempt_at',
].sort();
export const EVENT_KEYS = ['id', 'object', 'type', 'api_version', 'livemode', 'created_at', 'data'].sort();

/** Every receiver started by this process, so a file can check all deliveries it received. */
export const receivers = [];

/**
 * A webhook receiver: an HTTP server on 127.0.0.1 (a free port) whose answers follow a script.
 * A script is a list of actions used one per request in order, the last one repeating:
 *   200, 500, ...                  answer with that status (an empty JSON object as body)
 *   {status, headers, body, delay} answer exactly so (e.g. a 301 with a Location), after delay ms
 *   'hang'                         never answer (the connection stays open until the client gives up)
 *   'close'                        close the connection without answering
 *   'flood'                        answer 200 with a body that never ends (chunked, as fast as read)
 *   (req, res, delivery) => ...    answer as the function does (a body that stalls, trickles, is cut)
 * Each delivery is recorded as {i, method, path, headers (lower-case names), body (a Buffer of the
 * raw bytes), json, eventId, type, timestamp, signature, secret (this.secret when it arrived),
 * action, at, remotePort (the sender's port), answeredAt (once answered)}. `connections` counts
 * TCP connections, answered or not.
 */
export class Receiver {
  constructor(script = [200]) {
    this.deliveries = [];
    this.connections = 0;
    this.secret = null;
    this.endpoint = null;
    this.sockets = new Set();
    this.script(...(Array.isArray(script) ? script : [script]));
    this.server = http.createServer((req, res) => this.onRequest(req, res));
    this.server.on('connection', (sock) => {
      this.connections++;
      this.sockets.add(sock);
      sock.on('close', () => this.sockets.delete(sock));
    });
    this.server.on('clientError', (_err, sock) => sock.destroy());
  }

  /** Starts listening; resolves with this. */
  start() {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => { this.port = this.server.address().port; resolve(this); });
    });
  }

  /** The URL to register as an endpoint. */
  get url() { return `http://127.0.0.1:${this.port}/hooks`; }

  /** Replaces the script; the next request gets the first action. */
  script(...actions) {
    assert.ok(actions.length > 0, 'a script needs at least one action');
    this.actions = actions;
    this.scriptFrom = this.deliveries?.length ?? 0;
  }

  onRequest(req, res) {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      let json;
      try { json = JSON.parse(body.toString('utf8')); } catch {}
      const n = this.deliveries.length - this.scriptFrom;
      const action = this.actions[Math.min(n, this.actions.length - 1)];
      const delivery = {
        i: this.deliveries.length,
        method: req.method,
        path: req.url,
        headers: { ...req.headers },
        body,
        json,
        eventId: req.headers['innbocks-event-id'],
        type: req.headers['innbocks-event-type'],
        timestamp: req.headers['innbocks-timestamp'],
        signature: req.headers['innbocks-signature'],
        secret: this.secret,
        action,
        at: Date.now(),
        remotePort: req.socket.remotePort,
        answeredAt: undefined,
      };
      this.deliveries.push(delivery);
      if (action === 'hang') return;
      if (action === 'close') { req.socket.destroy(); return; }
      if (typeof action === 'function') { action(req, res, delivery); return; }
      if (action === 'flood') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        const chunk = Buffer.alloc(16384, 120);
        const pump = () => { while (!res.destroyed && res.write(chunk)); };
        res.on('drain', pump);
        pump();
        return;
      }
      const a = typeof action === 'number' ? { status: action } : action;
      const answer = () => {
        if (res.destroyed) return;
        res.writeHead(a.status, { 'content-type': 'application/json', ...(a.headers ?? {}) });
        res.end(a.body ?? '{}');
        delivery.answeredAt = Date.now();
      };
      if (a.delay) setTimeout(answer, a.delay); else answer();
    });
  }

  /** Deliveries of one event (by Innbocks-Event-Id). */
  of(eventId) { return this.deliveries.filter((d) => d.eventId === eventId); }

  /** Deliveries that were answered with a 2xx status. */
  answered2xx() {
    return this.deliveries.filter((d) => {
      const s = typeof d.action === 'number' ? d.action : d.action?.status;
      return typeof s === 'number' && s >= 200 && s < 300;
    });
  }

  /** Waits until `pred(this)` holds (polling); fails with `what` after timeoutMs. */
  async until(pred, what, timeoutMs = 15000) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (pred(this)) return this;
      await sleep(25);
    }
    assert.fail(`receiver on port ${this.port}: ${what} did not happen within ${timeoutMs} ms; `
      + `received ${this.deliveries.length}: ${this.deliveries.map((d) => `${d.type} ${d.eventId}`).join(', ')}`);
  }

  /** Waits for at least n deliveries in all. */
  waitFor(n, timeoutMs = 15000) {
    return this.until((r) => r.deliveries.length >= n, `${n} deliveries`, timeoutMs);
  }

  /** Waits until every one of eventIds has been received at least once. */
  waitForEvents(eventIds, timeoutMs = 15000) {
    return this.until((r) => eventIds.every((id) => r.of(id).length > 0),
      `delivery of ${eventIds.join(', ')}`, timeoutMs);
  }

  /** Stops listening and drops every open connection (hanging ones included). */
  close() {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections?.();
      for (const s of this.sockets) s.destroy();
    });
  }
}

/** Starts a receiver with the given script (see Receiver). */
export async function receiver(...script) {
  const r = new Receiver(script.length ? script : [200]);
  await r.start();
  receivers.push(r);
  return r;
}

/** Closes every receiver started so far. */
export async function closeReceivers() {
  await Promise.all(receivers.map((r) => r.close()));
}

/**
 * Creates a webhook endpoint through the operator API (asserts 201). `target` is a Receiver (its
 * url is used, and its secret and endpoint are set) or a URL string; `mode` 'test' makes a test
 * endpoint. Returns the endpoint.
 */
export async function createEndpoint(srv, partnerId, target, enabledEvents, mode) {
  const url = typeof target === 'string' ? target : target.url;
  const body = { url };
  if (enabledEvents !== undefined) body.enabled_events = enabledEvents;
  if (mode !== undefined) body.mode = mode;
  const ep = ok(await srv.admin().post(`/partners/${partnerId}/webhook-endpoints`, body), 201);
  if (typeof target !== 'string') { target.secret = ep.secret; target.endpoint = ep; }
  return ep;
}

/** PATCHes an endpoint (asserts 200); returns it. */
export async function patchEndpoint(srv, endpointId, fields) {
  return ok(await srv.admin().patch(`/webhook-endpoints/${endpointId}`, fields));
}

/** Every delivery-log entry the partner sees, newest first (all pages). */
export function deliveryLog(api, params = {}) {
  return listAll(api, '/webhook-deliveries', params);
}

/**
 * Polls the delivery log (with params) until pred(entries) is true; returns the entries. Fails
 * after timeoutMs with the last entries in the message.
 */
export async function waitForLog(api, params, pred, what = 'the expected delivery log', timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  let last = [];
  while (Date.now() < deadline) {
    last = await deliveryLog(api, params);
    if (pred(last)) return last;
    await sleep(100);
  }
  assert.fail(`${what} did not appear within ${timeoutMs} ms; log: ${JSON.stringify(last, null, 1)}`);
}

/** The id of the partner's newest event of a type (from the operator's outbox listing). */
export async function newestEvent(srv, partnerId, type) {
  const evs = await srv.events(partnerId, type);
  assert.ok(evs.length > 0, `no ${type} event for ${partnerId}`);
  return evs[0];
}

/** Lowercase hex HMAC-SHA256 of timestamp + "." + body with the secret: docs/webhooks.md#signatures, computed here. */
export function hmacHex(secret, timestamp, body) {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/** Asserts the documented delivery-log entry shape. */
export function assertDeliveryShape(d) {
  assert.deepEqual(Object.keys(d).sort(), DELIVERY_KEYS, `delivery keys: ${JSON.stringify(d)}`);
  assert.match(d.id, /^whd_[A-Za-z0-9]+$/);
  assert.equal(d.object, 'webhook_delivery');
  assert.match(d.event_id, /^evt_[A-Za-z0-9]+$/);
  assert.ok(EVENT_TYPES.includes(d.event_type), d.event_type);
  assert.match(d.endpoint_id, /^we_[A-Za-z0-9]+$/);
  assert.equal(typeof d.url, 'string');
  assert.ok(Number.isInteger(d.attempt) && d.attempt >= 1 && d.attempt <= 8, `attempt ${d.attempt}`);
  assert.ok(['succeeded', 'failed'].includes(d.status), d.status);
  assert.ok(d.response_status === null || Number.isInteger(d.response_status), `response_status ${d.response_status}`);
  assert.ok(d.error === null || typeof d.error === 'string', `error ${d.error}`);
  assert.ok(Number.isInteger(d.duration_ms) && d.duration_ms >= 0, `duration_ms ${d.duration_ms}`);
  assert.match(d.attempted_at, TIME);
  assert.ok(d.next_attempt_at === null || TIME.test(d.next_attempt_at), `next_attempt_at ${d.next_attempt_at}`);
  if (d.status === 'succeeded') {
    assert.ok(d.response_status >= 200 && d.response_status < 300, `succeeded with ${d.response_status}`);
    assert.equal(d.error, null);
    assert.equal(d.next_attempt_at, null);
  }
}

/** Asserts the headers and body framing docs/webhooks.md#delivery prescribes for one received delivery. */
export function assertDeliveryHeaders(d) {
  const ctx = `delivery ${d.i} ${JSON.stringify(d.headers)}`;
  assert.equal(d.method, 'POST', ctx);
  assert.match(d.headers['content-type'] ?? '', /^application\/json\b/, ctx);
  assert.match(d.eventId ?? '', /^evt_[A-Za-z0-9]+$/, ctx);
  assert.ok(EVENT_TYPES.includes(d.type), ctx);
  assert.match(d.timestamp ?? '', /^\d+$/, ctx);
  assert.ok(Math.abs(Number(d.timestamp) - d.at / 1000) < 60, `Innbocks-Timestamp ${d.timestamp} is not now: ${ctx}`);
  assert.match(d.signature ?? '', /^v1=[0-9a-f]{64}(, v1=[0-9a-f]{64})?$/, ctx);
  assert.ok(d.json, `body is not JSON: ${d.body.toString('utf8').slice(0, 300)}`);
  assert.equal(d.json.id, d.eventId, 'Innbocks-Event-Id is the event id');
  assert.equal(d.json.type, d.type, 'Innbocks-Event-Type is the event type');
}

/**
 * The overview's verifyInnbocksWebhook, run on one received delivery: true with the raw body as
 * received and the receiver's secret at that time; false for a tampered body and a wrong secret.
 */
export function assertSigned(d, secret = d.secret) {
  assert.ok(secret, `delivery ${d.i} (${d.type} ${d.eventId}) arrived at a receiver with no endpoint secret`);
  assert.equal(verifyInnbocksWebhook(d.body, d.timestamp, d.signature, secret), true,
    `verifyInnbocksWebhook must accept ${d.type} ${d.eventId} (signature ${d.signature}, timestamp ${d.timestamp})`);
  const tampered = Buffer.from(d.body);
  tampered[tampered.length - 2] ^= 1;
  assert.equal(verifyInnbocksWebhook(tampered, d.timestamp, d.signature, secret), false, 'tampered body must not verify');
  const wrong = `whsec_${randomBytes(16).toString('hex')}`;
  assert.equal(verifyInnbocksWebhook(d.body, d.timestamp, d.signature, wrong), false, 'wrong secret must not verify');
  assert.equal(verifyInnbocksWebhook(d.body, String(Number(d.timestamp) + 1), d.signature, secret), false,
    'another timestamp must not verify');
}

/** Runs assertSigned on every delivery every receiver of this process got; returns the count. */
export function assertAllSigned() {
  let n = 0;
  for (const r of receivers) for (const d of r.deliveries) { assertSigned(d); n++; }
  return n;
}
