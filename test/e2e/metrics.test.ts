// Contract section 7 through the front door: real traffic, then a scrape of `metrics.path`
// checked metric by metric, label by label, count by count, and by `promtool check metrics`.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { baseConfig, type DitoProcess, REPO_ROOT, startDito } from '../helpers/dito.js';
import { type Exposition, promtoolCheck, promtoolCheckQueries, scrape } from '../helpers/metrics.js';
import { freePort, type Reply, rawExchange, request, waitFor } from '../helpers/net.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const API = '^/api/';

describe('Prometheus metrics', () => {
  let upstream: Upstream;
  let bigUpstream: Upstream;
  let silentUpstream: Upstream;
  let dito: DitoProcess;
  let metrics: Exposition;
  /** Body bytes every client got back, summed: what `outbound` must equal. */
  let bytesToClients = 0;
  const replies: Reply[] = [];

  const send = async (path: string, options: Parameters<typeof request>[1] = {}) => {
    const reply = await request(`${dito.url}${path}`, options);
    bytesToClients += reply.body.length;
    replies.push(reply);
    return reply;
  };

  before(async () => {
    upstream = await startUpstream();
    bigUpstream = await startUpstream((_req, res) => res.end('x'.repeat(1000)));
    silentUpstream = await startUpstream(() => {});
    const deadPort = await freePort();
    dito = await startDito(
      baseConfig(
        [
          { path: API, target_url: upstream.url },
          { path: '^/big', target_url: bigUpstream.url, max_response_body_size: 100 },
          { path: '^/dead', target_url: `http://127.0.0.1:${deadPort}` },
          {
            path: '^/slow',
            target_url: silentUpstream.url,
            transport: { http: { response_header_timeout: '200ms' } },
          },
          // Would match the metrics path: the endpoint must still win and never be proxied.
          { path: '^/metrics', target_url: upstream.url },
        ],
        { metrics: { enabled: true, path: '/metrics' } },
      ),
    );

    // 50 distinct URLs on one location.
    for (let i = 0; i < 50; i++) assert.equal((await send(`/api/item/${i}?q=${i}`)).status, 200);
    for (let i = 0; i < 5; i++) {
      assert.equal((await send('/api/upload', { method: 'POST', body: 'b'.repeat(100) })).status, 200);
    }
    for (let i = 0; i < 2; i++) assert.equal((await send('/api/dav', { method: 'PROPFIND' })).status, 200);
    for (let i = 0; i < 3; i++) assert.equal((await send(`/nothing/${i}`)).status, 404);
    assert.equal((await send('/big')).status, 413);
    for (let i = 0; i < 2; i++) assert.equal((await send('/dead')).status, 502);
    assert.equal((await send('/slow')).status, 504);
    assert.equal((await send('/api/x', { method: 'TRACE' })).status, 405);
    // Refused by the HTTP parser itself (not a method llhttp knows).
    assert.match(await rawExchange(dito.port, 'BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n'), /^HTTP\/1\.1 400 /);

    metrics = await scrape(`${dito.url}/metrics`);
  });

  after(async () => {
    await dito?.stop();
    await upstream?.close();
    await bigUpstream?.close();
    await silentUpstream?.close();
  });

  test('every contract metric is there with its type', () => {
    const expected: Record<string, string> = {
      http_requests_total: 'counter',
      http_request_duration_seconds: 'histogram',
      active_connections: 'gauge',
      data_transferred_bytes_total: 'counter',
      websocket_connections_active: 'gauge',
      websocket_messages_total: 'counter',
    };
    for (const [name, type] of Object.entries(expected)) assert.equal(metrics.types.get(name), type, name);
    assert.equal(metrics.find('websocket_connections_active').length, 1);
    assert.deepEqual(
      metrics.labelValues('websocket_messages_total', 'direction'),
      new Set(['inbound', 'outbound']),
    );
    assert.deepEqual(
      metrics.labelValues('data_transferred_bytes_total', 'direction'),
      new Set(['inbound', 'outbound']),
    );
  });

  test('http_requests_total: labels method, path, status; counts match the requests sent', () => {
    for (const sample of metrics.find('http_requests_total')) {
      assert.deepEqual(Object.keys(sample.labels).sort(), ['method', 'path', 'status']);
    }
    assert.equal(metrics.value('http_requests_total', { method: 'GET', path: API, status: '200' }), 50);
    assert.equal(metrics.value('http_requests_total', { method: 'POST', path: API, status: '200' }), 5);
    assert.equal(metrics.value('http_requests_total', { method: 'OTHER', path: API, status: '200' }), 2);
    assert.equal(
      metrics.value('http_requests_total', { method: 'GET', path: 'unmatched', status: '404' }),
      3,
    );
    assert.equal(metrics.value('http_requests_total', { path: '^/big', status: '413' }), 1);
    assert.equal(metrics.value('http_requests_total', { path: '^/dead', status: '502' }), 2);
    assert.equal(metrics.value('http_requests_total', { path: '^/slow', status: '504' }), 1);
    // Refused before routing: counted, under `unmatched`; the parser's refusal has method OTHER.
    assert.equal(
      metrics.value('http_requests_total', { method: 'TRACE', path: 'unmatched', status: '405' }),
      1,
    );
    assert.equal(
      metrics.value('http_requests_total', { method: 'OTHER', path: 'unmatched', status: '400' }),
      1,
    );
    assert.equal(metrics.value('http_requests_total'), replies.length + 1);
  });

  test('50 distinct URLs on one location yield one path label value: the pattern', () => {
    assert.deepEqual(
      metrics.labelValues('http_requests_total', 'path'),
      new Set([API, '^/big', '^/dead', '^/slow', 'unmatched']),
    );
    assert.equal(metrics.find('http_requests_total', { path: API, method: 'GET' }).length, 1);
    assert.ok(!metrics.text.includes('/api/item/'), 'no raw URL in any label');
  });

  test('http_request_duration_seconds: same labels, counts match, buckets cumulative', () => {
    const count = (labels: Record<string, string>) =>
      metrics.value('http_request_duration_seconds_count', labels);
    assert.equal(count({ method: 'GET', path: API, status: '200' }), 50);
    assert.equal(count({ method: 'POST', path: API, status: '200' }), 5);
    assert.equal(count({}), replies.length + 1);
    const buckets = metrics.find('http_request_duration_seconds_bucket', {
      method: 'GET',
      path: API,
      status: '200',
    });
    const bounds = buckets.map((b) => b.labels.le!);
    assert.equal(bounds[0], '0.0005', 'sub-millisecond first bucket');
    assert.ok(bounds.includes('30') && bounds.at(-1) === '+Inf', 'buckets reach tens of seconds');
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]!.value >= buckets[i - 1]!.value);
    assert.equal(buckets.at(-1)!.value, 50);
    assert.ok(metrics.value('http_request_duration_seconds_sum', { path: API }) > 0);
  });

  test('data_transferred_bytes_total counts body bytes both ways', () => {
    assert.equal(metrics.value('data_transferred_bytes_total', { direction: 'inbound' }), 5 * 100);
    assert.equal(metrics.value('data_transferred_bytes_total', { direction: 'outbound' }), bytesToClients);
  });

  test('operator metrics: upstream errors by kind, upstream time, response limit, config hash', () => {
    assert.equal(metrics.value('dito_upstream_errors_total', { path: '^/dead', kind: 'connect' }), 2);
    assert.equal(metrics.value('dito_upstream_errors_total', { path: '^/slow', kind: 'timeout' }), 1);
    assert.equal(metrics.value('dito_upstream_errors_total', { path: API }), 0);
    assert.equal(metrics.value('dito_response_limit_exceeded_total', { path: '^/big' }), 1);
    // Upstream time is recorded for every request that got upstream response headers.
    assert.equal(metrics.value('dito_upstream_response_duration_seconds_count', { path: API }), 57);
    assert.ok(
      metrics.value('dito_upstream_response_duration_seconds_sum', { path: API }) <=
        metrics.value('http_request_duration_seconds_sum', { path: API }),
    );
    const sha256 = createHash('sha256').update(readFileSync(dito.configPath)).digest('hex');
    assert.equal(metrics.value('dito_config_info', { sha256 }), 1);
    assert.equal(metrics.value('dito_config_reloads_total', { result: 'success' }), 0);
  });

  test("the runtime's default metrics: process_* and nodejs_*", () => {
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'process_start_time_seconds',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_version_info',
    ]) {
      assert.ok(metrics.find(name).length > 0, `${name} missing`);
    }
    assert.equal(metrics.types.get('nodejs_gc_duration_seconds'), 'histogram');
  });

  test('the output passes promtool check metrics', (t) => {
    const unavailable = promtoolCheck(metrics.text);
    if (unavailable !== undefined) {
      // Never silent: the reason is printed and the test is marked skipped.
      console.error(`SKIPPED promtool check: ${unavailable}`);
      t.skip(`promtool unavailable: ${unavailable}`);
    }
  });

  test('active_connections follows open client connections', async () => {
    const sockets: Socket[] = [];
    for (let i = 0; i < 3; i++) {
      const socket = connect(dito.port, '127.0.0.1');
      await once(socket, 'connect');
      sockets.push(socket);
    }
    // The scrape's own connection is open too while it is answered.
    await waitFor(async () => (await scrape(`${dito.url}/metrics`)).value('active_connections') === 4);
    for (const socket of sockets) socket.destroy();
    await waitFor(async () => (await scrape(`${dito.url}/metrics`)).value('active_connections') === 1);
  });

  test('the metrics path is served by Dito, never proxied; only GET and HEAD', async () => {
    assert.ok(!upstream.requests.some((r) => r.url.startsWith('/metrics')));
    const post = await request(`${dito.url}/metrics`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
    const head = await request(`${dito.url}/metrics`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    // Scrapes are not proxied requests: they do not count themselves.
    const again = await scrape(`${dito.url}/metrics`);
    assert.equal(again.value('http_requests_total'), replies.length + 1);
  });

  test('the Grafana dashboard queries only metrics Dito exports, in valid PromQL', (t) => {
    const file = join(REPO_ROOT, 'deployments', 'grafana', 'dito-dashboard.json');
    const dashboard = JSON.parse(readFileSync(file, 'utf8')) as {
      panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
    };
    const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((target) => target.expr));
    assert.ok(queries.length >= 20);
    const families = new Set(metrics.types.keys());
    for (const query of queries) {
      for (const [name] of query.matchAll(
        /\b(?:http|dito|process|nodejs|active|data|websocket)_[a-z0-9_]+/g,
      )) {
        const family = name.replace(/_(bucket|sum|count)$/, '');
        assert.ok(families.has(name) || families.has(family), `dashboard uses unknown metric ${name}`);
      }
    }
    // Grafana's variables, as Grafana would fill them, then promtool parses every query.
    const filled = queries.map((q) =>
      q
        .replaceAll('$__rate_interval', '1m')
        .replaceAll('$__range', '1h')
        .replace(/\$(instance|path)/g, '.*'),
    );
    const unavailable = promtoolCheckQueries(filled);
    if (unavailable !== undefined) {
      console.error(`SKIPPED promtool check rules: ${unavailable}`);
      t.skip(`promtool unavailable: ${unavailable}`);
    }
  });
});
