// What the rest of Dito may tell the metrics layer, without importing prom-client: one small
// typed interface, a per-location handle bound at load, and a no-op for when metrics are off.
// Feature modules (WebSocket, rate limiters, cache, Redis, plugins, reload) call only these.

/** Which way a message or byte went, seen from Dito: `inbound` from clients, `outbound` to them. */
export type Direction = 'inbound' | 'outbound';

/** The limiter that decided: the middleware's name. */
export type RateLimiterName = 'rate-limiter' | 'rate-limiter-redis';

/**
 * A limiter's verdict. `failed_open` / `failed_closed`: the store (Redis) could not answer and
 * the request was served / refused because of the configured failure mode.
 */
export type RateLimitDecision = 'allowed' | 'limited' | 'failed_open' | 'failed_closed';

/** `bypass`: the request was not eligible (method, `Authorization`, `Cache-Control: no-cache`). */
export type CacheLookupResult = 'hit' | 'miss' | 'bypass';

/**
 * Metrics of one location, bound once when its middlewares are built (at load), so recording
 * is a field increment: no label lookup, no string building per request.
 */
export interface LocationMetrics {
  rateLimit(limiter: RateLimiterName, decision: RateLimitDecision): void;
  cacheLookup(result: CacheLookupResult): void;
  /** A response was written to the cache. */
  cacheStored(): void;
}

/** How an attempt on an upstream target failed before it got an answer. */
export type UpstreamFailureKind = 'connect' | 'timeout' | 'reset' | 'tls' | 'protocol' | 'other';

/**
 * Metrics of one target of one location's pool (`targets:`), bound at load like
 * `LocationMetrics`: recording is a field increment.
 */
export interface TargetMetrics {
  /** An attempt was sent to the target; `retry`: it was a retry of a failed one. */
  attempt(retry: boolean): void;
  /** The target answered with `status` after `ms` (dispatch to response headers). */
  responded(status: number, ms: number): void;
  failed(kind: UpstreamFailureKind): void;
  /** The target went in (true) or out (false) of service: health checks or ejection. */
  available(up: boolean): void;
  /** Passive outlier detection ejected the target. */
  ejected(): void;
  /** The pool holding this handle is retired; the `up` series goes once no pool holds it. */
  release(): void;
}

/** The process-wide recorder. Every method is cheap and never throws. */
export interface MetricsRecorder {
  /** False for the no-op recorder: callers may skip work done only for metrics. */
  readonly enabled: boolean;
  /** The handle for the location whose `path` pattern is `pattern` (call at load, keep it). */
  location(pattern: string): LocationMetrics;
  /** The handle for target `target` (its label) of the pool of location `pattern` (call at load). */
  target(pattern: string, target: string): TargetMetrics;
  /** A WebSocket connection was established (after the upgrade succeeded on both sides). */
  websocketOpened(): void;
  /**
   * A WebSocket connection opened with `websocketOpened()` on this recorder has closed, after
   * `durationSeconds` (for `dito_websocket_connection_duration_seconds`; omitted: not observed).
   */
  websocketClosed(durationSeconds?: number): void;
  /** `count` WebSocket messages (data frames; default 1) went `direction`. */
  websocketMessage(direction: Direction, count?: number): void;
  /** Bytes relayed on WebSockets (frames as they pass), for `dito_websocket_transferred_bytes_total`. */
  websocketBytes(direction: Direction, bytes: number): void;
  /** Body bytes outside HTTP exchanges (WebSocket payloads) for `data_transferred_bytes_total`. */
  bytesTransferred(direction: Direction, bytes: number): void;
  /** A config reload finished: applied (`true`) or refused (`false`). */
  recordReload(success: boolean): void;
  /** The SHA-256 of the config file now serving. */
  setConfigInfo(sha256: string): void;
  /** A plugin failed to verify, load or initialise (at startup or on a reload). */
  pluginLoadFailed(plugin: string): void;
  /** A Redis client's connection went up or down; `client` names its user (`rate-limiter`, `cache`). */
  redisConnectionState(client: string, connected: boolean): void;
}

const noopLocation: LocationMetrics = {
  rateLimit() {},
  cacheLookup() {},
  cacheStored() {},
};

export const noopTargetMetrics: TargetMetrics = {
  attempt() {},
  responded() {},
  failed() {},
  available() {},
  ejected() {},
  release() {},
};

/** The recorder used while metrics are disabled: every call does nothing. */
export const noopMetrics: MetricsRecorder = {
  enabled: false,
  location: () => noopLocation,
  target: () => noopTargetMetrics,
  websocketOpened() {},
  websocketClosed() {},
  websocketMessage() {},
  websocketBytes() {},
  bytesTransferred() {},
  recordReload() {},
  setConfigInfo() {},
  pluginLoadFailed() {},
  redisConnectionState() {},
};

/** Both recorders see every call (Prometheus and the dashboard's live stats at once). */
export function teeRecorders(first: MetricsRecorder, second: MetricsRecorder): MetricsRecorder {
  return {
    enabled: true,
    location(pattern) {
      const a = first.location(pattern);
      const b = second.location(pattern);
      return {
        rateLimit(limiter, decision) {
          a.rateLimit(limiter, decision);
          b.rateLimit(limiter, decision);
        },
        cacheLookup(result) {
          a.cacheLookup(result);
          b.cacheLookup(result);
        },
        cacheStored() {
          a.cacheStored();
          b.cacheStored();
        },
      };
    },
    target(pattern, target) {
      const a = first.target(pattern, target);
      const b = second.target(pattern, target);
      if (b === noopTargetMetrics) return a;
      if (a === noopTargetMetrics) return b;
      return {
        attempt: (retry) => (a.attempt(retry), b.attempt(retry)),
        responded: (status, ms) => (a.responded(status, ms), b.responded(status, ms)),
        failed: (kind) => (a.failed(kind), b.failed(kind)),
        available: (up) => (a.available(up), b.available(up)),
        ejected: () => (a.ejected(), b.ejected()),
        release: () => (a.release(), b.release()),
      };
    },
    websocketOpened() {
      first.websocketOpened();
      second.websocketOpened();
    },
    websocketClosed(durationSeconds) {
      first.websocketClosed(durationSeconds);
      second.websocketClosed(durationSeconds);
    },
    websocketBytes(direction, bytes) {
      first.websocketBytes(direction, bytes);
      second.websocketBytes(direction, bytes);
    },
    websocketMessage(direction, count) {
      first.websocketMessage(direction, count);
      second.websocketMessage(direction, count);
    },
    bytesTransferred(direction, bytes) {
      first.bytesTransferred(direction, bytes);
      second.bytesTransferred(direction, bytes);
    },
    recordReload(success) {
      first.recordReload(success);
      second.recordReload(success);
    },
    setConfigInfo(sha256) {
      first.setConfigInfo(sha256);
      second.setConfigInfo(sha256);
    },
    pluginLoadFailed(plugin) {
      first.pluginLoadFailed(plugin);
      second.pluginLoadFailed(plugin);
    },
    redisConnectionState(client, connected) {
      first.redisConnectionState(client, connected);
      second.redisConnectionState(client, connected);
    },
  };
}
