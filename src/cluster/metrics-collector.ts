// Cluster metrics, primary side: a scrape lands on one worker, which asks here; every worker sends
// its metrics as data, and the sum (prom-client's aggregation) goes back to the asking worker.
import type { Worker } from 'node:cluster';
import type { Logger } from '../observability/logger.js';
import type { MetricsSnapshot } from '../observability/prometheus-client.js';
import { METRICS_COLLECT_TIMEOUT_MS, type ToWorker } from './messages.js';

interface Collection {
  snapshots: MetricsSnapshot[];
  waiting: Set<number>;
  timer: NodeJS.Timeout;
  finish(): void;
}

export class MetricsCollector {
  private readonly collections = new Map<number, Collection>();
  private nextId = 0;

  constructor(private readonly logger: () => Logger) {}

  /** Collects from `workers` and answers `requester`'s request `requestId`. */
  collect(workers: readonly Worker[], requester: Worker, requestId: number): void {
    const id = this.nextId++;
    const reply = (message: ToWorker) => {
      if (requester.isConnected()) requester.send(message);
    };
    const collection: Collection = {
      snapshots: [],
      waiting: new Set(),
      // A worker that does not answer in time (busy, dying) is left out of this scrape.
      timer: setTimeout(() => {
        this.logger().warn(
          { missing_workers: collection.waiting.size },
          'metrics: some workers did not answer in time; this scrape leaves them out',
        );
        collection.finish();
      }, METRICS_COLLECT_TIMEOUT_MS),
      finish: () => {
        clearTimeout(collection.timer);
        this.collections.delete(id);
        // prom-client is loaded on the first scrape: a primary whose config has no metrics never loads it.
        import('../observability/prometheus-client.js')
          .then(({ renderAggregated }) => renderAggregated(collection.snapshots))
          .then(
            ({ contentType, body }) =>
              reply({ type: 'dito:metrics-result', id: requestId, contentType, body }),
            (err: unknown) =>
              reply({ type: 'dito:metrics-error', id: requestId, message: (err as Error).message }),
          );
      },
    };
    this.collections.set(id, collection);
    for (const worker of workers) {
      if (!worker.isConnected()) continue;
      collection.waiting.add(worker.id);
      worker.send({ type: 'dito:metrics-collect', id } satisfies ToWorker);
    }
    if (collection.waiting.size === 0) collection.finish();
  }

  /** A worker's answer. */
  received(worker: Worker, id: number, snapshot: MetricsSnapshot): void {
    const collection = this.collections.get(id);
    if (collection === undefined || !collection.waiting.delete(worker.id)) return;
    collection.snapshots.push(snapshot);
    if (collection.waiting.size === 0) collection.finish();
  }

  /** A worker exited: stop waiting for it. */
  forget(worker: Worker): void {
    for (const collection of this.collections.values()) {
      if (collection.waiting.delete(worker.id) && collection.waiting.size === 0) collection.finish();
    }
  }
}
