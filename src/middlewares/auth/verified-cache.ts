// Remembers recently verified Basic credentials for a short time, so a busy endpoint pays bcrypt's
// deliberate ~70 ms once per user and minute instead of on every request. Keys are an HMAC of
// "user:password" under a random per-process key: the map never holds a password, and a memory
// dump gives nothing a dictionary attack could use without that key.
import { createHmac, randomBytes } from 'node:crypto';

export const VERIFIED_TTL_MS = 60_000;
export const VERIFIED_MAX_ENTRIES = 1024;

export class VerifiedCache {
  private readonly secret = randomBytes(32);
  /** Insertion-ordered, so the first key is the oldest: eviction is O(1). */
  private readonly entries = new Map<string, number>();

  constructor(
    private readonly ttlMs = VERIFIED_TTL_MS,
    private readonly maxEntries = VERIFIED_MAX_ENTRIES,
    private readonly now: () => number = Date.now,
  ) {}

  /** The cache key of a credential (the decoded `user:password`). */
  keyOf(credential: string): string {
    return createHmac('sha256', this.secret).update(credential).digest('base64');
  }

  has(key: string): boolean {
    const expiresAt = this.entries.get(key);
    if (expiresAt === undefined) return false;
    if (expiresAt > this.now()) return true;
    this.entries.delete(key);
    return false;
  }

  add(key: string): void {
    this.entries.delete(key);
    this.entries.set(key, this.now() + this.ttlMs);
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
