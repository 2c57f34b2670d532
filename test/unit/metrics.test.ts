// PrometheusMetrics without a server: label mapping, bounded cardinality, the recorder hooks
// other modules call, and the no-op recorder.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PrometheusMetrics } from '../../src/observability/metrics.js';
import { type MetricsRecorder, noopMetrics } from '../../src/observability/metrics-recorder.js';
import type { Exchange } from '../../src/proxy/exchange.js';
import type { CompiledLocation } from '../../src/runtime/location.js';
import { Exposition } from '../helpers/metrics.js';

function exchange(fields: {
  method?: string;
  status?: number;
  headersSent?: boolean;
  bytesIn?: number;
  bytesOut?: number;
  upstreamMs?: number;
  errorCode?: string;
  retries?: number;
}): Exchange {
  return {
    req: { method: fields.method ?? 'GET' },
    res: { statusCode: fields.status ?? 200, headersSent: fields.headersSent ?? true },
    bytesIn: fields.bytesIn ?? 0,
    bytesOut: fields.bytesOut ?? 0,
    upstreamMs: fields.upstreamMs,
    errorCode: fields.errorCode,
    retries: fields.retries ?? 0,
  } as unknown as Exchange;
}

const location = (pattern: string) => ({ pattern }) as CompiledLocation;

async function render(metrics: PrometheusMetrics): Promise<Exposition> {
  return new Exposition((await metrics.render()).body);
}

describe('PrometheusMetrics', () => {
  test('method is bounded: unknown methods become OTHER', async () => {
    const metrics = new PrometheusMetrics();
    const api = location('^/api/');
    for (const method of ['GET', 'PROPFIND', 'BREW', 'get', 'PATCH']) {
      metrics.requestFinished(exchange({ method }), api, 1);
    }
    const out = await render(metrics);
    assert.deepEqual(out.labelValues('http_requests_total', 'method'), new Set(['GET', 'OTHER', 'PATCH']));
    assert.equal(out.value('http_requests_total', { method: 'OTHER' }), 3);
  });

  test('a client gone before any answer is status 499; a 404 has path unmatched', async () => {
    const metrics = new PrometheusMetrics();
    metrics.requestFinished(exchange({ headersSent: false, status: 200 }), location('^/a'), 5);
    metrics.requestFinished(exchange({ status: 404, bytesOut: 80 }), undefined, 0.2);
    const out = await render(metrics);
    assert.equal(out.value('http_requests_total', { path: '^/a', status: '499' }), 1);
    assert.equal(out.value('http_requests_total', { path: 'unmatched', status: '404' }), 1);
    assert.equal(out.value('data_transferred_bytes_total', { direction: 'outbound' }), 80);
  });

  test('one label set per pattern, shared by the locations of every runtime', async () => {
    const metrics = new PrometheusMetrics();
    const before = location('^/api/');
    const after = location('^/api/'); // the same location compiled again by a reload
    metrics.prepare([before, after]);
    metrics.requestFinished(exchange({}), before, 1);
    metrics.requestFinished(exchange({}), after, 1);
    assert.equal(metrics.location('^/api/'), metrics.location('^/api/'));
    const out = await render(metrics);
    assert.equal(out.find('http_requests_total').length, 1);
    assert.equal(out.value('http_requests_total', { path: '^/api/' }), 2);
  });

  test('durations in seconds, upstream time apart, errors by kind, retries, response limit', async () => {
    const metrics = new PrometheusMetrics();
    const api = location('^/api/');
    metrics.requestFinished(exchange({ upstreamMs: 2 }), api, 3);
    metrics.requestFinished(
      exchange({ status: 502, errorCode: 'DITO_ERR_UPSTREAM_RESET', retries: 1 }),
      api,
      1,
    );
    metrics.requestFinished(exchange({ status: 502, errorCode: 'DITO_ERR_UPSTREAM_TLS' }), api, 1);
    metrics.requestFinished(exchange({ status: 502, errorCode: 'DITO_ERR_UPSTREAM_PROTOCOL' }), api, 1);
    metrics.requestFinished(exchange({ status: 413, errorCode: 'DITO_ERR_RESPONSE_TOO_LARGE' }), api, 1);
    metrics.requestFinished(exchange({ status: 500, errorCode: 'DITO_ERR_INTERNAL' }), api, 1);
    const out = await render(metrics);
    assert.equal(out.value('http_request_duration_seconds_sum', { status: '200' }), 0.003);
    assert.equal(out.value('http_request_duration_seconds_bucket', { status: '200', le: '0.0025' }), 0);
    assert.equal(out.value('http_request_duration_seconds_bucket', { status: '200', le: '0.005' }), 1);
    assert.equal(out.value('dito_upstream_response_duration_seconds_sum', { path: '^/api/' }), 0.002);
    assert.equal(out.value('dito_upstream_response_duration_seconds_count'), 1);
    assert.deepEqual(
      out.labelValues('dito_upstream_errors_total', 'kind'),
      new Set(['reset', 'tls', 'protocol']),
    );
    assert.equal(out.value('dito_upstream_retries_total', { path: '^/api/' }), 1);
    assert.equal(out.value('dito_response_limit_exceeded_total', { path: '^/api/' }), 1);
  });

  test('refused requests count under unmatched; a parser refusal has method OTHER', async () => {
    const metrics = new PrometheusMetrics();
    metrics.requestRefused({ method: 'TRACE' } as never, 405, 0.1, 100);
    metrics.requestRefused(undefined, 400, 0, 0);
    const out = await render(metrics);
    assert.equal(out.value('http_requests_total', { method: 'TRACE', path: 'unmatched', status: '405' }), 1);
    assert.equal(out.value('http_requests_total', { method: 'OTHER', path: 'unmatched', status: '400' }), 1);
    assert.equal(out.value('http_request_duration_seconds_count', { path: 'unmatched' }), 2);
  });

  test('counters accumulate between scrapes and are never reset by one', async () => {
    const metrics = new PrometheusMetrics();
    metrics.requestFinished(exchange({ bytesIn: 10 }), undefined, 1);
    assert.equal((await render(metrics)).value('http_requests_total'), 1);
    metrics.requestFinished(exchange({ bytesIn: 5 }), undefined, 1);
    const out = await render(metrics);
    assert.equal(out.value('http_requests_total'), 2);
    assert.equal(out.value('data_transferred_bytes_total', { direction: 'inbound' }), 15);
  });

  test('recorder hooks: location handle, WebSocket, reloads, config, plugins, Redis', async () => {
    const metrics = new PrometheusMetrics();
    const recorder: MetricsRecorder = metrics;
    const api = recorder.location('^/api/');
    api.rateLimit('rate-limiter', 'allowed');
    api.rateLimit('rate-limiter', 'limited');
    api.rateLimit('rate-limiter-redis', 'failed_open');
    api.cacheLookup('hit');
    api.cacheLookup('miss');
    api.cacheLookup('miss');
    api.cacheStored();
    recorder.websocketOpened();
    recorder.websocketOpened();
    recorder.websocketClosed();
    recorder.websocketMessage('inbound');
    recorder.websocketMessage('outbound', 3);
    recorder.bytesTransferred('inbound', 42);
    recorder.recordReload(true);
    recorder.recordReload(false);
    recorder.setConfigInfo('a'.repeat(64));
    recorder.setConfigInfo('b'.repeat(64));
    recorder.pluginLoadFailed('hello-plugin');
    recorder.redisConnectionState('rate-limiter', true);
    recorder.redisConnectionState('cache', false);
    metrics.countConnectionsWith(() => 7);
    const out = await render(metrics);
    const limits = { path: '^/api/', limiter: 'rate-limiter' };
    assert.equal(out.value('dito_rate_limit_decisions_total', { ...limits, decision: 'allowed' }), 1);
    assert.equal(out.value('dito_rate_limit_decisions_total', { ...limits, decision: 'limited' }), 1);
    assert.equal(out.value('dito_rate_limit_decisions_total', { decision: 'failed_open' }), 1);
    assert.equal(out.value('dito_cache_lookups_total', { result: 'hit' }), 1);
    assert.equal(out.value('dito_cache_lookups_total', { result: 'miss' }), 2);
    assert.equal(out.value('dito_cache_stores_total', { path: '^/api/' }), 1);
    assert.equal(out.value('websocket_connections_active'), 1);
    assert.equal(out.value('websocket_messages_total', { direction: 'inbound' }), 1);
    assert.equal(out.value('websocket_messages_total', { direction: 'outbound' }), 3);
    assert.equal(out.value('data_transferred_bytes_total', { direction: 'inbound' }), 42);
    assert.equal(out.value('dito_config_reloads_total', { result: 'success' }), 1);
    assert.equal(out.value('dito_config_reloads_total', { result: 'failure' }), 1);
    assert.deepEqual(out.labelValues('dito_config_info', 'sha256'), new Set(['b'.repeat(64)]));
    assert.ok(out.value('dito_config_loaded_timestamp_seconds') > 1.7e9);
    assert.equal(out.value('dito_plugin_load_failures_total', { plugin: 'hello-plugin' }), 1);
    assert.equal(out.value('dito_redis_connected', { client: 'rate-limiter' }), 1);
    assert.equal(out.value('dito_redis_connected', { client: 'cache' }), 0);
    assert.equal(out.value('active_connections'), 7);
  });

  test('histogram buckets are cumulative and inclusive (le); label values escaped', async () => {
    const metrics = new PrometheusMetrics();
    const odd = location('^/a"b\\c\n');
    for (const ms of [0.5, 1, 1.0001, 60_000, 120_000]) metrics.requestFinished(exchange({}), odd, ms);
    const { body } = await metrics.render();
    assert.ok(body.includes('path="^/a\\"b\\\\c\\n"'), 'quote, backslash and newline escaped');
    const out = new Exposition(body);
    const bucket = (le: string) => out.value('http_request_duration_seconds_bucket', { le });
    assert.equal(bucket('0.0005'), 1, 'a value equal to a bound falls in that bucket');
    assert.equal(bucket('0.001'), 2);
    assert.equal(bucket('0.0025'), 3);
    assert.equal(bucket('60'), 4);
    assert.equal(bucket('+Inf'), 5);
    assert.equal(out.value('http_request_duration_seconds_count'), 5);
    assert.equal(out.find('http_requests_total')[0]!.labels.path, '^/a"b\\c\n');
  });

  test('two instances keep separate registries', async () => {
    const a = new PrometheusMetrics();
    const b = new PrometheusMetrics();
    a.requestFinished(exchange({}), undefined, 1);
    assert.equal((await render(a)).value('http_requests_total'), 1);
    assert.equal((await render(b)).value('http_requests_total'), 0);
    assert.match((await a.render()).contentType, /^text\/plain; version=0\.0\.4/);
  });
});

describe('noopMetrics', () => {
  test('is disabled and accepts every call', () => {
    assert.equal(noopMetrics.enabled, false);
    const api = noopMetrics.location('^/');
    api.rateLimit('rate-limiter', 'limited');
    api.cacheLookup('hit');
    api.cacheStored();
    noopMetrics.websocketOpened();
    noopMetrics.websocketMessage('inbound', 2);
    noopMetrics.websocketClosed();
    noopMetrics.bytesTransferred('outbound', 1);
    noopMetrics.recordReload(true);
    noopMetrics.setConfigInfo('x');
    noopMetrics.pluginLoadFailed('p');
    noopMetrics.redisConnectionState('cache', true);
  });
});
