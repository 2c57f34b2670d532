// `workers: 2`: one port served by two processes, SIGHUP reloading every worker, a killed worker
// restarted, metrics summed over workers, SIGTERM draining a slow request, one-line start errors.
// Who holds the listening socket is read off /proc: each worker its own (SO_REUSEPORT) where Node
// offers it (make test-lts, Node 24), the primary alone with node:cluster's round robin (Node 20).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { workersBindWithReusePort } from '../../src/cluster/reuse-port.js';
import { baseConfig, type DitoProcess, runDitoToExit, startDito, writeConfig } from '../helpers/dito.js';
import { request, waitFor } from '../helpers/net.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

/** Sum of `http_requests_total` series whose labels contain `labelText`. */
function requestsCounted(exposition: string, labelText: string): number {
  let total = 0;
  for (const line of exposition.split('\n')) {
    if (line.startsWith('http_requests_total{') && line.includes(labelText))
      total += Number(line.split(' ')[1]);
  }
  return total;
}

function logsWith(dito: DitoProcess, msg: string): Array<Record<string, unknown>> {
  return dito.logs.filter((entry) => entry.msg === msg);
}

/** Socket inodes listening on `port` (TCP over IPv4 and IPv6), from /proc/net. */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; state 0A is LISTEN; the inode is the tenth field.
      if (fields[1]?.endsWith(`:${hexPort}`) && fields[3] === '0A') inodes.add(fields[9]!);
    }
  }
  return inodes;
}

/** How many of `inodes` the process `pid` holds open. */
function socketsHeldBy(pid: number, inodes: Set<string>): number {
  let held = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match !== null && inodes.has(match[1]!)) held++;
    } catch {
      // closed while being read
    }
  }
  return held;
}

/** The pids of the workers serving now (the newest `worker listening` line of each slot). */
function workerPids(dito: DitoProcess): number[] {
  const bySlot = new Map<unknown, number>();
  for (const entry of logsWith(dito, 'worker listening')) bySlot.set(entry.worker, entry.pid as number);
  return [...bySlot.values()];
}

/** Each worker holds a listening socket of its own, or (node:cluster) the primary holds the one. */
function assertListeners(dito: DitoProcess, kernel = kernelBalancing): void {
  const inodes = listeningInodes(dito.port);
  const workers = workerPids(dito);
  assert.equal(workers.length, 2);
  if (kernel) {
    assert.equal(inodes.size, 2, 'one listening socket per worker');
    for (const pid of workers) assert.equal(socketsHeldBy(pid, inodes), 1, `worker ${pid}`);
    assert.equal(socketsHeldBy(dito.proc.pid!, inodes), 0, 'the primary');
  } else {
    assert.equal(inodes.size, 1, 'one listening socket');
    assert.equal(socketsHeldBy(dito.proc.pid!, inodes), 1, 'the primary');
  }
}

/** What this test's Node, on this platform, makes of `workers` (the Dito under test runs on it). */
const kernelBalancing = workersBindWithReusePort();

describe('workers: 2', () => {
  let echo: Upstream;
  let slow: Upstream;
  let dito: DitoProcess;
  const locations = () => [
    { path: '^/slow', target_url: slow.url },
    { path: '^/old', target_url: echo.url },
  ];

  before(async () => {
    echo = await startUpstream();
    slow = await startUpstream((_req, res) => void setTimeout(() => res.end('slow but sure'), 1000));
    dito = await startDito(baseConfig(locations(), { workers: 2, metrics: { enabled: true } }));
  });

  after(async () => {
    await dito.stop('SIGKILL');
    await echo.close();
    await slow.close();
  });

  test('one listening line; both workers answer on its port', async () => {
    assert.equal(logsWith(dito, 'listening').length, 1);
    assert.equal(logsWith(dito, 'listening')[0]!.balancing, kernelBalancing ? 'kernel' : 'round_robin');
    assert.equal(logsWith(dito, 'worker listening').length, 2);
    // `port: 0`: every worker got the one ephemeral port (worker 1 picks it when each binds its own).
    for (const entry of logsWith(dito, 'worker listening')) assert.equal(entry.port, dito.port);
    assertListeners(dito);
    for (let i = 0; i < 20; i++) assert.equal((await request(`${dito.url}/old/${i}`)).status, 200);
    // Each request came on a fresh connection; the primary hands connections out in turn.
    const pids = (await waitFor(() => {
      const seen = new Set(logsWith(dito, 'request').map((entry) => entry.pid));
      return seen.size === 2 ? seen : undefined;
    }))!;
    assert.ok(!pids.has(dito.proc.pid), 'the primary serves no request');
  });

  test('a scrape answers the sum over every worker, whichever worker takes it', async () => {
    for (let scrape = 0; scrape < 2; scrape++) {
      const reply = await request(`${dito.url}/metrics`);
      assert.equal(reply.status, 200);
      assert.equal(requestsCounted(reply.text, 'path="^/old"'), 20);
      assert.match(reply.text, /dito_config_info\{sha256="[0-9a-f]+"\} 1\n/);
    }
  });

  test('SIGHUP reloads every worker', async () => {
    assert.equal((await request(`${dito.url}/new`)).status, 404);
    const config = baseConfig([...locations(), { path: '^/new', target_url: echo.url }], {
      workers: 2,
      metrics: { enabled: true },
    });
    writeFileSync(dito.configPath, stringify(config));
    dito.proc.kill('SIGHUP');
    await waitFor(() => logsWith(dito, 'config reloaded').length === 2);
    for (let i = 0; i < 6; i++) assert.equal((await request(`${dito.url}/new/${i}`)).status, 200);
  });

  test('a killed worker is restarted and serving goes on', async () => {
    const victim = logsWith(dito, 'worker listening')[0]!.pid as number;
    process.kill(victim, 'SIGKILL');
    const restarted = (await waitFor(() => logsWith(dito, 'worker restarted')[0]))!;
    assert.notEqual(restarted.pid, victim);
    assert.ok(logsWith(dito, 'worker exited unexpectedly: restarting it').length === 1);
    await waitFor(() => logsWith(dito, 'worker listening').length === 3);
    assert.equal(logsWith(dito, 'worker listening')[2]!.port, dito.port);
    assertListeners(dito);
    // The restarted worker read the config file as it is now: /new is live there too.
    for (let i = 0; i < 6; i++) assert.equal((await request(`${dito.url}/new/${i}`)).status, 200);
  });

  test('SIGTERM lets a slow in-flight request finish, then exits 0', async () => {
    const reply = request(`${dito.url}/slow`);
    await waitFor(() => slow.requests.length === 1);
    const code = await dito.stop('SIGTERM');
    assert.equal(code, 0);
    const answered = await reply;
    assert.equal(answered.status, 200);
    assert.equal(answered.text, 'slow but sure');
  });
});

test('workers: 2 on a port in use: one line on stderr, exit 1', async () => {
  const blocker = createServer();
  blocker.listen(0);
  await once(blocker, 'listening');
  const port = (blocker.address() as { port: number }).port;
  try {
    const configPath = writeConfig({ port, workers: 2, locations: [] });
    const result = await runDitoToExit(['-f', configPath]);
    assert.equal(result.code, 1);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.equal(lines[0], `listen EADDRINUSE: address already in use :::${port}`);
  } finally {
    blocker.close();
  }
});

test('a worker restarted after the file names another port listens where the others do', async () => {
  const upstream = await startUpstream();
  const locations = [{ path: '^/', target_url: upstream.url }];
  const dito = await startDito(baseConfig(locations, { workers: 2 }));
  try {
    const spare = createServer().listen(0);
    await once(spare, 'listening');
    const newPort = (spare.address() as { port: number }).port;
    spare.close();
    writeFileSync(dito.configPath, stringify(baseConfig(locations, { workers: 2, port: newPort })));
    dito.proc.kill('SIGHUP');
    await waitFor(() => logsWith(dito, 'config reloaded').length === 2);
    assert.equal(
      logsWith(
        dito,
        'port changed: restart Dito to listen on the new port; the rest of the config is applied',
      ).length,
      2,
    );
    process.kill(workerPids(dito)[0]!, 'SIGKILL');
    await waitFor(() => logsWith(dito, 'worker listening').length === 3);
    assert.equal(logsWith(dito, 'worker listening')[2]!.port, dito.port);
    assertListeners(dito);
    assert.equal(listeningInodes(newPort).size, 0, 'nothing listens on the port only the file names');
    for (let i = 0; i < 6; i++) assert.equal((await request(`${dito.url}/x/${i}`)).status, 200);
  } finally {
    await dito.stop('SIGKILL');
    await upstream.close();
  }
});

test('DITO_REUSE_PORT=0 keeps node:cluster round robin', async () => {
  const upstream = await startUpstream();
  const dito = await startDito(baseConfig([{ path: '^/', target_url: upstream.url }], { workers: 2 }), {
    env: { DITO_REUSE_PORT: '0' },
  });
  try {
    assert.equal(logsWith(dito, 'listening')[0]!.balancing, 'round_robin');
    await waitFor(() => logsWith(dito, 'worker listening').length === 2);
    assertListeners(dito, false);
    assert.equal((await request(`${dito.url}/x`)).status, 200);
  } finally {
    await dito.stop('SIGKILL');
    await upstream.close();
  }
});

test('workers: a bad value is refused at load', async () => {
  const configPath = writeConfig({ port: 0, workers: 0, locations: [] });
  const result = await runDitoToExit(['-f', configPath]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /workers/);
});
