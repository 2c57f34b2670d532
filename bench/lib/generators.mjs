// Load generators: each takes a scenario and a port and returns one measurement
// { rps, latencyMs: { p50, p90, p99, p999, mean, max }, requests, errors, bytes }: wrk for HTTP, and
// lib/ws-echo-client.mjs for WebSocket echo (`rps` is then messages/s, `requests` messages).
import fs from 'node:fs';
import path from 'node:path';
import { startProcess, stopProcess } from './processes.mjs';
import { benchDir } from './settings.mjs';

function runWrk({ scenario, port, durationSeconds, settings, logFile }) {
  const threads = Math.min(settings.wrkThreads, scenario.connections);
  const wrkArgs = [
    `-t${threads}`,
    `-c${scenario.connections}`,
    `-d${Math.max(1, Math.round(durationSeconds))}s`,
    '--timeout',
    '10s',
    '--latency',
    '-s',
    path.join(benchDir, 'wrk/report.lua'),
    `http://127.0.0.1:${port}${scenario.path}`,
  ];
  const cpus = settings.pin ? settings.loadCpus : null;
  const env = {
    ...process.env,
    BENCH_METHOD: scenario.method,
    BENCH_BODY_BYTES: String(scenario.bodyBytes ?? 0),
  };
  fs.appendFileSync(logFile, `$ wrk ${wrkArgs.join(' ')}\n`);
  const offset = fs.statSync(logFile).size;
  // Started like every other process, so Ctrl-C or an error stops it too.
  const handle = startProcess('wrk', 'wrk', wrkArgs, { cpus, env, logFile });
  // Bounded: wrk stops by itself after the duration; this is the guard if it does not.
  const guard = setTimeout(() => stopProcess(handle, 1000), (durationSeconds + 30) * 1000);
  return handle.exited.then(({ code }) => {
    clearTimeout(guard);
    const fd = fs.openSync(logFile, 'r');
    const buffer = Buffer.alloc(fs.fstatSync(fd).size - offset);
    fs.readSync(fd, buffer, 0, buffer.length, offset);
    fs.closeSync(fd);
    const output = buffer.toString();
    const line = output.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
    if (code !== 0 || !line) throw new Error(`wrk failed (exit ${code}):\n${output.slice(-1500)}`);
    const raw = JSON.parse(line.slice('BENCH_RESULT '.length));
    const ms = (us) => us / 1000;
    return {
      rps: raw.requests / (raw.duration_us / 1e6),
      latencyMs: {
        p50: ms(raw.latency_us.p50),
        p90: ms(raw.latency_us.p90),
        p99: ms(raw.latency_us.p99),
        p999: ms(raw.latency_us.p999),
        mean: ms(raw.latency_us.mean),
        max: ms(raw.latency_us.max),
      },
      requests: raw.requests,
      bytes: raw.bytes,
      errors: Object.values(raw.errors).reduce((a, b) => a + b, 0),
      errorDetail: raw.errors,
    };
  });
}

/** Lower bound of a bucket of ws-echo-client's log-linear histogram, plus half its width, in µs. */
function bucketValue(index) {
  if (index < 1024) return index;
  const e = Math.floor(index / 1024) + 9;
  const width = 2 ** (e - 10);
  return (1024 + (index % 1024)) * width + width / 2;
}

function percentile(buckets, total, p) {
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (const [index, count] of buckets) {
    seen += count;
    if (seen >= rank) return bucketValue(index);
  }
  return 0;
}

/**
 * WebSocket echo: `scenario.connections` connections to `scenario.path`, each sending one
 * `scenario.messageBytes` message and waiting for its echo, in a closed loop, for the duration.
 * Split over `settings.wrkThreads` client processes (like wrk's threads), pinned to the load CPUs.
 */
async function runWsEcho({ scenario, port, durationSeconds, settings, logFile }) {
  const processes = Math.max(1, Math.min(settings.wrkThreads, scenario.connections));
  const cpus = settings.pin ? settings.loadCpus : null;
  const script = path.join(benchDir, 'lib/ws-echo-client.mjs');
  const runs = [];
  for (let i = 0; i < processes; i++) {
    const connections =
      Math.floor(scenario.connections / processes) + (i < scenario.connections % processes ? 1 : 0);
    const resultFile = `${logFile}.${process.pid}.${i}.json`;
    const args = [
      script,
      String(port),
      scenario.path,
      String(connections),
      String(durationSeconds),
      String(scenario.messageBytes),
      resultFile,
    ];
    fs.appendFileSync(logFile, `$ node ${args.join(' ')}\n`);
    const handle = startProcess('ws-echo-client', process.execPath, args, { cpus, logFile });
    // Bounded: the client stops by itself (and has its own hard limit); this is the last guard.
    const guard = setTimeout(() => stopProcess(handle, 1000), (durationSeconds + 40) * 1000);
    runs.push(
      handle.exited.then(({ code }) => {
        clearTimeout(guard);
        let result = null;
        try {
          result = JSON.parse(fs.readFileSync(resultFile, 'utf8'));
          fs.rmSync(resultFile);
        } catch {
          // reported below
        }
        if (code !== 0 || !result)
          throw new Error(`ws-echo-client failed (exit ${code}), see ${path.basename(logFile)}`);
        return result;
      }),
    );
  }
  const results = await Promise.all(runs);
  const merged = new Map();
  for (const r of results)
    for (const [index, count] of r.latency.histogram) merged.set(index, (merged.get(index) ?? 0) + count);
  const buckets = [...merged].sort((a, b) => a[0] - b[0]);
  const messages = results.reduce((n, r) => n + r.messages, 0);
  const errorDetail = {};
  for (const r of results)
    for (const [kind, count] of Object.entries(r.errors))
      errorDetail[kind] = (errorDetail[kind] ?? 0) + count;
  const ms = (us) => us / 1000;
  return {
    rps: results.reduce((sum, r) => sum + r.messages / (r.durationUs / 1e6), 0),
    latencyMs: {
      p50: ms(percentile(buckets, messages, 50)),
      p90: ms(percentile(buckets, messages, 90)),
      p99: ms(percentile(buckets, messages, 99)),
      p999: ms(percentile(buckets, messages, 99.9)),
      mean: messages ? ms(results.reduce((sum, r) => sum + r.latency.sum, 0) / messages) : 0,
      max: ms(Math.max(...results.map((r) => r.latency.max))),
    },
    requests: messages,
    bytes: results.reduce((sum, r) => sum + r.bytes, 0),
    errors: Object.values(errorDetail).reduce((a, b) => a + b, 0),
    errorDetail,
  };
}

export const generators = { wrk: runWrk, 'ws-echo': runWsEcho };

export function generatorFor(scenario) {
  const generator = generators[scenario.generator ?? 'wrk'];
  if (!generator) throw new Error(`scenario ${scenario.id}: no load generator "${scenario.generator}"`);
  return generator;
}
