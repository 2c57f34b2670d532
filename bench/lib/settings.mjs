// Settings of one `make bench` run, read once from the environment (BENCH_*), with defaults that fit
// a 2-core machine and scale on bigger ones. docs/benchmark.md lists every variable.
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = path.resolve(benchDir, '..');

/** '10', '10s', '1m', '500ms' → seconds. */
export function parseSeconds(text, name) {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(String(text).trim());
  if (!match) throw new Error(`${name}: expected a duration like 10s, got "${text}"`);
  const unit = { ms: 0.001, s: 1, m: 60 }[match[2] ?? 's'];
  return Number(match[1]) * unit;
}

function positiveInt(text, name) {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name}: expected a positive integer, got "${text}"`);
  return value;
}

/** '1-3,5' → [1, 2, 3, 5] (taskset's list syntax). */
export function parseCpuList(text) {
  const cpus = [];
  for (const part of String(text).split(',')) {
    const [from, to = from] = part.split('-').map(Number);
    if (!Number.isInteger(from) || !Number.isInteger(to) || to < from)
      throw new Error(`bad CPU list "${text}"`);
    for (let cpu = from; cpu <= to; cpu++) cpus.push(cpu);
  }
  return cpus;
}

function hasCommand(command) {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function loadSettings(env = process.env) {
  const cores = os.availableParallelism();
  // The proxy under test gets CPU 0; wrk and the upstream share the rest (CPU 1 on a 2-core machine).
  const proxyCpus = env.BENCH_PROXY_CPUS ?? '0';
  const loadCpus = env.BENCH_LOAD_CPUS ?? (cores <= 1 ? '0' : cores === 2 ? '1' : `1-${cores - 1}`);
  const loadCpuCount = parseCpuList(loadCpus).length;
  parseCpuList(proxyCpus);
  const pin = env.BENCH_PIN !== '0' && hasCommand('taskset');
  return {
    durationSeconds: parseSeconds(env.BENCH_DURATION ?? '10s', 'BENCH_DURATION'),
    warmupSeconds: parseSeconds(env.BENCH_WARMUP ?? '10s', 'BENCH_WARMUP'),
    repeats: positiveInt(env.BENCH_REPEATS ?? '3', 'BENCH_REPEATS'),
    repeatsGiven: env.BENCH_REPEATS != null,
    caseFilter: (env.BENCH_CASES ?? '').trim(),
    proxyCpus,
    loadCpus,
    pin,
    // On bigger machines the load side scales with its cores: half wrk threads, half upstream processes.
    wrkThreads: positiveInt(
      env.BENCH_WRK_THREADS ?? String(Math.max(1, Math.floor(loadCpuCount / 2))),
      'BENCH_WRK_THREADS',
    ),
    upstreamWorkers: positiveInt(
      env.BENCH_UPSTREAM_WORKERS ?? String(Math.max(1, Math.ceil(loadCpuCount / 2))),
      'BENCH_UPSTREAM_WORKERS',
    ),
    // Processes per proxy: nginx worker_processes, node:cluster workers for the Node proxies.
    proxyWorkers: positiveInt(env.BENCH_WORKERS ?? '1', 'BENCH_WORKERS'),
    // A run during which other processes used more than this many cores is retried (BENCH_RETRIES times).
    maxOtherLoad: Number(env.BENCH_MAX_OTHER_LOAD ?? '0.15'),
    // ... and so is a run during which the hypervisor took more than this share of the proxy's CPUs or
    // of the load side's (steal time: other guests of a shared host running on them).
    maxSteal: Number(env.BENCH_MAX_STEAL ?? '0.1'),
    // Whose steal time is watched: pinned, the proxy's CPUs and the load side's; else the whole machine.
    stealCpus: pin
      ? { proxy: parseCpuList(proxyCpus), load: parseCpuList(loadCpus) }
      : { proxy: null, load: null },
    retries: Number(env.BENCH_RETRIES ?? '2'),
    // Before each run, wait (at most this long) for other processes to quieten down.
    quietWaitSeconds: parseSeconds(env.BENCH_QUIET_WAIT ?? '30s', 'BENCH_QUIET_WAIT'),
    // Total time the whole bench may spend on such waits and retried runs.
    quietBudgetSeconds: parseSeconds(env.BENCH_QUIET_BUDGET ?? '5m', 'BENCH_QUIET_BUDGET'),
    ditoBin: path.resolve(repoRoot, env.BENCH_DITO_BIN ?? 'bin/dito'),
    outDir: path.resolve(repoRoot, env.BENCH_OUT ?? 'bench/results'),
    keepTmp: env.BENCH_KEEP_TMP === '1',
    cores,
    hasNginx: hasCommand('nginx'),
    hasWrk: hasCommand('wrk'),
  };
}
