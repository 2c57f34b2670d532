// The dashboard's live stats without a server: one-second slots, rates of complete seconds,
// bucket quantiles, ratios over the window, passive upstream health, and slot reuse.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  bucketBoundMs,
  bucketOf,
  DOWN_FOR_MS,
  HISTORY_SECONDS,
  LATENCY_BUCKETS,
  LiveStats,
  quantileMs,
} from '../../src/observability/live-stats.js';
import type { Exchange } from '../../src/proxy/exchange.js';
import type { CompiledLocation } from '../../src/runtime/location.js';

const LOCATION = { pattern: '^/api/' } as CompiledLocation;

function exchange(status: number, fields: { errorCode?: string; upstreamMs?: number } = {}): Exchange {
  return { res: { statusCode: status, headersSent: true }, ...fields } as unknown as Exchange;
}

function clock(start = 1_000_000_000_000) {
  const time = { now: start };
  return { time, now: () => time.now };
}

test('latency buckets: bounds grow, every duration lands in the bucket whose bound holds it', () => {
  assert.equal(bucketOf(0), 0);
  assert.equal(bucketOf(-1), 0);
  assert.equal(bucketOf(1e9), LATENCY_BUCKETS - 1);
  for (const ms of [0.05, 0.3, 1, 7.5, 42, 250, 1200, 30_000]) {
    const bucket = bucketOf(ms);
    assert.ok(ms <= bucketBoundMs(bucket) * 1.000001, `${ms} <= bound of ${bucket}`);
    if (bucket > 0) assert.ok(ms > bucketBoundMs(bucket - 1), `${ms} > bound of ${bucket - 1}`);
  }
});

test('quantiles are within the bucket spacing of the true value', () => {
  const histogram = new Uint32Array(LATENCY_BUCKETS);
  const samples: number[] = [];
  for (let i = 1; i <= 1000; i++) {
    const ms = i / 10; // 0.1 .. 100 ms, evenly
    samples.push(ms);
    histogram[bucketOf(ms)]!++;
  }
  assert.equal(quantileMs(new Uint32Array(LATENCY_BUCKETS), 0.5), null);
  for (const [q, truth] of [
    [0.5, 50],
    [0.99, 99],
  ] as const) {
    const estimate = quantileMs(histogram, q)!;
    assert.ok(Math.abs(estimate - truth) / truth < 0.2, `q${q}: ${estimate} vs ${truth}`);
  }
});

test('rates come from complete seconds; errors are the 5xx share', () => {
  const { time, now } = clock();
  const stats = new LiveStats(now);
  stats.requestFinished(exchange(200, { upstreamMs: 3 }), LOCATION, 4);
  stats.requestFinished(exchange(200, { upstreamMs: 3 }), LOCATION, 6);
  stats.requestFinished(exchange(503, { upstreamMs: 3 }), LOCATION, 8);
  stats.requestFinished(exchange(404), LOCATION, 1);
  assert.equal(stats.snapshot(['^/api/'])[0]!.rps, 0, 'the current second is still filling');
  time.now += 1000;
  const [snapshot] = stats.snapshot(['^/api/']);
  assert.equal(snapshot!.rps, 4);
  assert.equal(snapshot!.errorRate, 0.25);
  assert.equal(snapshot!.status4xx, 1);
  assert.equal(snapshot!.status5xx, 1);
  assert.ok(snapshot!.p50Ms! > 3 && snapshot!.p50Ms! < 8, String(snapshot!.p50Ms));
  time.now += 1000;
  const [quiet] = stats.snapshot(['^/api/']);
  assert.equal(quiet!.rps, 0);
  assert.equal(quiet!.errorRate, null);
  assert.ok(quiet!.p50Ms !== null, 'quantiles cover the last seconds, not only the last one');
});

test('a slot is reused a minute later without the old counts', () => {
  const { time, now } = clock();
  const stats = new LiveStats(now);
  for (let i = 0; i < 5; i++) stats.requestFinished(exchange(200), LOCATION, 1);
  time.now += HISTORY_SECONDS * 1000;
  stats.requestFinished(exchange(200), LOCATION, 1);
  time.now += 1000;
  assert.equal(stats.snapshot(['^/api/'])[0]!.rps, 1);
  const history = stats.history(['^/api/']);
  assert.equal(
    history.series['^/api/']!.reduce((sum, point) => sum + point.rps, 0),
    1,
  );
  assert.equal(history.seconds.length, history.series['^/api/']!.length);
});

test('rate-limit and cache ratios over the window', () => {
  const { time, now } = clock();
  const stats = new LiveStats(now);
  const location = stats.location('^/api/');
  location.rateLimit('rate-limiter', 'allowed');
  location.rateLimit('rate-limiter', 'allowed');
  location.rateLimit('rate-limiter', 'allowed');
  location.rateLimit('rate-limiter', 'limited');
  location.cacheLookup('hit');
  location.cacheLookup('miss');
  location.cacheLookup('bypass');
  time.now += 1000;
  const [snapshot] = stats.snapshot(['^/api/']);
  assert.equal(snapshot!.rateLimitedRatio, 0.25);
  assert.equal(snapshot!.cacheHitRatio, 0.5, 'bypasses are not lookups');
  assert.equal(stats.snapshot(['^/other/'])[0]!.rateLimitedRatio, null);
});

test('passive health: unknown, down after a failure, up after a success, unknown when stale', () => {
  const { time, now } = clock();
  const stats = new LiveStats(now);
  assert.equal(stats.health('^/api/').state, 'unknown');
  stats.requestFinished(exchange(502, { errorCode: 'DITO_ERR_UPSTREAM_CONNECT' }), LOCATION, 1);
  stats.requestFinished(exchange(502, { errorCode: 'DITO_ERR_UPSTREAM_CONNECT' }), LOCATION, 1);
  let health = stats.health('^/api/');
  assert.equal(health.state, 'down');
  assert.equal(health.consecutiveFailures, 2);
  assert.equal(health.lastFailure, 'DITO_ERR_UPSTREAM_CONNECT');
  stats.requestFinished(exchange(429, { errorCode: 'DITO_ERR_RATE_LIMITED' }), LOCATION, 1);
  assert.equal(
    stats.health('^/api/').state,
    'down',
    'an answer that never reached the upstream says nothing',
  );
  time.now += 1;
  stats.requestFinished(exchange(500, { upstreamMs: 2 }), LOCATION, 3);
  health = stats.health('^/api/');
  assert.equal(health.state, 'up', 'the upstream answered, even with a 500');
  assert.equal(health.consecutiveFailures, 0);
  time.now += 1;
  stats.requestFinished(exchange(504, { errorCode: 'DITO_ERR_UPSTREAM_TIMEOUT' }), LOCATION, 3);
  assert.equal(stats.health('^/api/').state, 'down');
  time.now += DOWN_FOR_MS + 1;
  assert.equal(stats.health('^/api/').state, 'unknown');
});

test('WebSocket count never goes below zero', () => {
  const stats = new LiveStats();
  stats.websocketClosed();
  assert.equal(stats.activeWebsockets, 0);
  stats.websocketOpened();
  stats.websocketOpened();
  stats.websocketClosed();
  assert.equal(stats.activeWebsockets, 1);
});
