// Frees dead socket read buffers sooner by collecting the young generation after every few MiB of
// body relayed. Node reads each socket into a new buffer (up to 64 KiB) whose memory is outside the
// V8 heap; it is freed only when a young-generation collection finds the buffer dead. Under body
// traffic the young generation itself fills slowly (a few small objects per 64 KiB read), so V8 ran
// those collections only when 32 MiB of such buffers had piled up (its own trigger, a constant:
// twice the default largest semi-space) and the process carried ~32 MiB of dead buffers plus
// the memory glibc kept once they were freed. Collecting every PACE_BYTES halves that pile.
// Node 20, proxy on one core, 10 s runs: GET 1 MiB × 8 peak RSS 121 → 104–105 MiB, GET 100 KiB × 16
// 112 → 107 MiB, CPU per request unchanged within noise (~80 young collections a second instead of
// ~45, 0.2–0.4 ms each). Every 8 MiB was worse (113–119 MiB), 12 MiB the same as 16, 24 MiB 112 MiB;
// on a later machine, in `make bench` itself, 12 MiB was worse too (GET 1 MiB 100 → 112–119 MiB).
// Node 24, GET 1 MiB: 162 → 128–137 MiB (docs/operations.md#memory). The same check also bounds the
// promoted garbage that V8 would otherwise let grow for minutes (FULL_COLLECTION_AFTER_GROWTH).

import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Body bytes relayed (read from either side) between two young-generation collections Dito asks
 * for. V8 still runs its own whenever the young generation fills, as before.
 */
export const PACE_BYTES = 16 * 1024 * 1024;

/**
 * Growth of the heap over its lowest size (measured after each paced collection, and reset by a
 * full collection) at which the pacer runs a full collection. Objects of requests that were in
 * flight across two young collections are promoted and die in the old generation: under POST
 * 64 KiB × 32 ~0.17 MiB/s on Node 20 (garbage: a full collection took the heap from 30.1 to 16.7
 * MiB), and Node 20 would collect them only at ~4× the heap its last full collection left, so
 * resident memory grew ~0.2 MiB/s for minutes (~12 MiB over a bench case). Node 24 collects them
 * only when the old generation reaches its floor of 80 MiB (src/cli/relaunch.ts). A full
 * collection every 8 MiB of such growth bounds that. Node 20: POST 64 KiB × 32 over 50 s peak RSS
 * 103–106 → 97 MiB, GET 1 KiB × 64 over 40 s 100 → 92 MiB, a pause of 4–27 ms (atomic, where
 * V8's own are mostly incremental) every 15–50 s. Node 24, 40 s of each, proxy on one core: POST
 * 64 KiB × 32 166.9 → 119.8–126.2 MiB at 10 pauses of 15–20 ms, GET 1 MiB × 8 125.8 → 121.8
 * (none), GET 1 KiB × 64 118.5 → 115.4 (one, early), CPU per request the same within noise.
 * Node 22 was not measured.
 */
export const FULL_COLLECTION_AFTER_GROWTH = 8 * 1024 * 1024;

/** V8's `gc`: a full collection without options (Node 20's V8 reads `{ type: 'major' }` as a young one). */
type GcFunction = (options?: { type: 'minor' }) => void;

/**
 * V8's `gc` function without exposing it to the process: the flag is on only while one throwaway
 * context is made, so plugins and the global object never see a `gc`. An operator's own
 * `--expose-gc` is left as it is.
 */
function findCollector(): GcFunction | undefined {
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') return exposed as GcFunction;
  setFlagsFromString('--expose-gc');
  try {
    const gc: unknown = runInNewContext('typeof gc === "function" ? gc : undefined');
    return typeof gc === 'function' ? (gc as GcFunction) : undefined;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

const collector = findCollector();
let relayedSinceCollection = 0;
// The heap as this module loads, before the config and the listeners: the first check under body
// traffic therefore runs one full collection within seconds, which also clears start-up garbage.
let lowestHeap = getHeapStatistics().used_heap_size;

/**
 * Counts `bytes` of body relayed (HTTP request and response bodies, WebSocket traffic); collects
 * the young generation each time the count passes PACE_BYTES, and everything when the heap has
 * grown by FULL_COLLECTION_AFTER_GROWTH. Returns whether it collected.
 */
export function countRelayedBytes(bytes: number): boolean {
  relayedSinceCollection += bytes;
  if (relayedSinceCollection < PACE_BYTES) return false;
  relayedSinceCollection = 0;
  if (collector === undefined) return false;
  collector({ type: 'minor' });
  const heap = getHeapStatistics().used_heap_size;
  if (heap < lowestHeap) lowestHeap = heap;
  else if (heap - lowestHeap > FULL_COLLECTION_AFTER_GROWTH) {
    collector();
    lowestHeap = getHeapStatistics().used_heap_size;
  }
  return true;
}
