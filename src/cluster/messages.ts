// The messages between the cluster primary and its workers over node:cluster IPC (workers > 1),
// one union per direction, and the environment variables that tell a forked process its slot and
// how it listens.
import type { MetricsSnapshot } from '../observability/prometheus-client.js';

/** Set by the primary on each worker it forks: the worker's slot, 1..N (kept across restarts). */
export const WORKER_INDEX_ENV = 'DITO_WORKER_INDEX';

/**
 * Set by the primary on each worker it forks: the port to listen on. The one the cluster serves,
 * whatever the config file says by the time a worker is restarted (a new `port` needs a restart of
 * Dito): the configured port at start for node:cluster's shared socket (0 included: that is its
 * key), the bound port when each worker binds its own.
 */
export const WORKER_PORT_ENV = 'DITO_WORKER_PORT';

/** Set (`1`) by the primary when every worker binds the port itself with SO_REUSEPORT (reuse-port.ts). */
export const WORKER_REUSE_PORT_ENV = 'DITO_WORKER_REUSE_PORT';

/** How long the primary waits for every worker's metrics before answering with those it has. */
export const METRICS_COLLECT_TIMEOUT_MS = 2000;

export type ToPrimary =
  /** Listening and ready to serve. */
  | { type: 'dito:ready'; port: number; adminPort?: number }
  /** Could not start: the one-line error a single process would print. */
  | { type: 'dito:failed'; message: string }
  /** The admin API reloaded this worker: reload the others too. */
  | { type: 'dito:reload-peers'; reason: string }
  /** A scrape arrived here: collect every worker's metrics and answer with `dito:metrics-result`. */
  | { type: 'dito:metrics-request'; id: number }
  /** This worker's answer to `dito:metrics-collect`. */
  | { type: 'dito:metrics-snapshot'; id: number; snapshot: MetricsSnapshot };

export type ToWorker =
  | { type: 'dito:reload'; reason: string }
  | { type: 'dito:metrics-collect'; id: number }
  | { type: 'dito:metrics-result'; id: number; contentType: string; body: string }
  | { type: 'dito:metrics-error'; id: number; message: string };

/** IPC also carries node:cluster's own messages: only objects with a `dito:` type are ours. */
export function isDitoMessage<T extends { type: string }>(message: unknown): message is T {
  return (
    typeof message === 'object' &&
    message !== null &&
    typeof (message as { type?: unknown }).type === 'string' &&
    (message as { type: string }).type.startsWith('dito:')
  );
}
