// The one place where the parsed snake_case YAML becomes the camelCase `DitoConfig`: transport
// inheritance, effective limits, file paths resolved against the config file's folder.
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { ParsedConfig, ParsedGlobalTransport, ParsedLocation, ParsedTransport } from './schema.js';
import type {
  AuthConfig,
  BalancingConfig,
  HashSource,
  StatusRange,
  UpstreamTargetConfig,
  DitoConfig,
  HttpTransportConfig,
  LocationConfig,
  RedisNodeAddress,
} from './types.js';

/** Relative paths in a config mean "next to the config file", wherever Dito is started from. */
function resolver(configFile: string): (file: string) => string {
  const base = path.dirname(path.resolve(configFile));
  return (file) => path.resolve(base, file);
}

/** `""` means "no file", as in the original's examples. */
function optionalFile(file: string | undefined, resolve: (file: string) => string): string | undefined {
  return file === undefined || file === '' ? undefined : resolve(file);
}

function toTransport(http: ParsedGlobalTransport, resolve: (file: string) => string): HttpTransportConfig {
  return {
    idleConnTimeoutMs: http.idle_conn_timeout,
    maxIdleConns: http.max_idle_conns,
    maxIdleConnsPerHost: http.max_idle_conns_per_host,
    maxConnsPerHost: http.max_conns_per_host,
    tlsHandshakeTimeoutMs: http.tls_handshake_timeout,
    responseHeaderTimeoutMs: http.response_header_timeout,
    expectContinueTimeoutMs: http.expect_continue_timeout,
    disableCompression: http.disable_compression,
    dialTimeoutMs: http.dial_timeout,
    keepAliveMs: http.keep_alive,
    forceHttp2: http.force_http2,
    certFile: optionalFile(http.cert_file, resolve),
    keyFile: optionalFile(http.key_file, resolve),
    caFile: optionalFile(http.ca_file, resolve),
    insecureSkipVerify: http.insecure_skip_verify,
  };
}

/** Global transport overlaid key by key with the keys the location sets. */
export function overlayTransport(global: ParsedGlobalTransport, own: ParsedTransport): ParsedGlobalTransport {
  const merged: Record<string, unknown> = { ...global };
  for (const [key, value] of Object.entries(own)) {
    if (value !== undefined) merged[key] = value;
  }
  return merged as ParsedGlobalTransport;
}

function toAuth(auth: NonNullable<ParsedLocation['auth']>, resolve: (file: string) => string): AuthConfig {
  switch (auth.type) {
    case 'basic':
      return {
        type: 'basic',
        realm: auth.realm,
        stripCredentials: auth.strip_credentials,
        users: auth.users ?? {},
        htpasswdFile: optionalFile(auth.htpasswd_file, resolve),
      };
    case 'api_key':
      return {
        type: 'api_key',
        realm: auth.realm,
        stripCredentials: auth.strip_credentials,
        // Neither given: the usual header. Both given is refused by checks.ts.
        header: auth.header ?? (auth.query === undefined ? 'X-API-Key' : undefined),
        query: auth.query,
        keys: auth.keys.map((key) => key.toLowerCase()),
      };
    case 'jwt':
      return {
        type: 'jwt',
        realm: auth.realm,
        stripCredentials: auth.strip_credentials,
        secret: auth.secret,
        publicKeyFile: optionalFile(auth.public_key_file, resolve),
        jwksUrl: auth.jwks_url,
        algorithms: [...auth.algorithms],
        issuer: auth.issuer,
        audience: auth.audience,
        clockToleranceMs: auth.clock_tolerance,
        requiredClaims: auth.required_claims,
        forwardClaims: auth.forward_claims,
      };
  }
}

function toTargets(location: ParsedLocation): UpstreamTargetConfig[] {
  if (location.targets === undefined)
    return location.target_url ? [{ url: location.target_url, weight: 1 }] : [];
  return location.targets.map((entry) => (entry instanceof URL ? { url: entry, weight: 1 } : { ...entry }));
}

/** `200`, `2xx`, `200-399` (schema-validated) as an inclusive range. */
function toStatusRange(spec: number | string): StatusRange {
  if (typeof spec === 'number') return { min: spec, max: spec };
  if (spec.endsWith('xx')) {
    const base = Number(spec[0]) * 100;
    return { min: base, max: base + 99 };
  }
  const [min, max] = spec.split('-').map(Number) as [number, number];
  return { min, max };
}

function toHashSource(hashOn: string | undefined): HashSource | undefined {
  if (hashOn === undefined) return undefined;
  if (hashOn === 'ip') return { from: 'ip' };
  const colon = hashOn.indexOf(':');
  const name = hashOn.slice(colon + 1);
  return hashOn.startsWith('header:')
    ? { from: 'header', name: name.toLowerCase() }
    : { from: 'cookie', name };
}

/** Pool settings; undefined for a plain `target_url` location (the single-target fast path). */
function toBalancing(location: ParsedLocation): BalancingConfig | undefined {
  const { targets, load_balancing, health_check, outlier_detection, retries, circuit_breaker } = location;
  if (
    targets === undefined &&
    load_balancing === undefined &&
    health_check === undefined &&
    outlier_detection === undefined &&
    retries === undefined &&
    circuit_breaker === undefined
  ) {
    return undefined;
  }
  // With somewhere else to go, a pool ejects failing targets and retries on another by default.
  const several = (targets?.length ?? 1) > 1;
  const outlier =
    outlier_detection ??
    (several
      ? { consecutive_failures: 5, base_ejection_time: 30_000, max_ejection_time: 300_000 }
      : undefined);
  const retry = retries ?? {
    attempts: several ? 2 : 0,
    timeout: 0,
    on: ['connect_failure', 'reset', 503] as const,
  };
  const expected = health_check?.expected_status;
  return {
    policy: load_balancing?.policy ?? 'round_robin',
    hashOn: toHashSource(load_balancing?.hash_on),
    healthCheck:
      health_check === undefined
        ? undefined
        : {
            path: health_check.path,
            intervalMs: health_check.interval,
            timeoutMs: health_check.timeout,
            healthyThreshold: health_check.healthy_threshold,
            unhealthyThreshold: health_check.unhealthy_threshold,
            expectedStatus: (Array.isArray(expected) ? expected : [expected!]).map(toStatusRange),
          },
    outlierDetection:
      outlier === undefined || outlier.consecutive_failures === 0
        ? undefined
        : {
            consecutiveFailures: outlier.consecutive_failures,
            baseEjectionTimeMs: outlier.base_ejection_time,
            maxEjectionTimeMs: outlier.max_ejection_time,
          },
    retries: { attempts: retry.attempts, timeoutMs: retry.timeout, on: [...new Set(retry.on)] },
    circuitBreaker:
      circuit_breaker === undefined ||
      (circuit_breaker.max_requests === 0 && circuit_breaker.max_pending === 0)
        ? undefined
        : { maxRequests: circuit_breaker.max_requests, maxPending: circuit_breaker.max_pending },
  };
}

function toLocation(
  location: ParsedLocation,
  index: number,
  parsed: ParsedConfig,
  resolve: (file: string) => string,
): LocationConfig {
  const limits = location.rate_limiting;
  const rps = limits.requests_per_second ?? 0;
  return {
    index,
    path: location.path.pattern,
    pathRegex: location.path.regex,
    targetUrl: location.target_url,
    targets: toTargets(location),
    balancing: toBalancing(location),
    replacePath: location.replace_path,
    enableWebsocket: location.enable_websocket,
    websocket: { idleTimeoutMs: location.websocket.idle_timeout ?? parsed.websocket.idle_timeout },
    additionalHeaders: Object.entries(location.additional_headers),
    excludedHeaders: location.excluded_headers.map((name) => name.toLowerCase()),
    middlewares: [...location.middlewares],
    rateLimiting: {
      enabled: limits.enabled,
      requestsPerSecond: rps,
      burst: limits.burst ?? Math.max(1, Math.ceil(rps)),
      failureMode: limits.failure_mode,
      key: limits.key,
    },
    cache: {
      enabled: location.cache.enabled,
      ttlSeconds: location.cache.ttl,
      maxBodySize: location.cache.max_body_size,
    },
    auth: location.auth === undefined ? undefined : toAuth(location.auth, resolve),
    transport: toTransport(overlayTransport(parsed.transport.http, location.transport.http), resolve),
    maxResponseBodySize:
      location.max_response_body_size > 0
        ? location.max_response_body_size
        : parsed.response_limits.max_response_body_size,
    disableResponseBuffering: location.disable_response_buffering,
    maxRequestBodySize:
      location.max_request_body_size > 0
        ? location.max_request_body_size
        : parsed.server.max_request_body_size,
  };
}

/** Maps a schema-valid, check-passed config to `DitoConfig`; `configFile` anchors relative paths. */
/** `host:port` (or `[v6]:port`), already validated by the schema. */
function toNodeAddress(value: string): RedisNodeAddress {
  const colon = value.lastIndexOf(':');
  const host = value.slice(0, colon);
  return { host: host.startsWith('[') ? host.slice(1, -1) : host, port: Number(value.slice(colon + 1)) };
}

export function normalizeConfig(parsed: ParsedConfig, configFile: string): DitoConfig {
  const resolve = resolver(configFile);
  const { redis, tls, plugins } = parsed;
  return {
    port: parsed.port,
    workers: parsed.workers === 'auto' ? availableParallelism() : parsed.workers,
    hotReload: parsed.hot_reload,
    logging: { ...parsed.logging },
    metrics: { ...parsed.metrics },
    health: {
      enabled: parsed.health.enabled,
      livenessPath: parsed.health.liveness_path,
      readinessPath: parsed.health.readiness_path,
    },
    redis: {
      enabled: redis.enabled,
      host: redis.host,
      port: redis.port,
      password: redis.password,
      username: redis.username,
      db: redis.db,
      tls: redis.tls,
      caFile: redis.ca_file === undefined ? undefined : resolve(redis.ca_file),
      keyPrefix: redis.key_prefix,
      commandTimeoutMs: redis.command_timeout,
      connectTimeoutMs: redis.connect_timeout,
      cluster: redis.cluster === undefined ? undefined : { nodes: redis.cluster.nodes.map(toNodeAddress) },
      sentinel:
        redis.sentinel === undefined
          ? undefined
          : {
              masterName: redis.sentinel.master_name,
              nodes: redis.sentinel.nodes.map(toNodeAddress),
              username: redis.sentinel.username,
              password: redis.sentinel.password,
            },
    },
    transport: toTransport(parsed.transport.http, resolve),
    plugins:
      plugins === undefined
        ? undefined
        : {
            directory: resolve(plugins.directory),
            publicKeyPath: resolve(plugins.public_key_path),
            publicKeyHash: plugins.public_key_hash.toLowerCase(),
          },
    cacheStore: { memoryMaxSize: parsed.cache_store.memory_max_size },
    responseLimits: { maxResponseBodySize: parsed.response_limits.max_response_body_size },
    requestTimeoutMs: parsed.request_timeout,
    shutdownDelayMs: parsed.shutdown_delay,
    shutdownTimeoutMs: parsed.shutdown_timeout,
    trustedProxies: [...parsed.trusted_proxies],
    websocket: { idleTimeoutMs: parsed.websocket.idle_timeout },
    tls:
      tls === undefined
        ? undefined
        : {
            certFile: resolve(tls.cert_file),
            keyFile: resolve(tls.key_file),
            caFile: optionalFile(tls.ca_file, resolve),
            minVersion: tls.min_version,
          },
    server: {
      readHeaderTimeoutMs: parsed.server.read_header_timeout,
      readTimeoutMs: parsed.server.read_timeout,
      idleTimeoutMs: parsed.server.idle_timeout,
      maxConnections: parsed.server.max_connections,
      maxHeaderBytes: parsed.server.max_header_bytes,
      maxHeaders: parsed.server.max_headers,
      maxUrlLength: parsed.server.max_url_length,
      maxRequestBodySize: parsed.server.max_request_body_size,
      allowUnderscoresInHeaders: parsed.server.allow_underscores_in_headers,
      allowTrace: parsed.server.allow_trace,
    },
    admin: {
      enabled: parsed.admin.enabled,
      address: parsed.admin.address,
      port: parsed.admin.port,
      auth:
        parsed.admin.auth === undefined
          ? undefined
          : parsed.admin.auth.type === 'basic'
            ? { type: 'basic', realm: parsed.admin.auth.realm, users: { ...parsed.admin.auth.users } }
            : { type: 'bearer', tokens: parsed.admin.auth.tokens.map((token) => token.toLowerCase()) },
    },
    locations: parsed.locations.map((location, index) => toLocation(location, index, parsed, resolve)),
  };
}
