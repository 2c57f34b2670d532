// The admin API's documents, built from the running Dito on each call: config (masked), routes in
// match order, upstream targets with health, plugins, Redis, reload results, live stats. Plain
// JSON with snake_case keys; the dashboard reads the same documents.
import type { ReloadRecord } from '../runtime/reload-history.js';
import { maskedConfig, publicUrl } from './mask.js';
import type { AdminSource } from './source.js';

/**
 * Where a target's health comes from: `passive` = recent proxied requests' outcomes (a location
 * with one `target_url`); `pool` = the location's pool (active health checks and ejections).
 */
export type HealthSource = 'passive' | 'pool';

export interface TargetDocument {
  url: string;
  /** true: answering; false: failing; null: nothing known yet. */
  healthy: boolean | null;
  state: 'up' | 'down' | 'unknown';
  source: HealthSource;
  /** ISO 8601 times. */
  last_success_at: string | null;
  last_failure_at: string | null;
  last_failure: string | null;
  consecutive_failures: number;
  /** Pool targets only: why the target is out of service, and its load right now. */
  ejected?: boolean;
  health_checked?: boolean;
  outstanding?: number;
  weight?: number;
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

export function reloadDocument(record: ReloadRecord): Record<string, unknown> {
  return {
    at: new Date(record.at).toISOString(),
    reason: record.reason,
    ok: record.ok,
    error: record.error ?? null,
    config_sha256: record.configSha256 ?? null,
    duration_ms: record.durationMs,
  };
}

export function configDocument(source: AdminSource): Record<string, unknown> {
  const loaded = source.loaded;
  return {
    file: loaded.file,
    sha256: loaded.sha256,
    loaded_at: new Date(source.loadedAt).toISOString(),
    started_at: new Date(source.startedAt).toISOString(),
    config: maskedConfig(loaded.config),
  };
}

export function routesDocument(source: AdminSource): Record<string, unknown> {
  const locations = source.runtime?.router.locations ?? [];
  return {
    routes: [...locations].map((location) => {
      const config = location.config;
      return {
        index: location.index,
        path: location.pattern,
        target: publicUrl(location.target),
        replace_path: config.replacePath,
        websocket: config.enableWebsocket,
        middlewares: config.middlewares.map((name) => ({
          name,
          kind: source.plugins.some((plugin) => plugin.name === name) ? 'plugin' : 'builtin',
        })),
        auth: config.auth?.type ?? null,
        rate_limiting: config.rateLimiting.enabled
          ? { requests_per_second: config.rateLimiting.requestsPerSecond, burst: config.rateLimiting.burst }
          : null,
        cache: config.cache.enabled ? { ttl: config.cache.ttlSeconds } : null,
      };
    }),
  };
}

/**
 * One entry per location, `targets` a list so that several targets per location (load balancing,
 * active health checks) fill the same shape; today each location has one target and its health
 * is passive.
 */
export function upstreamsDocument(source: AdminSource): Record<string, unknown> {
  const locations = source.runtime?.router.locations ?? [];
  const live = source.live;
  return {
    upstreams: [...locations].map((location) => {
      const pool = location.pool;
      if (pool !== undefined) {
        const targets = pool.targets.map((target): TargetDocument => {
          const state = target.state;
          return {
            url: target.label,
            healthy: state.available,
            state: state.available ? 'up' : 'down',
            source: 'pool',
            last_success_at: null,
            last_failure_at: null,
            last_failure: null,
            consecutive_failures: state.consecutiveFailures,
            ejected: state.ejected,
            health_checked: location.config.balancing?.healthCheck !== undefined,
            outstanding: state.outstanding,
            weight: target.weight,
          };
        });
        return { path: location.pattern, index: location.index, targets };
      }
      const health = live?.health(location.pattern);
      const state = health?.state ?? 'unknown';
      const target: TargetDocument = {
        url: publicUrl(location.target),
        healthy: state === 'unknown' ? null : state === 'up',
        state,
        source: 'passive',
        last_success_at: iso(health?.lastSuccessAt ?? null),
        last_failure_at: iso(health?.lastFailureAt ?? null),
        last_failure: health?.lastFailure ?? null,
        consecutive_failures: health?.consecutiveFailures ?? 0,
      };
      return { path: location.pattern, index: location.index, targets: [target] };
    }),
  };
}

export function pluginsDocument(source: AdminSource): Record<string, unknown> {
  const settings = source.loaded.config.plugins;
  return {
    directory: settings?.directory ?? null,
    public_key_sha256: settings?.publicKeyHash ?? null,
    plugins: source.plugins.map((plugin) => ({
      name: plugin.name,
      sha256: plugin.sha256,
      // A plugin is loaded only after its signature verified (contract section 6).
      signature: 'verified',
      middleware: plugin.middleware !== undefined,
    })),
  };
}

export function redisDocument(source: AdminSource): Record<string, unknown> {
  const settings = source.loaded.config.redis;
  const handle = source.redis;
  if (!settings.enabled || handle === undefined) return { enabled: false };
  const stats = handle.stats();
  return {
    enabled: true,
    mode: handle.mode,
    state: stats.state,
    ready: handle.ready,
    outages: stats.outages,
    command_failures: stats.commandFailures,
    fallbacks: stats.fallbacks,
  };
}

export function reloadsDocument(source: AdminSource): Record<string, unknown> {
  return { reloads: source.reloads.map(reloadDocument) };
}

function round(value: number | null, digits = 3): number | null {
  if (value === null) return null;
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** Live numbers for the last complete second; `history` adds the last minute per location. */
export function statsDocument(source: AdminSource, history: boolean): Record<string, unknown> {
  const live = source.live;
  const patterns = [...(source.runtime?.router.locations ?? [])].map((location) => location.pattern);
  if (live === undefined) return { time: Date.now(), locations: [] };
  const document: Record<string, unknown> = {
    time: (live.lastCompleteSecond() + 1) * 1000,
    active_connections: live.activeConnections,
    active_websockets: live.activeWebsockets,
    locations: live.snapshot(patterns).map((snapshot) => ({
      path: snapshot.pattern,
      requests_per_second: snapshot.rps,
      error_rate: round(snapshot.errorRate),
      p50_ms: round(snapshot.p50Ms),
      p99_ms: round(snapshot.p99Ms),
      rate_limited_ratio: round(snapshot.rateLimitedRatio),
      cache_hit_ratio: round(snapshot.cacheHitRatio),
      status_4xx_last_minute: snapshot.status4xx,
      status_5xx_last_minute: snapshot.status5xx,
      total_requests: snapshot.totalRequests,
    })),
  };
  if (history) {
    const { seconds, series } = live.history(patterns);
    document.history = {
      times: seconds.map((second) => (second + 1) * 1000),
      series: Object.fromEntries(
        Object.entries(series).map(([pattern, points]) => [
          pattern,
          {
            requests_per_second: points.map((point) => point.rps),
            error_rate: points.map((point) => round(point.errorRate)),
            p50_ms: points.map((point) => round(point.p50Ms)),
            p99_ms: points.map((point) => round(point.p99Ms)),
          },
        ]),
      ),
    };
  }
  return document;
}

/** What the dashboard receives every second over the event stream. */
export function tickDocument(source: AdminSource): Record<string, unknown> {
  const reloads = source.reloads;
  return {
    ...statsDocument(source, false),
    config_sha256: source.loaded.sha256,
    upstreams: upstreamsDocument(source).upstreams,
    redis: redisDocument(source),
    reloads: reloads.slice(0, 10).map(reloadDocument),
  };
}
