#!/usr/bin/env node
// kill9_trial.mjs - the kill -9 trial: ROUNDS rounds (default 20) of mixed load against one
// database (customers created with Idempotency-Keys, inbound mail for eligible customers, mail
// actions, a webhook receiver taking every event), each ended by SIGKILL at a random moment.
// After every round the database passes `PRAGMA integrity_check`, the restarted server serves
// every acknowledged customer, mail item and action, the outbox holds an event for each of them,
// and in the end the receiver has got every event the outbox holds (duplicates allowed).
//
//   node tests/hostile/kill9_trial.mjs [ROUNDS]      (INNBOCKS_BIN picks the binary)
//
// It prints one line per round and a final `N passed, M failed` line; exit 1 on any loss.
import { execFileSync } from 'node:child_process';
import {
  startServer, ok, customerBody, uniq, sleep,
} from '../api/lib.mjs';
import { WEBHOOK_ENV, receiver, createEndpoint, closeReceivers } from '../api/webhook_lib.mjs';
import { mailBody, approve, ADDRESS } from '../api/mail_lib.mjs';

const ROUNDS = Number(process.argv[2] ?? 20);

const srv = await startServer({ env: WEBHOOK_ENV });
const tn = await srv.tenant();
const hook = await receiver(200);
await createEndpoint(srv, tn.partner.id, hook);

const acked = { customers: [], mail: [], actions: [] };
const eligible = [];
let passed = 0;
let failed = 0;

/** One client: a mix of writes until stop(); answers that are not 2xx (except known refusals) fail. */
async function client(stop, errors) {
  while (!stop()) {
    try {
      const r = Math.random();
      if (r < 0.5 || eligible.length === 0) {
        const res = await tn.api.post('/customers', customerBody({ prepay: true }), { idem: uniq('k9-'), timeout: 10000 });
        if (res.status !== 201) errors.push(`create ${res.status}`);
        else acked.customers.push(res.body.id);
      } else if (r < 0.8) {
        const cus = eligible[Math.floor(Math.random() * eligible.length)];
        const res = await tn.api.post('/mail', mailBody(cus), { idem: uniq('k9m-'), timeout: 10000 });
        if (res.status !== 201) errors.push(`mail ${res.status}`);
        else acked.mail.push(res.body.id);
      } else if (acked.mail.length) {
        const m = acked.mail[Math.floor(Math.random() * acked.mail.length)];
        const res = await tn.api.post(`/mail/${m}/forward`, { forward_address: ADDRESS }, { timeout: 10000 });
        if (res.status === 201) acked.actions.push(res.body.id);
        else if (res.status !== 409) errors.push(`action ${res.status}`); // 409: already has one
      }
    } catch {
      return; // the server died under this request: its outcome is unknown
    }
  }
}

function integrityCheck() {
  return execFileSync('sqlite3', [srv.dbPath, 'PRAGMA integrity_check;'], { encoding: 'utf8' }).trim();
}

for (let round = 1; round <= ROUNDS; round++) {
  const problems = [];
  // A few eligible customers to receive mail (made while the server is up).
  if (eligible.length < 5) {
    const c = ok(await tn.api.post('/customers', customerBody({ prepay: true })), 201);
    await approve(srv, c.id);
    eligible.push(c.id);
    acked.customers.push(c.id);
  }
  let stopped = false;
  const errors = [];
  const clients = Array.from({ length: 4 }, () => client(() => stopped, errors));
  await sleep(300 + Math.floor(Math.random() * 1200));
  await srv.kill9();
  stopped = true;
  await Promise.all(clients);
  problems.push(...errors);
  const check = integrityCheck();
  if (check !== 'ok') problems.push(`integrity_check: ${check}`);
  await srv.restart();
  for (const id of acked.customers) {
    const r = await tn.api.get(`/customers/${id}`);
    if (r.status !== 200) problems.push(`customer ${id} lost (${r.status})`);
  }
  for (const id of acked.mail) {
    const r = await tn.api.get(`/mail/${id}`);
    if (r.status !== 200) problems.push(`mail ${id} lost (${r.status})`);
  }
  const actionIds = new Set();
  for (const id of acked.mail) for (const a of (await tn.api.get(`/mail/${id}`)).body?.actions ?? []) actionIds.add(a.id);
  for (const id of acked.actions) if (!actionIds.has(id)) problems.push(`action ${id} lost`);
  const events = await srv.events(tn.partner.id);
  const about = new Set(events.map((e) => e.data.object.id));
  for (const id of [...acked.customers, ...acked.mail, ...acked.actions]) {
    if (!about.has(id)) problems.push(`no event about ${id}`);
  }
  console.log(`round ${round}: ${acked.customers.length} customers, ${acked.mail.length} mail, `
    + `${acked.actions.length} actions acknowledged so far; ${problems.length ? problems.slice(0, 5).join('; ') : 'nothing lost, integrity ok'}`);
  if (problems.length) failed++; else passed++;
}

// Every event in the outbox reaches the receiver (at least once), whatever the kills interrupted.
const outbox = (await srv.events(tn.partner.id)).map((e) => e.id);
try {
  await hook.waitForEvents(outbox, 60000);
  console.log(`webhooks: all ${outbox.length} events delivered (${hook.deliveries.length} deliveries)`);
  passed++;
} catch (err) {
  console.log(`webhooks: ${err.message.slice(0, 300)}`);
  failed++;
}
await closeReceivers();
await srv.stop();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
