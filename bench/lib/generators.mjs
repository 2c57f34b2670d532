// Load generators: each takes a scenario and a port and returns one measurement
// { rps, latencyMs: { p50, p90, p99, p999, mean, max }, requests, errors, bytes }. wrk is the only one
// today; a WebSocket echo client would be a second entry, named by a scenario's `generator`.
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

export const generators = { wrk: runWrk };

export function generatorFor(scenario) {
  const generator = generators[scenario.generator ?? 'wrk'];
  if (!generator) throw new Error(`scenario ${scenario.id}: no load generator "${scenario.generator}"`);
  return generator;
}
