// Liveness and readiness endpoints through bin/dito: served before routing (never proxied),
// configurable paths, readiness failing at once on SIGTERM while the shutdown delay keeps serving.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { baseConfig, startDito } from '../helpers/dito.js';
import { request, waitFor } from '../helpers/net.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

describe('health endpoints', () => {
  let upstream: Upstream;

  before(async () => {
    upstream = await startUpstream();
  });
  after(async () => {
    await upstream.close();
  });

  const catchAll = () => [{ path: '^/', target_url: upstream.url }];

  test('liveness and readiness answer JSON on the main port and never reach the upstream', async () => {
    const dito = await startDito(baseConfig(catchAll(), { health: { enabled: true } }));
    try {
      upstream.requests.length = 0;
      const live = await request(`${dito.url}/healthz`);
      assert.equal(live.status, 200);
      assert.equal(live.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal(live.headers['cache-control'], 'no-store');
      assert.deepEqual(live.json(), { status: 'alive', phase: 'ready' });
      const ready = await request(`${dito.url}/readyz?verbose=1`);
      assert.equal(ready.status, 200);
      assert.deepEqual(ready.json(), { status: 'ready', checks: {} });
      const head = await request(`${dito.url}/readyz`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.body.length, 0);
      const post = await request(`${dito.url}/healthz`, { method: 'POST', body: 'x' });
      assert.equal(post.status, 405);
      assert.equal(post.headers.allow, 'GET, HEAD');
      assert.equal(post.json<{ error: { code: number } }>().error.code, 405);
      // Normalised like any path before the lookup.
      assert.equal((await request(`${dito.url}/x/../readyz`)).status, 200);
      assert.deepEqual(upstream.requests, []);
      // Everything else is still proxied.
      assert.equal((await request(`${dito.url}/healthz/deeper`)).status, 200);
      assert.equal(upstream.requests.length, 1);
      // Probes do not flood the request log.
      assert.ok(!dito.logs.some((line) => line.msg === 'request' && line.path === '/healthz'));
    } finally {
      await dito.stop();
    }
  });

  test('off by default: the paths are proxied as in the original', async () => {
    const dito = await startDito(baseConfig(catchAll()));
    try {
      upstream.requests.length = 0;
      const reply = await request(`${dito.url}/healthz`);
      assert.equal(reply.status, 200);
      assert.equal(upstream.requests[0]?.url, '/healthz');
    } finally {
      await dito.stop();
    }
  });

  test('custom paths, moved by a reload', async () => {
    const config = (readiness: string) =>
      baseConfig(catchAll(), {
        health: { enabled: true, liveness_path: '/-/live', readiness_path: readiness },
      });
    const dito = await startDito(config('/-/ready'));
    try {
      assert.equal((await request(`${dito.url}/-/live`)).json().status, 'alive');
      assert.equal((await request(`${dito.url}/-/ready`)).json().status, 'ready');
      upstream.requests.length = 0;
      await request(`${dito.url}/readyz`);
      assert.equal(upstream.requests.length, 1, '/readyz is proxied when another path is configured');

      writeFileSync(dito.configPath, stringify({ ...config('/-/ready2'), port: dito.port }));
      dito.proc.kill('SIGHUP');
      await waitFor(async () => (await request(`${dito.url}/-/ready2`)).text.includes('"ready"'));
      upstream.requests.length = 0;
      await request(`${dito.url}/-/ready`);
      assert.equal(upstream.requests.length, 1, 'the old path is proxied again');
    } finally {
      await dito.stop();
    }
  });

  test('SIGTERM: readiness fails at once, traffic is still served during shutdown_delay, exit 0', async () => {
    const dito = await startDito(
      baseConfig(catchAll(), { health: { enabled: true }, shutdown_delay: '1500ms', shutdown_timeout: '5s' }),
    );
    assert.equal((await request(`${dito.url}/readyz`)).status, 200);
    const signalledAt = Date.now();
    dito.proc.kill('SIGTERM');
    const draining = await waitFor(async () => {
      const reply = await request(`${dito.url}/readyz`);
      return reply.status === 503 ? reply : undefined;
    });
    assert.deepEqual(draining!.json(), { status: 'draining', checks: {} });
    assert.ok(Date.now() - signalledAt < 1000, 'readiness failed well before the delay ended');
    // Still serving: new connections are accepted and proxied, liveness holds.
    assert.equal((await request(`${dito.url}/api/during-delay`)).status, 200);
    assert.deepEqual((await request(`${dito.url}/healthz`)).json(), { status: 'alive', phase: 'draining' });
    assert.equal(await dito.exited, 0);
    assert.ok(Date.now() - signalledAt >= 1400, 'the listener stayed open for shutdown_delay');
    const shutting = dito.logs.find((line) => line.msg === 'shutting down');
    assert.equal(shutting?.shutdown_delay_ms, 1500);
  });
});
