// The admin API through `bin/dito`: the documents' shape, secrets masked, routes in match order,
// upstream health from real traffic, plugins, Redis, reloads through POST /api/reload, the event
// stream, and that none of it is reachable on the proxy port.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { adminBlock, adminJson, adminUrl } from '../helpers/admin.js';
import { bcryptHash, sha256Hex } from '../helpers/auth.js';
import { baseConfig, type DitoProcess, startDito, writeConfig } from '../helpers/dito.js';
import { freePort, request, waitFor } from '../helpers/net.js';
import { makePluginsFixture, type PluginsFixture } from '../helpers/plugins.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { parse } from 'yaml';

const REDIS_PASSWORD = 'redis-password-do-not-show';
const JWT_SECRET = 'jwt-secret-do-not-show-0123456789abcdef';
const API_KEY_HASH = sha256Hex('the-api-key');
const HEADER_TOKEN = 'header-token-do-not-show';
const USER_HASH = bcryptHash('alice-password');

interface TargetDocument {
  url: string;
  healthy: boolean | null;
  state: string;
  source: string;
  last_failure: string | null;
  consecutive_failures: number;
}
interface UpstreamsDocument {
  upstreams: Array<{ path: string; index: number; targets: TargetDocument[] }>;
}
interface ReloadDocument {
  at: string;
  reason: string;
  ok: boolean;
  error: string | null;
  config_sha256: string | null;
  duration_ms: number;
}

describe('admin API', () => {
  let upstream: Upstream;
  let dito: DitoProcess;
  let plugins: PluginsFixture;
  let closedPort: number;
  let config: Record<string, unknown>;

  before(async () => {
    upstream = await startUpstream();
    closedPort = await freePort();
    plugins = await makePluginsFixture([{ name: 'hello-plugin' }]);
    config = baseConfig(
      [
        {
          path: '^/api/',
          target_url: upstream.url,
          middlewares: ['hello-plugin', 'rate-limiter'],
          rate_limiting: { enabled: true, requests_per_second: 1000, burst: 1000 },
          additional_headers: { 'X-Upstream-Token': HEADER_TOKEN, 'X-Plain': 'visible' },
        },
        {
          path: '^/private/',
          target_url: upstream.url,
          middlewares: ['auth'],
          auth: { type: 'basic', users: { alice: USER_HASH } },
        },
        {
          path: '^/jwt/',
          target_url: upstream.url,
          middlewares: ['auth'],
          auth: { type: 'jwt', secret: JWT_SECRET, algorithms: ['HS256'] },
        },
        {
          path: '^/key/',
          target_url: upstream.url,
          middlewares: ['auth'],
          auth: { type: 'api_key', keys: [API_KEY_HASH] },
        },
        { path: '^/down/', target_url: `http://127.0.0.1:${closedPort}` },
      ],
      {
        ...adminBlock(),
        ...(parse(plugins.yaml) as object),
        redis: {
          enabled: true,
          host: '127.0.0.1',
          port: closedPort,
          password: REDIS_PASSWORD,
          connect_timeout: '200ms',
        },
      },
    );
    dito = await startDito(config);
  });

  after(async () => {
    await dito?.stop();
    await upstream?.close();
    await plugins?.cleanup();
  });

  test('the running config: file hash, load time, effective values, every secret masked', async () => {
    const reply = await request(`${adminUrl(dito)}/api/config`);
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(reply.headers['cache-control'], 'no-store');
    for (const secret of [REDIS_PASSWORD, JWT_SECRET, API_KEY_HASH, HEADER_TOKEN, USER_HASH]) {
      assert.ok(!reply.text.includes(secret), `${secret} leaked`);
    }
    const document = reply.json<{
      sha256: string;
      loaded_at: string;
      config: {
        redis: { password: string };
        plugins: { public_key_hash: string };
        request_timeout_ms: number;
        locations: Array<Record<string, unknown>>;
      };
    }>();
    assert.match(document.sha256, /^[0-9a-f]{64}$/);
    assert.ok(Date.now() - Date.parse(document.loaded_at) < 60_000);
    assert.equal(document.config.redis.password, '<masked>');
    assert.equal(document.config.request_timeout_ms, 30_000, 'defaults are shown');
    assert.equal(document.config.plugins.public_key_hash, plugins.keys.publicKeyHash, 'not a secret');
    const [api, basic, jwt, key] = document.config.locations;
    assert.deepEqual(api!.additional_headers, { 'X-Upstream-Token': '<masked>', 'X-Plain': 'visible' });
    assert.deepEqual((basic!.auth as { users: object }).users, { alice: '<masked>' }, 'names kept');
    assert.equal((jwt!.auth as { secret: string }).secret, '<masked>');
    assert.deepEqual((key!.auth as { keys: string[] }).keys, ['<masked>']);
  });

  test('routes in match order with their middlewares', async () => {
    const { routes } = await adminJson<{
      routes: Array<{
        index: number;
        path: string;
        target: string;
        middlewares: object[];
        auth: string | null;
      }>;
    }>(dito, '/api/routes');
    assert.deepEqual(
      routes.map((route) => route.path),
      ['^/api/', '^/private/', '^/jwt/', '^/key/', '^/down/'],
    );
    assert.deepEqual(routes[0]!.middlewares, [
      { name: 'hello-plugin', kind: 'plugin' },
      { name: 'rate-limiter', kind: 'builtin' },
    ]);
    assert.equal(routes[0]!.target, `${upstream.url}/`);
    assert.equal(routes[1]!.auth, 'basic');
  });

  test('upstream health follows traffic: a closed port is down, a live one up', async () => {
    const before = await adminJson<UpstreamsDocument>(dito, '/api/upstreams');
    const target = before.upstreams[4]!.targets[0]!;
    assert.equal(target.state, 'unknown', 'nothing known before any traffic');
    assert.equal(target.healthy, null);
    assert.equal((await request(`${dito.url}/down/x`)).status, 502);
    assert.equal((await request(`${dito.url}/api/x`)).status, 200);
    const { upstreams } = await adminJson<UpstreamsDocument>(dito, '/api/upstreams');
    assert.deepEqual(
      upstreams.map((u) => u.path),
      ['^/api/', '^/private/', '^/jwt/', '^/key/', '^/down/'],
    );
    const down = upstreams[4]!.targets[0]!;
    assert.equal(down.url, `http://127.0.0.1:${closedPort}/`);
    assert.equal(down.state, 'down');
    assert.equal(down.healthy, false);
    assert.equal(down.source, 'passive');
    assert.equal(down.last_failure, 'DITO_ERR_UPSTREAM_CONNECT');
    assert.equal(down.consecutive_failures, 1);
    assert.equal(upstreams[0]!.targets[0]!.state, 'up');
    assert.equal(upstreams[0]!.targets[0]!.healthy, true);
  });

  test('live stats: per-location request rate, error share and latency', async () => {
    for (let i = 0; i < 5; i++) await request(`${dito.url}/api/${i}`);
    await request(`${dito.url}/down/again`);
    interface Stats {
      locations: Array<{
        path: string;
        requests_per_second: number;
        error_rate: number | null;
        p50_ms: number | null;
        p99_ms: number | null;
        rate_limited_ratio: number | null;
        total_requests: number;
      }>;
      history: { times: number[]; series: Record<string, { requests_per_second: number[] }> };
      active_connections: number;
    }
    // The requests land in the current second; it is reported once complete.
    const stats = (await waitFor(
      async (): Promise<Stats | false> => {
        const document = await adminJson<Stats>(dito, '/api/stats?history=1');
        const api = document.locations.find((location) => location.path === '^/api/');
        const total = document.history.series['^/api/']!.requests_per_second.reduce((a, b) => a + b, 0);
        return total >= 6 && api!.total_requests >= 6 && document;
      },
      4000,
      100,
    )) as Stats;
    const api = stats.locations.find((location) => location.path === '^/api/')!;
    assert.ok(api.p50_ms !== null && api.p50_ms > 0);
    assert.ok(api.p99_ms !== null && api.p99_ms >= api.p50_ms);
    assert.equal(api.rate_limited_ratio, 0, 'the rate limiter allowed every request');
    assert.equal(stats.history.times.length, stats.history.series['^/api/']!.requests_per_second.length);
    assert.equal(typeof stats.active_connections, 'number');
  });

  test('plugins with their hash and signature status', async () => {
    const document = await adminJson<{
      public_key_sha256: string;
      plugins: Array<{ name: string; sha256: string; signature: string; middleware: boolean }>;
    }>(dito, '/api/plugins');
    assert.equal(document.public_key_sha256, plugins.keys.publicKeyHash);
    assert.equal(document.plugins.length, 1);
    assert.equal(document.plugins[0]!.name, 'hello-plugin');
    assert.match(document.plugins[0]!.sha256, /^[0-9a-f]{64}$/);
    assert.equal(document.plugins[0]!.signature, 'verified');
  });

  test('Redis state and counters', async () => {
    const redis = await adminJson<{ enabled: boolean; mode: string; state: string; ready: boolean }>(
      dito,
      '/api/redis',
    );
    assert.equal(redis.enabled, true);
    assert.equal(redis.mode, 'standalone');
    assert.equal(redis.ready, false, 'nothing listens on that port');
    assert.ok(['connecting', 'reconnecting'].includes(redis.state), redis.state);
  });

  test('POST /api/reload applies the file and is listed; a bad file is refused with its error', async () => {
    const applied = await request(`${adminUrl(dito)}/api/reload`, { method: 'POST' });
    assert.equal(applied.status, 200);
    const result = applied.json<{ ok: boolean; reload: ReloadDocument }>();
    assert.equal(result.ok, true);
    assert.equal(result.reload.reason, 'admin API');
    assert.match(result.reload.config_sha256!, /^[0-9a-f]{64}$/);

    writeConfig('port: 0\nadmin: { enabled: true, port: 0 }\nnot_a_key: 1\n', dito.dir);
    const refused = (await request(`${adminUrl(dito)}/api/reload`, { method: 'POST' })).json<{
      ok: boolean;
      reload: ReloadDocument;
    }>();
    assert.equal(refused.ok, false);
    assert.match(refused.reload.error!, /config\.yaml:3:1: not_a_key/);
    assert.equal((await request(`${dito.url}/api/still`)).status, 200, 'the running config serves on');

    const { reloads } = await adminJson<{ reloads: ReloadDocument[] }>(dito, '/api/reloads');
    assert.deepEqual(
      reloads.map((r) => [r.reason, r.ok]),
      [
        ['admin API', false],
        ['admin API', true],
        ['start', true],
      ],
    );
    writeConfig(config, dito.dir);
  });

  test('reload: cross-site POSTs and other methods are refused', async () => {
    const url = `${adminUrl(dito)}/api/reload`;
    const crossOrigin = await request(url, { method: 'POST', headers: { origin: 'http://evil.example' } });
    assert.equal(crossOrigin.status, 403);
    const crossSite = await request(url, { method: 'POST', headers: { 'sec-fetch-site': 'cross-site' } });
    assert.equal(crossSite.status, 403);
    const get = await request(url);
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, 'POST');
    const sameOrigin = await request(url, {
      method: 'POST',
      headers: { origin: adminUrl(dito), host: new URL(adminUrl(dito)).host },
    });
    assert.equal(sameOrigin.status, 200);
  });

  test('without auth, a Host that is not loopback is refused (DNS rebinding)', async () => {
    const reply = await request(`${adminUrl(dito)}/api/config`, { headers: { host: 'evil.example:80' } });
    assert.equal(reply.status, 403);
    assert.equal(reply.json<{ error: { code: number } }>().error.code, 403);
    const localhost = await request(`${adminUrl(dito)}/api/config`, { headers: { host: 'localhost:1' } });
    assert.equal(localhost.status, 200);
  });

  test('the event stream sends a tick with live stats, upstreams and reloads', async () => {
    const controller = new AbortController();
    const response = await fetch(`${adminUrl(dito)}/api/events`, { signal: controller.signal });
    assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const reader = response.body!.getReader();
    let text = '';
    while (!/event: tick\ndata: .*\n\n/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString('utf8');
    }
    controller.abort();
    const data = JSON.parse(/event: tick\ndata: (.*)\n\n/.exec(text)![1]!) as {
      locations: object[];
      upstreams: object[];
      reloads: object[];
      config_sha256: string;
    };
    assert.equal(data.locations.length, 5);
    assert.equal(data.upstreams.length, 5);
    assert.ok(data.reloads.length >= 1);
    assert.match(data.config_sha256, /^[0-9a-f]{64}$/);
  });

  test('the dashboard page and its assets, with a strict Content-Security-Policy', async () => {
    const page = await request(`${adminUrl(dito)}/`);
    const headerOf = (name: string) => String(page.headers[name]);
    assert.equal(page.status, 200);
    assert.match(headerOf('content-type'), /^text\/html/);
    assert.match(headerOf('content-security-policy'), /script-src 'self'/);
    assert.equal(page.headers['x-frame-options'], 'DENY');
    assert.ok(!/https?:\/\/(?!www\.w3\.org)/.test(page.text), 'no external URL');
    const script = await request(`${adminUrl(dito)}/dashboard.js`);
    assert.equal(script.status, 200);
    assert.match(String(script.headers['content-type']), /^text\/javascript/);
    assert.equal((await request(`${adminUrl(dito)}/dashboard.css`)).status, 200);
    assert.equal((await request(`${adminUrl(dito)}/nope`)).status, 404);
  });

  test('nothing of the admin API is served on the proxy port', async () => {
    for (const path of ['/', '/dashboard.js', '/dashboard.css']) {
      const reply = await request(`${dito.url}${path}`);
      assert.equal(reply.status, 404, path);
      assert.equal(reply.json<{ error: { code: number } }>().error.code, 404);
    }
    const before = upstream.requests.length;
    const proxied = await request(`${dito.url}/api/config`);
    assert.equal(proxied.status, 200, 'a matching location proxies the path like any other');
    assert.equal(upstream.requests.length, before + 1);
    assert.ok(!proxied.text.includes('"loaded_at"'));
  });
});

describe('admin API with an upstream pool', () => {
  test('every pool target is listed with its active state (health check sees a closed port down)', async () => {
    const live = await startUpstream();
    const closed = await freePort();
    const dito = await startDito(
      baseConfig(
        [
          {
            path: '^/',
            targets: [live.url, `http://127.0.0.1:${closed}`],
            health_check: { path: '/', interval: '100ms', timeout: '100ms', unhealthy_threshold: 1 },
          },
        ],
        adminBlock(),
      ),
    );
    try {
      const targets = (await waitFor(async () => {
        const doc = await adminJson<UpstreamsDocument>(dito, '/api/upstreams');
        const list = doc.upstreams[0]!.targets;
        return list.length === 2 && list[1]!.state === 'down' ? list : undefined;
      }, 5000))!;
      assert.equal(targets[0]!.state, 'up');
      assert.equal(targets[0]!.source, 'pool');
      assert.equal(targets[1]!.healthy, false);
    } finally {
      await dito.stop();
      await live.close();
    }
  });
});
