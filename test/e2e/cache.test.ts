// The `cache` middleware with its in-process store, through bin/dito: hits never reach the
// upstream (counted), expiry after ttl, the upstream's own lifetime, Vary, no-store, private,
// Authorization, POST, no-cache requests, the body size bound, and 100 concurrent misses → 1.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { baseConfig, type DitoProcess, startDito } from '../helpers/dito.js';
import { cacheTestHandler, concurrent, hitsFor } from '../helpers/cache-upstream.js';
import { scrape } from '../helpers/metrics.js';
import { freePort, request, waitFor } from '../helpers/net.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

describe('cache in memory', () => {
  let upstream: Upstream;
  let dito: DitoProcess;

  before(async () => {
    upstream = await startUpstream(cacheTestHandler);
    const closedPort = await freePort();
    dito = await startDito(
      baseConfig(
        [
          {
            path: '^/short/',
            target_url: upstream.url,
            middlewares: ['cache'],
            cache: { enabled: true, ttl: 2 },
          },
          {
            path: '^/small/',
            target_url: upstream.url,
            middlewares: ['cache'],
            cache: { enabled: true, ttl: 60, max_body_size: 1024 },
          },
          {
            path: '^/stream/',
            target_url: upstream.url,
            middlewares: ['cache'],
            disable_response_buffering: true,
            cache: { enabled: true, ttl: 60 },
          },
          {
            path: '^/down/',
            target_url: `http://127.0.0.1:${closedPort}`,
            middlewares: ['cache'],
            cache: { enabled: true },
          },
          { path: '^/metered/', target_url: upstream.url, middlewares: ['cache'], cache: { enabled: true } },
          { path: '^/off/', target_url: upstream.url, middlewares: ['cache'], cache: { enabled: false } },
          { path: '^/', target_url: upstream.url, middlewares: ['cache'], cache: { enabled: true, ttl: 60 } },
        ],
        { metrics: { enabled: true } },
      ),
    );
  });

  after(async () => {
    await dito?.stop();
    await upstream?.close();
  });

  test('a hit is served without touching the upstream; HEAD is answered from it', async () => {
    const first = await request(`${dito.url}/a?x=1`);
    assert.equal(first.status, 200);
    assert.equal(first.headers['x-cache'], 'MISS');
    assert.equal(first.headers['cache-status'], 'Dito; fwd=uri-miss; stored');
    const second = await request(`${dito.url}/a?x=1`);
    assert.equal(second.headers['x-cache'], 'HIT');
    assert.match(String(second.headers['cache-status']), /^Dito; hit; ttl=\d+$/);
    assert.equal(second.text, first.text);
    assert.equal(second.headers['content-length'], String(first.body.length));
    assert.equal(second.headers['content-type'], 'text/plain');
    assert.match(String(second.headers.age), /^\d+$/);
    assert.ok(second.headers['x-request-id']);
    assert.notEqual(second.headers['x-request-id'], first.headers['x-request-id']);
    const head = await request(`${dito.url}/a?x=1`, { method: 'HEAD' });
    assert.equal(head.headers['x-cache'], 'HIT');
    assert.equal(head.body.length, 0);
    assert.equal(head.headers['content-length'], String(first.body.length));
    assert.equal(hitsFor(upstream, '/a?x=1'), 1);
    // Another query string is another resource.
    assert.equal((await request(`${dito.url}/a?x=2`)).headers['x-cache'], 'MISS');
  });

  test('an entry expires after ttl; an upstream max-age wins over ttl', async () => {
    assert.equal((await request(`${dito.url}/short/plain`)).headers['x-cache'], 'MISS');
    const lasting = await request(`${dito.url}/short/max-age`);
    assert.equal((await request(`${dito.url}/short/plain`)).headers['x-cache'], 'HIT');
    await waitFor(
      async () => (await request(`${dito.url}/short/plain`)).headers['x-cache'] === 'MISS',
      5000,
      100,
    );
    assert.equal(hitsFor(upstream, '/short/plain'), 2);
    const still = await request(`${dito.url}/short/max-age`);
    assert.equal(still.headers['x-cache'], 'HIT');
    assert.equal(still.text, lasting.text);
    assert.equal(hitsFor(upstream, '/short/max-age'), 1);
  });

  test('Vary: one stored variant per value of the named request header', async () => {
    const en = { 'accept-language': 'en' };
    const fr = { 'accept-language': 'fr' };
    assert.equal((await request(`${dito.url}/vary`, { headers: en })).headers['x-cache'], 'MISS');
    const frMiss = await request(`${dito.url}/vary`, { headers: fr });
    assert.equal(frMiss.headers['x-cache'], 'MISS');
    assert.equal(frMiss.headers['cache-status'], 'Dito; fwd=vary-miss; stored');
    const enHit = await request(`${dito.url}/vary`, { headers: en });
    const frHit = await request(`${dito.url}/vary`, { headers: fr });
    assert.deepEqual([enHit.headers['x-cache'], enHit.text], ['HIT', 'lang=en']);
    assert.deepEqual([frHit.headers['x-cache'], frHit.text], ['HIT', 'lang=fr']);
    assert.equal((await request(`${dito.url}/vary`)).headers['x-cache'], 'MISS');
    assert.equal(hitsFor(upstream, '/vary'), 3);
  });

  test('no-store, private and Set-Cookie responses are never stored', async () => {
    for (const path of ['/no-store', '/private', '/cookie']) {
      const replies = [await request(dito.url + path), await request(dito.url + path)];
      assert.deepEqual(
        replies.map((r) => r.headers['x-cache']),
        ['MISS', 'MISS'],
        path,
      );
      assert.equal(replies[1]!.headers['cache-status'], 'Dito; fwd=uri-miss');
      assert.equal(hitsFor(upstream, path), 2, path);
    }
  });

  test('requests with Authorization are neither answered from the cache nor stored', async () => {
    await request(`${dito.url}/shared`);
    const withAuth = await request(`${dito.url}/shared`, { headers: { authorization: 'Bearer x' } });
    assert.equal(withAuth.headers['x-cache'], 'MISS');
    assert.equal(withAuth.headers['cache-status'], 'Dito; fwd=bypass');
    assert.equal(hitsFor(upstream, '/shared'), 2);
    await request(`${dito.url}/personal`, { headers: { authorization: 'Basic YTpi' } });
    assert.equal((await request(`${dito.url}/personal`)).headers['x-cache'], 'MISS');
    assert.equal(hitsFor(upstream, '/personal'), 2);
  });

  test('POST is not cached and invalidates the stored GET', async () => {
    assert.equal((await request(`${dito.url}/form`)).headers['x-cache'], 'MISS');
    assert.equal((await request(`${dito.url}/form`)).headers['x-cache'], 'HIT');
    for (let i = 0; i < 2; i++) {
      const post = await request(`${dito.url}/form`, { method: 'POST', body: 'a=1' });
      assert.equal(post.headers['x-cache'], 'MISS');
      assert.equal(post.headers['cache-status'], 'Dito; fwd=method');
      assert.match(post.text, /^POST /);
    }
    assert.equal((await request(`${dito.url}/form`)).headers['x-cache'], 'MISS');
    assert.equal(upstream.requests.filter((r) => r.url === '/form' && r.method === 'POST').length, 2);
  });

  test('Cache-Control: no-cache on the request goes upstream and refreshes the entry', async () => {
    const first = await request(`${dito.url}/fresh`);
    const forced = await request(`${dito.url}/fresh`, { headers: { 'cache-control': 'no-cache' } });
    assert.equal(forced.headers['x-cache'], 'MISS');
    assert.equal(forced.headers['cache-status'], 'Dito; fwd=request; stored');
    assert.notEqual(forced.text, first.text);
    const after = await request(`${dito.url}/fresh`);
    assert.equal(after.headers['x-cache'], 'HIT');
    assert.equal(after.text, forced.text);
    const pragma = await request(`${dito.url}/fresh`, { headers: { pragma: 'no-cache' } });
    assert.equal(pragma.headers['x-cache'], 'MISS');
    assert.equal(hitsFor(upstream, '/fresh'), 3);
  });

  test('bodies over max_body_size are not stored', async () => {
    assert.equal((await request(`${dito.url}/small/big`)).body.length, 4096);
    const again = await request(`${dito.url}/small/big`);
    assert.equal(again.headers['x-cache'], 'MISS');
    assert.equal(again.body.length, 4096);
    assert.equal((await request(`${dito.url}/small/ok`)).headers['x-cache'], 'MISS');
    assert.equal((await request(`${dito.url}/small/ok`)).headers['x-cache'], 'HIT');
  });

  test('streaming locations cache too', async () => {
    const first = await request(`${dito.url}/stream/x`);
    const second = await request(`${dito.url}/stream/x`);
    assert.deepEqual([first.headers['x-cache'], second.headers['x-cache']], ['MISS', 'HIT']);
    assert.equal(second.text, first.text);
  });

  test('100 concurrent misses for one key make one upstream request', async () => {
    const replies = await concurrent(100, `${dito.url}/slow`);
    assert.equal(hitsFor(upstream, '/slow'), 1);
    assert.ok(replies.every((r) => r.status === 200 && r.text === replies[0]!.text));
    const states = replies.map((r) => r.headers['x-cache']);
    assert.equal(states.filter((s) => s === 'MISS').length, 1);
    assert.equal(states.filter((s) => s === 'HIT').length, 99);
  });

  test("Dito's own errors carry X-Cache: MISS; a disabled cache adds nothing", async () => {
    const down = await request(`${dito.url}/down/x`);
    assert.equal(down.status, 502);
    assert.equal(down.headers['x-cache'], 'MISS');
    const off = await request(`${dito.url}/off/x`);
    assert.equal(off.headers['x-cache'], undefined);
    await request(`${dito.url}/off/x`);
    assert.equal(hitsFor(upstream, '/off/x'), 2);
  });

  test('lookups and stores are counted per location', async () => {
    await request(`${dito.url}/metered/a`);
    await request(`${dito.url}/metered/a`);
    await request(`${dito.url}/metered/a`, { method: 'HEAD' });
    await request(`${dito.url}/metered/a`, { method: 'POST', body: 'x' });
    const metrics = await scrape(`${dito.url}/metrics`);
    const path = '^/metered/';
    assert.equal(metrics.value('dito_cache_lookups_total', { path, result: 'miss' }), 1);
    assert.equal(metrics.value('dito_cache_lookups_total', { path, result: 'hit' }), 2);
    assert.equal(metrics.value('dito_cache_lookups_total', { path, result: 'bypass' }), 1);
    assert.equal(metrics.value('dito_cache_stores_total', { path }), 1);
  });
});
