// The validated, normalised configuration: what the rest of Dito consumes.
// The YAML is snake_case; `normalize.ts` maps it to these camelCase types in exactly one place.
// Durations are milliseconds, sizes are bytes.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Upstream transport settings (`transport.http`), fully resolved (no missing keys). */
export interface HttpTransportConfig {
  idleConnTimeoutMs: number;
  maxIdleConns: number;
  maxIdleConnsPerHost: number;
  /** 0 = unlimited. */
  maxConnsPerHost: number;
  tlsHandshakeTimeoutMs: number;
  /** 0 = none (request_timeout still applies). */
  responseHeaderTimeoutMs: number;
  expectContinueTimeoutMs: number;
  disableCompression: boolean;
  dialTimeoutMs: number;
  keepAliveMs: number;
  forceHttp2: boolean;
  /** Absolute paths (resolved against the config file's folder), or undefined. */
  certFile?: string;
  keyFile?: string;
  caFile?: string;
  /** Extension: skip verification of the upstream's certificate. Off unless set explicitly. */
  insecureSkipVerify: boolean;
}

export interface WebSocketConfig {
  /** No bytes in either direction for this long closes the connection; 0 = never. */
  idleTimeoutMs: number;
}

export interface RateLimitingConfig {
  enabled: boolean;
  requestsPerSecond: number;
  burst: number;
  /** Extension: what `rate-limiter-redis` does when Redis cannot answer. */
  failureMode: 'open' | 'closed';
  /** Extension: rate-limit key source: `ip` (default), `auth` or `header:<Name>`. */
  key?: string;
}

export interface CacheConfig {
  enabled: boolean;
  /** Whole seconds. */
  ttlSeconds: number;
  /** Extension: bodies larger than this are not cached. */
  maxBodySize: number;
}

export type AuthConfig =
  | {
      type: 'basic';
      realm: string;
      stripCredentials: boolean;
      users: Record<string, string>;
      htpasswdFile?: string;
    }
  | {
      type: 'api_key';
      header?: string;
      query?: string;
      keys: string[];
      realm: string;
      stripCredentials: boolean;
    }
  | {
      type: 'jwt';
      stripCredentials: boolean;
      secret?: string;
      publicKeyFile?: string;
      jwksUrl?: string;
      algorithms: string[];
      issuer?: string;
      audience?: string | string[];
      clockToleranceMs: number;
      requiredClaims: string[];
      forwardClaims: Record<string, string>;
      realm: string;
    };

export interface UpstreamTargetConfig {
  url: URL;
  /** Relative share of requests; 1 unless set. */
  weight: number;
}

export type BalancingPolicy = 'round_robin' | 'least_outstanding' | 'random_two' | 'hash';

/** What the `hash` policy hashes: the client IP, a header (lower-cased name) or a cookie. */
export type HashSource = { from: 'ip' } | { from: 'header'; name: string } | { from: 'cookie'; name: string };

/** An accepted status range, inclusive. */
export interface StatusRange {
  min: number;
  max: number;
}

export interface HealthCheckConfig {
  path: string;
  intervalMs: number;
  timeoutMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  expectedStatus: StatusRange[];
}

export interface OutlierDetectionConfig {
  /** 0 = off. */
  consecutiveFailures: number;
  baseEjectionTimeMs: number;
  maxEjectionTimeMs: number;
}

export type RetryCondition = 'connect_failure' | 'reset' | 'timeout' | 502 | 503 | 504;

export interface RetryConfig {
  /** Retries after the first try; 0 = none. */
  attempts: number;
  /** No retry starts later than this after arrival; 0 = bounded by `request_timeout` only. */
  timeoutMs: number;
  on: RetryCondition[];
}

export interface CircuitBreakerConfig {
  /** 0 = no limit. */
  maxRequests: number;
  /** 0 = no limit. */
  maxPending: number;
}

/** Extension: how a location spreads requests over its targets and handles their failures. */
export interface BalancingConfig {
  policy: BalancingPolicy;
  /** Set when `policy` is `hash`. */
  hashOn?: HashSource;
  healthCheck?: HealthCheckConfig;
  /** Undefined: no passive ejection. */
  outlierDetection?: OutlierDetectionConfig;
  retries: RetryConfig;
  circuitBreaker?: CircuitBreakerConfig;
}

export interface LocationConfig {
  /** Position in `locations[]`, for error messages and labels. */
  index: number;
  /** The regex source as written in the file (used as the metrics `path` label). */
  path: string;
  /** The compiled regex (Go-style `(?i)` prefix and `(?P<name>` groups translated). */
  pathRegex: RegExp;
  /** `target_url`, parsed. Undefined only when `targets` is used instead. */
  targetUrl?: URL;
  /** Extension. The upstreams: `target_url` as the only one, or `targets`; never empty. */
  targets: UpstreamTargetConfig[];
  /**
   * Extension. Pool behaviour (policy, health, retries, limits); undefined for a plain `target_url`
   * location with none of the pool keys, which takes the single-target fast path.
   */
  balancing?: BalancingConfig;
  replacePath: boolean;
  enableWebsocket: boolean;
  /** Extension: effective WebSocket settings (the location's keys over the global ones). */
  websocket: WebSocketConfig;
  /** Header name → value, in file order; names validated as tokens, values free of CR/LF/NUL. */
  additionalHeaders: Array<[name: string, value: string]>;
  /** Lower-cased header names. */
  excludedHeaders: string[];
  middlewares: string[];
  rateLimiting: RateLimitingConfig;
  cache: CacheConfig;
  auth?: AuthConfig;
  /** Effective transport: per-location keys over the global ones, key by key. */
  transport: HttpTransportConfig;
  /** Effective limit: the location's when > 0, else the global one. */
  maxResponseBodySize: number;
  disableResponseBuffering: boolean;
  /** Extension. Effective request body limit: the location's when > 0, else `server`'s; 0 = none. */
  maxRequestBodySize: number;
}

export interface RedisNodeAddress {
  host: string;
  port: number;
}

export interface RedisConfig {
  enabled: boolean;
  host: string;
  port: number;
  password: string;
  username?: string;
  db: number;
  tls: boolean;
  /** Extension: absolute path of the CA that signed the Redis certificate (default system CAs). */
  caFile?: string;
  keyPrefix: string;
  /** Extension: longest wait for one command before it counts as failed. */
  commandTimeoutMs: number;
  /** Extension: limit for opening one connection. */
  connectTimeoutMs: number;
  /** Extension: a Redis Cluster, found from these seed nodes (replaces host/port). */
  cluster?: { nodes: RedisNodeAddress[] };
  /** Extension: a master found through Redis Sentinel (replaces host/port). */
  sentinel?: { masterName: string; nodes: RedisNodeAddress[]; username?: string; password?: string };
}

export interface PluginsConfig {
  /** Absolute path. */
  directory: string;
  /** Absolute path. */
  publicKeyPath: string;
  publicKeyHash: string;
}

export interface ListenerTlsConfig {
  certFile: string;
  keyFile: string;
  caFile?: string;
  minVersion: 'TLSv1.2' | 'TLSv1.3';
}

/** Extension `server:` block: client-side limits and timeouts. */
export interface ServerLimitsConfig {
  readHeaderTimeoutMs: number;
  /** 0 = none. */
  readTimeoutMs: number;
  idleTimeoutMs: number;
  /** 0 = unlimited. */
  maxConnections: number;
  maxHeaderBytes: number;
  maxHeaders: number;
  maxUrlLength: number;
  /** 0 = unlimited. */
  maxRequestBodySize: number;
  allowUnderscoresInHeaders: boolean;
  allowTrace: boolean;
}

/** Extension `admin:` block: the admin listener (API + dashboard). */
export type AdminAuthConfig =
  { type: 'basic'; realm: string; users: Record<string, string> } | { type: 'bearer'; tokens: string[] };

export interface AdminConfig {
  enabled: boolean;
  address: string;
  port: number;
  auth?: AdminAuthConfig;
}

/** Extension: liveness and readiness endpoints on the main port. */
export interface HealthConfig {
  enabled: boolean;
  livenessPath: string;
  readinessPath: string;
}

export interface DitoConfig {
  port: number;
  /** Extension: worker processes (`auto` already resolved to the number of cores); 1 = no cluster. */
  workers: number;
  hotReload: boolean;
  logging: { enabled: boolean; verbose: boolean; level: LogLevel };
  metrics: { enabled: boolean; path: string };
  health: HealthConfig;
  redis: RedisConfig;
  /** The global transport with defaults applied. */
  transport: HttpTransportConfig;
  plugins?: PluginsConfig;
  /** Extension: the store behind the `cache` middleware. */
  cacheStore: { memoryMaxSize: number };
  responseLimits: { maxResponseBodySize: number };
  requestTimeoutMs: number;
  /** Extension: how long SIGTERM keeps serving with readiness failed before the drain starts. */
  shutdownDelayMs: number;
  /** Extension: how long SIGTERM waits for in-flight requests. */
  shutdownTimeoutMs: number;
  /** Extension: peers (IPs or CIDRs) whose X-Forwarded-For is believed. */
  trustedProxies: string[];
  /** Extension: global WebSocket settings (locations inherit them key by key). */
  websocket: WebSocketConfig;
  /** Extension: serve HTTPS (HTTP/2 + HTTP/1.1 by ALPN) on `port`. */
  tls?: ListenerTlsConfig;
  server: ServerLimitsConfig;
  /** Extension: the admin listener. */
  admin: AdminConfig;
  locations: LocationConfig[];
}

/** Where a config came from, kept beside it for logs and reloads. */
export interface LoadedConfig {
  config: DitoConfig;
  /** Path as given on the command line. */
  file: string;
  /** SHA-256 hex of the file's bytes. */
  sha256: string;
  /** Maps a key path (e.g. ['locations', 1, 'middlewares', 0]) to `file:line:col`. */
  locate(path: ReadonlyArray<string | number>): string;
}
