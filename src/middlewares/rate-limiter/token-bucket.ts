// The token bucket both limiters share, kept as GCRA: a bucket is one number, the "theoretical
// arrival time" (TAT) at which it would be full again, so a decision is one lookup and some
// arithmetic, refill is lazy (no timer per key) and a bucket whose TAT has passed is the same as
// no bucket at all (which is what lets idle keys be dropped and Redis keys expire by themselves).

/** `burst` tokens, one more every `intervalMs` (= 1000 / requests_per_second). */
export interface BucketPolicy {
  readonly burst: number;
  readonly intervalMs: number;
}

/** Filled in place by `consume` (one object per limiter: the request path allocates nothing). */
export interface Decision {
  allowed: boolean;
  /** Tokens left after this request. */
  remaining: number;
  /** Milliseconds until the bucket is full again. */
  resetMs: number;
  /** Denied: milliseconds until one token is back. 0 when allowed. */
  retryAfterMs: number;
}

export function bucketPolicy(requestsPerSecond: number, burst: number): BucketPolicy {
  return { burst, intervalMs: 1000 / requestsPerSecond };
}

export function emptyDecision(): Decision {
  return { allowed: false, remaining: 0, resetMs: 0, retryAfterMs: 0 };
}

/**
 * Takes one token from the bucket whose TAT is `tat` (undefined = full) at time `now`. Fills `out`
 * and returns the new TAT to store (unchanged when denied).
 */
export function consume(tat: number | undefined, now: number, policy: BucketPolicy, out: Decision): number {
  const start = tat === undefined || tat < now ? now : tat;
  const next = start + policy.intervalMs;
  const capacity = policy.burst * policy.intervalMs;
  // A hair of slack absorbs float rounding (e.g. 3 × 333.33… ms) without letting a request through early.
  if (next - now > capacity + 1e-6) {
    out.allowed = false;
    out.remaining = 0;
    out.resetMs = start - now;
    out.retryAfterMs = next - capacity - now;
    return start;
  }
  out.allowed = true;
  out.remaining = Math.floor((now + capacity - next) / policy.intervalMs + 1e-9);
  out.resetMs = next - now;
  out.retryAfterMs = 0;
  return next;
}

export interface BucketStoreOptions {
  /** Most buckets kept; past it the oldest is dropped (its client gets a full bucket again). */
  maxKeys: number;
  /** How often idle (full) buckets are swept out. */
  sweepIntervalMs: number;
}

export const DEFAULT_BUCKET_STORE_OPTIONS: BucketStoreOptions = { maxKeys: 100_000, sweepIntervalMs: 10_000 };

/**
 * Buckets of one location in process memory: `Map<key, TAT>`. Bounded: a periodic sweep drops full
 * buckets, and at `maxKeys` the oldest inserted key goes first (Map order, O(1)). Shared by the
 * runtimes that use it (reloads with unchanged settings) through acquire/release.
 */
export class BucketStore {
  private readonly buckets = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private users = 0;

  constructor(
    readonly policy: BucketPolicy,
    private readonly options: BucketStoreOptions = DEFAULT_BUCKET_STORE_OPTIONS,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  get size(): number {
    return this.buckets.size;
  }

  /** One request of `key`; the result is in `out`. */
  take(key: string, out: Decision): boolean {
    const now = this.clock();
    const buckets = this.buckets;
    const tat = buckets.get(key);
    const next = consume(tat, now, this.policy, out);
    if (!out.allowed) return false;
    if (tat === undefined && buckets.size >= this.options.maxKeys) this.dropOldest();
    buckets.set(key, next);
    return true;
  }

  /** Drops every full bucket (TAT in the past): they are equivalent to absent ones. */
  sweep(now = this.clock()): number {
    let dropped = 0;
    for (const [key, tat] of this.buckets) {
      if (tat <= now) {
        this.buckets.delete(key);
        dropped++;
      }
    }
    return dropped;
  }

  private dropOldest(): void {
    // The oldest inserted key is usually the idlest one; a sweep would cost O(n) per new client
    // under a flood of addresses, so only the first key is looked at here.
    const oldest = this.buckets.keys().next();
    if (!oldest.done) this.buckets.delete(oldest.value);
  }

  acquire(): void {
    this.users++;
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.sweep(), this.options.sweepIntervalMs);
      this.timer.unref();
    }
  }

  /** Returns true when the last user let go (the store is then empty and stopped). */
  release(): boolean {
    this.users = Math.max(0, this.users - 1);
    if (this.users > 0) return false;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.buckets.clear();
    return true;
  }
}
