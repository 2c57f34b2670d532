#!/usr/bin/env node
// `make soak`: drives SOAK_REQUESTS (default 1 M) mixed requests through a real Dito — small and
// large bodies (1 KiB–1 MiB), buffered and streamed, GET and POST, keep-alive and
// `Connection: close`, WebSockets long-lived and churning — with a config reload every few seconds, then checks that nothing leaked:
// RSS, heap after GC, open file descriptors, active handles and client connections return near
// their baseline, no request failed, and every reload was applied. Load comes from wrk (C, so
// the load generator does not compete with Dito for JavaScript time). Prints a summary table and
// writes it to .cache/soak-result.json.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WebSocket, WebSocketServer } from 'ws';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TARGET = Number(process.env.SOAK_REQUESTS ?? 1_000_000);
const PHASE_SECONDS = Number(process.env.SOAK_PHASE_SECONDS ?? 20);
const RELOAD_EVERY_MS = Number(process.env.SOAK_RELOAD_MS ?? 5000);
const KEEPALIVE_CONNECTIONS = Number(process.env.SOAK_CONNECTIONS ?? 32);
const CLOSE_CONNECTIONS = 4;
const WRK = process.env.WRK ?? 'wrk';
const MiB = 1024 * 1024;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- upstream: sized answers, POST bodies counted, reload generation recorded -------------------
const SIZES = { '1k': 1024, '16k': 16 * 1024, '64k': 64 * 1024, '256k': 256 * 1024, '1m': MiB };
const payload = Buffer.alloc(MiB, 0x61);
const upstreamState = { requests: 0, maxGeneration: 0, badGeneration: 0 };
const upstream = createServer((req, res) => {
  upstreamState.requests++;
  const generation = Number(req.headers['x-soak-generation']);
  if (Number.isFinite(generation)) {
    upstreamState.maxGeneration = Math.max(upstreamState.maxGeneration, generation);
  } else upstreamState.badGeneration++;
  let received = 0;
  req.on('data', (c) => (received += c.length));
  req.on('end', () => {
    if (req.method === 'POST') {
      const body = JSON.stringify({ received });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    const size = SIZES[req.url.split('/').pop()] ?? 1024;
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
    res.end(payload.subarray(0, size));
  });
});
upstream.keepAliveTimeout = 30_000;
const echo = new WebSocketServer({ server: upstream });
echo.on('connection', (socket) => socket.on('message', (data, binary) => socket.send(data, { binary })));

// ---- WebSocket clients: a few held open for the whole run, a few opening and closing all along -
const wsState = { opened: 0, closedClean: 0, messages: 0, mismatches: 0, errors: [], longLivedDropped: 0 };

function openSocket(url) {
  return new Promise((resolveOpen, reject) => {
    const socket = new WebSocket(url);
    socket.once('open', () => {
      wsState.opened++;
      resolveOpen(socket);
    });
    socket.once('error', reject);
  });
}

/** Sends `text` and waits for the echo. */
function roundTrip(socket, text) {
  return new Promise((resolveTrip, reject) => {
    const onMessage = (data) => {
      socket.off('close', onClose);
      wsState.messages++;
      if (data.toString() !== text) wsState.mismatches++;
      resolveTrip();
    };
    const onClose = () => {
      socket.off('message', onMessage);
      reject(new Error('closed while waiting for an echo'));
    };
    socket.once('message', onMessage);
    socket.once('close', onClose);
    socket.send(text);
  });
}

function closeSocket(socket) {
  return new Promise((resolveClose) => {
    socket.once('close', (code) => {
      if (code === 1000) wsState.closedClean++;
      resolveClose();
    });
    socket.close(1000);
  });
}

function startWebSockets(url, running) {
  const tasks = [];
  for (let i = 0; i < 4; i++) {
    tasks.push(
      (async () => {
        const socket = await openSocket(url);
        socket.once('close', () => running.value && wsState.longLivedDropped++);
        for (let n = 0; running.value; n++) {
          await roundTrip(socket, `long-${i}-${n}`);
          await sleep(500);
        }
        await closeSocket(socket);
      })(),
    );
  }
  for (let i = 0; i < 2; i++) {
    tasks.push(
      (async () => {
        while (running.value) {
          const socket = await openSocket(url);
          for (let n = 0; n < 20; n++) await roundTrip(socket, `churn-${i}-${n}-${'x'.repeat(n * 50)}`);
          await closeSocket(socket);
        }
      })(),
    );
  }
  return Promise.all(tasks.map((t) => t.catch((err) => wsState.errors.push(String(err)))));
}

async function listen(server) {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server.address().port;
}

async function freePort() {
  const probe = createTcpServer();
  const port = await listen(probe);
  await new Promise((r) => probe.close(r));
  return port;
}

// ---- Dito: config with a reload generation, a GC hook preloaded for the measurements ---------
const work = mkdtempSync(join(tmpdir(), 'dito-soak-'));
const configPath = join(work, 'config.yaml');
const statsPath = join(work, 'stats.json');
const preloadPath = join(work, 'gc-on-signal.mjs');
// Test scaffolding only: on SIGUSR2 the Dito process collects garbage and writes its own view
// (heap, handles) so that baseline and end are compared after a full GC, not mid-cycle.
writeFileSync(
  preloadPath,
  `import { writeFileSync } from 'node:fs';
process.on('SIGUSR2', () => {
  globalThis.gc?.();
  const m = process.memoryUsage();
  writeFileSync(${JSON.stringify(statsPath)}, JSON.stringify({
    heapUsed: m.heapUsed, rss: m.rss, external: m.external, arrayBuffers: m.arrayBuffers,
    handles: process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length,
    at: Date.now(),
  }));
});
`,
);

function writeConfig(port, upstreamUrl, generation) {
  const headers = `    additional_headers: { X-Soak-Generation: "${generation}" }\n`;
  const text =
    `port: ${port}\nhot_reload: true\nlogging: { enabled: true, level: warn }\n` +
    `metrics: { enabled: true }\nlocations:\n` +
    `  - path: ^/buffered/\n    target_url: ${upstreamUrl}\n${headers}` +
    `  - path: ^/stream/\n    target_url: ${upstreamUrl}\n    disable_response_buffering: true\n${headers}` +
    `  - path: ^/ws\n    target_url: ${upstreamUrl.replace('http:', 'ws:')}\n    enable_websocket: true\n`;
  // Written beside and renamed: the watcher never sees half a file.
  writeFileSync(`${configPath}.tmp`, text);
  renameSync(`${configPath}.tmp`, configPath);
}

function procStats(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: kib('VmRSS'), peak: kib('VmHWM'), fds: readdirSync(`/proc/${pid}/fd`).length };
}

/** One GET on its own connection (a pooled keep-alive one would count as a client left open). */
function get(url) {
  return new Promise((resolveGet, reject) => {
    const req = httpRequest(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolveGet({ status: res.statusCode, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function gcStats(pid) {
  rmSync(statsPath, { force: true });
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 100; i++) {
    await sleep(50);
    try {
      return JSON.parse(readFileSync(statsPath, 'utf8'));
    } catch {
      // not written yet
    }
  }
  throw new Error('Dito did not report its GC stats');
}

// ---- wrk ----------------------------------------------------------------------------------------
const luaPath = join(work, 'mix.lua');
writeFileSync(
  luaPath,
  `-- Mixed traffic: mostly small, some large, some streamed, some POST.
local body4k = string.rep("b", 4096)
local body512k = string.rep("c", 512 * 1024)
local counter = 0
setup = function(thread) counter = counter + 1; thread:set("id", counter) end
init = function(args) math.randomseed(os.time() * 1000 + (id or 0)) end
request = function()
  local r = math.random(10000)
  if r <= 5500 then return wrk.format("GET", "/buffered/1k")
  elseif r <= 7000 then return wrk.format("GET", "/stream/1k")
  elseif r <= 8000 then return wrk.format("GET", "/buffered/16k")
  elseif r <= 8700 then return wrk.format("GET", "/stream/64k")
  elseif r <= 9600 then return wrk.format("POST", "/buffered/echo", nil, body4k)
  elseif r <= 9900 then return wrk.format("GET", "/buffered/256k")
  elseif r <= 9960 then return wrk.format("GET", "/stream/1m")
  elseif r <= 9985 then return wrk.format("GET", "/buffered/1m")
  else return wrk.format("POST", "/stream/echo", nil, body512k) end
end
done = function(summary, latency, requests)
  io.write(string.format('SOAK_RESULT {"requests":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.bytes, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout, latency:percentile(50), latency:percentile(99)))
end
`,
);

async function runWrk(url, connections, threads, seconds, extra = []) {
  const proc = spawn(
    WRK,
    [
      '-t',
      String(threads),
      '-c',
      String(connections),
      '-d',
      `${seconds}s`,
      '--timeout',
      '10s',
      '-s',
      luaPath,
      ...extra,
      url,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  proc.stdout.on('data', (c) => (out += c));
  proc.stderr.on('data', (c) => (out += c));
  const [code] = await once(proc, 'exit');
  const line = /SOAK_RESULT (\{.*\})/.exec(out);
  if (code !== 0 || line === null) throw new Error(`wrk failed (${code}): ${out}`);
  return JSON.parse(line[1]);
}

// ---- the run -------------------------------------------------------------------------------------
async function main() {
  const upstreamPort = await listen(upstream);
  const upstreamUrl = `http://127.0.0.1:${upstreamPort}`;
  const port = await freePort();
  let generation = 1;
  writeConfig(port, upstreamUrl, generation);
  const dito = spawn(
    process.execPath,
    [
      '--expose-gc',
      '--import',
      pathToFileURL(preloadPath).href,
      join(ROOT, 'dist/src/cli/dito.js'),
      '-f',
      configPath,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const problems = [];
  let logBuffer = '';
  dito.stdout.on('data', (chunk) => {
    logBuffer += chunk;
    let nl;
    while ((nl = logBuffer.indexOf('\n')) >= 0) {
      const line = logBuffer.slice(0, nl);
      logBuffer = logBuffer.slice(nl + 1);
      if (line.trim() !== '') problems.push(line.slice(0, 300));
    }
  });
  let stderr = '';
  dito.stderr.on('data', (c) => (stderr += c));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await get(`${base}/buffered/1k`)).status === 200) break;
    } catch {
      if (i > 200) throw new Error(`Dito did not start: ${stderr}`);
    }
    await sleep(50);
  }

  const totals = { requests: 0, bytes: 0, connect: 0, read: 0, write: 0, status: 0, timeout: 0 };
  const add = (r) => {
    for (const key of Object.keys(totals)) totals[key] += r[key];
  };
  const latencies = [];

  // Warm-up (JIT, pools, buffers), then the baseline after a full GC.
  process.stdout.write('warming up ...\n');
  const warmup = await runWrk(base, KEEPALIVE_CONNECTIONS, 2, 10);
  if (warmup.status + warmup.connect + warmup.read + warmup.write + warmup.timeout > 0) {
    throw new Error(`errors during warm-up: ${JSON.stringify(warmup)}`);
  }
  await sleep(2000);
  const baselineGc = await gcStats(dito.pid);
  await sleep(500);
  const baseline = { ...procStats(dito.pid), ...baselineGc };
  const startedAt = Date.now();

  const wsRunning = { value: true };
  const webSockets = startWebSockets(`ws://127.0.0.1:${port}/ws`, wsRunning);

  // Reloads every few seconds for the whole run.
  let reloads = 0;
  const reloader = setInterval(() => {
    generation++;
    reloads++;
    writeConfig(port, upstreamUrl, generation);
  }, RELOAD_EVERY_MS);

  const samples = [];
  const sampler = setInterval(() => {
    try {
      samples.push({ t: Math.round((Date.now() - startedAt) / 1000), ...procStats(dito.pid) });
    } catch {
      // process gone: reported below
    }
  }, 2000);

  let phase = 0;
  while (totals.requests < TARGET) {
    phase++;
    const [keepAlive, closing] = await Promise.all([
      runWrk(base, KEEPALIVE_CONNECTIONS, 2, PHASE_SECONDS),
      runWrk(base, CLOSE_CONNECTIONS, 1, PHASE_SECONDS, ['-H', 'Connection: close']),
    ]);
    add(keepAlive);
    add(closing);
    latencies.push(keepAlive.p99_us);
    const s = procStats(dito.pid);
    process.stdout.write(
      `phase ${phase}: ${totals.requests} requests so far (+${keepAlive.requests} keep-alive, ` +
        `+${closing.requests} close), rss ${(s.rss / MiB).toFixed(0)} MiB, fds ${s.fds}, ` +
        `generation ${generation}\n`,
    );
    if (dito.exitCode !== null) break;
  }
  clearInterval(reloader);
  clearInterval(sampler);
  wsRunning.value = false;
  await webSockets;
  const elapsed = (Date.now() - startedAt) / 1000;

  // Quiet: let reloads settle, idle connections close, then measure after a full GC.
  await sleep(3000);
  const lastGeneration = generation;
  const probe = await get(`${base}/buffered/1k`);
  const metrics = await get(`${base}/metrics`);
  const activeConnections = Number(/\nactive_connections (\d+)/.exec(metrics.text)?.[1]);
  const activeWebSockets = Number(/\nwebsocket_connections_active (\d+)/.exec(metrics.text)?.[1]);
  await sleep(2000);
  const endGc = await gcStats(dito.pid);
  await sleep(500);
  const end = { ...procStats(dito.pid), ...endGc };
  const peakRss = Math.max(...samples.map((s) => s.rss), end.peak);

  dito.kill('SIGTERM');
  const [exitCode] = await once(dito, 'exit');
  upstream.close();

  const unexpectedLogs = problems.filter((l) => !l.includes('"msg":"config reloaded"'));
  const checks = [
    ['requests driven', totals.requests >= TARGET, `${totals.requests} ≥ ${TARGET}`],
    ['non-2xx answers', totals.status === 0, String(totals.status)],
    [
      'socket errors (connect/read/write/timeout)',
      totals.connect + totals.read + totals.write + totals.timeout === 0,
      `${totals.connect}/${totals.read}/${totals.write}/${totals.timeout}`,
    ],
    [
      'warn/error log lines',
      unexpectedLogs.length === 0,
      `${unexpectedLogs.length}${unexpectedLogs.length ? `: ${unexpectedLogs[0]}` : ''}`,
    ],
    [
      'reloads applied (last generation reached the upstream)',
      upstreamState.maxGeneration === lastGeneration && probe.status === 200,
      `${reloads} reloads, upstream saw generation ${upstreamState.maxGeneration}/${lastGeneration}`,
    ],
    [
      'WebSockets: no error, no mismatch, long-lived ones kept across reloads, all closed cleanly',
      wsState.errors.length === 0 &&
        wsState.mismatches === 0 &&
        wsState.longLivedDropped === 0 &&
        wsState.closedClean === wsState.opened &&
        activeWebSockets === 0,
      `${wsState.opened} opened, ${wsState.messages} echoes, ${wsState.closedClean} closed with 1000, ` +
        `${wsState.longLivedDropped} dropped, ${activeWebSockets} still active` +
        (wsState.errors.length ? `; ${wsState.errors[0]}` : ''),
    ],
    ['open fds back to baseline (±8)', end.fds <= baseline.fds + 8, `${baseline.fds} → ${end.fds}`],
    [
      'active handles back to baseline (±4)',
      end.handles <= baseline.handles + 4,
      `${baseline.handles} → ${end.handles}`,
    ],
    [
      'client connections at the end',
      activeConnections === 1,
      `${activeConnections} (the metrics request itself)`,
    ],
    [
      'heap after GC within baseline × 1.25 + 8 MiB',
      end.heapUsed <= baseline.heapUsed * 1.25 + 8 * MiB,
      `${(baseline.heapUsed / MiB).toFixed(1)} → ${(end.heapUsed / MiB).toFixed(1)} MiB`,
    ],
    [
      'RSS after GC within baseline + 64 MiB',
      end.rss <= baseline.rss + 64 * MiB,
      `${(baseline.rss / MiB).toFixed(0)} → ${(end.rss / MiB).toFixed(0)} MiB (peak ${(peakRss / MiB).toFixed(0)} MiB)`,
    ],
    ['clean exit on SIGTERM', exitCode === 0, String(exitCode)],
  ];

  const result = {
    when: new Date().toISOString(),
    node: process.version,
    requests: totals.requests,
    seconds: Math.round(elapsed),
    requests_per_second: Math.round(totals.requests / elapsed),
    gib_transferred: +(totals.bytes / 1024 ** 3).toFixed(2),
    p99_ms_worst_phase: +(Math.max(...latencies) / 1000).toFixed(1),
    reloads,
    websockets: { opened: wsState.opened, echoes: wsState.messages, errors: wsState.errors.length },
    baseline: {
      rss_mib: +(baseline.rss / MiB).toFixed(1),
      heap_mib: +(baseline.heapUsed / MiB).toFixed(1),
      fds: baseline.fds,
      handles: baseline.handles,
    },
    end: {
      rss_mib: +(end.rss / MiB).toFixed(1),
      heap_mib: +(end.heapUsed / MiB).toFixed(1),
      fds: end.fds,
      handles: end.handles,
    },
    peak_rss_mib: +(peakRss / MiB).toFixed(1),
    checks: checks.map(([name, ok, detail]) => ({ name, ok, detail })),
  };
  mkdirSync(join(ROOT, '.cache'), { recursive: true });
  writeFileSync(join(ROOT, '.cache', 'soak-result.json'), `${JSON.stringify(result, null, 2)}\n`);
  rmSync(work, { recursive: true, force: true });

  process.stdout.write(
    `\nsoak: ${totals.requests} requests in ${Math.round(elapsed)} s (${result.requests_per_second}/s), ` +
      `${result.gib_transferred} GiB, ${reloads} reloads, worst phase p99 ${result.p99_ms_worst_phase} ms\n\n`,
  );
  const width = Math.max(...checks.map(([name]) => name.length));
  for (const [name, ok, detail] of checks) {
    process.stdout.write(`${ok ? 'ok  ' : 'FAIL'}  ${name.padEnd(width)}  ${detail}\n`);
  }
  process.stdout.write('\nresult written to .cache/soak-result.json\n');
  process.exitCode = checks.every(([, ok]) => ok) ? 0 : 1;
}

main().catch((err) => {
  process.stderr.write(`soak failed: ${err.stack ?? err}\n`);
  process.exit(1);
});
