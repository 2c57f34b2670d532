// Load generators: each takes a scenario and a port and returns one measurement
// { rps, latencyMs: { p50, p90, p99, p999, mean, max }, requests, errors, bytes }. wrk is the only one
// today; a WebSocket echo client would be a second entry, named by a scenario's `generator`.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { benchDir } from './settings.mjs';

function runWrk({ scenario, port, durationSeconds, settings, logFile }) {
  const threads = Math.min(settings.wrkThreads, scenario.connections);
  const wrkArgs = [
    `-t${threads}`,
    `-c${scenario.connections}`,
    `-d${durationSeconds}s`,
    '--timeout',
    '10s',
    '--latency',
    '-s',
    path.join(benchDir, 'wrk/report.lua'),
    `http://127.0.0.1:${port}${scenario.path}`,
  ];
  const [command, args] = settings.pin
    ? ['taskset', ['-c', settings.loadCpus, 'wrk', ...wrkArgs]]
    : ['wrk', wrkArgs];
  const env = {
    ...process.env,
    BENCH_METHOD: scenario.method,
    BENCH_BODY_BYTES: String(scenario.bodyBytes ?? 0),
  };
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    // Bounded: wrk stops by itself after the duration; this is the guard if it does not.
    const guard = setTimeout(() => child.kill('SIGKILL'), (durationSeconds + 30) * 1000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(guard);
      fs.appendFileSync(logFile, `$ ${command} ${args.join(' ')}\n${output}\n`);
      const line = output.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
      if (code !== 0 || !line) return reject(new Error(`wrk failed (exit ${code}):\n${output.slice(-1500)}`));
      const raw = JSON.parse(line.slice('BENCH_RESULT '.length));
      const ms = (us) => us / 1000;
      const errors = Object.values(raw.errors).reduce((a, b) => a + b, 0);
      resolve({
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
        errors,
        errorDetail: raw.errors,
      });
    });
  });
}

export const generators = { wrk: runWrk };

export function generatorFor(scenario) {
  const generator = generators[scenario.generator ?? 'wrk'];
  if (!generator) throw new Error(`scenario ${scenario.id}: no load generator "${scenario.generator}"`);
  return generator;
}
