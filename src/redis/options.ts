// Maps `redis:` settings to node-redis client options (standalone, Cluster, Sentinel), with the
// fail-fast and reconnect policy every Dito connection shares; and decides when a reload may keep
// the running connection.
import { readFileSync } from 'node:fs';
import type { RedisClientOptions, RedisClusterOptions, RedisSentinelOptions } from 'redis';
import type { RedisConfig } from '../config/types.js';

/** Longest pause between reconnection attempts. */
export const RECONNECT_MAX_DELAY_MS = 2000;
/**
 * Commands waiting for a reply per connection. Past it a command fails at once instead of piling
 * up behind a Redis that stopped answering (memory stays bounded).
 */
export const COMMAND_QUEUE_LIMIT = 10_000;

/** Exponential backoff from 50 ms to RECONNECT_MAX_DELAY_MS, with jitter so instances don't stampede. */
export function reconnectDelay(retries: number): number {
  const base = Math.min(50 * 2 ** Math.min(retries, 10), RECONNECT_MAX_DELAY_MS);
  return base + Math.floor(Math.random() * Math.min(100, base));
}

/** Two settings objects open the same connection: a reload can keep the running one. */
export function sameRedisSettings(a: RedisConfig, b: RedisConfig): boolean {
  return JSON.stringify(normalisedSettings(a)) === JSON.stringify(normalisedSettings(b));
}

function normalisedSettings(settings: RedisConfig): RedisConfig {
  // Key order is fixed by building the object here, so JSON equality is structural equality.
  return {
    enabled: settings.enabled,
    host: settings.host,
    port: settings.port,
    password: settings.password,
    username: settings.username,
    db: settings.db,
    tls: settings.tls,
    caFile: settings.caFile,
    keyPrefix: settings.keyPrefix,
    commandTimeoutMs: settings.commandTimeoutMs,
    connectTimeoutMs: settings.connectTimeoutMs,
    cluster: settings.cluster && { nodes: settings.cluster.nodes.map(({ host, port }) => ({ host, port })) },
    sentinel: settings.sentinel && {
      masterName: settings.sentinel.masterName,
      nodes: settings.sentinel.nodes.map(({ host, port }) => ({ host, port })),
      username: settings.sentinel.username,
      password: settings.sentinel.password,
    },
  };
}

type SocketOptions = NonNullable<RedisClientOptions['socket']>;

function socketOptions(settings: RedisConfig, host?: string, port?: number): SocketOptions {
  const common = {
    connectTimeout: settings.connectTimeoutMs,
    reconnectStrategy: reconnectDelay,
    // A TCP keep-alive finds a peer that vanished without a FIN (host down, network cut).
    keepAlive: true,
    ...(host === undefined ? {} : { host }),
    ...(port === undefined ? {} : { port }),
  };
  if (!settings.tls) return common;
  return {
    ...common,
    tls: true,
    ...(host === undefined ? {} : { servername: host }),
    ...(settings.caFile === undefined ? {} : { ca: readFileSync(settings.caFile) }),
  };
}

/** What every data connection shares: credentials, database, fail-fast queueing. */
function dataClientOptions(settings: RedisConfig): RedisClientOptions {
  return {
    ...(settings.username === undefined ? {} : { username: settings.username }),
    ...(settings.password === '' ? {} : { password: settings.password }),
    ...(settings.db === 0 ? {} : { database: settings.db }),
    // Fail at once while disconnected instead of queueing until Redis comes back.
    disableOfflineQueue: true,
    commandsQueueMaxLength: COMMAND_QUEUE_LIMIT,
  };
}

export function standaloneOptions(settings: RedisConfig): RedisClientOptions {
  return { ...dataClientOptions(settings), socket: socketOptions(settings, settings.host, settings.port) };
}

export function clusterOptions(settings: RedisConfig): RedisClusterOptions {
  const nodes = settings.cluster?.nodes ?? [{ host: settings.host, port: settings.port }];
  return {
    rootNodes: nodes.map(({ host, port }) => ({ socket: socketOptions(settings, host, port) })),
    // Discovered nodes are built from `defaults` only (credentials, TLS, timeouts, backoff).
    defaults: { ...dataClientOptions(settings), socket: socketOptions(settings) },
  };
}

export function sentinelOptions(settings: RedisConfig): RedisSentinelOptions {
  const sentinel = settings.sentinel!;
  const sentinelCredentials = {
    ...(sentinel.username === undefined ? {} : { username: sentinel.username }),
    ...(sentinel.password === undefined || sentinel.password === '' ? {} : { password: sentinel.password }),
  };
  return {
    name: sentinel.masterName,
    sentinelRootNodes: sentinel.nodes.map(({ host, port }) => ({ host, port })),
    nodeClientOptions: { ...dataClientOptions(settings), socket: socketOptions(settings) },
    sentinelClientOptions: { ...sentinelCredentials, socket: socketOptions(settings) },
    // Errors of the clients inside come out of the sentinel object, where Dito listens.
    passthroughClientErrorEvents: true,
  };
}
