// Readiness and a required Redis (rate-limiter-redis failing closed), through bin/dito with a real
// redis-server: starting until Redis first answers, ready, not ready while Redis is down, ready
// again when it is back. A fail-open limiter never makes Dito unready.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { baseConfig, startDito } from '../helpers/dito.js';
import { request, waitFor } from '../helpers/net.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

describe('readiness with Redis', () => {
  let upstream: Upstream;
  let redis: RedisServer;

  before(async () => {
    upstream = await startUpstream();
    redis = await startRedis();
  });
  after(async () => {
    await redis.close();
    await upstream.close();
  });

  const config = (failureMode: 'open' | 'closed') =>
    baseConfig(
      [
        {
          path: '^/api',
          target_url: upstream.url,
          middlewares: ['rate-limiter-redis'],
          rate_limiting: { enabled: true, requests_per_second: 100, burst: 100, failure_mode: failureMode },
        },
      ],
      { health: { enabled: true }, redis: { enabled: true, port: redis.port, command_timeout: '200ms' } },
    );

  const readiness = async (url: string) => {
    const reply = await request(`${url}/readyz`);
    return { status: reply.status, body: reply.json() };
  };

  test('fail-closed limiter: starting → ready → not_ready (Redis down) → ready', async () => {
    await redis.kill();
    const dito = await startDito(config('closed'));
    try {
      assert.deepEqual(await readiness(dito.url), {
        status: 503,
        body: { status: 'starting', checks: { redis: 'connecting' } },
      });
      assert.equal((await request(`${dito.url}/healthz`)).status, 200, 'alive all the same');

      await redis.restart();
      await waitFor(async () => (await readiness(dito.url)).status === 200, 10_000);
      assert.deepEqual((await readiness(dito.url)).body, { status: 'ready', checks: { redis: 'ready' } });

      await redis.kill();
      const down = await waitFor(async () => {
        const now = await readiness(dito.url);
        return now.status === 503 ? now : undefined;
      }, 10_000);
      assert.equal(down!.body.status, 'not_ready');
      assert.notEqual((down!.body.checks as { redis: string }).redis, 'ready');

      await redis.restart();
      await waitFor(async () => (await readiness(dito.url)).status === 200, 10_000);
    } finally {
      await dito.stop();
    }
  });

  test('fail-open limiter: Redis down never makes Dito unready', async () => {
    await redis.kill();
    const dito = await startDito(config('open'));
    try {
      assert.deepEqual(await readiness(dito.url), { status: 200, body: { status: 'ready', checks: {} } });
      assert.equal((await request(`${dito.url}/api/x`)).status, 200, 'served without Redis');
    } finally {
      await dito.stop();
      await redis.restart();
    }
  });
});
