// Every process the bench starts goes through here: pinned with taskset, logged to a file, tracked by
// pid, and stopped by pid (SIGTERM, then SIGKILL) at the end, on error and on Ctrl-C.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const live = new Map(); // pid → handle

/** Starts `command args` on `cpus` (a taskset list, or null for no pinning); output goes to `logFile`. */
export function startProcess(name, command, args, { cpus = null, env = process.env, logFile, cwd } = {}) {
  const [file, argv] = cpus === null ? [command, args] : ['taskset', ['-c', cpus, command, ...args]];
  const out = fs.openSync(logFile, 'a');
  const child = spawn(file, argv, { stdio: ['ignore', out, out], env, cwd });
  fs.closeSync(out);
  const handle = { name, pid: child.pid, logFile, exit: null };
  handle.exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      handle.exit = { code, signal };
      live.delete(handle.pid);
      resolve(handle.exit);
    });
    child.on('error', (error) => {
      handle.exit = { code: null, signal: null, error: error.message };
      live.delete(handle.pid);
      resolve(handle.exit);
    });
  });
  if (child.pid !== undefined) live.set(child.pid, handle);
  return handle;
}

/** The last lines a process wrote, for error messages. */
export function logTail(handle, lines = 15) {
  try {
    return fs.readFileSync(handle.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Pids of every live descendant of `pid` (nginx workers, cluster workers, a wrapper's child). */
export function descendants(pid) {
  const parentOf = new Map();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited meanwhile
    }
  }
  const found = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift();
    for (const [child, ppid] of parentOf) {
      if (ppid === parent) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

/** Peak resident set (VmHWM) of `pid` and its descendants, in KiB, per process. Shell wrappers are left out. */
export function peakRss(pid) {
  const processes = [];
  for (const each of [pid, ...descendants(pid)]) {
    try {
      const status = fs.readFileSync(`/proc/${each}/status`, 'utf8');
      const name = /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '?';
      const hwm = Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0);
      if (!['sh', 'bash', 'dash', 'taskset'].includes(name))
        processes.push({ pid: each, name, peakKiB: hwm });
    } catch {
      // exited meanwhile
    }
  }
  return { totalKiB: processes.reduce((sum, p) => sum + p.peakKiB, 0), processes };
}

/** Sends `signal` to `pid`; false when the process is already gone. */
function signal(pid, name) {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false; // ESRCH: already exited
  }
}

const alive = (pid) => signal(pid, 0);

/** SIGTERM, wait up to `graceMs`, then SIGKILL the process and any descendant it left behind. */
export async function stopProcess(handle, graceMs = 5000) {
  if (handle.exit) return handle.exit;
  const children = descendants(handle.pid);
  signal(handle.pid, 'SIGTERM');
  const timer = sleep(graceMs).then(() => 'timeout');
  if ((await Promise.race([handle.exited, timer])) === 'timeout') {
    signal(handle.pid, 'SIGKILL');
    await handle.exited;
  }
  for (const child of children) {
    if (!alive(child)) continue;
    for (let i = 0; i < 20 && alive(child); i++) await sleep(50); // nginx workers finish on their own
    signal(child, 'SIGKILL');
  }
  return handle.exit;
}

export async function stopAll() {
  await Promise.all([...live.values()].map((handle) => stopProcess(handle, 3000)));
}

/** Stop everything on Ctrl-C, SIGTERM or a crash; kill leftovers synchronously at exit. */
export function installCleanup() {
  const onSignal = (received) => {
    console.error(`\nbench: ${received}, stopping ${live.size} process(es)`);
    stopAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.on('exit', () => {
    for (const pid of live.keys()) {
      for (const child of descendants(pid)) {
        signal(child, 'SIGKILL');
      }
      signal(pid, 'SIGKILL');
    }
  });
}

/** A port free right now on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** One request to 127.0.0.1, resolving { status, bytes, body } (body cut at 2 KiB). */
export function probe(port, { method = 'GET', path = '/', body = null, timeoutMs = 3000 } = {}) {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: '127.0.0.1', port, method, path, agent: false, timeout: timeoutMs },
      (res) => {
        let bytes = 0;
        const chunks = [];
        res.on('data', (chunk) => {
          bytes += chunk.length;
          if (bytes <= 2048) chunks.push(chunk);
        });
        res.on('end', () =>
          resolve({ status: res.statusCode, bytes, body: Buffer.concat(chunks).toString() }),
        );
        res.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error('probe timed out')));
    request.on('error', reject);
    request.end(body);
  });
}

/** Waits (bounded) until `check(port)` passes; fails early with the log tail if the process exits. */
export async function waitUntilServing(handle, port, check, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  let lastError = 'not tried';
  while (Date.now() < deadline) {
    if (handle?.exit) {
      throw new Error(
        `${handle.name} exited (${JSON.stringify(handle.exit)}) before serving:\n${logTail(handle)}`,
      );
    }
    try {
      await check(port);
      return;
    } catch (error) {
      lastError = error.message;
    }
    await sleep(100);
  }
  throw new Error(
    `${handle?.name ?? 'server'} not serving on ${port} after ${timeoutMs} ms: ${lastError}\n${handle ? logTail(handle) : ''}`,
  );
}
