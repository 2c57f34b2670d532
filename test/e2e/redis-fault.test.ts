// Redis faults in the middle of traffic (anchors F9), for both Redis users at once — the `cache`
// and `rate-limiter-redis` middlewares: a slow Redis (every answer 2 s late, through a latency
// proxy), a hung one (SIGSTOP) and a dead one (killed). Requests keep their documented behaviour
// (cache: a miss; limiter: fail open), each within the command-timeout bound, requests that do not
// use Redis are not slowed at all (nothing blocks the event loop), and both recover.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createConnection, createServer, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { baseConfig, type DitoProcess, startDito } from '../helpers/dito.js';
import { type Reply, request, sleep, waitFor } from '../helpers/net.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

/** A TCP proxy to Redis that holds every answer back by `delayMs`, order kept. */
async function startLatencyProxy(redisPort: number) {
  const state = { delayMs: 0 };
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const redis = createConnection(redisPort, '127.0.0.1');
    sockets.add(client).add(redis);
    let releaseAt = 0;
    client.on('data', (chunk) => redis.write(chunk));
    redis.on('data', (chunk) => {
      releaseAt = Math.max(Date.now() + state.delayMs, releaseAt);
      setTimeout(() => client.writable && client.write(chunk), releaseAt - Date.now());
    });
    const closeBoth = () => {
      client.destroy();
      redis.destroy();
    };
    for (const s of [client, redis]) {
      s.on('error', closeBoth);
      s.on('close', closeBoth);
      s.on('close', () => sockets.delete(s));
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as { port: number }).port,
    state,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

interface Timed {
  path: string;
  reply: Reply;
  ms: number;
}

async function timed(url: string, path: string): Promise<Timed> {
  const started = performance.now();
  const reply = await request(url + path, { timeoutMs: 10_000 });
  return { path, reply, ms: performance.now() - started };
}

/** `rounds` × (cache, limiter, plain) requests, all three concurrently each round. */
async function traffic(dito: DitoProcess, rounds: number, tag: string): Promise<Timed[]> {
  const out: Timed[] = [];
  for (let i = 0; i < rounds; i++) {
    out.push(
      ...(await Promise.all([
        timed(dito.url, `/cached/${tag}-${i % 3}`),
        timed(dito.url, `/limited/${tag}`),
        timed(dito.url, `/plain/${tag}`),
      ])),
    );
  }
  return out;
}

describe('Redis faults mid-traffic (cache and rate-limiter-redis)', () => {
  let upstream: Upstream;
  let redis: RedisServer;
  let proxy: Awaited<ReturnType<typeof startLatencyProxy>>;
  let dito: DitoProcess;

  before(async () => {
    upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=60' });
      res.end('fresh');
    });
    redis = await startRedis();
    proxy = await startLatencyProxy(redis.port);
    dito = await startDito(
      baseConfig(
        [
          {
            path: '^/cached/',
            target_url: upstream.url,
            middlewares: ['cache'],
            cache: { enabled: true, ttl: 60 },
          },
          {
            path: '^/limited/',
            target_url: upstream.url,
            middlewares: ['rate-limiter-redis'],
            rate_limiting: { enabled: true, requests_per_second: 1000, burst: 1000 },
          },
          { path: '^/plain/', target_url: upstream.url },
        ],
        // command_timeout left at its default (200ms): the bound under test.
        { redis: { enabled: true, host: '127.0.0.1', port: proxy.port } },
      ),
    );
    await waitFor(
      async () => (await request(`${dito.url}/cached/warm`)).headers['x-cache'] === 'HIT',
      10_000,
      50,
    );
  });

  after(async () => {
    await dito?.stop();
    await proxy?.close();
    await redis?.close();
    await upstream?.close();
  });

  const assertDegraded = (results: Timed[], boundMs: number) => {
    for (const { path, reply, ms } of results) {
      assert.equal(reply.status, 200, `${path}: ${reply.status} ${reply.text}`);
      if (path.startsWith('/cached/')) assert.equal(reply.headers['x-cache'], 'MISS', path);
      assert.ok(ms < boundMs, `${path} took ${Math.round(ms)} ms`);
    }
    const plain = results.filter((r) => r.path.startsWith('/plain/'));
    assert.ok(Math.max(...plain.map((r) => r.ms)) < 500, 'requests without Redis are not held up');
  };

  test('slow Redis (answers 2 s late): misses and fail-open within the command timeout, then recovery', async () => {
    proxy.state.delayMs = 2000;
    try {
      // Two lookups (cache get, limiter script) at most, each cut at 200 ms, on a loaded machine.
      assertDegraded(await traffic(dito, 8, 'slow'), 1500);
    } finally {
      proxy.state.delayMs = 0;
    }
    await waitFor(
      async () => (await request(`${dito.url}/cached/after-slow`)).headers['x-cache'] === 'HIT',
      10_000,
      100,
    );
    assert.equal((await request(`${dito.url}/limited/after-slow`)).status, 200);
  });

  test('hung Redis (SIGSTOP) and killed Redis mid-traffic: no error reaches a client; recovery after', async () => {
    const background = traffic(dito, 12, 'outage');
    await sleep(150);
    redis.pause();
    await sleep(700);
    redis.resume();
    await redis.kill();
    const results = await background;
    for (const { path, reply } of results) assert.equal(reply.status, 200, `${path}: ${reply.text}`);
    assertDegraded(await traffic(dito, 4, 'dead'), 1500);
    await redis.restart();
    await waitFor(
      async () => (await request(`${dito.url}/cached/back`)).headers['x-cache'] === 'HIT',
      15_000,
      100,
    );
    assert.equal(dito.proc.exitCode, null);
  });
});
