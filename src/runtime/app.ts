// One running Dito: the config, the runtime built from it, the listener, and the process-level
// lifecycle — start, reload (SIGHUP, file watcher, admin API), graceful stop (SIGTERM/SIGINT).
// Every resource it creates is closed here, in order.
import { AdminServer } from '../admin/server.js';
import type { AdminSource } from '../admin/source.js';
import { loadConfigFile } from '../config/load.js';
import type { LoadedConfig, RedisConfig } from '../config/types.js';
import { Health } from '../observability/health.js';
import { createLogger, flushLogs, type Logger } from '../observability/logger.js';
import type { RedisHandle } from '../redis/handle.js';
import { sameRedisSettings } from '../redis/options.js';
import { type MetricsRenderer, MetricsService } from '../observability/metrics-endpoint.js';
import type { MetricsSnapshot } from '../observability/prometheus-client.js';
import { Profiler } from '../observability/profiler.js';
import { PluginError } from '../plugins/errors.js';
import { closePlugins, type LoadedPlugin, loadPlugins, pluginsToClose } from '../plugins/loader.js';
import { WebSocketProxy } from '../websocket/proxy.js';
import { ConfigWatcher, filesNamedBy, type WatchTarget } from './config-watcher.js';
import { pluginMiddlewareFactories } from './plugin-middlewares.js';
import { ReloadHistory, type ReloadRecord } from './reload-history.js';
import { UpstreamPools } from '../transport/upstream-clients.js';
import { createHttpsListener, loadListenerTls, reloadListenerTls } from './listener.js';
import { buildRuntime, type Runtime } from './runtime.js';
import { DitoServer } from './server.js';

/**
 * node-redis is loaded only when `redis.enabled`: importing it costs ~14 MiB RSS (~4 MiB heap)
 * that a Dito without Redis never uses.
 */
async function openRedisHandle(settings: RedisConfig, logger: Logger): Promise<RedisHandle> {
  const { createRedisHandle } = await import('../redis/connection.js');
  return createRedisHandle(settings, logger);
}

export interface AppOptions {
  configPath: string;
  enableProfiler?: boolean;
  /** Set when this process is one worker of several (`workers` > 1; src/cluster/worker.ts). */
  worker?: WorkerRole;
}

/** What a cluster worker's app gets from the primary. */
export interface WorkerRole {
  /** 1..N, kept by a restarted worker. Worker 1 alone runs the admin listener and the profiler. */
  index: number;
  /** Tells the primary to reload the other workers (after a reload asked for through the admin API). */
  reloadPeers(reason: string): void;
  /** Answers a scrape with every worker's metrics combined. */
  renderMetrics: MetricsRenderer;
  /**
   * Where to listen, as the primary says (not the config file's `port`, which may have changed
   * since the cluster started), and whether to bind with SO_REUSEPORT beside the other workers
   * (src/cluster/reuse-port.ts) rather than through node:cluster's primary.
   */
  listen: { port: number; reusePort: boolean };
}

export class DitoApp {
  private logger: Logger;
  private loaded: LoadedConfig;
  private dito: DitoServer | undefined;
  /** One metrics registry per process: it outlives every runtime swap. */
  private readonly metrics = new MetricsService();
  private profiler: Profiler | undefined;
  private reloading: Promise<boolean> | undefined;
  private stopping = false;
  /** Open WebSockets live here, beside the runtimes: a reload does not cut them. */
  readonly websockets = new WebSocketProxy();
  private plugins: LoadedPlugin[] = [];
  private watcher: ConfigWatcher | undefined;
  /** The process's Redis connection; kept across reloads that leave `redis:` unchanged. */
  private redisHandle: RedisHandle | undefined;
  /** The last loads and reloads, for the admin API. */
  private readonly reloadHistory = new ReloadHistory();
  private loadedAt = Date.now();
  private startedAt = Date.now();
  private admin: AdminServer | undefined;
  /** Liveness/readiness: reads the running config and Redis connection on every probe. */
  private readonly health = new Health(
    () => this.loaded.config,
    () => this.redisHandle,
  );
  /** Upstream pools shared by successive runtimes (a reload keeps unchanged ones warm). */
  private readonly upstreamPools = new UpstreamPools();

  private constructor(
    private readonly options: AppOptions,
    loaded: LoadedConfig,
  ) {
    this.loaded = loaded;
    this.logger = createLogger(loaded.config.logging);
    if (options.worker !== undefined) this.metrics.renderWith(options.worker.renderMetrics);
  }

  /** Loads the config and builds everything; throws ConfigError (or a plugin error) on bad input. */
  static async create(options: AppOptions, loaded?: LoadedConfig): Promise<DitoApp> {
    return new DitoApp(options, loaded ?? (await loadConfigFile(options.configPath)));
  }

  /** False in every worker but the first: the admin listener and profiler have one port each. */
  private get ownsSingletons(): boolean {
    return (this.options.worker?.index ?? 1) === 1;
  }

  /** This process's metrics as data (the cluster primary combines every worker's). */
  metricsSnapshot(): Promise<MetricsSnapshot> {
    return this.metrics.snapshot();
  }

  get server(): DitoServer | undefined {
    return this.dito;
  }

  /** The current Redis connection (health and counters for metrics); undefined without Redis. */
  get redis(): RedisHandle | undefined {
    return this.redisHandle;
  }

  /** The admin listener's port, once listening. */
  get adminPort(): number | undefined {
    return this.admin?.port;
  }

  /** The view of this app the admin listener gets (live getters, never a copy). */
  private adminSource(): AdminSource {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the getters below read the live fields
    const app = this;
    return {
      get loaded() {
        return app.loaded;
      },
      get loadedAt() {
        return app.loadedAt;
      },
      get startedAt() {
        return app.startedAt;
      },
      get runtime() {
        return app.dito?.runtime;
      },
      get plugins() {
        return app.plugins;
      },
      get redis() {
        return app.redisHandle;
      },
      get reloads() {
        return app.reloadHistory.list();
      },
      get live() {
        return app.metrics.liveStats;
      },
      reload: async (reason) => {
        const before = app.reloadHistory.latest;
        await app.reload(reason);
        app.options.worker?.reloadPeers(reason);
        // No new record: Dito is stopping and did not reload.
        const after = app.reloadHistory.latest;
        return after === before ? undefined : after;
      },
    };
  }

  /** Starts, reconfigures, moves or stops the admin listener to match `admin:` in the running config. */
  private async applyAdmin(atStart: boolean): Promise<void> {
    const settings = this.loaded.config.admin;
    const enabled = settings.enabled && this.ownsSingletons;
    const running = this.admin;
    if (running !== undefined && enabled && running.listensAs(settings)) {
      running.configure(settings, this.logger);
      return;
    }
    this.admin = undefined;
    // Closed in the background: a reload asked for through the admin API must not wait on itself.
    if (running !== undefined) void running.close();
    if (!enabled) return;
    try {
      this.admin = await AdminServer.start(settings, this.adminSource(), this.logger);
      this.logger.info({ address: settings.address, port: this.admin.port }, 'admin listening');
    } catch (err) {
      const message = `admin listener cannot listen on ${settings.address}:${settings.port}: ${(err as Error).message}`;
      if (atStart) throw new Error(message, { cause: err });
      this.logger.error({ err: message }, 'admin listener not started: serving without it');
    }
  }

  /** Verifies and loads the config's plugins (reusing unchanged ones from `previous`). */
  private async loadPluginsFor(
    loaded: LoadedConfig,
    logger: Logger,
    previous: LoadedPlugin[],
  ): Promise<LoadedPlugin[]> {
    if (loaded.config.plugins === undefined) return [];
    return loadPlugins(loaded.config.plugins, { logger, previous });
  }

  async start(): Promise<number> {
    const tls = this.loaded.config.tls;
    // Listener certificates are read (and checked) before anything else starts.
    const tlsFiles = loadListenerTls(this.loaded);
    this.plugins = await this.loadPluginsFor(this.loaded, this.logger, []);
    const settings = this.loaded.config.redis;
    // Connects in the background: a Redis that is down never delays or prevents the start.
    if (settings.enabled) this.redisHandle = this.observeRedis(await openRedisHandle(settings, this.logger));
    let runtime: Runtime;
    try {
      runtime = await buildRuntime(this.loaded, {
        logger: this.logger,
        plugins: pluginMiddlewareFactories(this.plugins),
        redis: this.redisHandle,
        metrics: await this.metrics.recorderFor(this.loaded.config),
        upstreamPools: this.upstreamPools,
      });
    } catch (err) {
      await closePlugins(this.plugins, this.logger);
      await this.redisHandle?.close();
      throw err;
    }
    this.dito = new DitoServer(runtime, {
      logger: this.logger,
      createListener: tls === undefined ? undefined : () => createHttpsListener(tls, tlsFiles!),
    });
    this.dito.setUpgradeHandler(this.websockets.handleUpgrade);
    this.metrics.apply(this.dito, runtime);
    this.metrics.recorder.setConfigInfo(this.loaded.sha256);
    this.health.install(this.dito, this.loaded.config.health);
    const listen = this.options.worker?.listen;
    const port = await this.dito.listen(listen?.port ?? this.loaded.config.port, {
      reusePort: listen?.reusePort === true,
    });
    if (this.options.enableProfiler === true && this.ownsSingletons) await this.startProfiler();
    this.startedAt = this.loadedAt = Date.now();
    this.reloadHistory.add({
      at: this.loadedAt,
      reason: 'start',
      ok: true,
      configSha256: this.loaded.sha256,
      durationMs: 0,
    });
    await this.applyAdmin(true);
    this.logger.info(
      {
        port,
        ...(this.admin === undefined ? {} : { admin_port: this.admin.port }),
        protocol: tls === undefined ? 'http' : 'https',
        config: this.loaded.file,
        config_sha256: this.loaded.sha256,
        locations: this.loaded.config.locations.length,
        ...(this.options.worker === undefined ? {} : { worker: this.options.worker.index }),
      },
      // In cluster mode the primary logs `listening` once every worker is up.
      this.options.worker === undefined ? 'listening' : 'worker listening',
    );
    await this.updateWatcher();
    // Only now is every part of startup done: readiness may pass.
    this.health.markReady();
    flushLogs();
    return port;
  }

  /** A debug aid: if its port is taken, Dito serves anyway and says so in the log. */
  private async startProfiler(): Promise<void> {
    try {
      this.profiler = await Profiler.start({ logger: this.logger });
      this.logger.info({ address: `127.0.0.1:${this.profiler.port}` }, 'profiler listening');
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'profiler could not listen: serving without it');
    }
  }

  /**
   * Loads the config file again and swaps in a new runtime. An invalid config is refused with one
   * log line and the running one keeps serving. Concurrent calls share one reload.
   */
  reload(reason: string): Promise<boolean> {
    if (this.reloading !== undefined) return this.reloading;
    this.reloading = this.doReload(reason).finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }

  private async doReload(reason: string): Promise<boolean> {
    const dito = this.dito;
    if (dito === undefined || this.stopping) return false;
    const startedAt = performance.now();
    const record = (ok: boolean, extra: Partial<ReloadRecord>) =>
      this.reloadHistory.add({
        at: Date.now(),
        reason,
        ok,
        durationMs: Math.round((performance.now() - startedAt) * 10) / 10,
        ...extra,
      });
    let loaded: LoadedConfig;
    let runtime: Runtime;
    let plugins: LoadedPlugin[] = this.plugins;
    let redis: RedisHandle | undefined;
    try {
      loaded = await loadConfigFile(this.options.configPath);
      const logger = createLogger(loaded.config.logging);
      plugins = await this.loadPluginsFor(loaded, logger, this.plugins);
      redis = await this.redisFor(loaded, logger);
      runtime = await buildRuntime(loaded, {
        logger,
        plugins: pluginMiddlewareFactories(plugins),
        carry: dito.runtime.carry,
        redis,
        metrics: await this.metrics.recorderFor(loaded.config),
        upstreamPools: this.upstreamPools,
      });
    } catch (err) {
      // Plugins this attempt loaded (and the running config does not use) are released again.
      await closePlugins(pluginsToClose(plugins, this.plugins), this.logger);
      if (redis !== this.redisHandle) void redis?.close();
      this.metrics.recorder.recordReload(false);
      // Failures not tied to one plugin (key hash, unreadable folder) refuse them all.
      if (err instanceof PluginError) this.metrics.recorder.pluginLoadFailed(err.details.plugin ?? '(all)');
      const message = (err as { describe?: () => string }).describe?.() ?? (err as Error).message;
      this.logger.error({ reason, err: message }, 'config reload refused');
      record(false, { error: message });
      return false;
    }
    if (loaded.config.port !== this.loaded.config.port) {
      runtime.logger.warn(
        { running_port: this.loaded.config.port, new_port: loaded.config.port },
        'port changed: restart Dito to listen on the new port; the rest of the config is applied',
      );
    }
    // In cluster mode the primary says it once, not every worker.
    if (loaded.config.workers !== this.loaded.config.workers && this.options.worker === undefined) {
      runtime.logger.warn(
        { running_workers: this.loaded.config.workers, new_workers: loaded.config.workers },
        'workers changed: restart Dito to apply it; the rest of the config is applied',
      );
    }
    if (!this.applyListenerTls(loaded, runtime.logger)) {
      await runtime.close();
      await closePlugins(pluginsToClose(plugins, this.plugins), this.logger);
      if (redis !== this.redisHandle) void redis?.close();
      this.metrics.recorder.recordReload(false);
      return false;
    }
    const previous = dito.swapRuntime(runtime);
    const previousRedis = this.redisHandle;
    this.metrics.apply(dito, runtime);
    this.metrics.recorder.recordReload(true);
    this.metrics.recorder.setConfigInfo(loaded.sha256);
    this.health.install(dito, loaded.config.health);
    const replacedPlugins = pluginsToClose(this.plugins, plugins);
    this.plugins = plugins;
    this.loaded = loaded;
    this.logger = runtime.logger;
    this.redisHandle = redis;
    this.loadedAt = Date.now();
    runtime.logger.info({ reason, config_sha256: loaded.sha256 }, 'config reloaded');
    record(true, { configSha256: loaded.sha256 });
    void this.retire(previous, replacedPlugins, previousRedis === redis ? undefined : previousRedis);
    await this.updateWatcher();
    await this.applyAdmin(false);
    return true;
  }

  private watchTarget(): WatchTarget {
    const config = this.loaded.config;
    return {
      configPath: this.options.configPath,
      files: filesNamedBy(config),
      pluginsDir: config.plugins?.directory,
    };
  }

  /** Starts, retargets or stops the file watcher to match `hot_reload` in the running config. */
  private async updateWatcher(): Promise<void> {
    // A worker never watches: the primary does, and tells every worker to reload.
    if (!this.loaded.config.hotReload || this.options.worker !== undefined) {
      this.watcher?.close();
      this.watcher = undefined;
      return;
    }
    if (this.watcher !== undefined) {
      await this.watcher.retarget(this.watchTarget());
      return;
    }
    this.watcher = new ConfigWatcher(
      this.watchTarget(),
      () => this.reload('file changed'),
      (err) => this.logger.error({ err: (err as Error).message }, 'config watch failed'),
    );
    await this.watcher.start();
  }

  /** The running Redis connection when `redis:` is unchanged, else a new one (or none). */
  private async redisFor(loaded: LoadedConfig, logger: Logger): Promise<RedisHandle | undefined> {
    const settings = loaded.config.redis;
    if (!settings.enabled) return undefined;
    const running = this.redisHandle;
    if (running !== undefined && sameRedisSettings(running.settings, settings)) return running;
    return this.observeRedis(await openRedisHandle(settings, logger));
  }

  /** Mirrors a Redis connection's state into the `redis_connected` gauge. */
  private observeRedis(handle: RedisHandle): RedisHandle {
    const report = () => this.metrics.recorder.redisConnectionState('main', handle.state === 'ready');
    report();
    handle.onStateChange(report);
    return handle;
  }

  /**
   * Re-reads the listener's certificate files on reload (new connections get them). Turning TLS
   * on or off, or client certificates on or off, needs a restart, as a port change does.
   * Returns false (reload refused) when the files cannot be read or are not a valid pair.
   */
  private applyListenerTls(loaded: LoadedConfig, logger: Logger): boolean {
    const before = this.loaded.config.tls;
    const after = loaded.config.tls;
    if (
      (before === undefined) !== (after === undefined) ||
      (before?.caFile === undefined) !== (after?.caFile === undefined)
    ) {
      logger.warn(
        { running_tls: before !== undefined, new_tls: after !== undefined },
        'tls listener settings changed: restart Dito to apply them; the rest of the config is applied',
      );
      return true;
    }
    if (before === undefined || after === undefined || this.dito === undefined) return true;
    try {
      reloadListenerTls(this.dito.server, after, loadListenerTls(loaded)!);
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'config reload refused');
      return false;
    }
    return true;
  }

  /**
   * Closes a replaced runtime (and the plugins and Redis connection only it used) once no request
   * is using it.
   */
  private async retire(runtime: Runtime, plugins: LoadedPlugin[], redis?: RedisHandle): Promise<void> {
    const deadline = Date.now() + this.loaded.config.shutdownTimeoutMs;
    while (runtime.inFlight > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await runtime.close();
    await closePlugins(plugins, this.logger);
    await redis?.close();
  }

  /** Stops accepting, drains in-flight requests within `shutdown_timeout`, closes everything. */
  async stop(signal: string): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const dito = this.dito;
    // Fail readiness before anything else, so load balancers stop sending new traffic.
    this.health.markDraining();
    const { shutdownDelayMs, shutdownTimeoutMs } = this.loaded.config;
    this.logger.info(
      { signal, shutdown_delay_ms: shutdownDelayMs, drain_timeout_ms: shutdownTimeoutMs },
      'shutting down',
    );
    this.watcher?.close();
    await this.profiler?.close();
    if (dito !== undefined && shutdownDelayMs > 0) {
      // Still serving, readiness failed: the time endpoints and load balancers need to notice.
      flushLogs();
      await new Promise((resolve) => setTimeout(resolve, shutdownDelayMs));
    }
    await this.admin?.close();
    if (dito !== undefined) {
      const drainMs = shutdownTimeoutMs;
      // WebSockets may use the whole drain time, then get close code 1001. The server's forced
      // close cannot reach them (Node stops tracking a socket once it is upgraded) and its
      // shutdown waits for every socket: this timer is what lets it finish.
      const timer = setTimeout(() => void this.websockets.closeAll(), drainMs);
      await dito.shutdown(drainMs);
      clearTimeout(timer);
      await this.websockets.closeAll();
      await dito.runtime.close();
    }
    await closePlugins(this.plugins, this.logger);
    await this.redisHandle?.close();
    this.logger.info('stopped');
    flushLogs();
  }
}
