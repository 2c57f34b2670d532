// The process's Redis connection as the rest of Dito sees it: a small typed handle that middlewares
// (rate-limiter-redis, the cache) receive through MiddlewareContext, and metrics read the health of.
import type { RedisArgument } from 'redis';
import type { RedisConfig } from '../config/types.js';
import type { RedisScript } from './script.js';

export type RedisMode = 'standalone' | 'cluster' | 'sentinel';

/**
 * `connecting`: never connected yet. `ready`: commands go through. `degraded`: a Cluster with some
 * masters unreachable (keys on the others still work). `reconnecting`: the connection was lost and
 * is being re-established with backoff. `closed`: closed by Dito.
 */
export type RedisState = 'connecting' | 'ready' | 'degraded' | 'reconnecting' | 'closed';

export type FallbackOutcome = 'open' | 'closed';

export interface RedisStats {
  state: RedisState;
  /** State changes into `reconnecting` since the handle was created. */
  outages: number;
  /** Commands that failed: refused while unavailable, timed out, or errored. */
  commandFailures: number;
  /** Decisions a component took without Redis, e.g. `rate-limiter-redis` `open` → 12. */
  fallbacks: Array<{ component: string; outcome: FallbackOutcome; count: number }>;
}

export interface RedisCommandOptions {
  /** Bulk-string replies as Buffers instead of UTF-8 strings (binary values, e.g. cached bodies). */
  buffers?: boolean;
}

export interface RedisHandle {
  readonly mode: RedisMode;
  /** The settings this handle was made from (compare with `sameRedisSettings`). */
  readonly settings: RedisConfig;
  /** Prepended to every key Dito writes. */
  readonly keyPrefix: string;
  readonly commandTimeoutMs: number;
  readonly state: RedisState;
  /** Commands are expected to work now (`ready`, or `degraded` on a Cluster). */
  readonly ready: boolean;
  /**
   * One command, failing fast: rejects at once while Redis is unreachable, and after
   * `commandTimeoutMs` at most. `key` is the command's first key (routes it on a Cluster).
   */
  command<T = unknown>(
    args: readonly RedisArgument[],
    key?: string,
    options?: RedisCommandOptions,
  ): Promise<T>;
  /** Runs a Lua script (EVALSHA, loading it on NOSCRIPT). On a Cluster all keys must share a slot. */
  runScript<T = unknown>(script: RedisScript, keys: readonly string[], args: readonly string[]): Promise<T>;
  /** Counts a decision taken without Redis; logs the first one of each outage per component. */
  recordFallback(component: string, outcome: FallbackOutcome, err: unknown): void;
  /** Called on every state change; returns the unsubscribe function. */
  onStateChange(listener: (state: RedisState, previous: RedisState) => void): () => void;
  stats(): RedisStats;
  close(): Promise<void>;
}

/** Redis refused or could not answer in time; callers degrade (fail open/closed, bypass). */
export class RedisUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RedisUnavailableError';
  }
}
