// The cluster primary (workers > 1): forks the workers that serve `port` together (each binds it
// with SO_REUSEPORT where Node and the platform allow, else node:cluster hands each accepted
// connection to one of them: reuse-port.ts), logs one `listening` line once all are up,
// fans reloads out (SIGHUP, hot_reload — the primary is the one watcher), drains them all on
// SIGTERM/SIGINT, and restarts a worker that dies, with a backoff and a cap per minute.
import cluster, { type Worker } from 'node:cluster';
import { loadConfigFile } from '../config/load.js';
import type { DitoConfig, LoadedConfig } from '../config/types.js';
import { createLogger, flushLogs, type Logger, shareStdout } from '../observability/logger.js';
import { ConfigWatcher, filesNamedBy, type WatchTarget } from '../runtime/config-watcher.js';
import {
  isDitoMessage,
  type ToPrimary,
  type ToWorker,
  WORKER_INDEX_ENV,
  WORKER_PORT_ENV,
  WORKER_REUSE_PORT_ENV,
} from './messages.js';
import { MetricsCollector } from './metrics-collector.js';
import { workersBindWithReusePort } from './reuse-port.js';

/** More unexpected exits than this within a minute and a slot is no longer restarted. */
const MAX_RESTARTS_PER_MINUTE = 10;
const RESTART_BACKOFF_FIRST_MS = 100;
const RESTART_BACKOFF_MAX_MS = 10_000;
/** Time beyond `shutdown_delay` + `shutdown_timeout` for workers to close and exit. */
const STOP_MARGIN_MS = 5000;

/** Warnings for state each worker keeps to itself (said at start and after each reload). */
function warnPerWorkerState(config: DitoConfig, logger: Logger): void {
  const limited = config.locations.filter((l) => l.middlewares.includes('rate-limiter')).map((l) => l.path);
  if (limited.length === 0) return;
  logger.warn(
    { workers: config.workers, locations: limited },
    'rate-limiter counts per worker: each worker allows the full rate, so the effective limit is up to workers × requests_per_second; use rate-limiter-redis for one shared limit',
  );
}

class ClusterPrimary {
  private logger: Logger;
  private readonly slots = new Map<number, Worker>();
  private readonly slotOf = new Map<number, number>();
  private readonly restartTimes: number[] = [];
  private readonly restartTimers = new Set<NodeJS.Timeout>();
  private readonly metrics = new MetricsCollector(() => this.logger);
  private watcher: ConfigWatcher | undefined;
  private started = false;
  private stopping = false;
  /** The port the workers serve (the configured one, or the ephemeral one they got for `port: 0`). */
  private port = 0;
  /** `port` as configured at start: what node:cluster's shared socket is known by. */
  private startPort = 0;
  /** Workers bind the port themselves with SO_REUSEPORT (else node:cluster's primary accepts). */
  private readonly reusePort = workersBindWithReusePort();
  /** Worker 1's admin listener port, when it runs one. */
  private adminPort: number | undefined;
  private onStartupEvent: ((failure?: string) => void) | undefined;

  constructor(
    private readonly configPath: string,
    private loaded: LoadedConfig,
  ) {
    this.logger = createLogger(loaded.config.logging);
  }

  private get config(): DitoConfig {
    return this.loaded.config;
  }

  async start(): Promise<void> {
    cluster.on('message', (worker, message: unknown) => this.onMessage(worker, message));
    cluster.on('exit', (worker, code, signal) => this.onExit(worker, code, signal));
    process.on('SIGTERM', () => this.stop('SIGTERM'));
    process.on('SIGINT', () => this.stop('SIGINT'));
    process.on('SIGHUP', () => void this.reloadAll('SIGHUP'));
    const count = this.config.workers;
    this.port = this.startPort = this.config.port;
    // Binding an ephemeral port each, the workers would get one each: worker 1 picks it, the rest
    // bind the one it got. (node:cluster's primary binds one socket for all of them itself.)
    const oneFirst = this.reusePort && this.port === 0;
    let ready = 0;
    const failure = await new Promise<string | undefined>((resolve) => {
      this.onStartupEvent = (failed) => {
        if (failed !== undefined) resolve(failed);
        else if (++ready === count) resolve(undefined);
        else if (oneFirst && ready === 1) for (let index = 2; index <= count; index++) this.fork(index);
      };
      for (let index = 1; index <= (oneFirst ? 1 : count); index++) this.fork(index);
    });
    this.onStartupEvent = undefined;
    if (failure !== undefined) {
      this.stopping = true;
      for (const worker of this.slots.values()) worker.process.kill('SIGKILL');
      process.stderr.write(`${failure}\n`);
      process.exit(1);
    }
    this.started = true;
    this.logger.info(
      {
        port: this.port,
        ...(this.adminPort === undefined ? {} : { admin_port: this.adminPort }),
        workers: count,
        balancing: this.reusePort ? 'kernel' : 'round_robin',
        worker_pids: [...this.slots.values()].map((w) => w.process.pid),
        protocol: this.config.tls === undefined ? 'http' : 'https',
        config: this.loaded.file,
        config_sha256: this.loaded.sha256,
        locations: this.config.locations.length,
      },
      'listening',
    );
    warnPerWorkerState(this.config, this.logger);
    flushLogs();
    await this.updateWatcher();
  }

  private fork(index: number): void {
    // A restarted worker listens where the others do, even if the file names another port by now.
    const env: Record<string, string> = {
      [WORKER_INDEX_ENV]: String(index),
      [WORKER_PORT_ENV]: String(this.reusePort ? this.port : this.startPort),
    };
    if (this.reusePort) env[WORKER_REUSE_PORT_ENV] = '1';
    const worker = cluster.fork(env);
    this.slots.set(index, worker);
    this.slotOf.set(worker.id, index);
  }

  private send(worker: Worker, message: ToWorker): void {
    if (worker.isConnected()) worker.send(message);
  }

  private onMessage(worker: Worker, message: unknown): void {
    if (!isDitoMessage<ToPrimary>(message)) return;
    const index = this.slotOf.get(worker.id);
    switch (message.type) {
      case 'dito:ready':
        this.port = message.port;
        if (message.adminPort !== undefined) this.adminPort = message.adminPort;
        if (this.onStartupEvent !== undefined) this.onStartupEvent();
        else this.logger.info({ worker: index, pid: worker.process.pid }, 'worker restarted');
        break;
      case 'dito:failed':
        if (this.onStartupEvent !== undefined) this.onStartupEvent(message.message);
        else this.logger.error({ worker: index, err: message.message }, 'worker could not start');
        break;
      case 'dito:reload-peers':
        void this.reloadAll(message.reason, worker);
        break;
      case 'dito:metrics-request':
        this.metrics.collect([...this.slots.values()], worker, message.id);
        break;
      case 'dito:metrics-snapshot':
        this.metrics.received(worker, message.id, message.snapshot);
        break;
    }
  }

  private onExit(worker: Worker, code: number | null, signal: string | null): void {
    const index = this.slotOf.get(worker.id);
    this.slotOf.delete(worker.id);
    this.metrics.forget(worker);
    if (index === undefined || this.slots.get(index) !== worker) return;
    this.slots.delete(index);
    if (this.stopping) {
      if (this.slots.size === 0) this.exit(0, 'stopped');
      return;
    }
    if (!this.started) {
      // A worker that dies before it reported either way (a crash at startup).
      this.onStartupEvent?.(`worker ${index} exited (code ${code}, signal ${signal}) before listening`);
      return;
    }
    const now = Date.now();
    while (this.restartTimes.length > 0 && this.restartTimes[0]! < now - 60_000) this.restartTimes.shift();
    const fields = { worker: index, pid: worker.process.pid, code, signal };
    if (this.restartTimes.length >= MAX_RESTARTS_PER_MINUTE) {
      this.logger.error(
        { ...fields, restarts_last_minute: this.restartTimes.length },
        'worker exited: restart limit reached, not restarting it',
      );
      if (this.slots.size === 0) this.exit(1, 'no worker left');
      return;
    }
    const delayMs = Math.min(
      RESTART_BACKOFF_FIRST_MS * 2 ** this.restartTimes.length,
      RESTART_BACKOFF_MAX_MS,
    );
    this.restartTimes.push(now);
    this.logger.warn({ ...fields, restart_in_ms: delayMs }, 'worker exited unexpectedly: restarting it');
    const timer = setTimeout(() => {
      this.restartTimers.delete(timer);
      if (!this.stopping) this.fork(index);
    }, delayMs);
    this.restartTimers.add(timer);
  }

  /** Re-reads the config for the primary's own settings, then tells every worker (but `except`) to reload. */
  private async reloadAll(reason: string, except?: Worker): Promise<void> {
    if (this.stopping) return;
    try {
      const loaded = await loadConfigFile(this.configPath);
      if (loaded.config.workers !== this.config.workers) {
        this.logger.warn(
          { running_workers: this.config.workers, new_workers: loaded.config.workers },
          'workers changed: restart Dito to apply it; the rest of the config is applied',
        );
      }
      this.loaded = loaded;
      this.logger = createLogger(loaded.config.logging);
      warnPerWorkerState(loaded.config, this.logger);
    } catch {
      // Each worker refuses the same file and logs why; the primary keeps its settings.
    }
    for (const worker of this.slots.values()) {
      if (worker !== except) this.send(worker, { type: 'dito:reload', reason });
    }
    await this.updateWatcher();
  }

  private watchTarget(): WatchTarget {
    return {
      configPath: this.configPath,
      files: filesNamedBy(this.config),
      pluginsDir: this.config.plugins?.directory,
    };
  }

  /** One watcher for the whole cluster (workers do not watch): a change reloads every worker. */
  private async updateWatcher(): Promise<void> {
    if (!this.config.hotReload || this.stopping) {
      this.watcher?.close();
      this.watcher = undefined;
      return;
    }
    if (this.watcher !== undefined) return this.watcher.retarget(this.watchTarget());
    this.watcher = new ConfigWatcher(
      this.watchTarget(),
      () => this.reloadAll('file changed'),
      (err) => this.logger.error({ err: (err as Error).message }, 'config watch failed'),
    );
    await this.watcher.start();
  }

  /** Every worker drains (as a single process does on the same signal); exits 0 once all have. */
  private stop(signal: NodeJS.Signals): void {
    if (this.stopping) return;
    this.stopping = true;
    this.watcher?.close();
    for (const timer of this.restartTimers) clearTimeout(timer);
    const boundMs = this.config.shutdownDelayMs + this.config.shutdownTimeoutMs + STOP_MARGIN_MS;
    this.logger.info({ signal, workers: this.slots.size, bound_ms: boundMs }, 'shutting down workers');
    if (this.slots.size === 0) this.exit(0, 'stopped');
    for (const worker of this.slots.values()) worker.process.kill(signal);
    setTimeout(() => {
      this.logger.error({ workers: this.slots.size }, 'workers did not exit in time: killing them');
      for (const worker of this.slots.values()) worker.process.kill('SIGKILL');
      this.exit(1, 'stopped');
    }, boundMs).unref();
  }

  private exit(code: number, message: string): void {
    this.logger[code === 0 ? 'info' : 'error'](message);
    flushLogs();
    process.exit(code);
  }
}

/** Runs the primary of `loaded.config.workers` workers (the config already validated). */
export async function runPrimary(configPath: string, loaded: LoadedConfig): Promise<void> {
  shareStdout();
  await new ClusterPrimary(configPath, loaded).start();
}
