// `rate-limiter-redis` against a real redis-server and a real 3-master Redis Cluster: two Dito
// processes share one budget; Redis killed → fail open, limiting resumes when it is back;
// `failure_mode: closed` → 503; a hung Redis costs at most the command timeout.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { baseConfig, type DitoProcess, startDito } from '../helpers/dito.js';
import { freePort, request, waitFor } from '../helpers/net.js';
import {
  type RedisCluster,
  type RedisServer,
  startRedis,
  startRedisCluster,
  startRedisSentinel,
} from '../helpers/redis.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const BURST = 5;

function location(path: string, target: string, limits: object = {}): object {
  return {
    path,
    target_url: target,
    middlewares: ['rate-limiter-redis'],
    // A rate so slow no token comes back during a test: what passes is exactly the burst.
    rate_limiting: { enabled: true, requests_per_second: 0.001, burst: BURST, ...limits },
  };
}

function redisConfig(redis: object, locations: object[]): Record<string, unknown> {
  return baseConfig(locations, {
    // Generous enough that a loaded CI machine does not fail open by accident; SIGSTOP tests still end fast.
    redis: { enabled: true, command_timeout: '600ms', ...redis },
    trusted_proxies: ['127.0.0.1'],
  });
}

/** Requests from one client (X-Forwarded-For through the trusted proxy 127.0.0.1). */
async function statuses(urls: string[], client: string): Promise<number[]> {
  const out: number[] = [];
  for (const url of urls) {
    out.push((await request(url, { headers: { 'x-forwarded-for': client } })).status);
  }
  return out;
}

const run = promisify(execFile);

const count = (list: number[], status: number) => list.filter((s) => s === status).length;

describe('rate-limiter-redis on one redis-server', () => {
  let upstream: Upstream;
  let redis: RedisServer;
  let first: DitoProcess;
  let second: DitoProcess;

  before(async () => {
    upstream = await startUpstream();
    redis = await startRedis();
    const config = redisConfig({ host: '127.0.0.1', port: redis.port }, [
      location('^/shared', upstream.url),
      location('^/outage', upstream.url),
    ]);
    [first, second] = await Promise.all([startDito(config), startDito(config)]);
    await waitFor(() => [first, second].every((d) => d.logs.some((l) => l.msg === 'redis connected')));
  });

  after(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
    await redis?.close();
    await upstream?.close();
  });

  test('two Dito processes on one Redis together pass burst, not 2 × burst', async () => {
    const urls = Array.from({ length: 4 * BURST }, (_, i) => `${(i % 2 ? second : first).url}/shared`);
    const seen = await statuses(urls, '203.0.113.10');
    assert.equal(count(seen, 200), BURST);
    assert.equal(count(seen, 429), 3 * BURST);
    const reply = await request(`${first.url}/shared`, { headers: { 'x-forwarded-for': '203.0.113.10' } });
    assert.equal(reply.headers['ratelimit-limit'], String(BURST));
    assert.equal(reply.headers['ratelimit-remaining'], '0');
    assert.ok(Number(reply.headers['retry-after']) > 0);
  });

  test('Redis killed: requests are served (fail open); limiting resumes when Redis is back', async () => {
    const client = '203.0.113.20';
    const url = `${first.url}/outage`;
    assert.equal(count(await statuses(Array(BURST + 2).fill(url), client), 429), 2);

    await redis.kill();
    await waitFor(() => first.logs.some((l) => l.msg === 'redis connection lost; reconnecting with backoff'));
    const during = await statuses(Array(10).fill(url), client);
    assert.deepEqual(during, Array(10).fill(200), 'fail open while Redis is away');

    // Back, empty (no persistence): the bucket starts full and limiting works again.
    await redis.restart();
    await waitFor(() => first.logs.some((l) => l.msg === 'redis reconnected'), 10_000);
    // The second instance reconnects on its own backoff: wait for it too, or its new connection
    // shows up in the next test's client list as one "reopened" by the reload.
    await waitFor(() => second.logs.some((l) => l.msg === 'redis reconnected'), 10_000);
    // Logs come in order: by now every line of the outage is in.
    const failOpenLogs = first.logs.filter((l) => String(l.msg).includes('fail open'));
    assert.equal(failOpenLogs.length, 1, 'logged once per outage');
    const afterwards = await statuses(Array(BURST + 3).fill(url), client);
    assert.equal(count(afterwards, 200), BURST);
    assert.equal(count(afterwards, 429), 3);
  });

  test('a reload with the same redis settings keeps the connection and the shared budget', async () => {
    const reloads = () => first.logs.filter((l) => l.msg === 'config reloaded').length;
    const connects = () => first.logs.filter((l) => l.msg === 'redis connected').length;
    const client = '203.0.113.40';
    const spent = await statuses(Array(BURST).fill(`${first.url}/shared`), client);
    assert.equal(count(spent, 200), BURST);
    const connections = async () =>
      (await run('redis-cli', ['-p', String(redis.port), 'client', 'list'])).stdout
        .split('\n')
        .filter((line) => line.includes('cmd=') && !line.includes('cmd=client'))
        .map((line) => /id=(\d+)/.exec(line)?.[1])
        .sort()
        .join(',');
    const connectionsBefore = await connections();
    assert.notEqual(connectionsBefore, '');
    const before = { reloads: reloads(), connects: connects() };
    first.proc.kill('SIGHUP');
    await waitFor(() => reloads() > before.reloads);
    assert.equal(connects(), before.connects, 'no new connection');
    const reply = await request(`${first.url}/shared`, { headers: { 'x-forwarded-for': client } });
    assert.equal(reply.status, 429, 'the budget spent before the reload is still spent');
    assert.equal(await connections(), connectionsBefore, 'the same Redis connections, none reopened');
  });

  test('a hung Redis (SIGSTOP) costs at most about the command timeout, then fails open', async () => {
    redis.pause();
    try {
      const started = performance.now();
      const reply = await request(`${second.url}/shared`, { headers: { 'x-forwarded-for': '203.0.113.30' } });
      const elapsed = performance.now() - started;
      assert.equal(reply.status, 200);
      assert.ok(elapsed < 1000, `took ${Math.round(elapsed)} ms`);
    } finally {
      redis.resume();
    }
  });
});

describe('rate-limiter-redis with failure_mode closed', () => {
  test('Redis unreachable → 503 JSON with Retry-After; Dito still starts and serves the rest', async () => {
    const upstream = await startUpstream();
    const deadPort = await freePort();
    const dito = await startDito(
      redisConfig({ host: '127.0.0.1', port: deadPort, connect_timeout: '200ms' }, [
        location('^/closed', upstream.url, { failure_mode: 'closed' }),
        location('^/open', upstream.url),
      ]),
    );
    try {
      const refused = await request(`${dito.url}/closed`);
      assert.equal(refused.status, 503);
      assert.equal(refused.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal(refused.headers['retry-after'], '1');
      assert.equal(refused.json<{ error: { code: number } }>().error.code, 503);
      assert.equal((await request(`${dito.url}/open`)).status, 200);
      await waitFor(() => dito.logs.some((l) => l.msg === 'redis unreachable; retrying in the background'));
    } finally {
      await dito.stop();
      await upstream.close();
    }
  });
});

describe('rate-limiter-redis on a 3-master Redis Cluster', () => {
  let upstream: Upstream;
  let cluster: RedisCluster;
  let first: DitoProcess;
  let second: DitoProcess;

  before(async () => {
    upstream = await startUpstream();
    cluster = await startRedisCluster();
    const config = redisConfig({ cluster: { nodes: cluster.ports.map((p) => `127.0.0.1:${p}`) } }, [
      location('^/', upstream.url),
    ]);
    [first, second] = await Promise.all([startDito(config), startDito(config)]);
    await waitFor(
      () => [first, second].every((d) => d.logs.some((l) => l.msg === 'redis connected')),
      10_000,
    );
  });

  after(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
    await cluster?.close();
    await upstream?.close();
  });

  test('two Dito processes share each client budget; clients spread over all masters', async () => {
    // Eight clients: their keys hash to slots on different masters.
    for (let i = 0; i < 8; i++) {
      const urls = Array.from({ length: 3 * BURST }, (_, j) => `${(j % 2 ? second : first).url}/c${i}`);
      const seen = await statuses(urls, `198.51.100.${i + 1}`);
      assert.equal(count(seen, 200), BURST, `client ${i}`);
      assert.equal(count(seen, 429), 2 * BURST, `client ${i}`);
    }
    const keysPerMaster = await Promise.all(
      cluster.ports.map(async (port) =>
        Number((await run('redis-cli', ['-p', String(port), 'dbsize'])).stdout),
      ),
    );
    assert.equal(
      keysPerMaster.reduce((a, b) => a + b, 0),
      8,
    );
    assert.ok(keysPerMaster.filter((n) => n > 0).length >= 2, `keys per master: ${keysPerMaster}`);
  });
});

describe('rate-limiter-redis through Redis Sentinel', () => {
  test('the master is found through the sentinel and limits as usual', async () => {
    const upstream = await startUpstream();
    const master = await startRedis();
    const sentinel = await startRedisSentinel(master.port);
    const dito = await startDito(
      redisConfig({ sentinel: { master_name: sentinel.masterName, nodes: [`127.0.0.1:${sentinel.port}`] } }, [
        location('^/', upstream.url),
      ]),
    );
    try {
      await waitFor(() => dito.logs.some((l) => l.msg === 'redis connected'));
      const seen = await statuses(Array(BURST + 2).fill(`${dito.url}/s`), '192.0.2.50');
      assert.equal(count(seen, 200), BURST);
      assert.equal(count(seen, 429), 2);
    } finally {
      await dito.stop();
      await sentinel.close();
      await master.close();
      await upstream.close();
    }
  });
});
