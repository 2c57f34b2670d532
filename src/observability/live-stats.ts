// Live numbers for the admin dashboard, independent of Prometheus: per location, a ring of
// one-second slots (requests, 4xx, 5xx, rate-limit and cache decisions, a small latency
// histogram) read as rates, ratios and p50/p99; passive upstream health from recent outcomes.
import type { IncomingMessage } from 'node:http';
import type { Exchange } from '../proxy/exchange.js';
import type { CompiledLocation } from '../runtime/location.js';
import type {
  CacheLookupResult,
  Direction,
  LocationMetrics,
  MetricsRecorder,
  RateLimitDecision,
  RateLimiterName,
  TargetMetrics,
} from './metrics-recorder.js';
import { noopTargetMetrics } from './metrics-recorder.js';

/** Seconds of history kept (the dashboard's charts show this much on page load). */
export const HISTORY_SECONDS = 60;
/** Seconds the latency quantiles and the ratios are computed over. */
export const QUANTILE_WINDOW_SECONDS = 10;
/** A failed upstream with no success since stays `down` this long, then becomes `unknown`. */
export const DOWN_FOR_MS = 60_000;

/**
 * Latency buckets: upper bounds growing by 1.35x from 0.1 ms (bucket 47 ends near 130 s). A
 * quantile is interpolated inside its bucket, so it is within ~±15 % of the true value — enough for
 * a chart, at 48 counters per second per location instead of a sample list.
 */
const FIRST_BOUND_MS = 0.1;
const GROWTH = 1.35;
const LOG_GROWTH = Math.log(GROWTH);
export const LATENCY_BUCKETS = 48;

/** Counter indexes inside a slot. */
const REQUESTS = 0;
const STATUS_4XX = 1;
const STATUS_5XX = 2;
const RATE_ALLOWED = 3;
const RATE_LIMITED = 4;
const CACHE_HIT = 5;
const CACHE_MISS = 6;
const COUNTERS = 7;

/** The upper bound (ms) of latency bucket `index`. */
export function bucketBoundMs(index: number): number {
  return FIRST_BOUND_MS * GROWTH ** index;
}

export function bucketOf(durationMs: number): number {
  if (!(durationMs > FIRST_BOUND_MS)) return 0;
  const index = Math.ceil(Math.log(durationMs / FIRST_BOUND_MS) / LOG_GROWTH);
  return index >= LATENCY_BUCKETS ? LATENCY_BUCKETS - 1 : index;
}

/** The `q` quantile (0..1) of a bucket histogram, interpolated inside its bucket; null when empty. */
export function quantileMs(histogram: ArrayLike<number>, q: number): number | null {
  let total = 0;
  for (let i = 0; i < histogram.length; i++) total += histogram[i]!;
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    const count = histogram[i]!;
    if (count > 0 && seen + count >= rank) {
      const lower = i === 0 ? 0 : bucketBoundMs(i - 1);
      const upper = bucketBoundMs(i);
      return lower + ((upper - lower) * (rank - seen)) / count;
    }
    seen += count;
  }
  return bucketBoundMs(histogram.length - 1);
}

export type UpstreamState = 'up' | 'down' | 'unknown';

export interface PassiveHealth {
  state: UpstreamState;
  lastSuccessAt: number | null;
  lastFailureAt: number | null;
  lastFailure: string | null;
  consecutiveFailures: number;
}

/** One location's point at one second. */
export interface LocationPoint {
  /** Requests answered in that second. */
  rps: number;
  /** Share of those answered 5xx (0..1), null without requests. */
  errorRate: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface LocationSnapshot extends LocationPoint {
  pattern: string;
  /** Over the quantile window: share of rate-limit decisions that refused (null: none made). */
  rateLimitedRatio: number | null;
  /** Over the quantile window: hits / (hits + misses) (null: no lookups). */
  cacheHitRatio: number | null;
  status4xx: number;
  status5xx: number;
  totalRequests: number;
}

const UPSTREAM_FAILURES = new Set([
  'DITO_ERR_UPSTREAM_CONNECT',
  'DITO_ERR_UPSTREAM_TIMEOUT',
  'DITO_ERR_UPSTREAM_RESET',
  'DITO_ERR_UPSTREAM_TLS',
  'DITO_ERR_UPSTREAM_PROTOCOL',
]);

/** Everything counted for one location `path` pattern; kept by pattern across reloads. */
class LocationStats implements LocationMetrics {
  /** `seconds[i]`: the epoch second slot i holds; a slot from an older second counts as empty. */
  private readonly seconds = new Float64Array(HISTORY_SECONDS).fill(-1);
  private readonly counters = new Uint32Array(HISTORY_SECONDS * COUNTERS);
  private readonly latency = new Uint32Array(HISTORY_SECONDS * LATENCY_BUCKETS);
  totalRequests = 0;
  readonly health: PassiveHealth = {
    state: 'unknown',
    lastSuccessAt: null,
    lastFailureAt: null,
    lastFailure: null,
    consecutiveFailures: 0,
  };

  constructor(
    readonly pattern: string,
    private readonly clock: () => number,
  ) {}

  /** The slot of the current second, emptied first if it still holds an older second. */
  private slot(): number {
    const second = Math.floor(this.clock() / 1000);
    const slot = second % HISTORY_SECONDS;
    if (this.seconds[slot] !== second) {
      this.seconds[slot] = second;
      this.counters.fill(0, slot * COUNTERS, (slot + 1) * COUNTERS);
      this.latency.fill(0, slot * LATENCY_BUCKETS, (slot + 1) * LATENCY_BUCKETS);
    }
    return slot;
  }

  private count(counter: number): void {
    this.counters[this.slot() * COUNTERS + counter]!++;
  }

  finished(status: number, durationMs: number): void {
    const slot = this.slot();
    const base = slot * COUNTERS;
    this.counters[base + REQUESTS]!++;
    if (status >= 500) this.counters[base + STATUS_5XX]!++;
    else if (status >= 400) this.counters[base + STATUS_4XX]!++;
    this.latency[slot * LATENCY_BUCKETS + bucketOf(durationMs)]!++;
    this.totalRequests++;
  }

  upstreamOutcome(failure: string | undefined, now: number): void {
    const health = this.health;
    if (failure === undefined) {
      health.lastSuccessAt = now;
      health.consecutiveFailures = 0;
    } else {
      health.lastFailureAt = now;
      health.lastFailure = failure;
      health.consecutiveFailures++;
    }
  }

  rateLimit(_limiter: RateLimiterName, decision: RateLimitDecision): void {
    this.count(decision === 'limited' || decision === 'failed_closed' ? RATE_LIMITED : RATE_ALLOWED);
  }

  cacheLookup(result: CacheLookupResult): void {
    if (result === 'hit') this.count(CACHE_HIT);
    else if (result === 'miss') this.count(CACHE_MISS);
  }

  cacheStored(): void {}

  private slotFor(second: number): number {
    const slot = second % HISTORY_SECONDS;
    return this.seconds[slot] === second ? slot : -1;
  }

  private counter(slot: number, counter: number): number {
    return slot < 0 ? 0 : this.counters[slot * COUNTERS + counter]!;
  }

  /** Sum of `counter` over `window` seconds ending with `second`. */
  private sum(second: number, window: number, counter: number): number {
    let total = 0;
    for (let s = second - window + 1; s <= second; s++) total += this.counter(this.slotFor(s), counter);
    return total;
  }

  /** The point for the complete second `second`: its rate and error share, quantiles over the window. */
  point(second: number): LocationPoint {
    const slot = this.slotFor(second);
    const requests = this.counter(slot, REQUESTS);
    const histogram = new Uint32Array(LATENCY_BUCKETS);
    for (let s = second - QUANTILE_WINDOW_SECONDS + 1; s <= second; s++) {
      const at = this.slotFor(s);
      if (at < 0) continue;
      for (let b = 0; b < LATENCY_BUCKETS; b++) histogram[b]! += this.latency[at * LATENCY_BUCKETS + b]!;
    }
    return {
      rps: requests,
      errorRate: requests === 0 ? null : this.counter(slot, STATUS_5XX) / requests,
      p50Ms: quantileMs(histogram, 0.5),
      p99Ms: quantileMs(histogram, 0.99),
    };
  }

  snapshot(second: number): LocationSnapshot {
    const window = QUANTILE_WINDOW_SECONDS;
    const limited = this.sum(second, window, RATE_LIMITED);
    const decisions = limited + this.sum(second, window, RATE_ALLOWED);
    const hits = this.sum(second, window, CACHE_HIT);
    const lookups = hits + this.sum(second, window, CACHE_MISS);
    return {
      pattern: this.pattern,
      ...this.point(second),
      rateLimitedRatio: decisions === 0 ? null : limited / decisions,
      cacheHitRatio: lookups === 0 ? null : hits / lookups,
      status4xx: this.sum(second, HISTORY_SECONDS, STATUS_4XX),
      status5xx: this.sum(second, HISTORY_SECONDS, STATUS_5XX),
      totalRequests: this.totalRequests,
    };
  }

  healthAt(now: number): PassiveHealth {
    const health = this.health;
    let state: UpstreamState = 'unknown';
    const failure = health.lastFailureAt;
    const success = health.lastSuccessAt;
    if (failure !== null && (success === null || failure > success)) {
      state = now - failure <= DOWN_FOR_MS ? 'down' : 'unknown';
    } else if (success !== null) state = 'up';
    return { ...health, state };
  }
}

/**
 * The dashboard's recorder and request listener. Cheap per request: a slot lookup and a few
 * typed-array increments; everything else happens when the dashboard reads (once a second).
 */
export class LiveStats implements MetricsRecorder {
  readonly enabled = true;
  private readonly byPattern = new Map<string, LocationStats>();
  private readonly unmatched: LocationStats;
  private websockets = 0;
  private connectionSource: () => number = () => 0;

  constructor(private readonly clock: () => number = Date.now) {
    this.unmatched = new LocationStats('unmatched', clock);
  }

  /** Pool targets' health is read from the pools themselves (admin API); nothing to count here. */
  target(): TargetMetrics {
    return noopTargetMetrics;
  }

  location(pattern: string): LocationStats {
    let stats = this.byPattern.get(pattern);
    if (stats === undefined) {
      stats = new LocationStats(pattern, this.clock);
      this.byPattern.set(pattern, stats);
    }
    return stats;
  }

  /** Where the open-connection count is read (the listener's own counter). */
  countConnectionsWith(source: () => number): void {
    this.connectionSource = source;
  }

  get activeConnections(): number {
    return this.connectionSource();
  }

  get activeWebsockets(): number {
    return this.websockets;
  }

  /** Request listener: one finished request. */
  requestFinished(exchange: Exchange, location: CompiledLocation | undefined, durationMs: number): void {
    const stats = location === undefined ? this.unmatched : this.location(location.pattern);
    const res = exchange.res;
    stats.finished(res.headersSent ? res.statusCode : 499, durationMs);
    const code = exchange.errorCode;
    if (code !== undefined && UPSTREAM_FAILURES.has(code)) stats.upstreamOutcome(code, this.clock());
    else if (exchange.upstreamMs !== undefined) stats.upstreamOutcome(undefined, this.clock());
  }

  /** Request listener: refused before routing. */
  requestRefused(_req: IncomingMessage | undefined, status: number, durationMs: number): void {
    this.unmatched.finished(status, durationMs);
  }

  /** The last complete second (the current one is still filling). */
  lastCompleteSecond(): number {
    return Math.floor(this.clock() / 1000) - 1;
  }

  /** Snapshots of `patterns` (in the given order) for the last complete second. */
  snapshot(patterns: readonly string[]): LocationSnapshot[] {
    const second = this.lastCompleteSecond();
    return patterns.map((pattern) => this.location(pattern).snapshot(second));
  }

  /** Per pattern, one point per second for the last `HISTORY_SECONDS` complete seconds, oldest first. */
  history(patterns: readonly string[]): { seconds: number[]; series: Record<string, LocationPoint[]> } {
    const last = this.lastCompleteSecond();
    const seconds: number[] = [];
    for (let s = last - HISTORY_SECONDS + QUANTILE_WINDOW_SECONDS; s <= last; s++) seconds.push(s);
    const series: Record<string, LocationPoint[]> = {};
    for (const pattern of patterns) {
      const stats = this.location(pattern);
      series[pattern] = seconds.map((second) => stats.point(second));
    }
    return { seconds, series };
  }

  health(pattern: string): PassiveHealth {
    return this.location(pattern).healthAt(this.clock());
  }

  websocketOpened(): void {
    this.websockets++;
  }

  websocketClosed(_durationSeconds?: number): void {
    // A connection opened before the dashboard was turned on may close after: never below 0.
    if (this.websockets > 0) this.websockets--;
  }

  websocketMessage(_direction: Direction, _count?: number): void {}
  websocketBytes(_direction: Direction, _bytes: number): void {}
  bytesTransferred(_direction: Direction, _bytes: number): void {}
  recordReload(_success: boolean): void {}
  setConfigInfo(_sha256: string): void {}
  pluginLoadFailed(_plugin: string): void {}
  redisConnectionState(_client: string, _connected: boolean): void {}
}
