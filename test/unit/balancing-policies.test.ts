// Selection policies, key hashing, retry decisions and passive ejection as pure logic.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Dispatcher } from 'undici';
import type { Upstream } from '../../src/transport/upstream-clients.js';
import { noopMetrics } from '../../src/observability/metrics-recorder.js';
import { readCookie } from '../../src/upstream/hash-key.js';
import {
  hashString,
  LeastOutstanding,
  RandomTwo,
  RendezvousHash,
  RoundRobin,
  type Usable,
} from '../../src/upstream/policies.js';
import { parseRetryAfter, RetryPolicy } from '../../src/upstream/retry-policy.js';
import type { PoolTarget } from '../../src/upstream/target.js';
import { TargetState, TargetStates } from '../../src/upstream/target-state.js';

function targets(weights: number[]): PoolTarget[] {
  return weights.map((weight, index) => {
    const url = new URL(`http://10.0.0.${index + 1}:80/`);
    return {
      url,
      label: url.href,
      origin: url.origin,
      targetPath: { base: '', full: '/', query: '' },
      headerPlan: undefined as never,
      upgradeHeaderPlan: undefined as never,
      upstream: {} as Upstream,
      dispatcher: {} as Dispatcher,
      index,
      weight,
      state: new TargetState(url.href, undefined),
      metrics: noopMetrics.target('', ''),
      seed: hashString(url.href),
      current: 0,
    };
  });
}

const all: Usable = (t) => t.state.available;

function count(pick: () => PoolTarget | undefined, n: number): number[] {
  const counts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = pick()!;
    counts[t.index] = (counts[t.index] ?? 0) + 1;
  }
  return counts;
}

describe('round robin', () => {
  it('splits exactly by weight, spreading the heavy target', () => {
    const list = targets([1, 2, 3]);
    const rr = new RoundRobin();
    const sequence = Array.from({ length: 6 }, () => rr.pick(list, all)!.index);
    assert.deepEqual(sequence, [2, 1, 0, 2, 1, 2]);
    assert.deepEqual(
      count(() => rr.pick(list, all), 6000),
      [1000, 2000, 3000],
    );
  });

  it('skips unusable targets and answers undefined when none is usable', () => {
    const list = targets([1, 1, 1]);
    list[1]!.state.setHealthy(false);
    const rr = new RoundRobin();
    const counts = count(() => rr.pick(list, all), 100);
    assert.deepEqual([counts[0], counts[1], counts[2]], [50, undefined, 50]);
    for (const t of list) t.state.setHealthy(false);
    assert.equal(rr.pick(list, all), undefined);
  });
});

describe('least outstanding', () => {
  it('takes the least loaded per weight, ties in turn', () => {
    const list = targets([1, 1, 2]);
    const lo = new LeastOutstanding();
    assert.deepEqual(
      [0, 1, 2].map(() => lo.pick(list, all)!.index),
      [0, 1, 2],
    );
    list[0]!.state.outstanding = 1;
    list[1]!.state.outstanding = 0;
    list[2]!.state.outstanding = 1; // 0.5 per weight
    assert.equal(lo.pick(list, all)!.index, 1);
  });
});

describe('random of two', () => {
  it('follows the weights when idle and avoids the busy target', () => {
    const list = targets([1, 1, 2]);
    const r2 = new RandomTwo(list);
    const counts = count(() => r2.pick(list, all), 8000);
    assert.ok(counts[2]! > counts[0]! * 1.3, `weights ignored: ${counts.join(', ')}`);
    list[2]!.state.outstanding = 50;
    const busy = count(() => r2.pick(list, all), 3000);
    assert.ok((busy[2] ?? 0) < 300, `busy target picked ${busy[2]} times`);
  });
});

describe('rendezvous hashing', () => {
  it('is stable per key and moves only the removed target keys (~1/N)', () => {
    const list = targets([1, 1, 1, 1]);
    const hrw = new RendezvousHash();
    const keys = Array.from({ length: 4000 }, (_, i) => hashString(`client-${i}`));
    const before = keys.map((k) => hrw.pick(list, all, k)!.index);
    assert.deepEqual(
      keys.map((k) => hrw.pick(list, all, k)!.index),
      before,
    );
    const shares = [0, 1, 2, 3].map((i) => before.filter((x) => x === i).length / keys.length);
    for (const share of shares) assert.ok(Math.abs(share - 0.25) < 0.03, `share ${share}`);
    const without = list.filter((t) => t.index !== 2);
    const after = keys.map((k) => hrw.pick(without, all, k)!.index);
    let moved = 0;
    keys.forEach((_, i) => {
      if (before[i] === 2) moved++;
      else assert.equal(after[i], before[i]);
    });
    assert.ok(Math.abs(moved / keys.length - 0.25) < 0.03);
  });

  it('weights shift the shares', () => {
    const list = targets([1, 3]);
    const hrw = new RendezvousHash();
    const picks = Array.from({ length: 8000 }, (_, i) => hrw.pick(list, all, hashString(`k${i}`))!.index);
    const share = picks.filter((x) => x === 1).length / picks.length;
    assert.ok(Math.abs(share - 0.75) < 0.03, `share ${share}`);
  });
});

describe('cookies', () => {
  it('reads one cookie among several, quoted or not', () => {
    assert.equal(readCookie('a=1; sid=xyz; b=2', 'sid'), 'xyz');
    assert.equal(readCookie('sid="q"', 'sid'), 'q');
    assert.equal(readCookie('xsid=1; sid2=2', 'sid'), undefined);
    assert.equal(readCookie(undefined, 'sid'), undefined);
    assert.equal(readCookie('sid', 'sid'), undefined);
  });
});

describe('retry policy', () => {
  const policy = new RetryPolicy(
    { attempts: 2, timeoutMs: 0, on: ['connect_failure', 'reset', 503] },
    30_000,
  );
  const get = { idempotent: true, hasBody: false, bodySent: false };
  const post = { idempotent: false, hasBody: true, bodySent: false };

  it('a connect failure is retried for any method; the rest only for idempotent bodiless requests', () => {
    assert.equal(policy.allowsError('DITO_ERR_UPSTREAM_CONNECT', post), true);
    assert.equal(policy.allowsError('DITO_ERR_UPSTREAM_CONNECT', { ...post, bodySent: true }), false);
    assert.equal(policy.allowsError('DITO_ERR_UPSTREAM_RESET', get), true);
    assert.equal(policy.allowsError('DITO_ERR_UPSTREAM_RESET', post), false);
    assert.equal(policy.allowsError('DITO_ERR_UPSTREAM_RESET', { ...get, hasBody: true }), false);
    assert.equal(policy.allowsError('DITO_ERR_UPSTREAM_TIMEOUT', get), false, 'timeout not listed');
    assert.equal(policy.allowsStatus(503, get), true);
    assert.equal(policy.allowsStatus(502, get), false);
    assert.equal(policy.allowsStatus(503, { ...get, idempotent: false }), false);
  });

  it('time left: retries.timeout, else request_timeout, else unbounded', () => {
    assert.equal(policy.timeLeft(1000), 29_000);
    assert.equal(new RetryPolicy({ attempts: 1, timeoutMs: 500, on: [] }, 30_000).timeLeft(100), 400);
    assert.equal(new RetryPolicy({ attempts: 1, timeoutMs: 0, on: [] }, 0).timeLeft(100), Infinity);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    assert.equal(parseRetryAfter('2'), 2000);
    assert.equal(parseRetryAfter(' 0 '), 0);
    const now = Date.parse('Sun, 06 Nov 1994 08:49:37 GMT');
    assert.equal(parseRetryAfter('Sun, 06 Nov 1994 08:49:40 GMT', now), 3000);
    assert.equal(parseRetryAfter('Sun, 06 Nov 1994 08:49:30 GMT', now), 0);
    assert.equal(parseRetryAfter('soon'), undefined);
    assert.equal(parseRetryAfter('-1'), undefined);
    assert.equal(parseRetryAfter(undefined), undefined);
  });
});

describe('passive ejection', () => {
  const outlier = { consecutiveFailures: 3, baseEjectionTimeMs: 20, maxEjectionTimeMs: 50 };

  it('ejects after N failures in a row, with a backoff that grows to the maximum, and probes back', async () => {
    const state = new TargetState('t', outlier);
    assert.equal(state.recordFailure(true), false);
    state.recordSuccess();
    assert.equal(state.recordFailure(true), false);
    assert.equal(state.recordFailure(true), false);
    assert.equal(state.recordFailure(true), true);
    assert.equal(state.available, false);
    await new Promise((resolve) => setTimeout(resolve, 35));
    assert.equal(state.available, true, 'back after the base time');
    assert.equal(state.probation, true);
    assert.equal(state.recordFailure(true), true, 'one failure on probation ejects again');
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(state.available, false, 'the second ejection lasts twice as long');
    await new Promise((resolve) => setTimeout(resolve, 25));
    assert.equal(state.available, true);
    state.recordSuccess();
    assert.equal(state.ejections, 0, 'a success after probation resets the backoff');
    state.dispose();
  });

  it('never ejects when the pool has nowhere else to go; a passing health check lets it back', () => {
    const state = new TargetState('t', outlier);
    for (let i = 0; i < 10; i++) assert.equal(state.recordFailure(false), false);
    assert.equal(state.available, true);
    state.recordFailure(true);
    assert.equal(state.available, false);
    state.checkPassed();
    assert.equal(state.available, true);
    state.dispose();
  });

  it('states are shared by key and disposed with their last user', () => {
    const carry = new Map<string, unknown>();
    let disposed = 0;
    const first = new TargetStates(carry).acquire('k', () => new TargetState('k', undefined));
    first.state.onDispose = () => disposed++;
    const next = new TargetStates(carry).acquire('k', () => new TargetState('k', undefined));
    assert.equal(next.created, false);
    assert.equal(next.state, first.state);
    new TargetStates(carry).release(first.state);
    assert.equal(disposed, 0);
    new TargetStates(carry).release(next.state);
    assert.equal(disposed, 1);
  });
});
