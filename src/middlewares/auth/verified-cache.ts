// Remembers recently verified credentials for a short time, so a busy endpoint pays bcrypt's
// deliberate ~70 ms (Basic) or a JWT signature check (~100 µs, more than the rest of the proxy
// path) once per credential and minute instead of on every request. Keys are an HMAC of the
// credential under a random per-process key: the map never holds a password or token, and a
// memory dump gives nothing a dictionary attack could use without that key.
import { createHmac, randomBytes } from 'node:crypto';

/** How long a verified credential is trusted without re-checking: the lag of a revocation. */
export const VERIFIED_TTL_MS = 60_000;
export const VERIFIED_MAX_ENTRIES = 10_000;

interface Entry<V> {
  readonly value: V;
  readonly expiresAt: number;
}

export class VerifiedCache<V> {
  private readonly secret = randomBytes(32);
  /** Insertion-ordered, so the first key is the oldest: eviction is O(1). */
  private readonly entries = new Map<string, Entry<V>>();

  constructor(
    private readonly ttlMs = VERIFIED_TTL_MS,
    private readonly maxEntries = VERIFIED_MAX_ENTRIES,
    private readonly now: () => number = Date.now,
  ) {}

  /** The cache key of a credential (a decoded `user:password`, a token). */
  keyOf(credential: string): string {
    return createHmac('sha256', this.secret).update(credential).digest('base64');
  }

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > this.now()) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  /** Remembers `value` for the cache's TTL, or until `expiresAt` (ms since the epoch) if sooner. */
  add(key: string, value: V, expiresAt = Number.POSITIVE_INFINITY): void {
    const until = Math.min(this.now() + this.ttlMs, expiresAt);
    if (until <= this.now()) return;
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: until });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
