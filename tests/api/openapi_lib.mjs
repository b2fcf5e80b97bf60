// The OpenAPI document as the black-box tests see it: openapi/innbocks.yaml loaded once per
// process, and validateResponse(), which lib.mjs's request helpers call on every response they
// receive. It finds the operation by method and path template, the response by status code,
// checks the documented headers and validates the JSON body with ajv (JSON Schema 2020-12, the
// dialect of OpenAPI 3.1) compiled from the document itself. Anything the document does not
// describe (an unknown route answering other than 404/405, an undocumented status, a body or
// header that does not match) throws, failing the test that made the request.
//
// Response objects are checked strictly: a schema object with `properties` and no
// `additionalProperties` is treated as `additionalProperties: false` here, so a field the
// server sends but the document does not list fails too. (The document itself leaves response
// objects open, so that clients tolerate fields added later.)
import { execFileSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DOC_PATH = path.join(ROOT, 'openapi', 'innbocks.yaml');
const DOC_ID = 'https://innbocks.test/openapi.json';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
// Headers the server sets itself: present but not documented for the response is a mismatch.
const SERVER_HEADERS = ['x-request-id', 'idempotent-replayed', 'ratelimit-limit', 'ratelimit-remaining',
  'ratelimit-reset', 'retry-after', 'allow'];

let Ajv2020;
let addFormats;
try {
  ({ default: Ajv2020 } = await import('ajv/dist/2020.js'));
  ({ default: addFormats } = await import('ajv-formats'));
} catch (err) {
  throw new Error('the OpenAPI response validation needs the test packages pinned in tests/package.json: '
    + `run \`(cd tests && npm ci)\` (scripts/test.sh does) [${err.message}]`);
}

/** Reads openapi/innbocks.yaml as JSON (through PyYAML, as the build's embed_openapi.py does). */
export function loadDocument(file = DOC_PATH) {
  const script = 'import json, sys, yaml\n'
    + 'with open(sys.argv[1], encoding="utf-8") as f:\n'
    + '    json.dump(yaml.safe_load(f), sys.stdout, ensure_ascii=False)\n';
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, file], { encoding: 'utf8', maxBuffer: 64 << 20 }));
}

/** The document, parsed once per process. */
export const doc = loadDocument();

/** Returns the object a JSON pointer ("#/a/b") names in the document. */
function at(pointer) {
  let v = doc;
  for (const part of pointer.replace(/^#\//, '').split('/')) {
    v = v?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  if (v === undefined) throw new Error(`openapi: ${pointer} does not exist in ${DOC_PATH}`);
  return v;
}
const esc = (s) => String(s).replace(/~/g, '~0').replace(/\//g, '~1');

/** Follows `$ref`s (Reference Objects); returns {value, pointer}. */
function deref(value, pointer) {
  for (let i = 0; value && typeof value.$ref === 'string' && i < 20; i++) {
    pointer = value.$ref;
    value = at(pointer);
  }
  return { value, pointer };
}

/** A copy of the document in which open response objects are closed (see the top comment). */
function strictCopy(node, inAllOf = false) {
  if (Array.isArray(node)) return node.map((n) => strictCopy(n, inAllOf));
  if (!node || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'allOf' && Array.isArray(v)) out[k] = v.map((n) => strictCopy(n, true));
    else if (k === 'example' || k === 'examples') out[k] = v;
    else out[k] = strictCopy(v);
  }
  if (!inAllOf && out.properties && typeof out.properties === 'object' && !Array.isArray(out.properties)
      && !('additionalProperties' in out) && !('unevaluatedProperties' in out)) {
    out.additionalProperties = false;
  }
  return out;
}

const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false, strictRequired: false });
addFormats(ajv);
// OpenAPI's own schema keywords, and the document's top-level fields (the document is added
// whole, so that every `#/components/...` reference resolves), are annotations to ajv.
ajv.addVocabulary(['discriminator', 'example', 'xml', 'externalDocs']);
ajv.addVocabulary(Object.keys(doc).filter((k) => !ajv.getKeyword(k)));
ajv.addSchema(strictCopy(doc), DOC_ID);

/** The compiled validator of the schema at pointer. */
function validator(pointer) {
  const v = ajv.getSchema(DOC_ID + pointer);
  if (!v) throw new Error(`openapi: cannot compile ${pointer}`);
  return v;
}

// Every operation: {method, template, segments, op, pointer}.
const operations = [];
for (const [template, item] of Object.entries(doc.paths ?? {})) {
  for (const m of METHODS) {
    if (item[m]) {
      operations.push({ method: m.toUpperCase(), template, segments: template.split('/'), op: item[m], pointer: `#/paths/${esc(template)}/${m}` });
    }
  }
}
export { operations };

/** Turns a request target into the path the server routes (query dropped, percent-decoded). */
function routedPath(target) {
  const p = target.split('?')[0];
  try { return decodeURIComponent(p); } catch { return p; }
}

/** True when the path fits the template ("{x}" matches one non-empty segment). */
function fits(segments, pathSegments) {
  return segments.length === pathSegments.length
    && segments.every((s, i) => (s.startsWith('{') && s.endsWith('}') ? pathSegments[i] !== '' : s === pathSegments[i]));
}

/** The documented operation for method and path: {op, ...} ; {pathKnown: true} ; or null. */
export function findOperation(method, target) {
  const segs = routedPath(target).split('/');
  const candidates = operations.filter((o) => fits(o.segments, segs));
  if (candidates.length === 0) return null;
  const byMethod = candidates.filter((o) => o.method === method.toUpperCase());
  if (byMethod.length === 0) return { pathKnown: true, allowed: [...new Set(candidates.map((o) => o.method))] };
  // Literal segments win over templates, like any router would have it.
  byMethod.sort((a, b) => a.template.split('{').length - b.template.split('{').length);
  return byMethod[0];
}

/** How many responses (and webhook deliveries) this process validated (reported through INNBOCKS_OPENAPI_STATS). */
export const stats = { validated: 0, webhooks: 0, byOperation: new Map() };
if (process.env.INNBOCKS_OPENAPI_STATS) {
  process.on('exit', () => {
    const ops = [...stats.byOperation].map(([k, n]) => `${k}=${n}`).join(' ');
    appendFileSync(process.env.INNBOCKS_OPENAPI_STATS,
      `${stats.validated}\t${stats.webhooks}\t${path.basename(process.argv[1] ?? '?')}\t${ops}\n`);
  });
}

/** Checks a header value against its schema (header values are strings; integers are coerced). */
function checkHeader(name, value, header, headerPointer, problems) {
  const { value: schema, pointer } = deref(header.schema, `${headerPointer}/schema`);
  let v = value;
  const types = [].concat(schema?.type ?? []);
  if (types.includes('integer') && /^-?[0-9]+$/.test(value)) v = Number(value);
  const validate = validator(pointer);
  if (!validate(v)) problems.push(`header ${name}: ${JSON.stringify(value)} ${ajv.errorsText(validate.errors, { dataVar: name })}`);
}

/**
 * Validates one response against the document. res: {status, headers (a Headers), text, body
 * (parsed JSON or undefined), method, path}; target: the path (and query) the server received.
 * Throws with the operation, the status and the problems when it does not match.
 */
export function validateResponse(res, target = res.path) {
  // The dashboard's JSON API and pages (/dashboard/) are internal to the dashboard, not part of
  // the public document; tests/api/dashboard*.test.mjs check them.
  if (target.startsWith('/dashboard/')) return;
  const method = res.method.toUpperCase();
  const found = findOperation(method, target);
  let pointer;
  let label;
  if (found === null) {
    pointer = '#/components/responses/RouteNotFound';
    label = `no documented path (expects 404 route_not_found)`;
    if (res.status !== 404) fail(res, label, [`status ${res.status}: a path the document does not have must answer 404 route_not_found`]);
  } else if (found.pathKnown) {
    pointer = '#/components/responses/MethodNotAllowed';
    label = `${method} not documented for this path (expects 405 method_not_allowed; allowed ${found.allowed.join(', ')})`;
    if (res.status !== 405) fail(res, label, [`status ${res.status}: a method the document does not have for a path must answer 405 method_not_allowed`]);
  } else {
    const responses = found.op.responses ?? {};
    const s = String(res.status);
    const key = [s, `${s[0]}XX`, 'default'].find((k) => responses[k]);
    label = `operation ${found.op.operationId} (${found.method} ${found.template})`;
    if (!key) fail(res, label, [`status ${res.status} is not documented (documented: ${Object.keys(responses).join(', ')})`]);
    pointer = `${found.pointer}/responses/${esc(key)}`;
  }
  const { value: response, pointer: responsePointer } = deref(at(pointer), pointer);
  const problems = [];

  // Headers: the documented ones (required present, values valid), and none of the server's own
  // headers beyond them.
  const documented = new Set();
  for (const [name, h] of Object.entries(response.headers ?? {})) {
    const hp = `${responsePointer}/headers/${esc(name)}`;
    const { value: header, pointer: headerPointer } = deref(h, hp);
    documented.add(name.toLowerCase());
    const value = res.headers.get(name);
    if (value === null) {
      if (header.required) problems.push(`required header ${name} is missing`);
      continue;
    }
    checkHeader(name, value, header, headerPointer, problems);
  }
  for (const name of SERVER_HEADERS) {
    if (res.headers.get(name) !== null && !documented.has(name)) problems.push(`header ${name} is sent but not documented for this response`);
  }

  // Body.
  const content = response.content ?? {};
  const media = Object.keys(content);
  if (method !== 'HEAD') {
    if (media.length === 0) {
      if (res.text.length > 0) problems.push('a body is sent but the response documents none');
    } else {
      const ctype = (res.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
      if (!media.includes(ctype)) problems.push(`Content-Type ${JSON.stringify(res.headers.get('content-type'))} is not documented (${media.join(', ')})`);
      else if (ctype === 'application/json') {
        if (res.body === undefined) problems.push('the body is not JSON');
        else {
          const validate = validator(`${responsePointer}/content/${esc(ctype)}/schema`);
          if (!validate(res.body)) {
            for (const e of validate.errors.slice(0, 15)) problems.push(`body${e.instancePath} ${e.message}${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''} (${e.schemaPath})`);
            if (validate.errors.length > 15) problems.push(`... ${validate.errors.length - 15} more`);
          }
        }
      }
    }
  }
  if (problems.length) fail(res, `${label}, response ${responsePointer}`, problems);
  stats.validated++;
  const k = found?.op ? `${found.op.operationId}:${res.status}` : `global:${res.status}`;
  stats.byOperation.set(k, (stats.byOperation.get(k) ?? 0) + 1);
}

function fail(res, label, problems) {
  const err = new Error(`response does not match openapi/innbocks.yaml: ${res.method} ${res.path} -> ${res.status}\n`
    + `  ${label}\n  - ${problems.join('\n  - ')}\n  body: ${String(res.text ?? '').slice(0, 1500)}`);
  err.code = 'ERR_OPENAPI_MISMATCH';
  throw err;
}

/**
 * Validates one webhook delivery a test receiver got against the document's `webhooks`: the
 * entry named by its Innbocks-Event-Type, its header parameters and its request body schema.
 * d: {headers (lower-case names), json (the parsed body)}. Throws like validateResponse.
 */
export function validateWebhookDelivery(d) {
  const type = d.headers['innbocks-event-type'];
  const label = `webhook ${type}`;
  const res = { method: 'POST', path: `(webhook delivery ${type})`, status: '-', text: JSON.stringify(d.json) };
  const item = doc.webhooks?.[type]?.post;
  if (!item) fail(res, label, [`no webhooks entry for Innbocks-Event-Type ${JSON.stringify(type)}`]);
  const base = `#/webhooks/${esc(type)}/post`;
  const problems = [];
  (item.parameters ?? []).forEach((p, i) => {
    const { value: param, pointer } = deref(p, `${base}/parameters/${i}`);
    if (param.in !== 'header') return;
    const value = d.headers[param.name.toLowerCase()];
    if (value === undefined) {
      if (param.required) problems.push(`required header ${param.name} is missing`);
      return;
    }
    checkHeader(param.name, value, param, pointer, problems);
  });
  const validate = validator(`${base}/requestBody/content/application~1json/schema`);
  if (d.json === undefined) problems.push('the body is not JSON');
  else if (!validate(d.json)) {
    for (const e of validate.errors.slice(0, 15)) problems.push(`body${e.instancePath} ${e.message} (${e.schemaPath})`);
  }
  if (problems.length) fail(res, label, problems);
  stats.webhooks++;
}
