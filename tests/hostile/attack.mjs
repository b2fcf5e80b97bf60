#!/usr/bin/env node
// attack.mjs - the hostile-client attacks of the hardening issue at full scale, for figures (the
// test suite runs small versions of each: slow_clients, upload_memory, fd_limit). Against a
// fresh server with the default deadlines (10 s), it prints one line per attack:
//
//   slowloris   CONNS connections from 8 addresses dribbling a header byte a second for SECONDS;
//               a fresh client asks GET /healthz every second: how many were answered (5 s
//               timeout) and how long the dribblers were held;
//   one-address the same with 1030 connections from 127.0.0.1, then fresh requests from there;
//   uploads     1000 and 2000 uploads announcing 1 MiB with an invalid key, stalled after
//               256 KiB: the server's resident memory before, at the peak and after.
//
//   node tests/hostile/attack.mjs [CONNS=4200] [SECONDS=60]   (INNBOCKS_BIN picks the binary)
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { startServer, sleep } from '../api/lib.mjs';

const CONNS = Number(process.argv[2] ?? 4200);
const SECONDS = Number(process.argv[3] ?? 60);

const srv = await startServer();
const rssMiB = () => Number(readFileSync(`/proc/${srv.proc.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]) / 1024;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** Dribbles a header byte a second from `address` until the server closes; resolves with ms held. */
function dribbler(address, stopAt) {
  return new Promise((resolve) => {
    const opened = Date.now();
    const s = net.connect({ port: srv.port, host: '127.0.0.1', localAddress: address });
    let timer;
    s.on('connect', () => {
      s.write('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ');
      timer = setInterval(() => {
        if (Date.now() > stopAt) s.destroy();
        else if (!s.destroyed) s.write('x');
      }, 1000);
    });
    s.on('error', () => {});
    s.on('close', () => { clearInterval(timer); resolve(Date.now() - opened); });
  });
}

/** Asks GET /healthz from `address` once a second until stopAt; returns [answered, asked, ms]. */
async function freshClients(address, stopAt) {
  let answered = 0;
  let asked = 0;
  const ms = [];
  while (Date.now() < stopAt) {
    asked++;
    const t0 = Date.now();
    const ok = await new Promise((resolve) => {
      const s = net.connect({ port: srv.port, host: '127.0.0.1', localAddress: address });
      let text = '';
      const give = (v) => { s.destroy(); resolve(v); };
      const timer = setTimeout(() => give(false), 5000);
      s.on('connect', () => s.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      s.on('data', (d) => { text += d; if (/^HTTP\/1\.1 200 /.test(text)) { clearTimeout(timer); give(true); } });
      s.on('error', () => { clearTimeout(timer); give(false); });
    });
    if (ok) { answered++; ms.push(Date.now() - t0); }
    await sleep(1000);
  }
  return [answered, asked, ms];
}

async function slowloris(name, conns, addresses, freshFrom) {
  const stopAt = Date.now() + SECONDS * 1000;
  const held = [];
  for (let i = 0; i < conns; i++) {
    held.push(dribbler(addresses[i % addresses.length], stopAt));
    if (i % 200 === 199) await sleep(50); // the listen backlog is 1024
  }
  const [answered, asked, ms] = await freshClients(freshFrom, stopAt);
  const lives = await Promise.all(held);
  console.log(`${name.padEnd(12)} ${conns} dribbling connections for ${SECONDS} s: fresh requests `
    + `${answered}/${asked} answered (median ${median(ms)} ms, max ${Math.max(0, ...ms)} ms); `
    + `dribblers held median ${(median(lives) / 1000).toFixed(1)} s, max ${(Math.max(...lives) / 1000).toFixed(1)} s`);
}

async function uploads(n) {
  const base = rssMiB();
  let peak = base;
  const socks = await Promise.all(Array.from({ length: n }, (_, i) => new Promise((resolve) => {
    const s = net.connect({ port: srv.port, host: '127.0.0.1', localAddress: `127.0.0.${2 + (i % 8)}` });
    s.on('error', () => {});
    s.on('connect', () => {
      s.write('POST /api/v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer '
        + 'ib_live_00000000000000000000000000000000\r\nContent-Type: application/json\r\n'
        + `Content-Length: ${1024 * 1024}\r\n\r\n`);
      s.write(Buffer.alloc(256 * 1024, 0x20), () => resolve(s));
    });
  })));
  for (let i = 0; i < 10; i++) { peak = Math.max(peak, rssMiB()); await sleep(200); }
  for (const s of socks) s.destroy();
  await sleep(2000);
  console.log(`${'uploads'.padEnd(12)} ${n} stalled 1 MiB uploads, invalid key: RSS ${base.toFixed(0)} MiB `
    + `before, ${peak.toFixed(0)} MiB peak, ${rssMiB().toFixed(0)} MiB after`);
}

const spread = Array.from({ length: 8 }, (_, i) => `127.0.0.${2 + i}`);
try {
  await slowloris('slowloris', CONNS, spread, '127.0.0.20');
  await slowloris('one-address', 1030, ['127.0.0.1'], '127.0.0.1');
  await uploads(1000);
  await uploads(2000);
} finally {
  await srv.stop();
}
