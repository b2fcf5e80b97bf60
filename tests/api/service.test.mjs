// contrib/innbocks.service (docs/deploy.md): `systemd-analyze verify` accepts it without a single
// warning, its offline security exposure stays low, it carries the hardening docs/deploy.md
// promises, and the server starts with the unit's own ExecStart and settings. The unit itself
// cannot be started here: the test machines are containers without systemd as their first
// process, so what systemd alone would do (the dynamic user, the sandbox) is not exercised.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, BIN, startServer } from './lib.mjs';

const UNIT = path.join(ROOT, 'contrib/innbocks.service');
const text = readFileSync(UNIT, 'utf8');

/** The unit's settings: {Section: {Key: [values]}}. */
function parseUnit(src) {
  const out = {};
  let section = null;
  for (const raw of src.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const s = line.match(/^\[(\w+)\]$/);
    if (s) { section = s[1]; out[section] = {}; continue; }
    const kv = line.match(/^([A-Za-z]+)=(.*)$/);
    assert.ok(kv && section, `not a unit line: ${line}`);
    (out[section][kv[1]] ??= []).push(kv[2]);
  }
  return out;
}
const unit = parseUnit(text);
const svc = unit.Service;
const one = (k) => { assert.equal(svc[k]?.length, 1, `${k} once`); return svc[k][0]; };

/** The unit with ExecStart pointing at the binary under test (verify checks it exists). */
async function unitForThisBuild() {
  const dir = await mkdtemp(path.join(tmpdir(), 'innbocks-unit-'));
  writeFileSync(path.join(dir, 'innbocks.service'), text.replace('ExecStart=/usr/local/bin/innbocks', `ExecStart=${BIN}`));
  return dir;
}

test('systemd-analyze verify accepts the unit without a warning', async () => {
  const dir = await unitForThisBuild();
  try {
    const r = spawnSync('systemd-analyze', ['verify', path.join(dir, 'innbocks.service')], { encoding: 'utf8' });
    assert.equal(r.error, undefined, 'systemd-analyze is needed (scripts/deps.sh installs systemd)');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(r.stderr.trim(), '', `warnings:\n${r.stderr}`);
  } finally { await rm(dir, { recursive: true, force: true }); }
});

test('the unit is hardened: dynamic user, read-only system, no new privileges, a state directory, restart on failure', async () => {
  assert.equal(one('DynamicUser'), 'yes');
  assert.equal(one('ProtectSystem'), 'strict');
  assert.equal(one('NoNewPrivileges'), 'yes');
  assert.equal(one('StateDirectory'), 'innbocks');
  assert.equal(one('Restart'), 'on-failure');
  assert.equal(one('CapabilityBoundingSet'), '');
  for (const k of ['ProtectHome', 'PrivateTmp', 'PrivateDevices', 'ProtectKernelTunables', 'ProtectKernelModules',
    'ProtectControlGroups', 'RestrictSUIDSGID', 'LockPersonality', 'MemoryDenyWriteExecute']) {
    assert.equal(one(k), 'yes', k);
  }
  assert.ok(svc.SystemCallFilter.includes('@system-service'));
  // The database is in the state directory, the only place it may write.
  const env = Object.fromEntries(svc.Environment.map((e) => e.split('=', 2)));
  assert.equal(path.dirname(env.INNBOCKS_DATABASE), `/var/lib/${one('StateDirectory')}`);
  assert.deepEqual(unit.Install.WantedBy, ['multi-user.target']);

  const dir = await unitForThisBuild();
  try {
    const r = spawnSync('systemd-analyze', ['security', '--offline=yes', path.join(dir, 'innbocks.service')], { encoding: 'utf8' });
    const m = (r.stdout + r.stderr).match(/Overall exposure level for innbocks\.service: ([\d.]+)/);
    assert.ok(m, r.stdout + r.stderr);
    assert.ok(Number(m[1]) <= 2.5, `exposure ${m[1]}`);
  } finally { await rm(dir, { recursive: true, force: true }); }
});

test("the server starts with the unit's ExecStart and settings (paths moved to a temporary directory)", async () => {
  const exec = one('ExecStart').split(/\s+/);
  assert.equal(exec[0], '/usr/local/bin/innbocks');
  const env = Object.fromEntries(svc.Environment.map((e) => e.split('=', 2)));
  for (const k of Object.keys(env)) {
    assert.match(readFileSync(path.join(ROOT, 'README.md'), 'utf8'), new RegExp(`\`${k}\``), `${k} is a documented setting`);
  }
  // startServer sets the listen address and database itself; the rest comes from the unit.
  const { INNBOCKS_LISTEN: _l, INNBOCKS_DATABASE: _d, ...rest } = env;
  const srv = await startServer({ env: rest, args: exec.slice(2) });
  try {
    const r = await srv.raw().get('/healthz');
    assert.equal(r.status, 200);
  } finally { await srv.stop(); }
  assert.deepEqual(exec.slice(1), ['serve']);
});
