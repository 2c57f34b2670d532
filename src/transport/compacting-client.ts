// An undici Client whose request queue does not grow between compactions. Each Client keeps its
// requests in an array (`kQueue`) and two indices into it: requests before `kRunningIdx` are
// finished (their slots set to null), those from `kPendingIdx` on are not yet written. undici
// removes the finished slots only once more than 256 have piled up (`splice(0, kRunningIdx)`), so
// on a keep-alive connection the array grows to ~257 slots, is cut back, and grows again, forever.
// Each growth is a new, larger backing store, and that store lives long enough (hundreds of
// requests) to be promoted to the old generation, where it then dies: the largest source of
// promoted garbage Dito had. V8's sampling heap profiler, counting what full collections free,
// under GET 1 KiB × 64 on Node 24: 12.9 of 17.0 MiB sampled came from that `push`, and the old
// generation grew ~0.8 MiB/s (~20 bytes per request) until the first full collection. With the queue
// emptied whenever it is drained, ~0.06 MiB/s (docs/benchmark.md item 17).
//
// The subclass empties the queue at the start of a dispatch when nothing is queued or running: the
// same compaction undici does, done at once instead of after 256 requests. Emptied by `pop`, which
// keeps a small backing store for the next `push` (`length = 0` frees it, so every request would
// allocate a new one).
//
// This reaches into undici's internals (its symbols, from its own `core/symbols.js` through
// undici.ts, where Dito's other deep paths into undici are; the version is pinned in package.json).
// Should a later undici rename them, `QueueCompactingClient` is undici's Client unchanged, and
// test/unit/compacting-client.test.ts fails to say so.
import type { Client } from 'undici';
import { UndiciClient, undiciSymbols } from './undici.js';

/** A Client seen through the internals used here. */
type QueueOwner = Record<symbol, unknown>;

type DispatchMethod = (this: QueueOwner, options: unknown, handler: unknown) => boolean;

function isSymbol(value: unknown): value is symbol {
  return typeof value === 'symbol';
}

/** undici's dispatch method and the queue symbols, or undefined if this undici lacks any of them. */
function findInternals():
  | { kDispatch: symbol; kQueue: symbol; kRunningIdx: symbol; kPendingIdx: symbol; dispatch: DispatchMethod }
  | undefined {
  const { kDispatch, kQueue, kRunningIdx, kPendingIdx } = undiciSymbols;
  if (!isSymbol(kDispatch) || !isSymbol(kQueue) || !isSymbol(kRunningIdx) || !isSymbol(kPendingIdx)) {
    return undefined;
  }
  const dispatch = (UndiciClient.prototype as unknown as QueueOwner)[kDispatch];
  if (typeof dispatch !== 'function') return undefined;
  return { kDispatch, kQueue, kRunningIdx, kPendingIdx, dispatch: dispatch as DispatchMethod };
}

const internals = findInternals();

/** undici's Client, with its request queue emptied whenever it is drained (see above). */
export class QueueCompactingClient extends UndiciClient {}

/** Whether the compaction is in place (false: this undici's internals are not the expected ones). */
export const compactsQueue = internals !== undefined;

if (internals !== undefined) {
  const { kDispatch, kQueue, kRunningIdx, kPendingIdx, dispatch } = internals;
  const compactingDispatch: DispatchMethod = function (options, handler) {
    const queue = this[kQueue] as unknown[];
    const finished = this[kRunningIdx] as number;
    // Drained: every slot is a finished request's null, none pending, none running.
    if (finished > 0 && finished === queue.length && this[kPendingIdx] === finished) {
      while (queue.length > 0) queue.pop();
      this[kRunningIdx] = 0;
      this[kPendingIdx] = 0;
    }
    return dispatch.call(this, options, handler);
  };
  Object.defineProperty(QueueCompactingClient.prototype, kDispatch, {
    value: compactingDispatch,
    writable: true,
    configurable: true,
  });
}

/** A Pool `factory` making QueueCompactingClients. */
export function compactingClientFactory(origin: string | URL, options: object): Client {
  return new QueueCompactingClient(origin, options as Client.Options);
}
