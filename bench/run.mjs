#!/usr/bin/env node
// `make bench`: starts the upstream, then for each scenario starts every proxy, warms each up, runs
// the repeats interleaved round-robin over the proxies, reads each proxy's peak RSS, stops them, and
// finally writes bench/results/latest.{md,json,svg} (+ dated copies). See docs/benchmark.md.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { planCases, repeatsOf, scenarios } from './lib/cases.mjs';
import { renderChart } from './lib/chart.mjs';
import {
  processTreeCpuSeconds,
  startContentionProbe,
  startStealProbe,
  waitForQuiet,
} from './lib/contention.mjs';
import { generatorFor } from './lib/generators.mjs';
import { machineFacts } from './lib/machine.mjs';
import {
  freePort,
  installCleanup,
  peakRss,
  probe,
  startProcess,
  stopAll,
  stopProcess,
  waitUntilServing,
} from './lib/processes.mjs';
import { startProxy } from './lib/proxies.mjs';
import { percent, renderMarkdown, summarise } from './lib/report.mjs';
import { benchDir, loadSettings, repoRoot } from './lib/settings.mjs';

const fmt = (n) => Math.round(n).toLocaleString('en-US');

async function startUpstream(settings, logDir) {
  const port = await freePort();
  const sizes = scenarios.filter((s) => s.method === 'GET').map((s) => s.path.split('/').pop());
  const script = path.join(benchDir, 'servers/upstream.mjs');
  const args =
    settings.upstreamWorkers > 1
      ? [
          path.join(benchDir, 'servers/cluster.mjs'),
          String(settings.upstreamWorkers),
          script,
          String(port),
          sizes.join(','),
        ]
      : [script, String(port), sizes.join(',')];
  const handle = startProcess('upstream', process.execPath, args, {
    cpus: settings.pin ? settings.loadCpus : null,
    logFile: path.join(logDir, 'upstream.log'),
  });
  await waitUntilServing(handle, port, async (p) => {
    const res = await probe(p, { path: '/bytes/1024' });
    if (res.status !== 200) throw new Error(`upstream answered ${res.status}`);
  });
  return { port, handle };
}

/** One load-generator run against a running case, with the case's side action (if any) beside it. */
async function measure(entry, seconds, settings, logDir, benchPids) {
  const stopDuring = entry.running.during();
  const otherLoad = startContentionProbe(benchPids());
  const proxySteal = startStealProbe(settings.stealCpus.proxy);
  const loadSteal = startStealProbe(settings.stealCpus.load);
  const proxyPid = entry.running.handle?.pid;
  const cpuBefore = proxyPid ? processTreeCpuSeconds(proxyPid) : null;
  try {
    const run = await generatorFor(entry.scenario)({
      scenario: entry.scenario,
      port: entry.running.port,
      durationSeconds: seconds,
      settings,
      logFile: path.join(logDir, `${entry.scenario.id}--${entry.proxy.id}.wrk.log`),
    });
    // The proxy's own CPU per request (or message): robust to a machine shared with other work.
    const proxyCpuSeconds = proxyPid ? processTreeCpuSeconds(proxyPid) - cpuBefore : null;
    const cpuUsPerRequest =
      proxyCpuSeconds !== null && run.requests > 0 ? (proxyCpuSeconds * 1e6) / run.requests : null;
    return {
      ...run,
      proxyCpuSeconds,
      cpuUsPerRequest,
      otherLoad: otherLoad(),
      steal: { proxy: proxySteal(), load: loadSteal() },
    };
  } finally {
    stopDuring();
  }
}

/** Why a run does not count as quiet, or null when it does. */
function disturbance(result, settings) {
  if (result.otherLoad > settings.maxOtherLoad)
    return `other processes used ${result.otherLoad.toFixed(2)} cores during the run`;
  const { proxy, load } = result.steal;
  if (proxy > settings.maxSteal || load > settings.maxSteal)
    return `the hypervisor took ${percent(proxy)} of the proxy's CPU time and ${percent(load)} of the load side's during the run`;
  return null;
}

/**
 * One measured run, taken when the machine is quiet: waits for other processes and the hypervisor
 * to calm down and retries a disturbed run, both bounded per run and by a shared budget
 * (BENCH_QUIET_BUDGET) so a machine that never calms down still finishes, with the disturbance
 * reported.
 */
async function measureQuietly(entry, run, benchPids, { settings, quietBudget }) {
  const cpuGroups = [settings.stealCpus.proxy, settings.stealCpus.load];
  let result;
  for (let attempt = 0; attempt <= settings.retries; attempt++) {
    const waitStarted = Date.now();
    const maxWaitMs = Math.max(0, Math.min(settings.quietWaitSeconds * 1000, quietBudget.remainingMs));
    const before = await waitForQuiet(benchPids(), {
      maxOtherLoad: settings.maxOtherLoad,
      maxSteal: settings.maxSteal,
      cpuGroups,
      maxWaitMs,
    });
    quietBudget.remainingMs -= Math.max(0, Date.now() - waitStarted - 500); // the first sample is the usual pause
    if (before.load > settings.maxOtherLoad)
      console.log(`  machine still busy (${before.load.toFixed(2)} cores used by others)`);
    if (before.steal > settings.maxSteal)
      console.log(`  the hypervisor still takes ${percent(before.steal)} of a bench CPU's time`);
    const runStarted = Date.now();
    result = await run(entry, settings.durationSeconds);
    const why = disturbance(result, settings);
    if (why === null) return result;
    console.log(`  ${entry.id}: ${why}`);
    if (attempt < settings.retries) quietBudget.remainingMs -= Date.now() - runStarted;
    if (quietBudget.remainingMs <= 0) break;
  }
  return result;
}

async function runScenario({ scenario, cases }, ctx, progress) {
  const { settings, logDir } = ctx;
  const entries = cases.map((c) => ({ ...c, runs: [], rss: null, error: null, running: null }));
  for (const entry of entries) {
    try {
      entry.running = await startProxy(entry.proxy, scenario, ctx);
    } catch (error) {
      entry.error = error.message;
      console.error(`  ${entry.id}: could not start: ${error.message}`);
    }
  }
  const active = () => entries.filter((e) => e.running && !e.error);
  const benchPids = () => [ctx.upstreamPid, ...entries.map((e) => e.running?.handle?.pid).filter(Boolean)];
  const run = (entry, seconds) => measure(entry, seconds, settings, logDir, benchPids);
  for (const entry of active()) {
    console.log(`  warm-up ${entry.id} (${settings.warmupSeconds} s)`);
    await run(entry, settings.warmupSeconds).catch((error) => (entry.error = error.message));
  }
  for (let repeat = 0; repeat < repeatsOf(scenario, settings); repeat++) {
    const order = active();
    // Rotate the starting proxy each round so no proxy always runs first (or last).
    const rotated = order.slice(repeat % order.length).concat(order.slice(0, repeat % order.length));
    for (const entry of rotated) {
      if (entry.running.handle?.exit) {
        entry.error = `exited during the runs (${JSON.stringify(entry.running.handle.exit)})`;
        continue;
      }
      try {
        const result = await measureQuietly(entry, run, benchPids, ctx);
        entry.runs.push(result);
        const cpu =
          result.cpuUsPerRequest === null ? '' : `, proxy CPU ${result.cpuUsPerRequest.toFixed(1)} µs each`;
        console.log(
          `  [${++progress.done}/${progress.total}] ${entry.id} run ${repeat + 1}: ${fmt(result.rps)} ${scenario.unit ?? 'req/s'}, ` +
            `p50 ${result.latencyMs.p50.toFixed(2)} ms, p99 ${result.latencyMs.p99.toFixed(2)} ms${cpu}` +
            `${result.errors ? `, ${result.errors} errors` : ''}, other load ${result.otherLoad.toFixed(2)} cores, ` +
            `steal ${percent(result.steal.proxy)} / ${percent(result.steal.load)}`,
        );
      } catch (error) {
        entry.error = error.message;
        console.error(`  ${entry.id}: ${error.message}`);
      }
    }
  }
  for (const entry of entries) {
    if (entry.running?.handle && !entry.running.handle.exit) entry.rss = peakRss(entry.running.handle.pid);
    if (entry.running) await entry.running.stop();
  }
  return { scenario, cases: entries };
}

function writeOutputs(summary, settings, logDir) {
  const partial = Boolean(settings.caseFilter);
  // Filtered runs are for exploring: they go beside the raw logs, not over the committed results.
  const dir = partial ? logDir : settings.outDir;
  const stamp = summary.startedAt.replace(/:/g, '').slice(0, 15);
  const names = partial ? ['report'] : ['latest', stamp];
  fs.mkdirSync(dir, { recursive: true });
  const svg = renderChart(summary);
  for (const name of names) {
    fs.writeFileSync(path.join(dir, `${name}.json`), `${JSON.stringify(summary, null, 2)}\n`);
    fs.writeFileSync(path.join(dir, `${name}.svg`), svg);
    fs.writeFileSync(path.join(dir, `${name}.md`), renderMarkdown(summary, `${name}.svg`));
  }
  return names.map((name) => path.relative(repoRoot, path.join(dir, `${name}.md`)));
}

async function main() {
  const settings = loadSettings();
  installCleanup();
  let plan = planCases(settings.caseFilter);
  if (!settings.hasWrk && plan.some((g) => (g.scenario.generator ?? 'wrk') === 'wrk')) {
    console.error(
      'bench: wrk is not installed (make bench installs it with apt-get; elsewhere install wrk yourself).',
    );
    process.exit(1);
  }
  if (!settings.hasNginx) {
    console.error('bench: nginx is not installed: the nginx cases are skipped.');
    plan = plan
      .map((g) => ({ ...g, cases: g.cases.filter((c) => c.proxy.kind !== 'nginx') }))
      .filter((g) => g.cases.length);
  }
  const hasDito = plan.some((g) => g.cases.some((c) => c.proxy.kind === 'dito'));
  if (hasDito && !fs.existsSync(settings.ditoBin)) {
    console.error(
      `bench: ${settings.ditoBin} not found. Build Dito first (make build), or leave it out with BENCH_CASES.`,
    );
    process.exit(1);
  }
  if (plan.length === 0) {
    console.error(`bench: BENCH_CASES="${settings.caseFilter}" matches no case.`);
    process.exit(1);
  }
  if (!settings.pin)
    console.error('bench: taskset unavailable or BENCH_PIN=0: processes are not pinned to CPUs.');

  const caseCount = plan.reduce((n, g) => n + g.cases.length, 0);
  const runCount = plan.reduce((n, g) => n + g.cases.length * repeatsOf(g.scenario, settings), 0);
  const estimate = caseCount * (settings.warmupSeconds + 1) + runCount * (settings.durationSeconds + 0.6);
  console.log(
    `bench: ${caseCount} cases, ${runCount} runs of ${settings.durationSeconds} s, about ${Math.ceil(estimate / 60)} min`,
  );

  const startedAt = new Date().toISOString();
  const logDir = path.join(settings.outDir, 'raw', startedAt.replace(/:/g, '').slice(0, 15));
  fs.mkdirSync(logDir, { recursive: true });
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dito-bench-'));
  // Also on Ctrl-C, which exits from the signal handler.
  if (!settings.keepTmp) process.on('exit', () => fs.rmSync(tmpDir, { recursive: true, force: true }));
  const machine = machineFacts(settings);
  const results = [];
  try {
    const upstream = await startUpstream(settings, logDir);
    const quietBudget = { remainingMs: settings.quietBudgetSeconds * 1000 };
    const ctx = {
      settings,
      upstreamPort: upstream.port,
      upstreamPid: upstream.handle.pid,
      tmpDir,
      logDir,
      quietBudget,
    };
    const progress = { done: 0, total: runCount };
    for (const group of plan) {
      const size = group.scenario.messageBytes ? `, ${group.scenario.messageBytes}-byte messages` : '';
      console.log(`${group.scenario.title}, ${group.scenario.connections} connections${size}:`);
      results.push(await runScenario(group, ctx, progress));
    }
    await stopProcess(upstream.handle);
  } finally {
    await stopAll();
  }
  const summary = summarise({ results, machine, settings, startedAt, finishedAt: new Date().toISOString() });
  const written = writeOutputs(summary, settings, logDir);
  console.log(`\n${renderMarkdown(summary, null)}`);
  console.log(`bench: wrote ${written.join(', ')} (raw logs in ${path.relative(repoRoot, logDir)})`);
  const failed = results.flatMap((g) => g.cases).filter((c) => c.error);
  if (failed.length > 0) {
    console.error(`bench: ${failed.length} case(s) failed: ${failed.map((c) => c.id).join(', ')}`);
    process.exitCode = 1;
  }
}

main().catch(async (error) => {
  console.error(`bench: ${error.stack ?? error}`);
  await stopAll();
  process.exit(1);
});
