// The one Redis connection of a Dito process (standalone, Cluster or Sentinel through node-redis):
// connects and reconnects with backoff in the background, never queues commands while Redis is
// away, bounds every command by a timeout, and logs each change of health once.
import {
  createClient,
  createCluster,
  createSentinel,
  ErrorReply,
  RESP_TYPES,
  type RedisArgument,
  type RedisClientType,
  type RedisClusterType,
  type RedisSentinelType,
} from 'redis';
import type { RedisConfig } from '../config/types.js';
import type { Logger } from '../observability/logger.js';
import {
  type FallbackOutcome,
  type RedisCommandOptions,
  type RedisHandle,
  type RedisMode,
  type RedisState,
  type RedisStats,
  RedisUnavailableError,
} from './handle.js';
import { clusterOptions, reconnectDelay, sentinelOptions, standaloneOptions } from './options.js';
import { isNoScriptError, type RedisScript, scriptArguments } from './script.js';

/** Consecutive commands that time out or break before commands fail fast for a while. */
const BREAKER_THRESHOLD = 3;
/**
 * How long commands fail at once after BREAKER_THRESHOLD failures in a row. A Redis that hangs
 * (stopped, overloaded) would otherwise cost every request the full command timeout.
 */
const BREAKER_PAUSE_MS = 1000;

type SendOptions = { timeout: number; typeMapping?: Record<number, unknown> };

type Client = RedisClientType | RedisClusterType | RedisSentinelType;

function describeError(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return describeError(err.errors[0]);
  return err instanceof Error ? err.message || err.name : String(err);
}

function describeEndpoint(settings: RedisConfig): string {
  if (settings.cluster) return settings.cluster.nodes.map((n) => `${n.host}:${n.port}`).join(',');
  if (settings.sentinel) {
    const nodes = settings.sentinel.nodes.map((n) => `${n.host}:${n.port}`).join(',');
    return `${settings.sentinel.masterName}@${nodes}`;
  }
  return `${settings.host}:${settings.port}`;
}

class RedisConnection implements RedisHandle {
  readonly mode: RedisMode;
  readonly keyPrefix: string;
  readonly commandTimeoutMs: number;
  private readonly client: Client;
  private current: RedisState = 'connecting';
  private closed = false;
  private lastError: string | undefined;
  private connectFailuresLogged = false;
  private outageStartedAt = 0;
  private outages = 0;
  private commandFailures = 0;
  private consecutiveFailures = 0;
  private pausedUntil = 0;
  private breakerOpen = false;
  /** Cluster: the clusters' masters known to be unreachable, by `host:port`. */
  private readonly nodesDown = new Set<string>();
  private clusterConnected = false;
  private readonly fallbacks = new Map<string, number>();
  private readonly fallbacksLogged = new Set<string>();
  private readonly listeners = new Set<(state: RedisState, previous: RedisState) => void>();
  private readonly commandOptions: { timeout: number };
  /** The same, with bulk strings as Buffers (binary-safe values such as cached bodies). */
  private readonly bufferCommandOptions: { timeout: number; typeMapping: Record<number, unknown> };

  constructor(
    readonly settings: RedisConfig,
    private readonly logger: Logger,
  ) {
    this.mode = settings.cluster ? 'cluster' : settings.sentinel ? 'sentinel' : 'standalone';
    this.keyPrefix = settings.keyPrefix;
    this.commandTimeoutMs = settings.commandTimeoutMs;
    // 0 = no per-command AbortSignal timer inside node-redis: `withDeadline` bounds every command.
    this.commandOptions = { timeout: 0 };
    this.bufferCommandOptions = { timeout: 0, typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } };
    this.client = this.createClient();
    void this.connectInBackground();
  }

  get state(): RedisState {
    return this.current;
  }

  get ready(): boolean {
    return this.current === 'ready' || this.current === 'degraded';
  }

  private createClient(): Client {
    if (this.mode === 'cluster') {
      const cluster = createCluster(clusterOptions(this.settings)) as unknown as RedisClusterType;
      cluster.on('error', (err: unknown) => this.noteError(err));
      cluster.on('connect', () => {
        this.clusterConnected = true;
        this.refreshClusterState();
      });
      cluster.on('node-error', (err: unknown, node: { host: string; port: number }) => {
        this.noteError(err);
        this.nodeDown(node);
      });
      cluster.on('node-reconnecting', (node: { host: string; port: number }) => this.nodeDown(node));
      cluster.on('node-disconnect', (node: { host: string; port: number }) => this.nodeDown(node));
      cluster.on('node-ready', (node: { host: string; port: number }) => {
        this.nodesDown.delete(`${node.host}:${node.port}`);
        this.refreshClusterState();
      });
      return cluster;
    }
    const client = (this.mode === 'sentinel'
      ? createSentinel(sentinelOptions(this.settings))
      : createClient(standaloneOptions(this.settings))) as unknown as RedisClientType;
    // Without an 'error' listener node-redis would throw the error and end the process.
    client.on('error', (err: unknown) => this.noteError(err));
    client.on('ready', () => this.setState('ready'));
    client.on('reconnecting', () => this.setState(this.everReady() ? 'reconnecting' : 'connecting'));
    client.on('end', () => {
      if (!this.closed) this.setState('reconnecting');
    });
    return client;
  }

  private everReady(): boolean {
    return this.current !== 'connecting';
  }

  private nodeDown(node: { host: string; port: number }): void {
    this.nodesDown.add(`${node.host}:${node.port}`);
    this.refreshClusterState();
  }

  private refreshClusterState(): void {
    if (this.closed || !this.clusterConnected) return;
    const masters = (this.client as RedisClusterType).masters.length;
    if (this.nodesDown.size === 0) this.setState('ready');
    else if (this.nodesDown.size >= masters) this.setState('reconnecting');
    else this.setState('degraded');
  }

  /**
   * node-redis retries a standalone connection by itself; a Cluster's or Sentinel's first
   * discovery gives up when no seed answers, so that step is retried here with the same backoff.
   */
  private async connectInBackground(): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        await this.client.connect();
        return;
      } catch (err) {
        if (this.closed) return;
        this.noteError(err);
        await new Promise((resolve) => setTimeout(resolve, reconnectDelay(attempt)).unref());
      }
    }
  }

  private noteError(err: unknown): void {
    this.lastError = describeError(err);
    if (this.current === 'connecting' && !this.connectFailuresLogged) {
      this.connectFailuresLogged = true;
      this.logger.warn(
        { redis: describeEndpoint(this.settings), mode: this.mode, err: this.lastError },
        'redis unreachable; retrying in the background',
      );
    }
  }

  private setState(next: RedisState): void {
    const previous = this.current;
    if (next === previous || (this.closed && next !== 'closed')) return;
    this.current = next;
    const endpoint = describeEndpoint(this.settings);
    if (next === 'ready' || next === 'degraded') {
      if (previous === 'connecting') {
        this.logger.info({ redis: endpoint, mode: this.mode, state: next }, 'redis connected');
      } else if (previous === 'reconnecting' || next === 'ready') {
        const outageMs = Math.round(performance.now() - this.outageStartedAt);
        this.logger.info(
          { redis: endpoint, mode: this.mode, state: next, outage_ms: outageMs },
          'redis reconnected',
        );
      }
      if (next === 'ready') this.endOutage();
    } else if (next === 'reconnecting' && previous !== 'connecting') {
      this.outages++;
      this.outageStartedAt = performance.now();
      this.logger.warn(
        { redis: endpoint, mode: this.mode, err: this.lastError },
        'redis connection lost; reconnecting with backoff',
      );
    }
    if (next === 'degraded' && previous === 'ready') {
      this.outageStartedAt = performance.now();
      this.logger.warn(
        { redis: endpoint, mode: this.mode, nodes_down: [...this.nodesDown], err: this.lastError },
        'redis cluster degraded; some masters unreachable',
      );
    }
    for (const listener of this.listeners) listener(next, previous);
  }

  /** Starts logging fallbacks afresh: the next outage is a new story. */
  private endOutage(): void {
    this.fallbacksLogged.clear();
    this.consecutiveFailures = 0;
    this.pausedUntil = 0;
    this.breakerOpen = false;
  }

  command<T = unknown>(
    args: readonly RedisArgument[],
    key?: string,
    options?: RedisCommandOptions,
  ): Promise<T> {
    if (!this.ready) {
      this.commandFailures++;
      return Promise.reject(new RedisUnavailableError(`redis is ${this.current}`));
    }
    if (this.pausedUntil !== 0 && performance.now() < this.pausedUntil) {
      this.commandFailures++;
      return Promise.reject(new RedisUnavailableError('redis is not answering'));
    }
    const sendOptions = options?.buffers === true ? this.bufferCommandOptions : this.commandOptions;
    return this.withDeadline(this.sendSafely<T>(args, key, sendOptions)).then(
      (value) => {
        if (this.consecutiveFailures !== 0) this.commandSucceeded();
        return value;
      },
      (err: unknown) => {
        // A reply that is an error (WRONGTYPE, NOSCRIPT, ...) means Redis is there and answering.
        if (err instanceof ErrorReply) {
          if (this.consecutiveFailures !== 0) this.commandSucceeded();
          throw err;
        }
        this.commandFailed(err);
        throw new RedisUnavailableError(describeError(err), { cause: err });
      },
    );
  }

  private sendSafely<T>(
    args: readonly RedisArgument[],
    key: string | undefined,
    sendOptions: SendOptions,
  ): Promise<T> {
    try {
      return this.send<T>(args, key, sendOptions);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * node-redis's own `timeout` only covers a command still waiting to be written: once on the
   * wire, a Redis that hangs (stopped, overloaded, half-open TCP) would hold it forever. The
   * deadline here covers the whole round trip. Timers of one duration share one list in Node,
   * so this is an O(1) insert and remove per command.
   */
  private withDeadline<T>(reply: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new RedisUnavailableError(`no answer within ${this.commandTimeoutMs} ms`)),
        this.commandTimeoutMs,
      );
      reply.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  private send<T>(
    args: readonly RedisArgument[],
    key: string | undefined,
    sendOptions: SendOptions,
  ): Promise<T> {
    switch (this.mode) {
      case 'cluster':
        return (this.client as RedisClusterType).sendCommand<T>(
          key,
          false,
          args as RedisArgument[],
          sendOptions,
        );
      case 'sentinel':
        return (this.client as RedisSentinelType).sendCommand<T>(false, args as RedisArgument[], sendOptions);
      default:
        return (this.client as RedisClientType).sendCommand<T>(args, sendOptions);
    }
  }

  private commandSucceeded(): void {
    this.consecutiveFailures = 0;
    this.pausedUntil = 0;
    if (this.breakerOpen) {
      this.breakerOpen = false;
      const outageMs = Math.round(performance.now() - this.outageStartedAt);
      this.logger.info(
        { redis: describeEndpoint(this.settings), outage_ms: outageMs },
        'redis answering again',
      );
      this.fallbacksLogged.clear();
    }
  }

  private commandFailed(err: unknown): void {
    this.commandFailures++;
    this.lastError = describeError(err);
    this.consecutiveFailures++;
    if (this.consecutiveFailures < BREAKER_THRESHOLD) return;
    this.pausedUntil = performance.now() + BREAKER_PAUSE_MS;
    if (!this.breakerOpen) {
      this.breakerOpen = true;
      this.outageStartedAt = performance.now();
      this.logger.warn(
        { redis: describeEndpoint(this.settings), err: this.lastError, pause_ms: BREAKER_PAUSE_MS },
        'redis not answering; commands fail fast, retried every pause',
      );
    }
  }

  async runScript<T = unknown>(
    script: RedisScript,
    keys: readonly string[],
    args: readonly string[],
  ): Promise<T> {
    const key = keys[0];
    try {
      return await this.command<T>(scriptArguments(script, keys, args, false), key);
    } catch (err) {
      // First use on this server (or after a restart/failover): send the source once; Redis keeps it.
      if (!isNoScriptError(err)) throw err;
      return this.command<T>(scriptArguments(script, keys, args, true), key);
    }
  }

  recordFallback(component: string, outcome: FallbackOutcome, err: unknown): void {
    const id = `${component}\u0000${outcome}`;
    this.fallbacks.set(id, (this.fallbacks.get(id) ?? 0) + 1);
    if (this.fallbacksLogged.has(id)) return;
    this.fallbacksLogged.add(id);
    this.logger.warn(
      { component, outcome, redis_state: this.current, err: describeError(err) },
      outcome === 'open'
        ? 'redis unavailable: serving without it (fail open); logged once per outage'
        : 'redis unavailable: refusing requests (fail closed); logged once per outage',
    );
  }

  onStateChange(listener: (state: RedisState, previous: RedisState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stats(): RedisStats {
    return {
      state: this.current,
      outages: this.outages,
      commandFailures: this.commandFailures,
      fallbacks: [...this.fallbacks].map(([id, count]) => {
        const [component, outcome] = id.split('\u0000') as [string, FallbackOutcome];
        return { component, outcome, count };
      }),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.setState('closed');
    this.closed = true;
    this.listeners.clear();
    try {
      // Pending commands belong to requests already decided (they fail open or closed at once).
      await this.client.destroy();
    } catch {
      // Never connected, or already torn down: nothing left to release.
    }
  }
}

/**
 * Opens the process's Redis connection in the background. Never throws for an unreachable Redis:
 * the handle reports `connecting`/`reconnecting` and its commands fail fast until Redis answers.
 */
export function createRedisHandle(settings: RedisConfig, logger: Logger): RedisHandle {
  return new RedisConnection(settings, logger);
}
