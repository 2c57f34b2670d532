// Frees dead socket read buffers sooner by collecting the young generation after every few MiB of
// body relayed. Node reads each socket into a new buffer (up to 64 KiB; upstream reads up to 120
// KiB, src/transport/growing-reads.ts) whose memory is outside the V8 heap; it is freed only when a
// young-generation collection finds the buffer dead. Under body traffic the young generation itself
// fills slowly (a few small objects per read), so V8 ran those collections only when 32 MiB of such
// buffers had piled up (its own trigger, a constant: twice the default largest semi-space) and the
// process carried ~32 MiB of dead buffers plus the memory glibc kept once they were freed.
// Collecting every PACE_BYTES cuts that pile. A buffer still in flight across two young
// collections is promoted with its object and then waits for a full collection; the more often the
// young generation is collected, the more buffers that happens to, so the pacer also runs a full
// collection when the memory outside the heap has grown (FULL_COLLECTION_AFTER_EXTERNAL_GROWTH).
// History and measurements: docs/benchmark.md items 13 and 23, docs/operations.md#memory.

import { getHeapStatistics, type HeapInfo, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Body bytes relayed (read from either side) between two young-generation collections Dito asks
 * for. V8 still runs its own whenever the young generation fills, as before. 16 MiB (item 13)
 * halved the pile of V8's own trigger; 8 MiB alone was worse on GET 1 MiB (buffers promoted, peak
 * RSS 115–118 MiB) until the external-growth check below came with it (item 23). Node 20, proxy on
 * one core, peak RSS 16 MiB → 8 MiB with the check: GET 1 MiB × 8 97 → 93 MiB, GET 100 KiB × 16
 * 99 → 88, POST 64 KiB × 32 97 → 93; CPU per request the same within noise.
 */
export const PACE_BYTES = 8 * 1024 * 1024;

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

/**
 * Growth of the memory outside the heap over its lowest (after a paced young collection, reset by a
 * full one) at which the pacer runs a full collection: buffers promoted while in flight are garbage
 * only a full collection frees, and the heap itself grows too little for the check above (a
 * promoted 120 KiB buffer adds ~100 bytes to the heap). Node 20, GET 1 MiB × 8 at an 8 MiB pace:
 * peak RSS 118 → 93 MiB, about one full collection every 3 s. Where much more is in flight (many
 * large bodies at once), the growth must also reach half of that lowest, so that the ups and downs
 * of what is live do not start a full collection at every pace.
 */
export const FULL_COLLECTION_AFTER_EXTERNAL_GROWTH = 8 * 1024 * 1024;

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

/** The heap in use, and the memory outside it that V8 accounts for (socket read buffers among it). */
function heapSizes(): { heap: number; external: number } {
  // `external_memory` is in Node 20's and 24's statistics; @types/node 20 does not list it.
  const stats = getHeapStatistics() as HeapInfo & { external_memory: number };
  return { heap: stats.used_heap_size, external: stats.external_memory };
}

const collector = findCollector();
let relayedSinceCollection = 0;
// The heap as this module loads, before the config and the listeners: the first check under body
// traffic therefore runs one full collection within seconds, which also clears start-up garbage.
let { heap: lowestHeap, external: lowestExternal } = heapSizes();

/**
 * Counts `bytes` of body relayed (HTTP request and response bodies, WebSocket traffic); collects
 * the young generation each time the count passes PACE_BYTES, and everything when the heap has
 * grown by FULL_COLLECTION_AFTER_GROWTH or the memory outside it by
 * FULL_COLLECTION_AFTER_EXTERNAL_GROWTH (and by half its lowest). Returns whether it collected.
 */
export function countRelayedBytes(bytes: number): boolean {
  relayedSinceCollection += bytes;
  if (relayedSinceCollection < PACE_BYTES) return false;
  relayedSinceCollection = 0;
  if (collector === undefined) return false;
  collector({ type: 'minor' });
  const { heap, external } = heapSizes();
  if (heap < lowestHeap) lowestHeap = heap;
  if (external < lowestExternal) lowestExternal = external;
  if (
    heap - lowestHeap > FULL_COLLECTION_AFTER_GROWTH ||
    external - lowestExternal > Math.max(FULL_COLLECTION_AFTER_EXTERNAL_GROWTH, lowestExternal / 2)
  ) {
    collector();
    ({ heap: lowestHeap, external: lowestExternal } = heapSizes());
  }
  return true;
}
