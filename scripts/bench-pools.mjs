#!/usr/bin/env node
// Measures what a pool costs on the request path: GET 1 KiB through one Dito, alternating between a
// single-target location and a 3-target round-robin pool over the same upstream process (one
// process listening on 3 ports, so upstream capacity is equal). Prints requests/s and the ratio.
// Usage: node scripts/bench-pools.mjs [seconds=5] [repeats=3] [connections=50]; needs wrk and a build.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [seconds = '5', repeats = '3', connections = '50'] = process.argv.slice(2);

async function freePort() {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const upstreamCode = `
const http = require('node:http');
const body = Buffer.alloc(1024, 'x');
for (const port of process.argv.slice(1).map(Number)) {
  http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
    res.end(body);
  }).listen(port, '127.0.0.1');
}`;

async function waitForPort(port) {
  for (let i = 0; i < 200; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/single`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing answers on ${port}`);
}

/** CPU seconds (user + system) the process has used: robust to other load on a shared machine. */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function wrk(port, location, pid) {
  const cpuBefore = cpuSeconds(pid);
  const out = spawnSync(
    'wrk',
    ['-t1', `-c${connections}`, `-d${seconds}s`, `http://127.0.0.1:${port}${location}`],
    { encoding: 'utf8' },
  );
  const cpu = cpuSeconds(pid) - cpuBefore;
  const total = /(\d+) requests in/.exec(out.stdout);
  const match = /Requests\/sec:\s+([0-9.]+)/.exec(out.stdout);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out.stdout);
  if (!match) throw new Error(`wrk failed: ${out.stderr || out.stdout}`);
  if (errors) throw new Error(`${errors[1]} failed responses on ${location}`);
  return { rps: Number(match[1]), cpuMicros: (cpu * 1e6) / Number(total[1]) };
}

const ports = [await freePort(), await freePort(), await freePort()];
const ditoPort = await freePort();
const upstream = spawn(process.execPath, ['-e', upstreamCode, ...ports.map(String)], { stdio: 'inherit' });
const dir = mkdtempSync(path.join(tmpdir(), 'dito-bench-pools-'));
const config = path.join(dir, 'config.yaml');
writeFileSync(
  config,
  [
    `port: ${ditoPort}`,
    'logging: { enabled: false }',
    'locations:',
    '  - path: "^/single"',
    `    target_url: http://127.0.0.1:${ports[0]}`,
    '  - path: "^/pool"',
    `    targets: [${ports.map((p) => `"http://127.0.0.1:${p}"`).join(', ')}]`,
    '',
  ].join('\n'),
);
const dito = spawn(process.execPath, [path.join(root, 'bin/dito'), '-f', config], { stdio: 'inherit' });
try {
  await waitForPort(ditoPort);
  wrk(ditoPort, '/single', dito.pid);
  wrk(ditoPort, '/pool', dito.pid);
  const results = { single: [], pool: [] };
  for (let i = 0; i < Number(repeats); i++) {
    // Alternating order per round so neither side always runs on a warmer machine.
    const order = i % 2 === 0 ? ['single', 'pool'] : ['pool', 'single'];
    for (const name of order) results[name].push(wrk(ditoPort, `/${name}`, dito.pid));
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const name of ['single', 'pool']) {
    const runs = results[name];
    console.log(
      `${name.padEnd(6)} req/s ${runs.map((r) => Math.round(r.rps)).join(', ')} (median ${Math.round(median(runs.map((r) => r.rps)))}); ` +
        `Dito CPU per request ${runs.map((r) => r.cpuMicros.toFixed(1)).join(', ')} µs (median ${median(runs.map((r) => r.cpuMicros)).toFixed(1)})`,
    );
  }
  const ratio = (key, invert) => {
    const single = median(results.single.map((r) => r[key]));
    const pool = median(results.pool.map((r) => r[key]));
    return (invert ? single / pool : pool / single).toFixed(3);
  };
  console.log(
    `pool/single throughput ratio: ${ratio('rps', false)}; by CPU per request: ${ratio('cpuMicros', true)}`,
  );
} finally {
  dito.kill('SIGTERM');
  upstream.kill('SIGTERM');
}
