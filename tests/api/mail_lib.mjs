// Helpers for the inbound-mail and mail-action tests (docs/api.md#mail, #mail-actions, docs/operators.md), on top of lib.mjs:
// eligible and ineligible customers, mail and action bodies, shape checks of the mail and
// mail_action objects, "nothing happened" checks against the outbox, and the 404 comparison used
// by the tenancy tests.
import assert from 'node:assert/strict';
import {
  createCustomer, ok, assertError, assertRecentTime, runCli, uniq, listAll, TIME,
} from './lib.mjs';

/**
 * The `Create Inbound Mail` request body of the public Partner API overview, character for character
 * (only the indentation of the shell quoting removed). `overviewMailBody(id)` puts a real id in
 * place of "cus_123".
 */
export const OVERVIEW_MAIL_TEXT = `{
    "customer_id": "cus_123",
    "type": "package",
    "photos": ["https://example.com/package-front.jpg"],
    "performed_by": "warehouse_user_42",
    "tracking_number": "1Z9999999999999999"
  }`;
export const OVERVIEW_IDEMPOTENCY_KEY = 'inbound_mail_789';
export function overviewMailBody(customerId) {
  return OVERVIEW_MAIL_TEXT.replace('"cus_123"', JSON.stringify(customerId));
}

export const MAIL_KEYS = [
  'id', 'object', 'livemode', 'customer_id', 'mailbox_id', 'type', 'status', 'source', 'photos', 'performed_by',
  'tracking_number', 'carrier', 'sender', 'notes', 'metadata', 'actions', 'received_at', 'created_at',
  'updated_at',
].sort();
export const ACTION_KEYS = [
  'id', 'object', 'livemode', 'mail_id', 'customer_id', 'type', 'status', 'forward_address', 'shipping_speed', 'notes',
  'result', 'failure_reason', 'requested_at', 'completed_at',
].sort();

export const ADDRESS = {
  name: 'Jane Smith', line1: '1 Main St', line2: 'Apt 4', city: 'Austin', state: 'TX', postal_code: '78701', country: 'US',
};
/** A minimal forward address (only the required fields). */
export const MIN_ADDRESS = { name: 'Jane Smith', line1: '1 Main St', city: 'Austin', postal_code: '78701', country: 'US' };

/** A valid POST /mail body for the customer, plus `fields` (undefined values are dropped). */
export function mailBody(customerId, fields = {}) {
  const b = {
    customer_id: customerId, type: 'letter', photos: ['https://example.com/front.jpg'], performed_by: 'clerk_7', ...fields,
  };
  for (const k of Object.keys(b)) if (b[k] === undefined) delete b[k];
  return b;
}

/** Marks a customer approved for mail receipt through the operator API. */
export async function approve(srv, customerId) {
  ok(await srv.admin().post(`/customers/${customerId}/compliance`, { form_1583: 'approved', identity: 'verified' }));
}

/** A customer that may receive mail: prepaid and approved. Returns the customer as GET shows it. */
export async function eligibleCustomer(srv, api, fields = {}) {
  const c = await createCustomer(api, { prepay: true, ...fields });
  await approve(srv, c.id);
  const now = ok(await api.get(`/customers/${c.id}`));
  assert.equal(now.billing_status, 'active');
  assert.equal(now.mail_receipt_approved, true);
  return now;
}

/** Records mail through the Partner API (asserts 201); returns the mail object. */
export async function createMail(api, customerId, fields = {}, opts = {}) {
  return ok(await api.post('/mail', mailBody(customerId, fields), opts), 201);
}

/** Records mail as staff through the operator API (asserts 201); returns the mail object. */
export async function staffMail(srv, customerId, fields = {}) {
  return ok(await srv.admin().post('/mail', mailBody(customerId, fields)), 201);
}

/** Asserts the documented mail object shape (exactly the keys of docs/api.md#mail). */
export function assertMailShape(m) {
  assert.deepEqual(Object.keys(m).sort(), MAIL_KEYS, `mail keys: ${JSON.stringify(m)}`);
  assert.match(m.id, /^mail_[A-Za-z0-9]+$/);
  assert.equal(m.object, 'mail');
  assert.match(m.customer_id, /^cus_/);
  assert.match(m.mailbox_id, /^mbx_/);
  assert.ok(['letter', 'large_envelope', 'package', 'periodical'].includes(m.type), m.type);
  assert.ok(['in_storage', 'forwarded', 'shredded', 'picked_up'].includes(m.status), m.status);
  assert.ok(['partner', 'innbocks'].includes(m.source), m.source);
  assert.ok(Array.isArray(m.photos) && m.photos.length >= 1);
  assert.ok(Array.isArray(m.actions));
  for (const a of m.actions) assertActionShape(a);
  assert.equal(typeof m.metadata, 'object');
  assert.match(m.received_at, TIME);
  assert.match(m.created_at, TIME);
  assert.match(m.updated_at, TIME);
}

/** Asserts the documented mail_action object shape (exactly the keys of docs/api.md#mail-actions). */
export function assertActionShape(a) {
  assert.deepEqual(Object.keys(a).sort(), ACTION_KEYS, `action keys: ${JSON.stringify(a)}`);
  assert.match(a.id, /^act_[A-Za-z0-9]+$/);
  assert.equal(a.object, 'mail_action');
  assert.match(a.mail_id, /^mail_/);
  assert.match(a.customer_id, /^cus_/);
  assert.ok(['scan', 'forward', 'shred', 'pickup'].includes(a.type), a.type);
  assert.ok(['requested', 'completed', 'failed', 'canceled'].includes(a.status), a.status);
  assert.match(a.requested_at, TIME);
  if (a.status === 'requested') assert.equal(a.completed_at, null);
  else assert.match(a.completed_at ?? '', TIME, 'completed_at is set in every final state');
}

/** Requests an action (asserts 201); returns the action. */
export async function requestAction(api, mailId, type, body, opts = {}) {
  const b = body ?? (type === 'forward' ? { forward_address: MIN_ADDRESS } : {});
  return ok(await api.post(`/mail/${mailId}/${type}`, b, opts), 201);
}

/** Completes an action as operator (asserts 200); returns the action. */
export async function completeAction(srv, action, body) {
  const b = body ?? (action.type === 'scan' ? { document_url: 'https://docs.example.com/scan.pdf' }
    : action.type === 'forward' ? { carrier: 'usps', tracking_number: '9400111899223' } : {});
  return ok(await srv.admin().post(`/mail-actions/${action.id}/complete`, b));
}

/** Fails an action as operator (asserts 200); returns the action. */
export async function failAction(srv, action, reason = 'item could not be found') {
  return ok(await srv.admin().post(`/mail-actions/${action.id}/fail`, { reason }));
}

/** Cancels an action as operator (asserts 200); returns the action. */
export async function cancelAction(srv, action) {
  return ok(await srv.admin().post(`/mail-actions/${action.id}/cancel`));
}

/**
 * Runs fn (which makes refused requests) and asserts that the partners' outboxes did not change:
 * no event was added for any of them. Returns fn's value.
 */
export async function assertNoEvents(srv, partnerIds, fn) {
  const ids = Array.isArray(partnerIds) ? partnerIds : [partnerIds];
  const before = [];
  for (const p of ids) before.push((await srv.events(p)).map((e) => e.id));
  const value = await fn();
  for (const [i, p] of ids.entries()) {
    const after = (await srv.events(p)).map((e) => e.id);
    assert.deepEqual(after, before[i], `the outbox of ${p} must be unchanged`);
  }
  return value;
}

/** Every mail item of a customer (all pages). */
export function customerMail(api, customerId, params = {}) {
  return listAll(api, `/customers/${customerId}/mail`, params);
}

/** An id that does not exist but looks like `id` (same prefix and length). */
export function lookalike(id) {
  const cut = id.indexOf('_') + 1;
  const rest = id.slice(cut);
  return id.slice(0, cut) + [...rest].map((ch) => (ch === 'Z' ? 'Y' : 'Z')).join('');
}

/** The error of `r` without request_id, with `id` replaced by a placeholder. */
export function shape(r, id) {
  const { request_id: _, ...rest } = r.body.error;
  if (rest.message) rest.message = rest.message.split(id).join('<id>');
  return rest;
}

/**
 * Asserts that `foreign` (a request about another partner's `foreignId`) and `missing` (the same
 * request about the never-existing `missingId`) are both 404 not_found with identical bodies
 * apart from request_id and the id itself.
 */
export function assertSame404(foreign, foreignId, missing, missingId, param) {
  assertError(foreign, 404, 'not_found', param);
  assertError(missing, 404, 'not_found', param);
  assert.deepEqual(shape(foreign, foreignId), shape(missing, missingId), 'a foreign id must look exactly like a missing one');
  assert.equal(foreign.headers.get('content-type'), missing.headers.get('content-type'));
}

/** Runs the command line against the server's database. */
export function cli(srv, args) {
  return runCli(['--database', srv.dbPath, ...args]);
}

/** Runs a command that must succeed and print JSON; returns the JSON. */
export async function cliOk(srv, args) {
  const r = await cli(srv, args);
  assert.equal(r.code, 0, `innbocks ${args.join(' ')} failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
  assert.ok(r.json, `stdout is not JSON: ${r.stdout}`);
  return r.json;
}

/** Runs a command that must be refused: exit 1, the error JSON on stderr. Returns the error object. */
export async function cliRefused(srv, args, code) {
  const r = await cli(srv, args);
  assert.equal(r.code, 1, `innbocks ${args.join(' ')} should exit 1, got ${r.code}:\n${r.stdout}\n${r.stderr}`);
  let parsed;
  try { parsed = JSON.parse(r.stderr); } catch {}
  assert.ok(parsed?.error, `stderr must hold the error JSON: ${r.stderr}`);
  if (code) assert.equal(parsed.error.code, code, r.stderr);
  return parsed.error;
}

export { uniq, assertRecentTime };
