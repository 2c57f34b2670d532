// `rate-limiter` through the front door: burst and refill, 429 shape and headers, a burst of
// 1,000 concurrent requests, client identity (trusted proxies, header key), reloads.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { baseConfig, type DitoProcess, startDito } from '../helpers/dito.js';
import { type Reply, request, sleep, waitFor } from '../helpers/net.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

function limited(path: string, target: string, limits: object, extra: object = {}): object {
  return {
    path,
    target_url: target,
    middlewares: ['rate-limiter'],
    rate_limiting: { enabled: true, ...limits },
    ...extra,
  };
}

describe('rate-limiter (in memory)', () => {
  let upstream: Upstream;
  let dito: DitoProcess;
  let config: Record<string, unknown>;

  before(async () => {
    upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'x-from-upstream': 'yes' });
      res.end('ok');
    });
    config = baseConfig(
      [
        limited('^/burst', upstream.url, { requests_per_second: 2, burst: 4 }),
        limited('^/flood', upstream.url, { requests_per_second: 0.001, burst: 5 }),
        limited('^/by-key', upstream.url, { requests_per_second: 0.001, burst: 1, key: 'header:X-API-Key' }),
        limited('^/xff', upstream.url, { requests_per_second: 0.001, burst: 1 }),
        limited('^/kept', upstream.url, { requests_per_second: 0.001, burst: 2 }),
        { path: '^/off', target_url: upstream.url, middlewares: ['rate-limiter'] },
      ],
      { trusted_proxies: ['127.0.0.1'] },
    );
    dito = await startDito(config);
  });

  after(async () => {
    await dito?.stop();
    await upstream?.close();
  });

  test('rps 2 burst 4: of 10 immediate requests exactly 4 pass, the rest 429 with Retry-After; after 1 s two more', async () => {
    // Sent at once, so they arrive within milliseconds; on a loaded machine the refill during the
    // burst (2 tokens per second of elapsed time) is allowed for, so the check stays exact.
    const started = performance.now();
    const replies: Reply[] = await Promise.all(
      Array.from({ length: 10 }, () => request(`${dito.url}/burst`)),
    );
    const refilled = Math.floor(((performance.now() - started) / 1000) * 2);
    const passed = replies.filter((r) => r.status === 200);
    const refused = replies.filter((r) => r.status === 429);
    assert.equal(passed.length, Math.min(10, 4 + refilled), `refill allowance ${refilled}`);
    assert.equal(passed.length + refused.length, 10);
    for (const reply of replies) {
      assert.equal(reply.headers['ratelimit-limit'], '4');
      assert.match(String(reply.headers['ratelimit-remaining']), /^[0-3]$/);
      assert.match(String(reply.headers['ratelimit-reset']), /^[1-2]$/);
    }
    if (refilled === 0) {
      assert.deepEqual(passed.map((r) => r.headers['ratelimit-remaining']).sort(), ['0', '1', '2', '3']);
    }
    assert.equal(
      passed[0]!.headers['x-from-upstream'],
      'yes',
      'upstream headers merge with the limiter ones',
    );
    const first = refused[0]!;
    assert.equal(first.headers['retry-after'], '1');
    assert.equal(first.headers['content-type'], 'application/json; charset=utf-8');
    const body = first.json<{ error: { code: number; message: string }; request_id: string }>();
    assert.equal(body.error.code, 429);
    assert.equal(body.error.message, 'Too Many Requests');
    assert.equal(body.request_id, first.headers['x-request-id']);

    // One second later the bucket holds two tokens (plus less than one left over): 2 of 3 pass.
    await sleep(1050);
    const laterStarted = performance.now();
    const later = await Promise.all(Array.from({ length: 3 }, () => request(`${dito.url}/burst`)));
    const laterRefill = Math.floor(((performance.now() - laterStarted) / 1000) * 2);
    assert.equal(later.filter((r) => r.status === 200).length, Math.min(3, 2 + laterRefill));
  });

  test('1,000 concurrent requests: exactly burst pass', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1000 });
    const one = () =>
      new Promise<number>((resolve, reject) => {
        const req = httpRequest(`${dito.url}/flood`, { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      const statuses = await Promise.all(Array.from({ length: 1000 }, one));
      const passed = statuses.filter((s) => s === 200).length;
      assert.equal(passed, 5);
      assert.equal(statuses.filter((s) => s === 429).length, 995);
    } finally {
      agent.destroy();
    }
  });

  test('rate_limiting.key header: each key has its own bucket; without the header, the IP', async () => {
    const as = (key?: string) =>
      request(`${dito.url}/by-key`, { headers: key === undefined ? {} : { 'x-api-key': key } });
    assert.equal((await as('alpha')).status, 200);
    assert.equal((await as('alpha')).status, 429);
    assert.equal((await as('beta')).status, 200);
    assert.equal((await as()).status, 200);
    assert.equal((await as()).status, 429);
  });

  test('X-Forwarded-For from a trusted proxy picks the bucket', async () => {
    const from = (client: string) => request(`${dito.url}/xff`, { headers: { 'x-forwarded-for': client } });
    assert.equal((await from('198.51.100.1')).status, 200);
    assert.equal((await from('198.51.100.1')).status, 429);
    assert.equal((await from('198.51.100.2')).status, 200);
  });

  test('listed with rate_limiting.enabled false: passes everything, warned at load', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await request(`${dito.url}/off`)).status, 200);
    assert.ok(
      dito.logs.some((l) => l.level === 'warn' && String(l.msg).includes('rate_limiting.enabled is false')),
      'a warning names the disabled limiter',
    );
  });

  test('buckets survive a reload that leaves the settings unchanged; changed settings start afresh', async () => {
    const kept = () => request(`${dito.url}/kept`);
    assert.equal((await kept()).status, 200);
    assert.equal((await kept()).status, 200);
    assert.equal((await kept()).status, 429);

    const reloads = () => dito.logs.filter((l) => l.msg === 'config reloaded').length;
    const before = reloads();
    dito.proc.kill('SIGHUP');
    await waitFor(() => reloads() > before);
    assert.equal((await kept()).status, 429, 'same settings: the bucket is still empty');

    const locations = (config.locations as Array<Record<string, unknown>>).map((l) =>
      l.path === '^/kept'
        ? { ...l, rate_limiting: { enabled: true, requests_per_second: 0.001, burst: 3 } }
        : l,
    );
    writeFileSync(dito.configPath, stringify({ ...config, port: dito.port, locations }));
    dito.proc.kill('SIGHUP');
    await waitFor(() => reloads() > before + 1);
    assert.equal((await kept()).status, 200, 'new settings: a new bucket');
    assert.equal((await kept()).headers['ratelimit-limit'], '3');
  });
});
