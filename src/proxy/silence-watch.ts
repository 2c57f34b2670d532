// The ceiling on how long an upstream exchange may go without progress (no response headers, no
// body chunk, no request body sent), kept by one sweeping timer for every request in flight
// instead of a timer per request. undici can keep that ceiling itself (`headersTimeout`,
// `bodyTimeout`), but it then switches each connection between its body timer and its native
// keep-alive timer around every request, and every switch makes a new timer object that stays
// referenced until undici's half-second sweep: under GET 1 KiB × 64 those objects were ~55 % of
// all the bytes promoted to the old generation (sampling heap profiler), which grew the heap by
// ~1.4 MiB/s until a full collection; without them ~0.5 MiB/s.
// Precision is one sweep: an exchange silent for `limitMs` is ended within `limitMs + sweepMs`.
import { type Linked, LinkedList } from './linked-list.js';

/** An exchange under watch. */
export interface SilenceWatched {
  /**
   * Silent for the whole limit (its entry has been taken out of the watch first). Returns true
   * when it was only waiting on its client and wants to be watched again from zero.
   */
  silenceExpired(): boolean;
}

/**
 * A watched exchange's place in the watch: a small object of its own, so that the exchange can sit
 * in other intrusive lists too (the request deadline queue). The exchange zeroes `silentSweeps`
 * whenever it makes progress. (A `Set` of exchanges instead, added to and deleted from ~10k times a
 * second, made V8 promote nearly every exchange: ~23 MiB/s, a full collection every 1.5 s.)
 */
export class SilenceEntry implements Linked<SilenceEntry> {
  silentSweeps = 0;
  listPrev: SilenceEntry | undefined = undefined;
  listNext: SilenceEntry | undefined = undefined;
  listed = false;

  constructor(readonly owner: SilenceWatched) {}
}

export class SilenceWatch {
  private readonly entries = new LinkedList<SilenceEntry>();
  private timer: NodeJS.Timeout | undefined;
  private sweepsAllowed: number;

  constructor(
    limitMs: number,
    private sweepMs: number,
  ) {
    this.sweepsAllowed = Math.ceil(limitMs / sweepMs);
  }

  /** Watches `entry` from zero; for one already watched (a retried exchange), only the count restarts. */
  add(entry: SilenceEntry): void {
    entry.silentSweeps = 0;
    if (entry.listed) return;
    this.entries.append(entry);
    // Unreferenced: open connections keep the process alive, a watch alone must not.
    this.timer ??= setInterval(this.sweep, this.sweepMs).unref();
  }

  /** Takes `entry` out; a no-op when it is not watched. */
  remove(entry: SilenceEntry): void {
    this.entries.remove(entry);
  }

  /** Exchanges under watch now (tests and diagnostics; walks the list). */
  get size(): number {
    return this.entries.size;
  }

  /** Tests: a short limit and sweep, so that silence can be shown in real time. */
  retune(limitMs: number, sweepMs: number): void {
    this.sweepMs = sweepMs;
    this.sweepsAllowed = Math.ceil(limitMs / sweepMs);
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.entries.head !== undefined) this.timer = setInterval(this.sweep, sweepMs).unref();
  }

  private readonly sweep = (): void => {
    const allowed = this.sweepsAllowed;
    let entry = this.entries.head;
    while (entry !== undefined) {
      const next = entry.listNext;
      // The first sweep after add() may come at once: one sweep more than the limit covers.
      if (++entry.silentSweeps > allowed) {
        this.entries.remove(entry);
        // Re-added at the tail: this walk reaches it again and counts it from zero.
        if (entry.owner.silenceExpired()) this.add(entry);
      }
      entry = next;
    }
    if (this.entries.head === undefined && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  };
}

/**
 * Longest an upstream exchange may go without progress: no response headers, no body chunk, no
 * request body sent (undici's default `bodyTimeout`, here for the whole exchange). The wait for
 * response headers is also bounded by `request_timeout` (30 s by default) and, when set, by
 * `response_header_timeout`.
 */
export const UPSTREAM_SILENCE_LIMIT_MS = 300_000;

/** Every HTTP exchange the proxy has upstream, in every runtime (reloads share it). */
export const upstreamSilence = new SilenceWatch(UPSTREAM_SILENCE_LIMIT_MS, 5_000);
