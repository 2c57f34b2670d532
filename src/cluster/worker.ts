// One worker process of a cluster (workers > 1): runs a DitoApp as a single process would, reports
// readiness (or its start error) to the primary, reloads when the primary says so, answers the
// primary's metrics collection, and drains on SIGTERM/SIGINT or when the primary goes away.
import { flushLogs, shareStdout } from '../observability/logger.js';
import { DitoApp, type WorkerRole } from '../runtime/app.js';
import {
  isDitoMessage,
  METRICS_COLLECT_TIMEOUT_MS,
  type ToPrimary,
  type ToWorker,
  WORKER_INDEX_ENV,
  WORKER_PORT_ENV,
  WORKER_REUSE_PORT_ENV,
} from './messages.js';

interface WorkerOptions {
  configPath: string;
  enableProfiler: boolean;
}

type Rendered = { contentType: string; body: string };

/** True in a process the cluster primary forked. */
export function isClusterWorker(): boolean {
  return process.env[WORKER_INDEX_ENV] !== undefined && typeof process.send === 'function';
}

function send(message: ToPrimary): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected) return resolve();
    process.send!(message, undefined, {}, () => resolve());
  });
}

const LISTEN_ERRORS: Record<string, string> = {
  EADDRINUSE: 'address already in use',
  EACCES: 'permission denied',
};

/**
 * node:cluster reports a failed shared listen as `bind EADDRINUSE null:8081`; this says it as a
 * single process does (`listen EADDRINUSE: address already in use :::8081`).
 */
function startError(err: unknown, describeError: (err: unknown) => string): string {
  const { syscall, code, port } = err as { syscall?: string; code?: string; port?: number };
  const meaning = code === undefined ? undefined : LISTEN_ERRORS[code];
  if (syscall === 'bind' && meaning !== undefined) return `listen ${code}: ${meaning} :::${port}`;
  return describeError(err);
}

export async function runWorker(
  options: WorkerOptions,
  describeError: (err: unknown) => string,
): Promise<void> {
  shareStdout();
  const index = Number(process.env[WORKER_INDEX_ENV]);
  const scrapes = new Map<number, { resolve(value: Rendered): void; reject(err: Error): void }>();
  let nextScrape = 0;
  const role: WorkerRole = {
    index,
    listen: {
      port: Number(process.env[WORKER_PORT_ENV]),
      reusePort: process.env[WORKER_REUSE_PORT_ENV] === '1',
    },
    reloadPeers: (reason) => void send({ type: 'dito:reload-peers', reason }),
    renderMetrics: () =>
      new Promise<Rendered>((resolve, reject) => {
        const id = nextScrape++;
        // The primary answers within its own collection timeout; this bounds a primary gone quiet.
        const timer = setTimeout(() => {
          scrapes.delete(id);
          reject(new Error('the cluster primary did not answer the metrics request'));
        }, METRICS_COLLECT_TIMEOUT_MS + 1000);
        scrapes.set(id, {
          resolve: (value) => (clearTimeout(timer), resolve(value)),
          reject: (err) => (clearTimeout(timer), reject(err)),
        });
        void send({ type: 'dito:metrics-request', id });
      }),
  };

  let app: DitoApp | undefined;
  let started = false;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    // Asked to stop before serving anything: nothing to drain.
    if (app === undefined || !started) process.exit(0);
    app.stop(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`shutdown failed: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => void app?.reload('SIGHUP'));
  // The primary died (or was killed): serve out what is in flight, then exit with it.
  process.on('disconnect', () => stop('primary gone'));
  process.on('message', (message: unknown) => {
    if (!isDitoMessage<ToWorker>(message)) return;
    switch (message.type) {
      case 'dito:reload':
        void app?.reload(message.reason);
        break;
      case 'dito:metrics-collect': {
        const snapshot = app === undefined ? Promise.resolve([]) : app.metricsSnapshot();
        void snapshot.then(
          (value) => send({ type: 'dito:metrics-snapshot', id: message.id, snapshot: value }),
          () => send({ type: 'dito:metrics-snapshot', id: message.id, snapshot: [] }),
        );
        break;
      }
      case 'dito:metrics-result':
        scrapes.get(message.id)?.resolve({ contentType: message.contentType, body: message.body });
        scrapes.delete(message.id);
        break;
      case 'dito:metrics-error':
        scrapes.get(message.id)?.reject(new Error(message.message));
        scrapes.delete(message.id);
        break;
    }
  });

  try {
    app = await DitoApp.create({ ...options, worker: role });
    const port = await app.start();
    started = true;
    await send({ type: 'dito:ready', port, adminPort: app.adminPort });
  } catch (err) {
    flushLogs();
    // The primary prints it once (not once per worker) and exits 1.
    await send({ type: 'dito:failed', message: startError(err, describeError) });
    process.exit(1);
  }
}
