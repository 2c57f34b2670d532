// Real redis-server instances for tests: each on a free port, no persistence, killed on close.
// Also a 3-master Redis Cluster made with `redis-cli --cluster create`.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, sleep } from './net.js';

const run = promisify(execFile);

export interface RedisServer {
  port: number;
  url: string;
  proc: ChildProcess;
  /** SIGSTOP / SIGCONT, to simulate a Redis that hangs. */
  pause(): void;
  resume(): void;
  /** Kills the server; `restart()` brings it back on the same port (empty). */
  kill(): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(port, '127.0.0.1');
    socket.setTimeout(500);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => {
      socket.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

async function waitReady(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ping(port))) {
    if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not start`);
    await sleep(50);
  }
}

function spawnRedis(port: number, dir: string, extra: string[] = []): ChildProcess {
  return spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      ...extra,
    ],
    { stdio: 'ignore' },
  );
}

async function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill('SIGCONT');
  proc.kill('SIGKILL');
  await exited;
}

/** Starts a standalone redis-server on a free port (redis-server must be on PATH). */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'dito-redis-'));
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    proc: spawnRedis(port, dir),
    pause: () => server.proc.kill('SIGSTOP'),
    resume: () => server.proc.kill('SIGCONT'),
    kill: () => stopProcess(server.proc),
    restart: async () => {
      await stopProcess(server.proc);
      server.proc = spawnRedis(port, dir);
      await waitReady(port);
    },
    close: async () => {
      await stopProcess(server.proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await waitReady(port);
  return server;
}

export interface RedisCluster {
  ports: number[];
  close(): Promise<void>;
}

/** Starts three cluster-enabled masters and joins them into one cluster. */
export async function startRedisCluster(): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'dito-redis-cluster-'));
  const ports: number[] = [];
  const procs: ChildProcess[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    // Cluster bus port = port + 10000 must be free too; retry with another port if not.
    ports.push(port);
    procs.push(
      spawnRedis(port, dir, [
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        `nodes-${port}.conf`,
        '--cluster-node-timeout',
        '2000',
      ]),
    );
  }
  const close = async () => {
    await Promise.all(procs.map(stopProcess));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(ports.map((p) => waitReady(p)));
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    // Wait until every node reports the cluster as ok.
    const deadline = Date.now() + 15_000;
    for (const port of ports) {
      for (;;) {
        const { stdout } = await run('redis-cli', ['-p', String(port), 'cluster', 'info']);
        if (stdout.includes('cluster_state:ok')) break;
        if (Date.now() > deadline) throw new Error('redis cluster did not become ok');
        await sleep(100);
      }
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { ports, close };
}

export interface RedisSentinel {
  port: number;
  masterName: string;
  close(): Promise<void>;
}

/** Starts one redis-sentinel on a free port, monitoring the master on `masterPort` as `masterName`. */
export async function startRedisSentinel(
  masterPort: number,
  masterName = 'dito-main',
): Promise<RedisSentinel> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'dito-redis-sentinel-'));
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(
    conf,
    `port ${port}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor ${masterName} 127.0.0.1 ${masterPort} 1\n`,
  );
  const proc = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
  const close = async () => {
    await stopProcess(proc);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(port);
    // The sentinel knows the master once it answers for it.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { stdout } = await run('redis-cli', [
        '-p',
        String(port),
        'sentinel',
        'get-master-addr-by-name',
        masterName,
      ]);
      if (stdout.includes(String(masterPort))) break;
      if (Date.now() > deadline) throw new Error('sentinel did not learn its master');
      await sleep(50);
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { port, masterName, close };
}
