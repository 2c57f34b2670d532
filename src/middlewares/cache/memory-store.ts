// The in-process cache store: an LRU bounded by bytes (bodies, headers and keys), shared by
// every location of the process and kept across reloads. Entries expire lazily, on read, or
// leave earlier as least recently used.
import { type CacheRecord, type CacheStore, recordSize } from './entry.js';

interface Slot {
  readonly record: CacheRecord;
  readonly expiresAt: number;
  readonly size: number;
}

export class MemoryStore implements CacheStore {
  /** Map iteration order is insertion order: re-inserting on use makes the first the least recent. */
  private readonly slots = new Map<string, Slot>();
  private usedBytes = 0;

  constructor(private maxBytes: number) {}

  get bytes(): number {
    return this.usedBytes;
  }

  get size(): number {
    return this.slots.size;
  }

  /** A reload may change the bound: shrink at once if needed. */
  resize(maxBytes: number): void {
    this.maxBytes = maxBytes;
    this.evict();
  }

  get(key: string): CacheRecord | undefined {
    const slot = this.slots.get(key);
    if (slot === undefined) return undefined;
    this.slots.delete(key);
    if (slot.expiresAt <= Date.now()) {
      this.usedBytes -= slot.size;
      return undefined;
    }
    this.slots.set(key, slot);
    return slot.record;
  }

  set(key: string, record: CacheRecord, ttlMs: number): void {
    const previous = this.slots.get(key);
    if (previous !== undefined) {
      this.slots.delete(key);
      this.usedBytes -= previous.size;
    }
    const size = recordSize(record);
    // One entry may take at most an eighth of the store: a few large bodies must not flush it.
    if (size > this.maxBytes / 8 || !(ttlMs > 0)) return;
    this.slots.set(key, { record, expiresAt: Date.now() + ttlMs, size });
    this.usedBytes += size;
    this.evict();
  }

  delete(key: string): void {
    const slot = this.slots.get(key);
    if (slot === undefined) return;
    this.slots.delete(key);
    this.usedBytes -= slot.size;
  }

  clear(): void {
    this.slots.clear();
    this.usedBytes = 0;
  }

  private evict(): void {
    for (const [key, slot] of this.slots) {
      if (this.usedBytes <= this.maxBytes) return;
      this.slots.delete(key);
      this.usedBytes -= slot.size;
    }
  }
}
