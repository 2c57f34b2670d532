// The `cache` middleware on a real redis-server: a response cached by Dito A is served by Dito B,
// a 2 MiB binary body round-trips byte-exact, Vary and expiry work through Redis, concurrent
// misses collapse, and a Redis that is gone or hung degrades to misses, never to errors.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { cacheTestHandler, concurrent, hitsFor } from '../helpers/cache-upstream.js';
import { baseConfig, type DitoProcess, startDito } from '../helpers/dito.js';
import { request, waitFor } from '../helpers/net.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** The key includes Host: behind one load balancer both instances see the same one. */
const HOST = 'shop.example';

/** A GET through `dito` with the shared Host. */
function get(dito: DitoProcess, path: string, headers: Record<string, string> = {}) {
  return request(dito.url + path, { headers: { host: HOST, ...headers } });
}

/** Waits until `dito` answers `path` from the cache: its own store has landed in Redis. */
async function landed(dito: DitoProcess, path: string, headers: Record<string, string> = {}): Promise<void> {
  await waitFor(async () => (await get(dito, path, headers)).headers['x-cache'] === 'HIT');
}

describe('cache in Redis', () => {
  let upstream: Upstream;
  let redis: RedisServer;
  let first: DitoProcess;
  let second: DitoProcess;

  before(async () => {
    upstream = await startUpstream(cacheTestHandler);
    redis = await startRedis();
    const config = baseConfig(
      [
        {
          path: '^/short/',
          target_url: upstream.url,
          middlewares: ['cache'],
          cache: { enabled: true, ttl: 2 },
        },
        {
          path: '^/',
          target_url: upstream.url,
          middlewares: ['cache'],
          cache: { enabled: true, ttl: 60, max_body_size: '4MiB' },
        },
      ],
      {
        redis: {
          enabled: true,
          host: '127.0.0.1',
          port: redis.port,
          command_timeout: '150ms',
          key_prefix: 't:',
        },
      },
    );
    [first, second] = await Promise.all([startDito(config), startDito(config)]);
    // Both connected: a request through each reaches Redis (a miss is stored, then hit).
    await waitFor(async () => (await get(first, '/warm')).headers['x-cache'] === 'HIT', 5000, 50);
    await waitFor(async () => (await get(second, '/warm')).headers['x-cache'] === 'HIT', 5000, 50);
  });

  after(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
    await redis?.close();
    await upstream?.close();
  });

  test('a response cached by Dito A is served by Dito B', async () => {
    const fromA = await get(first, '/shared?id=7');
    assert.equal(fromA.headers['x-cache'], 'MISS');
    // The store is asynchronous: once A answers from Redis, its SET has landed.
    await landed(first, '/shared?id=7');
    const fromB = await get(second, '/shared?id=7');
    assert.equal(fromB.headers['x-cache'], 'HIT');
    assert.equal(fromB.text, fromA.text);
    assert.equal(fromB.headers['content-type'], 'text/plain');
    assert.equal(hitsFor(upstream, '/shared?id=7'), 1);
  });

  test('a 2 MiB binary body round-trips byte-exact through Redis', async () => {
    const miss = await get(first, '/binary');
    assert.equal(miss.body.length, 2 * 1024 * 1024);
    await landed(first, '/binary');
    const hit = await get(second, '/binary');
    assert.equal(hit.headers['x-cache'], 'HIT');
    assert.equal(hit.body.length, miss.body.length);
    assert.equal(sha256(hit.body), sha256(miss.body));
    assert.equal(hit.headers['content-type'], 'application/octet-stream');
    assert.equal(hitsFor(upstream, '/binary'), 1);
  });

  test('Vary, no-store and expiry through Redis', async () => {
    const de = { 'accept-language': 'de' };
    await get(first, '/vary', de);
    await landed(first, '/vary', de);
    const hit = await get(second, '/vary', de);
    assert.equal(hit.headers['x-cache'], 'HIT');
    assert.equal(hit.text, 'lang=de');
    assert.equal((await get(second, '/vary', { 'accept-language': 'it' })).text, 'lang=it');
    await get(first, '/no-store');
    assert.equal((await get(second, '/no-store')).headers['x-cache'], 'MISS');
    await get(first, '/short/x');
    await waitFor(async () => (await get(second, '/short/x')).headers['x-cache'] === 'HIT');
    // Redis drops the key after the ttl (SET ... PX).
    await waitFor(async () => (await get(second, '/short/x')).headers['x-cache'] === 'MISS', 5000, 100);
  });

  test('100 concurrent misses for one key make one upstream request', async () => {
    const replies = await concurrent(100, `${first.url}/slow?redis`);
    assert.equal(hitsFor(upstream, '/slow?redis'), 1);
    assert.ok(replies.every((r) => r.status === 200 && r.text === replies[0]!.text));
  });

  test('a hung or dead Redis degrades to misses, and caching resumes when it is back', async () => {
    redis.pause();
    try {
      const started = performance.now();
      const hung = await get(first, '/outage-hang');
      assert.equal(hung.status, 200);
      assert.equal(hung.headers['x-cache'], 'MISS');
      // One lookup waits at most the command timeout (150 ms), the store does not delay the answer.
      assert.ok(performance.now() - started < 2000);
    } finally {
      redis.resume();
    }
    await redis.kill();
    for (let i = 0; i < 3; i++) {
      const reply = await get(first, '/outage');
      assert.equal(reply.status, 200);
      assert.equal(reply.headers['x-cache'], 'MISS');
    }
    assert.equal(hitsFor(upstream, '/outage'), 3);
    // Logged once per outage, not once per request.
    const fallbackLines = () => first.logs.filter((l) => l.component === 'cache' && l.outcome === 'open');
    await waitFor(() => fallbackLines().length > 0);
    const fallbacks = fallbackLines();
    assert.ok(fallbacks.length >= 1 && fallbacks.length <= 2, `${fallbacks.length} fallback log lines`);
    await redis.restart();
    await waitFor(async () => (await get(first, '/outage')).headers['x-cache'] === 'HIT', 10_000, 100);
  });
});
