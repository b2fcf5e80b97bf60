// The OpenAPI document as partners use it: clients generated from it with openapi-typescript,
// @hey-api/openapi-ts and orval (pinned in tests/package.json, run offline) must compile against
// what a CRM writes (tests/clients/probe.ts: a created key's `secret` is a string, request
// fields with defaults may be left out, 404 route_not_found and 405 are ordinary responses),
// with no raw control character in any generated file. scripts/openapi_split.py must cut the
// document into a partner and an operator document that hold every path once, lint clean. The
// webhook URL pattern must refuse every URL the server refuses for its shape.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, copyFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DOCUMENT_TEST, ROOT, startServer, assertError } from './lib.mjs';

const BIN = path.join(ROOT, 'tests', 'node_modules', '.bin');
let dir;
let docs; // {whole, partner, operator}: paths of the generated JSON documents

/** Runs a command; resolves with {code, out} (stdout and stderr together). */
function run(cmd, args, cwd) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' } });
    let out = '';
    p.stdout.on('data', (c) => { out += c; });
    p.stderr.on('data', (c) => { out += c; });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, out }));
  });
}

async function runOk(cmd, args, cwd = dir) {
  const r = await run(cmd, args, cwd);
  assert.equal(r.code, 0, `${path.basename(cmd)} ${args.join(' ')} failed:\n${r.out}`);
  return r.out;
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'innbocks-clients-'));
  await runOk('/usr/bin/python3', [path.join(ROOT, 'scripts', 'openapi_split.py'), path.join(ROOT, 'openapi', 'innbocks.yaml'), dir]);
  docs = {
    whole: path.join(dir, 'innbocks.json'),
    partner: path.join(dir, 'innbocks-partner.json'),
    operator: path.join(dir, 'innbocks-operator.json'),
  };
});
after(async () => { if (dir) await rm(dir, { recursive: true, force: true }); });

const readJson = async (f) => JSON.parse(await readFile(f, 'utf8'));

test('the partner and operator documents split the whole one: each path once, and they lint clean', DOCUMENT_TEST, async () => {
  const [whole, partner, operator] = await Promise.all([docs.whole, docs.partner, docs.operator].map(readJson));
  const p = Object.keys(partner.paths);
  const o = Object.keys(operator.paths);
  assert.ok(p.length > 10 && p.every((x) => x.startsWith('/api/v1/') || x === '/healthz'), `partner paths: ${p}`);
  assert.ok(o.length > 10 && o.every((x) => x.startsWith('/admin/v1/') || x === '/healthz' || x === '/metrics'), `operator paths: ${o}`);
  assert.deepEqual([...new Set([...p, ...o])].sort(), Object.keys(whole.paths).sort(), 'together they hold every path');
  assert.ok(partner.webhooks && !operator.webhooks, 'the webhook events belong to the partner document');
  assert.deepEqual(Object.keys(partner.components.securitySchemes), ['partnerKey']);
  assert.deepEqual(Object.keys(operator.components.securitySchemes), ['operatorToken']);
  for (const f of [docs.partner, docs.operator]) {
    const r = await run(path.join(BIN, 'redocly'), ['lint', '--config', path.join(ROOT, 'tests', 'redocly.yaml'), '--format', 'json', f]);
    const report = JSON.parse(r.out.slice(r.out.indexOf('{'), r.out.lastIndexOf('}') + 1));
    const problems = report.problems.map((x) => `${x.severity} ${x.ruleId}: ${x.message}`).join('\n');
    assert.equal(report.totals.errors + report.totals.warnings, 0, `${path.basename(f)}:\n${problems}`);
  }
});

test('clients from three generators compile against what a CRM writes, with no control characters', DOCUMENT_TEST, async () => {
  const gen = path.join(dir, 'gen');
  await copyFile(path.join(ROOT, 'tests', 'clients', 'probe.ts'), path.join(dir, 'probe.ts'));
  await Promise.all([
    runOk(path.join(BIN, 'openapi-typescript'), [docs.whole, '-o', path.join(gen, 'openapi-typescript.ts')]),
    runOk(path.join(BIN, 'openapi-ts'), ['-i', docs.whole, '-o', path.join(gen, 'hey-api')]),
    runOk(path.join(BIN, 'orval'), ['--input', docs.whole, '--output', path.join(gen, 'orval', 'api.ts'), '--client', 'fetch']),
  ]);
  const files = (await readdir(gen, { recursive: true })).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length >= 3, `generated: ${files}`);
  for (const f of files) {
    const text = await readFile(path.join(gen, f), 'utf8');
    const m = /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]/.exec(text);
    assert.equal(m, null, m && `${f}: raw control character U+${m[0].charCodeAt(0).toString(16).padStart(4, '0')} near ${JSON.stringify(text.slice(m.index - 60, m.index + 10))}`);
  }
  const r = await run(path.join(BIN, 'tsc'), ['--noEmit', '--strict', '--skipLibCheck', '--target', 'es2022', '--module', 'esnext',
    '--moduleResolution', 'bundler', '--lib', 'es2022,dom', 'probe.ts'], dir);
  assert.equal(r.code, 0, `the generated clients do not fit tests/clients/probe.ts:\n${r.out}`);
});

test('every operation lists 404 and 405 among its responses, for the clients\' error types', async () => {
  const whole = await readJson(docs.whole);
  const missing = [];
  for (const [p, item] of Object.entries(whole.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!op.responses) continue;
      for (const s of ['404', '405']) if (!op.responses[s]) missing.push(`${method.toUpperCase()} ${p}: ${s}`);
    }
  }
  assert.deepEqual(missing, []);
});

test('a client generated from the partner document holds no operator API', DOCUMENT_TEST, async () => {
  const out = path.join(dir, 'partner.ts');
  await runOk(path.join(BIN, 'openapi-typescript'), [docs.partner, '-o', out]);
  const text = await readFile(out, 'utf8');
  assert.match(text, /"\/api\/v1\/customers"/);
  assert.doesNotMatch(text, /^ *"\/admin\/v1|operatorToken|listPartners/m, "no operator path, operation or scheme");
});

test('the webhook URL pattern refuses every URL the server refuses for its shape', async () => {
  const whole = await readJson(docs.whole);
  const schemas = whole.components.schemas;
  const patterns = [schemas.WebhookEndpointCreate.properties.url.pattern, schemas.WebhookEndpointUpdate.properties.url.pattern];
  // (The server's URL parser also takes `https:///hooks` and `https:/example.com` as host
  // `hooks` and `example.com`; the pattern is stricter there, which is allowed.)
  const bad = ['https://', 'https://:443/hooks', 'https://?x', 'https://#x', 'ftp://example.com/',
    'https://exa mple.com/', 'https://example.com/\thooks', 'example.com/hooks'];
  const good = ['https://crm.example.com/hooks/innbocks', 'HTTPS://crm.example.com:8443/x?y=1', 'http://127.0.0.1:9/x'];
  const srv = await startServer({ env: { INNBOCKS_WEBHOOK_ALLOW_LOOPBACK: '1' } });
  try {
    const partner = await srv.createPartner();
    for (const url of bad) {
      assertError(await srv.admin().post(`/partners/${partner.id}/webhook-endpoints`, { url }), 422, 'validation_failed', 'url');
      for (const p of patterns) assert.doesNotMatch(url, new RegExp(p), `the document's pattern ${p} lets ${JSON.stringify(url)} through`);
    }
    for (const url of good) for (const p of patterns) assert.match(url, new RegExp(p));
  } finally {
    await srv.stop();
  }
});
