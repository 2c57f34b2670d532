// The GCRA token bucket both limiters share: burst, refill, fractional rates, headers' numbers,
// and the bounded in-memory store (sweep, size bound, reload sharing).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { compileClientKey } from '../../src/middlewares/rate-limiter/client-key.js';
import {
  BucketStore,
  bucketPolicy,
  consume,
  type Decision,
  emptyDecision,
} from '../../src/middlewares/rate-limiter/token-bucket.js';
import type { Exchange } from '../../src/proxy/exchange.js';

function run(policy = bucketPolicy(2, 4)) {
  let tat: number | undefined;
  const out = emptyDecision();
  return (now: number): Decision => {
    tat = consume(tat, now, policy, out);
    return { ...out };
  };
}

describe('token bucket (GCRA)', () => {
  test('rps 2 burst 4: 4 immediate requests pass, the 5th waits half a second', () => {
    const take = run();
    const results = Array.from({ length: 10 }, () => take(1000));
    assert.deepEqual(
      results.map((r) => r.allowed),
      [true, true, true, true, false, false, false, false, false, false],
    );
    assert.deepEqual(
      results.slice(0, 4).map((r) => r.remaining),
      [3, 2, 1, 0],
    );
    assert.equal(results[4]!.retryAfterMs, 500);
    assert.equal(results[3]!.resetMs, 2000);
  });

  test('after 1 s exactly two more pass', () => {
    const take = run();
    for (let i = 0; i < 10; i++) take(1000);
    const later = [take(2000), take(2000), take(2000)];
    assert.deepEqual(
      later.map((r) => r.allowed),
      [true, true, false],
    );
  });

  test('fractional rate: 0.5 rps is one request every 2 s', () => {
    const take = run(bucketPolicy(0.5, 1));
    assert.equal(take(0).allowed, true);
    const denied = take(100);
    assert.equal(denied.allowed, false);
    assert.equal(denied.retryAfterMs, 1900);
    assert.equal(take(1999).allowed, false);
    assert.equal(take(2000).allowed, true);
  });

  test('a rate that is not a whole number of ms per token (3 rps) still grants exactly burst', () => {
    const take = run(bucketPolicy(3, 3));
    const allowed = Array.from({ length: 5 }, () => take(5000)).filter((r) => r.allowed).length;
    assert.equal(allowed, 3);
    // One full second later the bucket holds three tokens again.
    assert.equal(Array.from({ length: 5 }, () => take(6000)).filter((r) => r.allowed).length, 3);
  });

  test('property: over any window no more than burst + rate × elapsed pass', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.1, max: 100, noNaN: true }),
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 300 }),
        (rps, burst, gaps) => {
          const take = run(bucketPolicy(rps, burst));
          let now = 0;
          let passed = 0;
          for (const gap of gaps) {
            now += gap;
            const decision = take(now);
            if (decision.allowed) passed++;
            assert.ok(decision.remaining >= 0 && decision.remaining < burst);
            if (!decision.allowed) assert.ok(decision.retryAfterMs > 0);
          }
          assert.ok(passed <= burst + Math.floor((rps * now) / 1000) + 1e-9, `${passed} passed`);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('BucketStore', () => {
  test('keys have separate buckets; a full bucket is swept out', () => {
    let now = 0;
    const store = new BucketStore(bucketPolicy(1, 2), { maxKeys: 100, sweepIntervalMs: 60_000 }, () => now);
    const out = emptyDecision();
    assert.equal(store.take('a', out), true);
    assert.equal(store.take('a', out), true);
    assert.equal(store.take('a', out), false);
    assert.equal(store.take('b', out), true);
    assert.equal(store.size, 2);
    now = 1500;
    assert.equal(store.sweep(), 1, 'b is full again, a is not');
    now = 2500;
    assert.equal(store.sweep(), 1);
    assert.equal(store.size, 0);
  });

  test('the map never grows past maxKeys (oldest key dropped)', () => {
    const store = new BucketStore(bucketPolicy(1, 1), { maxKeys: 50, sweepIntervalMs: 60_000 }, () => 0);
    const out = emptyDecision();
    for (let i = 0; i < 1000; i++) store.take(`10.0.${i >> 8}.${i & 255}`, out);
    assert.equal(store.size, 50);
  });

  test('acquire/release: shared by two runtimes, emptied when the last lets go', () => {
    const store = new BucketStore(bucketPolicy(1, 1));
    store.acquire();
    store.acquire();
    store.take('x', emptyDecision());
    assert.equal(store.release(), false);
    assert.equal(store.size, 1);
    assert.equal(store.release(), true);
    assert.equal(store.size, 0);
  });
});

describe('rate-limit client key', () => {
  const exchange = (headers: Record<string, string>, locals?: Record<string, unknown>) =>
    ({ clientIp: '192.0.2.7', req: { headers }, locals }) as unknown as Exchange;

  test('ip by default; header when present, else ip; auth subject when set, else ip', () => {
    assert.equal(compileClientKey(undefined)(exchange({})), '192.0.2.7');
    const byHeader = compileClientKey('header:X-API-Key');
    assert.equal(byHeader(exchange({ 'x-api-key': 'k1' })), 'header=k1');
    assert.equal(byHeader(exchange({})), '192.0.2.7');
    const byAuth = compileClientKey('auth');
    assert.equal(byAuth(exchange({}, { auth: { subject: 'alice' } })), 'user=alice');
    assert.equal(byAuth(exchange({})), '192.0.2.7');
  });

  test('long identities are hashed to a bounded key', () => {
    const key = compileClientKey('header:X-API-Key')(exchange({ 'x-api-key': 'k'.repeat(10_000) }));
    assert.ok(key.length < 80, key);
    assert.ok(key.startsWith('header=#'));
  });
});
