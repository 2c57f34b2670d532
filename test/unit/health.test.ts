// Readiness logic: the phases (starting, ready, draining) and the rule that makes Redis required.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfigText } from '../../src/config/load.js';
import type { DitoConfig } from '../../src/config/types.js';
import { Health, type RedisStatus, redisRequired } from '../../src/observability/health.js';

function config(text: string): DitoConfig {
  return parseConfigText(text, 'config.yaml').config;
}

const LIMITED = (failureMode: string, enabled = true) => `
redis: { enabled: ${enabled} }
locations:
  - path: ^/api
    target_url: http://127.0.0.1:9000
    middlewares: [rate-limiter-redis]
    rate_limiting: { enabled: true, requests_per_second: 5, failure_mode: ${failureMode} }
`;

describe('redisRequired', () => {
  test('a fail-closed rate-limiter-redis makes Redis required', () => {
    assert.equal(redisRequired(config(LIMITED('closed'))), true);
  });
  test('a fail-open limiter does not', () => {
    assert.equal(redisRequired(config(LIMITED('open'))), false);
  });
  test('nor does a cache on Redis', () => {
    const text = `
redis: { enabled: true }
locations:
  - { path: ^/, target_url: http://127.0.0.1:9000, middlewares: [cache], cache: { enabled: true } }
`;
    assert.equal(redisRequired(config(text)), false);
  });
  test('nor a config without locations', () => {
    assert.equal(redisRequired(config('redis: { enabled: true }\n')), false);
  });
});

describe('Health.readiness', () => {
  test('starting → ready → draining', () => {
    const health = new Health(() => config('port: 0\n'));
    assert.deepEqual(health.readiness(), { ready: false, status: 'starting', checks: {} });
    health.markReady();
    assert.deepEqual(health.readiness(), { ready: true, status: 'ready', checks: {} });
    health.markDraining();
    assert.deepEqual(health.readiness(), { ready: false, status: 'draining', checks: {} });
    // Draining is final: a late markReady does not undo it.
    health.markReady();
    assert.equal(health.readiness().status, 'draining');
  });

  test('a required Redis: starting until it first answers, not_ready when it goes away', () => {
    const redis: { state: string; ready: boolean } = { state: 'connecting', ready: false };
    const health = new Health(
      () => config(LIMITED('closed')),
      () => redis as RedisStatus,
    );
    health.markReady();
    assert.deepEqual(health.readiness(), {
      ready: false,
      status: 'starting',
      checks: { redis: 'connecting' },
    });
    Object.assign(redis, { state: 'ready', ready: true });
    assert.deepEqual(health.readiness(), { ready: true, status: 'ready', checks: { redis: 'ready' } });
    Object.assign(redis, { state: 'reconnecting', ready: false });
    assert.deepEqual(health.readiness(), {
      ready: false,
      status: 'not_ready',
      checks: { redis: 'reconnecting' },
    });
    Object.assign(redis, { state: 'degraded', ready: true });
    assert.equal(health.readiness().ready, true);
  });

  test('a Redis that is not required never fails readiness', () => {
    const health = new Health(
      () => config(LIMITED('open')),
      () => ({ state: 'reconnecting', ready: false }),
    );
    health.markReady();
    assert.deepEqual(health.readiness(), { ready: true, status: 'ready', checks: {} });
  });

  test('a server that began draining on its own makes readiness fail', () => {
    const health = new Health(() => config('port: 0\n'));
    const host = { isDraining: false, addLocalHandler() {}, removeLocalHandler() {} };
    health.install(host, { enabled: true, livenessPath: '/healthz', readinessPath: '/readyz' });
    health.markReady();
    assert.equal(health.readiness().ready, true);
    host.isDraining = true;
    assert.equal(health.readiness().status, 'draining');
  });

  test('install moves the endpoints when the paths change and removes them when disabled', () => {
    const paths = new Set<string>();
    const host = {
      addLocalHandler: (path: string) => void paths.add(path),
      removeLocalHandler: (path: string) => void paths.delete(path),
    };
    const health = new Health(() => config('port: 0\n'));
    health.install(host, { enabled: true, livenessPath: '/healthz', readinessPath: '/readyz' });
    assert.deepEqual([...paths], ['/healthz', '/readyz']);
    health.install(host, { enabled: true, livenessPath: '/live', readinessPath: '/ready' });
    assert.deepEqual([...paths], ['/live', '/ready']);
    health.install(host, { enabled: false, livenessPath: '/live', readinessPath: '/ready' });
    assert.deepEqual([...paths], []);
  });
});

describe('health config', () => {
  test('defaults: off, /healthz and /readyz, no shutdown delay', () => {
    const loaded = config('port: 0\n');
    assert.deepEqual(loaded.health, { enabled: false, livenessPath: '/healthz', readinessPath: '/readyz' });
    assert.equal(loaded.shutdownDelayMs, 0);
  });
  test('paths must differ from each other and from metrics.path', () => {
    assert.throws(
      () => config('health: { enabled: true, liveness_path: /x, readiness_path: /x }\n'),
      /health\.readiness_path: must differ from health\.liveness_path/,
    );
    assert.throws(
      () => config('metrics: { enabled: true }\nhealth: { enabled: true, liveness_path: /metrics }\n'),
      /health\.liveness_path: must differ from metrics\.path/,
    );
    assert.throws(() => config('health: { readiness_path: ready }\n'), /must start with "\/"/);
  });
});
