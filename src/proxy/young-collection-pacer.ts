// Frees dead socket read buffers sooner by collecting the young generation after every few MiB of
// body relayed. Node reads each socket into a new buffer (up to 64 KiB) whose memory is outside the
// V8 heap; it is freed only when a young-generation collection finds the buffer dead. Under body
// traffic the young generation itself fills slowly (a few small objects per 64 KiB read), so V8 ran
// those collections only when 32 MiB of such buffers had piled up (its own trigger, a constant:
// twice the default largest semi-space) and the process carried ~32 MiB of dead buffers plus
// the memory glibc kept once they were freed. Collecting every PACE_BYTES halves that pile.
// Node 20, proxy on one core, 10 s runs: GET 1 MiB × 8 peak RSS 121 → 104–105 MiB, GET 100 KiB × 16
// 112 → 107 MiB, CPU per request unchanged within noise (~80 young collections a second instead of
// ~45, 0.2–0.4 ms each). Every 8 MiB was worse (113–119 MiB), 12 MiB the same as 16, 24 MiB 112 MiB.
// Node 24, GET 1 MiB: 162 → 128–137 MiB (docs/operations.md#memory).

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Body bytes relayed (read from either side) between two young-generation collections Dito asks
 * for. V8 still runs its own whenever the young generation fills, as before.
 */
export const PACE_BYTES = 16 * 1024 * 1024;

type GcFunction = (options: { type: 'minor' }) => void;

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

/**
 * Counts `bytes` of body relayed (HTTP request and response bodies, WebSocket traffic); collects
 * the young generation each time the count passes PACE_BYTES. Returns whether it did.
 */
export function countRelayedBytes(bytes: number): boolean {
  relayedSinceCollection += bytes;
  if (relayedSinceCollection < PACE_BYTES) return false;
  relayedSinceCollection = 0;
  collector?.({ type: 'minor' });
  return collector !== undefined;
}
