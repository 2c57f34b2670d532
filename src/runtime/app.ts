// One running Dito: the config, the runtime built from it, the listener, and the process-level
// lifecycle — start, reload (SIGHUP), graceful stop (SIGTERM/SIGINT). Every resource it creates
// is closed here, in order.
import { loadConfigFile } from '../config/load.js';
import type { LoadedConfig } from '../config/types.js';
import { createLogger, flushLogs, type Logger } from '../observability/logger.js';
import { UpstreamPools } from '../transport/upstream-clients.js';
import { createHttpsListener, loadListenerTls, reloadListenerTls } from './listener.js';
import { buildRuntime, type Runtime } from './runtime.js';
import { DitoServer } from './server.js';

export interface AppOptions {
  configPath: string;
  enableProfiler?: boolean;
}

export class DitoApp {
  private logger: Logger;
  private loaded: LoadedConfig;
  private dito: DitoServer | undefined;
  private reloading: Promise<boolean> | undefined;
  private stopping = false;
  /** Upstream pools shared by successive runtimes (a reload keeps unchanged ones warm). */
  private readonly upstreamPools = new UpstreamPools();

  private constructor(
    private readonly options: AppOptions,
    loaded: LoadedConfig,
  ) {
    this.loaded = loaded;
    this.logger = createLogger(loaded.config.logging);
  }

  /** Loads the config and builds everything; throws ConfigError (or a plugin error) on bad input. */
  static async create(options: AppOptions): Promise<DitoApp> {
    const loaded = await loadConfigFile(options.configPath);
    return new DitoApp(options, loaded);
  }

  get server(): DitoServer | undefined {
    return this.dito;
  }

  async start(): Promise<number> {
    const tls = this.loaded.config.tls;
    const tlsFiles = loadListenerTls(this.loaded);
    const runtime = buildRuntime(this.loaded, { logger: this.logger, upstreamPools: this.upstreamPools });
    this.dito = new DitoServer(runtime, {
      logger: this.logger,
      createListener: tls === undefined ? undefined : () => createHttpsListener(tls, tlsFiles!),
    });
    const port = await this.dito.listen(this.loaded.config.port);
    this.logger.info(
      {
        port,
        protocol: tls === undefined ? 'http' : 'https',
        config: this.loaded.file,
        config_sha256: this.loaded.sha256,
        locations: this.loaded.config.locations.length,
      },
      'listening',
    );
    return port;
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
    let loaded: LoadedConfig;
    let runtime: Runtime;
    try {
      loaded = await loadConfigFile(this.options.configPath);
      runtime = buildRuntime(loaded, {
        logger: createLogger(loaded.config.logging),
        upstreamPools: this.upstreamPools,
      });
    } catch (err) {
      this.logger.error({ reason, err: (err as Error).message }, 'config reload refused');
      return false;
    }
    if (loaded.config.port !== this.loaded.config.port) {
      runtime.logger.warn(
        { running_port: this.loaded.config.port, new_port: loaded.config.port },
        'port changed: restart Dito to listen on the new port; the rest of the config is applied',
      );
    }
    if (!this.applyListenerTls(loaded, runtime.logger)) {
      await runtime.close();
      return false;
    }
    const previous = dito.swapRuntime(runtime);
    this.loaded = loaded;
    this.logger = runtime.logger;
    runtime.logger.info({ reason, config_sha256: loaded.sha256 }, 'config reloaded');
    void this.retire(previous);
    return true;
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

  /** Closes a replaced runtime once no request is using it any more. */
  private async retire(runtime: Runtime): Promise<void> {
    const deadline = Date.now() + this.loaded.config.shutdownTimeoutMs;
    while (runtime.inFlight > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await runtime.close();
  }

  /** Stops accepting, drains in-flight requests within `shutdown_timeout`, closes everything. */
  async stop(signal: string): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const dito = this.dito;
    this.logger.info({ signal, drain_timeout_ms: this.loaded.config.shutdownTimeoutMs }, 'shutting down');
    if (dito !== undefined) {
      await dito.shutdown(this.loaded.config.shutdownTimeoutMs);
      await dito.runtime.close();
    }
    this.logger.info('stopped');
    flushLogs();
  }
}
