// Measures how much CPU *other* processes used during a run (machine busy time minus the bench's
// own processes), so a run disturbed by a build or a test suite on a shared machine is seen,
// reported and retried instead of silently skewing the medians.
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
  // charged to any process), which would otherwise show as "other" load on big-body scenarios.
  const [user, nice, system, , , , , steal] = fields;
  return user + nice + system + steal;
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

/** Before a run: samples `sampleMs` windows until other processes use at most `maxOtherLoad` cores,
 * or `maxWaitMs` has passed (bounded). Returns the last sample. Doubles as the pause between runs. */
export async function waitForQuiet(pids, { maxOtherLoad, maxWaitMs, sampleMs = 500 }) {
  const deadline = Date.now() + maxWaitMs;
  let load;
  do {
    const probe = startContentionProbe(pids);
    await new Promise((resolve) => setTimeout(resolve, sampleMs));
    load = probe();
  } while (load > maxOtherLoad && Date.now() < deadline);
  return load;
}
