// Covers group commit (writer.c) and its switch (INNBOCKS_GROUP_COMMIT): many writes arriving
// together are committed as batches, yet each request keeps its own outcome — a refused request
// in the middle of a batch leaves nothing behind while its neighbours land, one Idempotency-Key
// sent many times at once has one effect, and every 201 is readable; the same guarantees hold
// with group commit turned off, where each request commits on its own.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, assertError, ok, customerBody, listAll, uniq,
} from './lib.mjs';

const servers = {};

before(async () => {
  servers.on = await startServer();
  servers.off = await startServer({ env: { INNBOCKS_GROUP_COMMIT: '0' } });
});
after(async () => {
  await servers.on?.stop();
  await servers.off?.stop();
});

for (const mode of ['on', 'off']) {
  test(`group commit ${mode}: a refused request among concurrent writes changes nothing, the others all land`, async () => {
    const srv = servers[mode];
    const tn = await srv.tenant();
    const good = Array.from({ length: 40 }, () => customerBody());
    const bad = Array.from({ length: 10 }, () => customerBody({ email: 'not an address' }));
    const sent = [...good, ...bad].sort(() => Math.random() - 0.5);
    const { value: results, types } = await srv.captureEvents(tn.partner.id,
      () => Promise.all(sent.map((b) => tn.api.post('/customers', b))));
    const created = results.filter((r) => r.status === 201);
    assert.equal(created.length, good.length);
    for (const r of results.filter((x) => x.status !== 201)) assertError(r, 422, 'validation_failed', 'email');
    const listed = await listAll(tn.api, '/customers');
    assert.deepEqual(listed.map((c) => c.id).sort(), created.map((r) => r.body.id).sort());
    assert.equal(new Set(created.map((r) => r.body.mailbox_id)).size, good.length);
    assert.deepEqual(types, Array(good.length).fill('customer.created'));
  });

  test(`group commit ${mode}: one Idempotency-Key sent 20 times at once has one effect`, async () => {
    const srv = servers[mode];
    const tn = await srv.tenant();
    const key = uniq('idem');
    const body = customerBody();
    const results = await Promise.all(Array.from({ length: 20 }, () => tn.api.post('/customers', body, { idem: key })));
    const ids = new Set();
    for (const r of results) {
      if (r.status === 409) { assertError(r, 409, 'idempotency_key_in_use'); continue; }
      ids.add(ok(r, 201).id);
    }
    assert.equal(ids.size, 1);
    assert.equal((await listAll(tn.api, '/customers')).length, 1);
    assert.equal((await srv.events(tn.partner.id, 'customer.created')).length, 1);
    const replay = await tn.api.post('/customers', body, { idem: key });
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(ok(replay, 201), results.find((r) => r.status === 201).body);
  });

  test(`group commit ${mode}: a reused key with another body is refused while its first use stands`, async () => {
    const srv = servers[mode];
    const tn = await srv.tenant();
    const key = uniq('idem');
    const [first, second] = await Promise.all([
      tn.api.post('/customers', customerBody(), { idem: key }),
      tn.api.post('/customers', customerBody(), { idem: key }),
    ]);
    const statuses = [first.status, second.status].sort();
    assert.ok(statuses[0] === 201 && [409, 422].includes(statuses[1]), `got ${statuses}`);
    assert.equal((await listAll(tn.api, '/customers')).length, 1);
  });
}
