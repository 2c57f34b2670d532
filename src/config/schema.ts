// The zod schema of config.yaml, exactly as contract section 3 spells it (snake_case, strict
// objects, contract defaults) plus the documented extensions. The JSON Schema is generated from it.
import * as z from 'zod';
import { compileGoRegex } from './regex.js';
import { adminSchema } from './schema-admin.js';
import { authSchema } from './schema-auth.js';
import { balancingFields } from './schema-balancing.js';
import {
  boolField,
  DURATION_HINT,
  durationField,
  headerNameField,
  headerValueField,
  isIpOrCidr,
  portField,
  SIZE_HINT,
  sha256HexField,
  sizeField,
  targetUrlField,
} from './schema-fields.js';

import { serverSchema } from './schema-server.js';

const MiB = 1024 * 1024;

/** Every `transport.http` key, described once; the global block adds defaults, a location's does not. */
function transportFields() {
  return {
    idle_conn_timeout: durationField().describe(
      'How long an idle keep-alive upstream connection is kept.' + DURATION_HINT,
    ),
    max_idle_conns: z
      .number()
      .int()
      .min(0)
      .describe('Idle keep-alive connections kept across all upstream hosts.'),
    max_idle_conns_per_host: z
      .number()
      .int()
      .min(0)
      .describe('Idle keep-alive connections kept per upstream host.'),
    max_conns_per_host: z
      .number()
      .int()
      .min(0)
      .describe('Connections per upstream host (idle, active and dialing); 0 = unlimited.'),
    tls_handshake_timeout: durationField().describe(
      'Limit for the TLS handshake with an upstream.' + DURATION_HINT,
    ),
    response_header_timeout: durationField().describe(
      'Limit for the upstream response headers once the request is written; 0 = none (`request_timeout` still applies).' +
        DURATION_HINT,
    ),
    expect_continue_timeout: durationField().describe(
      'How long to wait for `100 Continue` before sending the body of an `Expect: 100-continue` request.' +
        DURATION_HINT,
    ),
    disable_compression: boolField().describe(
      'Do not ask upstreams for gzip (no `Accept-Encoding` added by Dito).',
    ),
    dial_timeout: durationField().describe(
      'Limit for opening the TCP connection to an upstream.' + DURATION_HINT,
    ),
    keep_alive: durationField().describe(
      'Interval of TCP keep-alive probes on upstream connections.' + DURATION_HINT,
    ),
    force_http2: boolField().describe('Use HTTP/2 to https upstreams (ALPN h2) instead of HTTP/1.1.'),
    cert_file: z
      .string()
      .describe(
        'Client certificate (PEM) for mTLS to upstreams; `""` = none. Relative: from the config file\'s folder.',
      ),
    key_file: z.string().describe('Private key (PEM) of `cert_file`; `""` = none.'),
    ca_file: z
      .string()
      .describe(
        'CA bundle (PEM) that upstream certificates must chain to, instead of the system CAs; `""` = none.',
      ),
    insecure_skip_verify: boolField().describe(
      'Extension. Skip verification of upstream certificates. Dangerous: only for tests.',
    ),
  };
}

type TransportFields = ReturnType<typeof transportFields>;

const TRANSPORT_DEFAULTS = {
  idle_conn_timeout: '90s',
  max_idle_conns: 1000,
  max_idle_conns_per_host: 200,
  max_conns_per_host: 0,
  tls_handshake_timeout: '10s',
  response_header_timeout: 0,
  expect_continue_timeout: '1s',
  disable_compression: false,
  dial_timeout: '5s',
  keep_alive: '30s',
  force_http2: false,
  insecure_skip_verify: false,
} as const;

function globalTransportSchema() {
  const f = transportFields();
  const d = TRANSPORT_DEFAULTS;
  return z.strictObject({
    idle_conn_timeout: f.idle_conn_timeout.prefault(d.idle_conn_timeout),
    max_idle_conns: f.max_idle_conns.default(d.max_idle_conns),
    max_idle_conns_per_host: f.max_idle_conns_per_host.default(d.max_idle_conns_per_host),
    max_conns_per_host: f.max_conns_per_host.default(d.max_conns_per_host),
    tls_handshake_timeout: f.tls_handshake_timeout.prefault(d.tls_handshake_timeout),
    response_header_timeout: f.response_header_timeout.prefault(d.response_header_timeout),
    expect_continue_timeout: f.expect_continue_timeout.prefault(d.expect_continue_timeout),
    disable_compression: f.disable_compression.default(d.disable_compression),
    dial_timeout: f.dial_timeout.prefault(d.dial_timeout),
    keep_alive: f.keep_alive.prefault(d.keep_alive),
    force_http2: f.force_http2.default(d.force_http2),
    cert_file: f.cert_file.optional(),
    key_file: f.key_file.optional(),
    ca_file: f.ca_file.optional(),
    insecure_skip_verify: f.insecure_skip_verify.default(d.insecure_skip_verify),
  });
}

function locationTransportSchema() {
  const f = transportFields();
  const optional = Object.fromEntries(Object.entries(f).map(([key, field]) => [key, field.optional()])) as {
    [K in keyof TransportFields]: z.ZodOptional<TransportFields[K]>;
  };
  return z.strictObject(optional);
}

const rateLimitingSchema = z.strictObject({
  enabled: boolField()
    .default(false)
    .describe('Turn the `rate-limiter` / `rate-limiter-redis` middleware on.'),
  requests_per_second: z
    .number()
    .positive()
    .optional()
    .describe('Token refill rate; may be fractional (0.5 = one request every 2 s). Required when enabled.'),
  burst: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe('Bucket size: requests allowed at once. Default: requests_per_second rounded up.'),
  failure_mode: z
    .enum(['open', 'closed'])
    .default('open')
    .describe(
      'Extension. `rate-limiter-redis` when Redis cannot answer: `open` serves the request, `closed` answers 503.',
    ),
  key: z
    .string()
    .regex(/^(ip|auth|header:[!#$%&'*+\-.^_`|~0-9A-Za-z]+)$/, {
      error: 'expected "ip", "auth" or "header:<Header-Name>"',
    })
    .optional()
    .describe(
      'Extension. What a bucket is per: `ip` (default, the client IP), `header:<Name>` (that request header; the client IP when absent) or `auth` (the identity the `auth` middleware authenticated; the client IP when none).',
    ),
});

const cacheSchema = z.strictObject({
  enabled: boolField().default(false).describe('Turn the `cache` middleware on.'),
  ttl: z
    .number({ error: (issue) => ttlMessage(issue.input) })
    .int({ error: (issue) => ttlMessage(issue.input) })
    .min(1)
    .default(60)
    .describe('Seconds a cached response stays fresh (whole seconds).'),
  max_body_size: sizeField()
    .prefault(MiB)
    .describe(
      'Extension. Responses with bodies larger than this (bytes) are not cached. Default 1 MiB.' + SIZE_HINT,
    ),
});

function ttlMessage(input: unknown): string {
  return typeof input === 'string'
    ? `cache.ttl is whole seconds: write a number such as 30, not ${JSON.stringify(input)}`
    : `expected whole seconds, got ${String(input)}`;
}

const IDLE_TIMEOUT_TEXT =
  'Extension. A proxied WebSocket with no bytes in either direction for this long is closed ' +
  '(close code 1001 to both sides); 0 = never. Default 5m.' +
  DURATION_HINT;

/** The `websocket` block: globally with defaults, per location without (keys left out inherit). */
const globalWebsocketSchema = z.strictObject({
  idle_timeout: durationField().prefault('5m').describe(IDLE_TIMEOUT_TEXT),
});
const locationWebsocketSchema = z.strictObject({
  idle_timeout: durationField().optional().describe(IDLE_TIMEOUT_TEXT),
});

const locationSchema = z.strictObject({
  path: z
    .string()
    .min(1)
    .transform((pattern, ctx) => {
      try {
        return { pattern, regex: compileGoRegex(pattern) };
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message, input: pattern });
        return z.NEVER;
      }
    })
    .describe(
      'Regular expression (Go/RE2 style, see docs) matched against the request path; first match wins.',
    ),
  target_url: targetUrlField()
    .optional()
    .describe('Upstream URL: http, https, ws or wss. Required unless `targets` lists several instead.'),
  ...balancingFields(),
  replace_path: boolField()
    .default(false)
    .describe("true: the upstream path is the target URL's path. false: the request path is appended to it."),
  enable_websocket: boolField().default(false).describe('Proxy WebSocket upgrades on this location.'),
  websocket: locationWebsocketSchema
    .prefault({})
    .describe(
      'Extension. WebSocket settings of this location; keys left out inherit the global `websocket` block.',
    ),
  additional_headers: z
    .record(headerNameField(), headerValueField())
    .default({})
    .describe("Headers set on the upstream request (they win over the client's)."),
  excluded_headers: z
    .array(headerNameField())
    .default([])
    .describe("Header names (case-insensitive) removed from the client's request."),
  middlewares: z
    .array(z.string().min(1))
    .default([])
    .describe(
      'Middlewares in order, the first outermost: auth, rate-limiter, rate-limiter-redis, cache, or plugins.',
    ),
  rate_limiting: rateLimitingSchema
    .prefault({})
    .describe('Settings of `rate-limiter` and `rate-limiter-redis`.'),
  cache: cacheSchema.prefault({}).describe('Settings of the `cache` middleware.'),
  auth: authSchema.optional(),
  transport: z
    .strictObject({
      http: locationTransportSchema().prefault({}).describe('Keys left out inherit the global ones.'),
    })
    .prefault({})
    .describe('Per-location upstream transport.'),
  max_response_body_size: sizeField()
    .prefault(0)
    .describe(
      'Response body limit in bytes for this location; 0 = the global `response_limits` one.' + SIZE_HINT,
    ),
  disable_response_buffering: boolField()
    .default(false)
    .describe('true: stream responses as they arrive. false: buffer them (sent with Content-Length).'),
  max_request_body_size: sizeField()
    .prefault(0)
    .describe(
      'Extension. Request body limit in bytes for this location; 0 = the global `server` one.' + SIZE_HINT,
    ),
});

const loggingSchema = z.strictObject({
  enabled: boolField().default(true).describe('JSON logs on stdout.'),
  verbose: boolField()
    .default(false)
    .describe('Add request and response headers to the logs, at debug level.'),
  level: z.enum(['debug', 'info', 'warn', 'error']).default('info').describe('Lowest level logged.'),
});

const metricsSchema = z.strictObject({
  enabled: boolField().default(false).describe('Serve Prometheus metrics on the main port.'),
  path: z
    .string()
    .regex(/^\//, { error: 'must start with "/"' })
    .default('/metrics')
    .describe('Path of the metrics endpoint (never proxied).'),
});

const healthPathField = () =>
  z.string().regex(/^\/[^?#\s]*$/, { error: 'must start with "/" and hold no query, fragment or space' });

const healthSchema = z.strictObject({
  enabled: boolField()
    .default(false)
    .describe(
      'Extension. Serve the liveness and readiness endpoints on the main port (never proxied). Off by default so a config written for the original keeps proxying these paths.',
    ),
  liveness_path: healthPathField()
    .default('/healthz')
    .describe('Extension. Liveness: 200 while the process serves requests.'),
  readiness_path: healthPathField()
    .default('/readyz')
    .describe(
      'Extension. Readiness: 200 once started, 503 while starting, while draining after SIGTERM, and while a required Redis is down.',
    ),
});
/** `host:port` of a Redis node (cluster seed or sentinel). */
const redisNodeField = () =>
  z
    .string()
    .regex(/^[^\s:]+:\d{1,5}$|^\[[0-9A-Fa-f:.]+\]:\d{1,5}$/, { error: 'expected "host:port"' })
    .refine((value) => {
      const port = Number(value.slice(value.lastIndexOf(':') + 1));
      return port >= 1 && port <= 65535;
    }, 'port must be 1-65535');

const redisSchema = z.strictObject({
  enabled: boolField().default(false).describe('Use Redis for `rate-limiter-redis` and the `cache` store.'),
  host: z.string().min(1).default('localhost').describe('Redis host.'),
  port: portField().prefault(6379).describe('Redis port, string or number.'),
  password: z.string().default('').describe('Redis password; empty = none.'),
  username: z.string().min(1).optional().describe('Extension. Redis ACL user name.'),
  db: z.number().int().min(0).default(0).describe('Extension. Redis database number (0 on a Cluster).'),
  tls: boolField()
    .default(false)
    .describe('Extension. Connect to Redis over TLS (the server certificate is verified).'),
  ca_file: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Extension. CA (PEM) that signed the Redis server certificate; default the system CAs. Needs `tls: true`.',
    ),
  key_prefix: z.string().default('dito:').describe('Extension. Prefix of every key Dito writes.'),
  command_timeout: durationField()
    .refine((ms) => ms > 0, { error: 'must be more than 0' })
    .prefault('200ms')
    .describe(
      'Extension. Longest wait for one Redis command; past it the command fails (the rate limiter fails open or closed, the cache is bypassed).' +
        DURATION_HINT,
    ),
  connect_timeout: durationField()
    .refine((ms) => ms > 0, { error: 'must be more than 0' })
    .prefault('2s')
    .describe('Extension. Limit for opening one connection to Redis.' + DURATION_HINT),
  cluster: z
    .strictObject({
      nodes: z
        .array(redisNodeField())
        .min(1)
        .describe('Seed nodes `host:port`; the rest of the cluster is discovered from them.'),
    })
    .optional()
    .describe('Extension. Use a Redis Cluster instead of `host`/`port` (keys are spread over its masters).'),
  sentinel: z
    .strictObject({
      master_name: z
        .string()
        .min(1)
        .describe('Name of the monitored master (`sentinel monitor <name> ...`).'),
      nodes: z.array(redisNodeField()).min(1).describe('Sentinels `host:port`.'),
      username: z.string().min(1).optional().describe('ACL user for the sentinels themselves.'),
      password: z.string().optional().describe('Password of the sentinels themselves; empty = none.'),
    })
    .optional()
    .describe(
      'Extension. Find the master through Redis Sentinel instead of `host`/`port`; `username`, `password`, `db`, `tls` apply to the data nodes.',
    ),
});

const pluginsSchema = z.strictObject({
  directory: z
    .string()
    .min(1)
    .describe(
      "Folder of signed plugins, one sub-folder per plugin. Relative: from the config file's folder.",
    ),
  public_key_path: z
    .string()
    .min(1)
    .describe('Ed25519 public key (PEM) the plugin signatures verify against.'),
  public_key_hash: sha256HexField().describe('SHA-256 hex of the public key file (`plugin-signer hash`).'),
});

const listenerTlsSchema = z.strictObject({
  cert_file: z.string().min(1).describe('Server certificate chain (PEM).'),
  key_file: z.string().min(1).describe('Private key (PEM) of `cert_file`.'),
  ca_file: z
    .string()
    .min(1)
    .optional()
    .describe('CA (PEM) for client certificates: when set, clients must present one.'),
  min_version: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2').describe('Lowest TLS version accepted.'),
});

export const configSchema = z.strictObject({
  port: portField()
    .prefault(8081)
    .describe('Listening port, string or number. 0 = an ephemeral port chosen by the OS (for tests).'),
  hot_reload: boolField().default(false).describe('Watch the file and apply saved changes.'),
  logging: loggingSchema.prefault({}).describe('Logging.'),
  metrics: metricsSchema.prefault({}).describe('Prometheus metrics.'),
  health: healthSchema.prefault({}).describe('Extension. Liveness and readiness endpoints for probes.'),
  redis: redisSchema
    .prefault({})
    .describe('The Redis used by `rate-limiter-redis` and a distributed `cache`.'),
  transport: z
    .strictObject({ http: globalTransportSchema().prefault({}).describe('Global upstream transport.') })
    .prefault({})
    .describe('Upstream transport settings.'),
  plugins: pluginsSchema.optional().describe('Signed plugins.'),
  cache_store: z
    .strictObject({
      memory_max_size: sizeField()
        .refine((size) => size > 0, { error: 'must be more than 0 bytes' })
        .prefault(64 * MiB)
        .describe(
          'Extension. Bytes the in-process cache store may hold (bodies, headers, keys), shared by every location; least recently used entries go first. Default 64 MiB. Not used when `redis.enabled`.' +
            SIZE_HINT,
        ),
    })
    .prefault({})
    .describe('Extension. Settings of the store behind the `cache` middleware.'),
  response_limits: z
    .strictObject({
      max_response_body_size: sizeField()
        .refine((size) => size > 0, { error: 'must be more than 0 bytes' })
        .prefault(100 * MiB)
        .describe('Global response body limit in bytes. Default 100 MiB.' + SIZE_HINT),
    })
    .prefault({})
    .describe('Response size limits.'),
  request_timeout: durationField()
    .prefault('30s')
    .describe('Limit for one proxied request to get its response headers; 0 = none.' + DURATION_HINT),
  shutdown_delay: durationField()
    .prefault(0)
    .describe(
      'Extension. On SIGTERM/SIGINT, readiness fails at once and the listener keeps serving this long before the drain starts, so load balancers stop sending traffic first.' +
        DURATION_HINT,
    ),
  shutdown_timeout: durationField()
    .prefault('15s')
    .describe(
      'Extension. How long SIGTERM/SIGINT wait for in-flight requests before closing them.' + DURATION_HINT,
    ),
  workers: z
    .union([z.literal('auto'), z.number().int().min(1).max(256)])
    .default(1)
    .describe(
      'Extension. Worker processes serving `port` together (node:cluster): a number, or `auto` = one per CPU core. 1 = one plain process (no cluster). Changing it needs a restart. See docs/workers.md.',
    ),
  trusted_proxies: z
    .array(
      z.string().refine(isIpOrCidr, {
        error: (issue) => `${JSON.stringify(issue.input)} is not an IP address or CIDR range`,
      }),
    )
    .default([])
    .describe('Extension. Peers (IPs or CIDRs) whose X-Forwarded-For is believed.'),
  websocket: globalWebsocketSchema
    .prefault({})
    .describe('Extension. WebSocket proxying settings (see docs/websocket.md).'),
  tls: listenerTlsSchema.optional().describe('Extension. Serve HTTPS (HTTP/2 and HTTP/1.1) on `port`.'),
  server: serverSchema.prefault({}).describe('Extension. Limits on what clients send, and client timeouts.'),
  admin: adminSchema
    .prefault({})
    .describe('Extension. The admin listener: JSON API and live dashboard (off by default).'),
  locations: z.array(locationSchema).default([]).describe('Routes, tried in file order.'),
});

export type ParsedConfig = z.output<typeof configSchema>;
export type ParsedLocation = z.output<typeof locationSchema>;
export type ParsedTransport = z.output<ReturnType<typeof locationTransportSchema>>;
export type ParsedGlobalTransport = z.output<ReturnType<typeof globalTransportSchema>>;
