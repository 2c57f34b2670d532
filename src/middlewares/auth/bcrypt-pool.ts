// Owns one worker thread doing bcrypt comparisons for a location, started on first use and
// ended by close(). The queue is bounded: past MAX_PENDING checks a request is told "busy" at
// once instead of waiting behind a password-guessing flood.
import { Worker } from 'node:worker_threads';
import type { CompareRequest, CompareResponse } from './bcrypt-worker.js';

/** Checks queued or running at once; at ~70 ms each (cost 10) that is ~18 s of work. */
export const MAX_PENDING = 256;

export class BcryptPool {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, (match: boolean) => void>();
  private closed = false;

  get size(): number {
    return this.pending.size;
  }

  /** Resolves whether `password` matches `hash`; undefined when the queue is full. */
  compare(password: string, hash: string): Promise<boolean> | undefined {
    if (this.closed || this.pending.size >= MAX_PENDING) return undefined;
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise<boolean>((resolve) => {
      this.pending.set(id, resolve);
      worker.postMessage({ id, password, hash } satisfies CompareRequest);
    });
  }

  private ensureWorker(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(new URL('./bcrypt-worker.js', import.meta.url));
    // An idle worker must not keep the process alive at shutdown.
    worker.unref();
    worker.on('message', (response: CompareResponse) => {
      const resolve = this.pending.get(response.id);
      this.pending.delete(response.id);
      resolve?.(response.match);
    });
    const fail = () => {
      // A dead worker refuses what it held (never accepts); the next check starts a new one.
      if (this.worker === worker) this.worker = undefined;
      for (const resolve of this.pending.values()) resolve(false);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', fail);
    this.worker = worker;
    return worker;
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    for (const resolve of this.pending.values()) resolve(false);
    this.pending.clear();
    if (worker !== undefined) await worker.terminate();
  }
}
