// Prometheus metrics: what Dito measures and under which labels. One registry per process,
// surviving runtime swaps; per-location label sets built once and reused by every later runtime.
// The client library is behind ./prometheus-client.ts.
import type { IncomingMessage } from 'node:http';
import type { Exchange } from '../proxy/exchange.js';
import type { CompiledLocation } from '../runtime/location.js';
import type {
  CacheLookupResult,
  Direction,
  LocationMetrics,
  MetricsRecorder,
  RateLimitDecision,
  RateLimiterName,
} from './metrics-recorder.js';
import { type TargetFamilies, targetFamilies, TargetSeries } from './target-metrics.js';
import {
  type CounterSeries,
  type DeferredCounter,
  type DeferredHistogram,
  type GaugeFamily,
  type HistogramSeries,
  MetricsRegistry,
  type MetricsSnapshot,
} from './prometheus-client.js';

/**
 * Seconds. A proxy answers from the cache in well under a millisecond and may wait on an upstream
 * up to `request_timeout` (30 s by default): half a millisecond to a minute, ~2.5x apart.
 */
export const DURATION_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

/**
 * Seconds a WebSocket stays open: from a failed-fast second to a day-long dashboard session.
 */
export const WEBSOCKET_DURATION_BUCKETS = [1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400];

/** Methods that get their own `method` label value; any other becomes `OTHER` (bounded labels). */
export const KNOWN_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE'];
const METHOD_INDEX = new Map(KNOWN_METHODS.map((method, index) => [method, index]));
const METHOD_LABELS = [...KNOWN_METHODS, 'OTHER'];
const OTHER_METHOD = KNOWN_METHODS.length;

/** The `path` label of requests no location matched (and of those refused before routing). */
export const UNMATCHED = 'unmatched';

/** nginx's convention: the client went away before it got an answer. */
const CLIENT_CLOSED_REQUEST = 499;

const NONCOMPLIANT_DEFAULT_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

type UpstreamErrorKind = 'connect' | 'timeout' | 'reset' | 'tls' | 'protocol';

/** Both metrics of one (location, method, status) combination. */
interface RequestSeries {
  readonly count: CounterSeries;
  readonly duration: HistogramSeries;
}

/** The metric families; built once per registry. */
interface Families {
  requests: DeferredCounter;
  requestDuration: DeferredHistogram;
  upstreamDuration: DeferredHistogram;
  upstreamErrors: DeferredCounter;
  upstreamRetries: DeferredCounter;
  responseLimitHits: DeferredCounter;
  rateLimitDecisions: DeferredCounter;
  cacheLookups: DeferredCounter;
  cacheStores: DeferredCounter;
}

const RATE_LIMITERS: RateLimiterName[] = ['rate-limiter', 'rate-limiter-redis'];
const RATE_DECISIONS: RateLimitDecision[] = ['allowed', 'limited', 'failed_open', 'failed_closed'];
const CACHE_RESULTS: CacheLookupResult[] = ['hit', 'miss', 'bypass'];

/** Everything recorded under one `path` label value, label sets bound once. */
class LocationSeries implements LocationMetrics {
  /** Keyed by `methodIndex * 1000 + status`: a number key, no string built per request. */
  private readonly requests = new Map<number, RequestSeries>();
  readonly upstreamDuration: HistogramSeries;
  readonly upstreamErrors: Record<UpstreamErrorKind, CounterSeries>;
  readonly retries: CounterSeries;
  readonly responseLimitHits: CounterSeries;
  private readonly rateLimits: Record<RateLimiterName, Record<RateLimitDecision, CounterSeries>>;
  private readonly cacheResults: Record<CacheLookupResult, CounterSeries>;
  private readonly cacheStores: CounterSeries;

  constructor(
    private readonly families: Families,
    private readonly path: string,
  ) {
    const kind = (k: UpstreamErrorKind) => families.upstreamErrors.series({ path, kind: k });
    this.upstreamErrors = {
      connect: kind('connect'),
      timeout: kind('timeout'),
      reset: kind('reset'),
      tls: kind('tls'),
      protocol: kind('protocol'),
    };
    this.upstreamDuration = families.upstreamDuration.series({ path });
    this.retries = families.upstreamRetries.series({ path });
    this.responseLimitHits = families.responseLimitHits.series({ path });
    const decisions = (limiter: RateLimiterName) =>
      Object.fromEntries(
        RATE_DECISIONS.map((decision) => [
          decision,
          families.rateLimitDecisions.series({ path, limiter, decision }),
        ]),
      ) as Record<RateLimitDecision, CounterSeries>;
    this.rateLimits = Object.fromEntries(RATE_LIMITERS.map((l) => [l, decisions(l)])) as Record<
      RateLimiterName,
      Record<RateLimitDecision, CounterSeries>
    >;
    this.cacheResults = Object.fromEntries(
      CACHE_RESULTS.map((result) => [result, families.cacheLookups.series({ path, result })]),
    ) as Record<CacheLookupResult, CounterSeries>;
    this.cacheStores = families.cacheStores.series({ path });
  }

  /** The request series for a method index and status, created on first use. */
  request(methodIndex: number, status: number): RequestSeries {
    const key = methodIndex * 1000 + status;
    let series = this.requests.get(key);
    if (series === undefined) {
      const method = METHOD_LABELS[methodIndex]!;
      const statusLabel = String(status);
      series = {
        count: this.families.requests.series({ method, path: this.path, status: statusLabel }),
        duration: this.families.requestDuration.series({ method, path: this.path, status: statusLabel }),
      };
      this.requests.set(key, series);
    }
    return series;
  }

  rateLimit(limiter: RateLimiterName, decision: RateLimitDecision): void {
    const series = this.rateLimits[limiter]?.[decision];
    if (series !== undefined) series.pending++;
  }

  cacheLookup(result: CacheLookupResult): void {
    const series = this.cacheResults[result];
    if (series !== undefined) series.pending++;
  }

  cacheStored(): void {
    this.cacheStores.pending++;
  }
}

function methodIndex(method: string | undefined): number {
  return method === undefined ? OTHER_METHOD : (METHOD_INDEX.get(method) ?? OTHER_METHOD);
}

/** The Prometheus recorder: a `MetricsRecorder` for feature modules and a request listener. */
export class PrometheusMetrics implements MetricsRecorder {
  readonly enabled = true;
  private readonly registry = new MetricsRegistry();
  private readonly families: Families;
  private readonly byPattern = new Map<string, LocationSeries>();
  private readonly targetFamilies: TargetFamilies;
  /** Keyed by pattern and target label. */
  private readonly byTarget = new Map<string, TargetSeries>();
  /** Per compiled location (one per runtime): one WeakMap lookup per request, dropped with the runtime. */
  private readonly byLocation = new WeakMap<CompiledLocation, LocationSeries>();
  private readonly unmatched: LocationSeries;
  private readonly bytesInbound: CounterSeries;
  private readonly bytesOutbound: CounterSeries;
  private readonly websocketMessages: Record<Direction, CounterSeries>;
  private readonly websocketsActive: GaugeFamily;
  private readonly websocketBytesRelayed: Record<Direction, CounterSeries>;
  private readonly websocketDuration: HistogramSeries;
  private readonly reloads: Record<'success' | 'failure', CounterSeries>;
  private readonly configInfo: GaugeFamily;
  private readonly configLoadedAt: GaugeFamily;
  private readonly pluginFailures: DeferredCounter;
  private readonly redisConnected: GaugeFamily;
  private connectionSource: () => number = () => 0;

  constructor() {
    const registry = this.registry;
    this.families = {
      requests: registry.counter('http_requests_total', 'HTTP requests answered, by location.', [
        'method',
        'path',
        'status',
      ]),
      requestDuration: registry.histogram(
        'http_request_duration_seconds',
        'Time from request arrival to the end of the response, by location.',
        DURATION_BUCKETS,
      ),
      upstreamDuration: registry.histogram(
        'dito_upstream_response_duration_seconds',
        'Time from dispatching a request upstream to its response headers, by location.',
        DURATION_BUCKETS,
      ),
      upstreamErrors: registry.counter(
        'dito_upstream_errors_total',
        'Upstream requests that failed, by location and kind (connect, timeout, reset, tls, protocol).',
        ['path', 'kind'],
      ),
      upstreamRetries: registry.counter(
        'dito_upstream_retries_total',
        'Requests retried once on a fresh connection after a stale keep-alive connection failed.',
        ['path'],
      ),
      responseLimitHits: registry.counter(
        'dito_response_limit_exceeded_total',
        'Responses refused (413) or cut off because their body exceeded the size limit.',
        ['path'],
      ),
      rateLimitDecisions: registry.counter(
        'dito_rate_limit_decisions_total',
        'Rate limiter decisions; failed_open/failed_closed: the store could not answer.',
        ['path', 'limiter', 'decision'],
      ),
      cacheLookups: registry.counter(
        'dito_cache_lookups_total',
        'Cache lookups by result (hit, miss, bypass).',
        ['path', 'result'],
      ),
      cacheStores: registry.counter('dito_cache_stores_total', 'Responses stored in the cache.', ['path']),
    };
    this.unmatched = new LocationSeries(this.families, UNMATCHED);
    this.targetFamilies = targetFamilies(registry, DURATION_BUCKETS);

    const bytes = registry.counter(
      'data_transferred_bytes_total',
      'Body bytes: inbound = received from clients, outbound = sent to clients.',
      ['direction'],
    );
    this.bytesInbound = bytes.series({ direction: 'inbound' }, true);
    this.bytesOutbound = bytes.series({ direction: 'outbound' }, true);
    registry.gauge('active_connections', 'Open client connections.', [], () => this.connectionSource());
    this.websocketsActive = registry.gauge(
      'websocket_connections_active',
      'Open proxied WebSocket connections.',
    );
    const messages = registry.counter(
      'websocket_messages_total',
      'WebSocket messages: inbound = from clients, outbound = to clients.',
      ['direction'],
    );
    this.websocketMessages = {
      inbound: messages.series({ direction: 'inbound' }, true),
      outbound: messages.series({ direction: 'outbound' }, true),
    };
    const websocketBytes = registry.counter(
      'dito_websocket_transferred_bytes_total',
      'Bytes relayed on WebSockets (frame headers included): inbound = from clients, outbound = to clients.',
      ['direction'],
    );
    this.websocketBytesRelayed = {
      inbound: websocketBytes.series({ direction: 'inbound' }, true),
      outbound: websocketBytes.series({ direction: 'outbound' }, true),
    };
    this.websocketDuration = registry
      .histogram(
        'dito_websocket_connection_duration_seconds',
        'How long proxied WebSocket connections stayed open (from the 101 to the last socket closed).',
        WEBSOCKET_DURATION_BUCKETS,
      )
      .series({});

    const reloads = registry.counter(
      'dito_config_reloads_total',
      'Config reloads by result (success, failure).',
      ['result'],
    );
    this.reloads = {
      success: reloads.series({ result: 'success' }, true),
      failure: reloads.series({ result: 'failure' }, true),
    };
    this.configInfo = registry.gauge(
      'dito_config_info',
      'The config now serving: 1, labelled with the SHA-256 of its file.',
      ['sha256'],
      undefined,
      'max',
    );
    this.configLoadedAt = registry.gauge(
      'dito_config_loaded_timestamp_seconds',
      'Unix time the serving config was loaded (at start or by the last successful reload).',
      [],
      undefined,
      'max',
    );
    this.pluginFailures = registry.counter(
      'dito_plugin_load_failures_total',
      'Plugins that failed to verify, load or initialise.',
      ['plugin'],
    );
    this.redisConnected = registry.gauge(
      'dito_redis_connected',
      'Whether a Redis client is connected (1) or not (0), by user.',
      ['client'],
      undefined,
      'min',
    );
    // prom-client's gauges named `*_total` break Prometheus' naming rules (`promtool check metrics`
    // rejects them) and only repeat `sum(nodejs_active_handles)` etc.: dropped.
    registry.collectDefaultMetrics(NONCOMPLIANT_DEFAULT_METRICS);
  }

  /** Where `active_connections` reads its value at scrape time (no per-connection work). */
  countConnectionsWith(source: () => number): void {
    this.connectionSource = source;
  }

  /** The exposition text and its content type. */
  render(): Promise<{ contentType: string; body: string }> {
    return this.registry.render();
  }

  /** This process's metrics as data (cluster mode: the primary combines every worker's). */
  snapshot(): Promise<MetricsSnapshot> {
    return this.registry.snapshot();
  }

  location(pattern: string): LocationSeries {
    let series = this.byPattern.get(pattern);
    if (series === undefined) {
      series = new LocationSeries(this.families, pattern);
      this.byPattern.set(pattern, series);
    }
    return series;
  }

  target(pattern: string, target: string): TargetSeries {
    const key = `${pattern}\u0000${target}`;
    let series = this.byTarget.get(key);
    if (series === undefined) {
      series = new TargetSeries(this.targetFamilies, pattern, target);
      this.byTarget.set(key, series);
    }
    series.holders++;
    return series;
  }

  private seriesFor(location: CompiledLocation | undefined): LocationSeries {
    if (location === undefined) return this.unmatched;
    let series = this.byLocation.get(location);
    if (series === undefined) {
      series = this.location(location.pattern);
      this.byLocation.set(location, series);
    }
    return series;
  }

  /** Binds the label sets of a new runtime's locations at load, before it serves. */
  prepare(locations: Iterable<CompiledLocation>): void {
    for (const location of locations) this.seriesFor(location);
  }

  /** Request listener: one finished request (routed, or 404 when `location` is undefined). */
  requestFinished(exchange: Exchange, location: CompiledLocation | undefined, durationMs: number): void {
    const series = this.seriesFor(location);
    const res = exchange.res;
    const status = res.headersSent ? res.statusCode : CLIENT_CLOSED_REQUEST;
    const request = series.request(methodIndex(exchange.req.method), status);
    request.count.pending++;
    request.duration.observe(durationMs / 1000);
    this.bytesInbound.pending += exchange.bytesIn;
    this.bytesOutbound.pending += exchange.bytesOut;
    if (exchange.upstreamMs !== undefined) series.upstreamDuration.observe(exchange.upstreamMs / 1000);
    if (exchange.retries > 0) series.retries.pending += exchange.retries;
    const code = exchange.errorCode;
    if (code === undefined) return;
    switch (code) {
      case 'DITO_ERR_UPSTREAM_CONNECT':
        series.upstreamErrors.connect.pending++;
        break;
      case 'DITO_ERR_UPSTREAM_TIMEOUT':
        series.upstreamErrors.timeout.pending++;
        break;
      case 'DITO_ERR_UPSTREAM_RESET':
        series.upstreamErrors.reset.pending++;
        break;
      case 'DITO_ERR_UPSTREAM_TLS':
        series.upstreamErrors.tls.pending++;
        break;
      case 'DITO_ERR_UPSTREAM_PROTOCOL':
        series.upstreamErrors.protocol.pending++;
        break;
      case 'DITO_ERR_RESPONSE_TOO_LARGE':
        series.responseLimitHits.pending++;
        break;
    }
  }

  /** Request listener: a request refused before routing (400, 405, 414, 431, malformed). */
  requestRefused(
    req: IncomingMessage | undefined,
    status: number,
    durationMs: number,
    bytesOut: number,
  ): void {
    const request = this.unmatched.request(methodIndex(req?.method), status);
    request.count.pending++;
    request.duration.observe(durationMs / 1000);
    this.bytesOutbound.pending += bytesOut;
  }

  websocketOpened(): void {
    this.websocketsActive.inc();
  }

  websocketClosed(durationSeconds?: number): void {
    this.websocketsActive.dec();
    if (durationSeconds !== undefined) this.websocketDuration.observe(durationSeconds);
  }

  websocketBytes(direction: Direction, bytes: number): void {
    const series = this.websocketBytesRelayed[direction];
    if (series !== undefined) series.pending += bytes;
  }

  websocketMessage(direction: Direction, count = 1): void {
    const series = this.websocketMessages[direction];
    if (series !== undefined) series.pending += count;
  }

  bytesTransferred(direction: Direction, bytes: number): void {
    if (direction === 'inbound') this.bytesInbound.pending += bytes;
    else this.bytesOutbound.pending += bytes;
  }

  recordReload(success: boolean): void {
    (success ? this.reloads.success : this.reloads.failure).pending++;
  }

  setConfigInfo(sha256: string): void {
    this.configInfo.reset();
    this.configInfo.set(1, { sha256 });
    this.configLoadedAt.set(Date.now() / 1000);
  }

  pluginLoadFailed(plugin: string): void {
    this.pluginFailures.series({ plugin }).pending++;
  }

  redisConnectionState(client: string, connected: boolean): void {
    this.redisConnected.set(connected ? 1 : 0, { client });
  }
}
