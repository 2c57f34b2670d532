// The pool keys of a location: shapes accepted, defaults, normalisation, and the refusals that
// name the key (`target_url` xor `targets`, hash without `hash_on`, duplicates, bad durations).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfigText } from '../../src/config/load.js';

const load = (location: string) =>
  parseConfigText(`locations:\n  - path: "^/a"\n${location}`, '/etc/dito/config.yaml').config.locations[0]!;

function refusal(location: string): string {
  try {
    load(location);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.message;
  }
  assert.fail('the config was accepted');
}

describe('pool config', () => {
  it('a plain target_url has one target and no pool (the fast path)', () => {
    const location = load('    target_url: http://127.0.0.1:9/v1\n');
    assert.equal(location.balancing, undefined);
    assert.deepEqual(
      location.targets.map((t) => [t.url.href, t.weight]),
      [['http://127.0.0.1:9/v1', 1]],
    );
  });

  it('targets: strings and { url, weight } objects; pool defaults for several targets', () => {
    const location = load(
      '    targets:\n      - http://127.0.0.1:1\n      - { url: "http://127.0.0.1:2/x", weight: 3 }\n',
    );
    assert.equal(location.targetUrl, undefined);
    assert.deepEqual(
      location.targets.map((t) => [t.url.href, t.weight]),
      [
        ['http://127.0.0.1:1/', 1],
        ['http://127.0.0.1:2/x', 3],
      ],
    );
    assert.deepEqual(location.balancing, {
      policy: 'round_robin',
      hashOn: undefined,
      healthCheck: undefined,
      outlierDetection: { consecutiveFailures: 5, baseEjectionTimeMs: 30_000, maxEjectionTimeMs: 300_000 },
      retries: { attempts: 2, timeoutMs: 0, on: ['connect_failure', 'reset', 503] },
      circuitBreaker: undefined,
    });
  });

  it('every block spelled out', () => {
    const location = load(
      [
        '    targets: [http://127.0.0.1:1, http://127.0.0.1:2]',
        '    load_balancing: { policy: hash, hash_on: "cookie:sid" }',
        '    health_check: { path: /healthz, interval: 5s, timeout: 1s, healthy_threshold: 1, unhealthy_threshold: 4, expected_status: [200, "3xx", "404-404"] }',
        '    outlier_detection: { consecutive_failures: 3, base_ejection_time: 1s, max_ejection_time: 10s }',
        '    retries: { attempts: 1, timeout: 2s, on: [connect_failure, 502] }',
        '    circuit_breaker: { max_requests: 10, max_pending: 5 }',
        '',
      ].join('\n'),
    );
    assert.deepEqual(location.balancing, {
      policy: 'hash',
      hashOn: { from: 'cookie', name: 'sid' },
      healthCheck: {
        path: '/healthz',
        intervalMs: 5000,
        timeoutMs: 1000,
        healthyThreshold: 1,
        unhealthyThreshold: 4,
        expectedStatus: [
          { min: 200, max: 200 },
          { min: 300, max: 399 },
          { min: 404, max: 404 },
        ],
      },
      outlierDetection: { consecutiveFailures: 3, baseEjectionTimeMs: 1000, maxEjectionTimeMs: 10_000 },
      retries: { attempts: 1, timeoutMs: 2000, on: ['connect_failure', 502] },
      circuitBreaker: { maxRequests: 10, maxPending: 5 },
    });
  });

  it('a single target_url with a pool key gets a pool without retries or ejection by default', () => {
    const location = load('    target_url: http://127.0.0.1:9\n    circuit_breaker: { max_requests: 2 }\n');
    assert.equal(location.balancing?.retries.attempts, 0);
    assert.equal(location.balancing?.outlierDetection, undefined);
    assert.deepEqual(location.balancing?.circuitBreaker, { maxRequests: 2, maxPending: 0 });
  });

  it('header names in hash_on are lower-cased', () => {
    const location = load(
      '    targets: [http://127.0.0.1:1]\n    load_balancing: { policy: hash, hash_on: "header:X-User" }\n',
    );
    assert.deepEqual(location.balancing?.hashOn, { from: 'header', name: 'x-user' });
  });

  it('refusals name the key', () => {
    assert.equal(
      refusal('    target_url: http://127.0.0.1:9\n    targets: [http://127.0.0.1:1]\n'),
      '/etc/dito/config.yaml:4:5: locations[0].targets: use either `target_url` or `targets`, not both',
    );
    assert.equal(
      refusal('    replace_path: true\n'),
      '/etc/dito/config.yaml:2:5: locations[0].target_url: required key is missing',
    );
    assert.match(
      refusal('    targets: [http://127.0.0.1:1, "http://127.0.0.1:1/"]\n'),
      /locations\[0\]\.targets\[1\]: http:\/\/127\.0\.0\.1:1\/ is listed twice/,
    );
    assert.match(refusal('    targets: []\n'), /locations\[0\]\.targets: /);
    assert.match(
      refusal('    targets: [ftp://x]\n'),
      /locations\[0\]\.targets\[0\]: unsupported scheme "ftp"/,
    );
    assert.match(
      refusal('    targets: [{ url: "http://127.0.0.1:1", weight: 0 }]\n'),
      /locations\[0\]\.targets\[0\]\.weight: /,
    );
    assert.match(
      refusal('    targets: [http://127.0.0.1:1]\n    load_balancing: { policy: hash }\n'),
      /locations\[0\]\.load_balancing\.hash_on: required key is missing \(policy is hash\)/,
    );
    assert.match(
      refusal('    targets: [http://127.0.0.1:1]\n    load_balancing: { hash_on: ip }\n'),
      /locations\[0\]\.load_balancing\.hash_on: hash_on needs policy: hash/,
    );
    assert.match(
      refusal(
        '    targets: [http://127.0.0.1:1]\n    load_balancing: { policy: hash, hash_on: "cookie:" }\n',
      ),
      /hash_on: expected "ip", "header:<Header-Name>" or "cookie:<cookie-name>"/,
    );
    assert.match(
      refusal('    targets: [http://127.0.0.1:1]\n    load_balancing: { policy: fastest }\n'),
      /load_balancing\.policy: expected "round_robin", "least_outstanding", "random_two" or "hash"/,
    );
    assert.match(
      refusal(
        '    targets: [http://127.0.0.1:1]\n    health_check: { path: /h, interval: 1s, timeout: 2s }\n',
      ),
      /health_check\.timeout: must not be longer than interval/,
    );
    assert.match(
      refusal('    targets: [http://127.0.0.1:1]\n    health_check: { interval: 1s }\n'),
      /health_check\.path: /,
    );
    assert.match(
      refusal('    targets: [http://127.0.0.1:1]\n    health_check: { path: /h, expected_status: "2x" }\n'),
      /health_check\.expected_status/,
    );
    assert.match(
      refusal('    targets: [http://127.0.0.1:1]\n    retries: { on: [500] }\n'),
      /locations\[0\]\.retries\.on\[0\]/,
    );
    assert.match(
      refusal(
        '    targets: [http://127.0.0.1:1]\n    outlier_detection: { base_ejection_time: 1m, max_ejection_time: 10s }\n',
      ),
      /outlier_detection\.base_ejection_time: must not be longer than max_ejection_time/,
    );
    assert.match(
      refusal('    targets: [http://127.0.0.1:1]\n    retries: { attemps: 1 }\n'),
      /unknown key "attemps"/,
    );
  });
});
