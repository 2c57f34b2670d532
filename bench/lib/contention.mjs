// Measures what else took the machine during a run, so a disturbed run is seen, reported and retried
// instead of silently skewing the medians: how much CPU *other* processes used (machine busy time
// minus the bench's own processes: a build or a test suite on a shared machine), and how much of the
// bench's CPUs the hypervisor gave to other guests (steal time, on a virtual machine).
import fs from 'node:fs';
import { descendants } from './processes.mjs';

const ticksPerSecond = 100; // USER_HZ, 100 on Linux

function machineBusyTicks() {
  const fields = fs
    .readFileSync('/proc/stat', 'utf8')
    .split('\n', 1)[0]
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  // Interrupt time is left out: most of it is the loopback traffic of the bench itself (softirq is not
  // charged to any process), which would otherwise show as "other" load on big-body scenarios. Steal
  // is left out too: it is no process's, and is measured on its own (startStealProbe).
  const [user, nice, system] = fields;
  return user + nice + system;
}

/**
 * Steal and total ticks summed over `cpus` (their `cpuN` lines of /proc/stat), or over the whole
 * machine (the `cpu` line) when `cpus` is null. Total is user + nice + system + idle + iowait + irq +
 * softirq + steal (guest time is already inside user).
 */
function cpuTicks(cpus) {
  let steal = 0;
  let total = 0;
  for (const line of fs.readFileSync('/proc/stat', 'utf8').split('\n')) {
    if (!line.startsWith('cpu')) break; // the cpu lines come first
    const [name, ...rest] = line.trim().split(/\s+/);
    const wanted = cpus === null ? name === 'cpu' : name !== 'cpu' && cpus.includes(Number(name.slice(3)));
    if (!wanted) continue;
    const values = rest.slice(0, 8).map(Number);
    for (const value of values) total += value;
    steal += values[7] ?? 0;
  }
  return { steal, total };
}

/**
 * Call before a run with the CPUs to watch (null: the whole machine); the returned function gives the
 * share of their time the hypervisor took since (0 to 1). A proxy pinned to one core that loses 10 %
 * of it to steal serves ~10 % less, through no fault of its own.
 */
export function startStealProbe(cpus) {
  const before = cpuTicks(cpus);
  return () => {
    const after = cpuTicks(cpus);
    const total = after.total - before.total;
    return total > 0 ? (after.steal - before.steal) / total : 0;
  };
}

function processTicks(pid, withChildren = false) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    // after ')' : state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
    return f[11] + f[12] + (withChildren ? f[13] + f[14] : 0);
  } catch {
    return 0;
  }
}

/** Ticks used by the bench itself: this process and its reaped children (wrk), plus live trees. */
function ownTicks(pids) {
  let total = processTicks(process.pid, true);
  for (const pid of pids) for (const each of [pid, ...descendants(pid)]) total += processTicks(each);
  return total;
}

/** CPU time (user + system, seconds) used so far by `pid` and its live descendants (nginx workers). */
export function processTreeCpuSeconds(pid) {
  let ticks = 0;
  for (const each of [pid, ...descendants(pid)]) ticks += processTicks(each);
  return ticks / ticksPerSecond;
}

/** Call before a run with the pids of live bench processes; the returned function gives cores used by others. */
export function startContentionProbe(pids) {
  const startedAt = process.hrtime.bigint();
  const busy0 = machineBusyTicks();
  const own0 = ownTicks(pids);
  return () => {
    const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
    const foreign = machineBusyTicks() - busy0 - (ownTicks(pids) - own0);
    return Math.max(0, foreign / ticksPerSecond / seconds);
  };
}

/**
 * Before a run: samples `sampleMs` windows until other processes use at most `maxOtherLoad` cores
 * and the hypervisor takes at most `maxSteal` of each group of the bench's CPUs (`cpuGroups`: the
 * proxy's and the load side's lists, or [null] for the whole machine), or `maxWaitMs` has passed
 * (bounded). Returns the last sample (steal: the most of any group). Doubles as the pause between runs.
 */
export async function waitForQuiet(pids, { maxOtherLoad, maxSteal, cpuGroups, maxWaitMs, sampleMs = 500 }) {
  const deadline = Date.now() + maxWaitMs;
  let load;
  let steal;
  do {
    const probe = startContentionProbe(pids);
    const stealProbes = cpuGroups.map(startStealProbe);
    await new Promise((resolve) => setTimeout(resolve, sampleMs));
    load = probe();
    steal = Math.max(...stealProbes.map((stealOf) => stealOf()));
  } while ((load > maxOtherLoad || steal > maxSteal) && Date.now() < deadline);
  return { load, steal };
}
