// Checks that span several keys, run once the schema has accepted every key on its own: middleware
// needs (auth block, Redis), auth key combinations, mTLS pairs, rate-limit settings.
import { type ConfigIssue, valueAt } from './issues.js';
import { isLoopbackAddress } from './schema-admin.js';
import type { ParsedConfig, ParsedLocation } from './schema.js';
import type { KeyPath } from './yaml-source.js';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** RFC 7518 section 3.2: an HMAC key must be at least as long as the hash output. */
const MIN_HMAC_SECRET_BYTES = 32;

/**
 * Headers a claim may not be forwarded in: Dito sets or drops them itself (the claim would
 * silently vanish), they frame the message, or they carry the credential.
 */
const RESERVED_CLAIM_HEADERS = new Set([
  'host',
  'authorization',
  'proxy-authorization',
  'content-length',
  'content-type',
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'cookie',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-real-ip',
  'x-request-id',
]);

/** `raw`: the YAML data as written (tells a key written without a value from a missing one). */
export function checkConfig(config: ParsedConfig, raw?: unknown): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const add = (path: KeyPath, message: string, anchor: ConfigIssue['anchor'] = 'value') =>
    issues.push({ path, message, anchor });

  checkCertPair(config.transport.http, ['transport', 'http'], add);
  checkLocalPaths(config, add);
  checkRedis(config, add);
  checkAdmin(config, add);
  config.locations.forEach((location, index) => {
    const at = (...rest: Array<string | number>): KeyPath => ['locations', index, ...rest];
    checkTargets(location, at, add, raw);
    checkMiddlewares(config, location, at, add);
    checkHeaderNames(location, at, add);
    checkRateLimiting(location, at, add);
    checkAuth(location, at, add);
    // The pair is judged on the effective transport: a location may inherit one half globally.
    const effective = { ...config.transport.http, ...definedOnly(location.transport.http) };
    const own = location.transport.http;
    if (own.cert_file !== undefined || own.key_file !== undefined)
      checkCertPair(effective, at('transport', 'http'), add);
  });
  return issues;
}

type Add = (path: KeyPath, message: string, anchor?: ConfigIssue['anchor']) => void;

/** Paths served on the main port before routing must not shadow one another. */
function checkLocalPaths(config: ParsedConfig, add: Add): void {
  const health = config.health;
  if (!health.enabled) return;
  if (health.liveness_path === health.readiness_path) {
    add(['health', 'readiness_path'], 'must differ from health.liveness_path');
  }
  if (!config.metrics.enabled) return;
  for (const key of ['liveness_path', 'readiness_path'] as const) {
    if (health[key] === config.metrics.path) add(['health', key], 'must differ from metrics.path');
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function checkCertPair(transport: { cert_file?: string; key_file?: string }, base: KeyPath, add: Add): void {
  const cert = transport.cert_file ?? '';
  const key = transport.key_file ?? '';
  if (cert !== '' && key === '')
    add([...base, 'cert_file'], "cert_file needs key_file (the client certificate's private key)");
  if (key !== '' && cert === '')
    add([...base, 'key_file'], 'key_file needs cert_file (the client certificate)');
}

function checkMiddlewares(
  config: ParsedConfig,
  location: ParsedLocation,
  at: (...rest: Array<string | number>) => KeyPath,
  add: Add,
): void {
  const seen = new Set<string>();
  location.middlewares.forEach((name, i) => {
    if (seen.has(name)) add(at('middlewares', i), `"${name}" is listed twice`);
    seen.add(name);
    if (name === 'auth' && location.auth === undefined) {
      add(at('middlewares', i), 'the auth middleware needs an `auth:` block on this location');
    }
    if (name === 'rate-limiter-redis' && !config.redis.enabled) {
      add(at('middlewares', i), 'rate-limiter-redis needs redis.enabled: true');
    }
  });
}

/**
 * An admin listener others can reach must ask who they are: it shows the config and can reload it.
 * Refused at load rather than warned about, since a warning in a log is easy to miss.
 */
function checkAdmin(config: ParsedConfig, add: Add): void {
  const admin = config.admin;
  if (!admin.enabled) return;
  if (!isLoopbackAddress(admin.address) && admin.auth === undefined) {
    add(
      ['admin', 'address'],
      `the admin listener on ${admin.address} is reachable from other machines: configure admin.auth (basic or bearer), or bind 127.0.0.1`,
    );
  }
  if (admin.port !== 0 && admin.port === config.port) {
    add(['admin', 'port'], 'the admin listener needs its own port, not the proxy port');
  }
}

/** `target_url` xor `targets`, distinct targets, and pool settings that only make sense together. */
function checkTargets(
  location: ParsedLocation,
  at: (...rest: Array<string | number>) => KeyPath,
  add: Add,
  raw: unknown,
): void {
  const targets = location.targets;
  if (location.target_url !== undefined && targets !== undefined) {
    add(at('targets'), 'use either `target_url` or `targets`, not both', 'key');
  } else if (location.target_url === undefined && targets === undefined) {
    // `target_url:` written with no value (dropped before validation) is named as such.
    const written = valueAt(raw, at('target_url')).present;
    add(
      at('target_url'),
      written ? 'required key has no value' : 'required key is missing',
      written ? 'value' : 'parent',
    );
  }
  const seen = new Set<string>();
  targets?.forEach((entry, i) => {
    const href = (entry instanceof URL ? entry : entry.url).href;
    if (seen.has(href)) add(at('targets', i), `${href} is listed twice (give it a weight instead)`);
    seen.add(href);
  });
  const balancing = location.load_balancing;
  if (balancing?.policy === 'hash' && balancing.hash_on === undefined) {
    add(at('load_balancing', 'hash_on'), 'required key is missing (policy is hash)', 'parent');
  }
  if (balancing?.hash_on !== undefined && balancing.policy !== 'hash') {
    add(at('load_balancing', 'hash_on'), 'hash_on needs policy: hash', 'key');
  }
  const check = location.health_check;
  if (check !== undefined && check.timeout > check.interval) {
    add(at('health_check', 'timeout'), 'must not be longer than interval');
  }
  const outlier = location.outlier_detection;
  if (outlier !== undefined && outlier.base_ejection_time > outlier.max_ejection_time) {
    add(at('outlier_detection', 'base_ejection_time'), 'must not be longer than max_ejection_time');
  }
}

function checkRedis(config: ParsedConfig, add: Add): void {
  const redis = config.redis;
  if (redis.cluster !== undefined && redis.sentinel !== undefined) {
    add(['redis', 'sentinel'], 'use either `cluster` or `sentinel`, not both');
  }
  if (redis.cluster !== undefined && redis.db !== 0) {
    add(['redis', 'db'], 'a Redis Cluster has only database 0');
  }
  if (redis.ca_file !== undefined && !redis.tls) {
    add(['redis', 'ca_file'], 'ca_file needs tls: true');
  }
}

/** Header names are case-insensitive: `X-A` and `x-a` would silently overwrite each other. */
function checkHeaderNames(
  location: ParsedLocation,
  at: (...rest: Array<string | number>) => KeyPath,
  add: Add,
): void {
  const seen = new Map<string, string>();
  for (const name of Object.keys(location.additional_headers)) {
    const first = seen.get(name.toLowerCase());
    if (first !== undefined) {
      add(
        at('additional_headers', name),
        `header "${name}" is already set as "${first}" (names are case-insensitive)`,
        'key',
      );
    }
    seen.set(name.toLowerCase(), name);
  }
}

function checkRateLimiting(
  location: ParsedLocation,
  at: (...rest: Array<string | number>) => KeyPath,
  add: Add,
): void {
  const limits = location.rate_limiting;
  if (limits.enabled && limits.requests_per_second === undefined) {
    add(
      at('rate_limiting', 'requests_per_second'),
      'required key is missing (rate_limiting is enabled)',
      'parent',
    );
  }
}

function checkAuth(
  location: ParsedLocation,
  at: (...rest: Array<string | number>) => KeyPath,
  add: Add,
): void {
  const auth = location.auth;
  if (auth === undefined) return;
  if (auth.type === 'basic') {
    if (auth.users === undefined && auth.htpasswd_file === undefined) {
      add(at('auth'), 'basic auth needs `users` or `htpasswd_file`');
    } else if (auth.users !== undefined && auth.htpasswd_file !== undefined) {
      add(at('auth', 'htpasswd_file'), 'use either `users` or `htpasswd_file`, not both');
    }
    return;
  }
  if (auth.type === 'api_key') {
    if (auth.header !== undefined && auth.query !== undefined) {
      add(at('auth', 'query'), 'use either `header` or `query`, not both');
    }
    return;
  }
  const sources = (['secret', 'public_key_file', 'jwks_url'] as const).filter(
    (key) => auth[key] !== undefined,
  );
  if (sources.length === 0) {
    add(at('auth'), 'jwt auth needs one of `secret`, `public_key_file` or `jwks_url`');
    return;
  }
  if (sources.length > 1) {
    add(
      at('auth', sources[1]!),
      `use only one of \`secret\`, \`public_key_file\` or \`jwks_url\` (\`${sources[0]}\` is set)`,
    );
    return;
  }
  const symmetric = sources[0] === 'secret';
  auth.algorithms.forEach((alg, i) => {
    // Mixing HMAC with public keys is the classic algorithm-confusion hole: refuse it.
    if (alg.startsWith('HS') !== symmetric) {
      const needs = symmetric ? 'needs `public_key_file` or `jwks_url`' : 'needs `secret`';
      add(at('auth', 'algorithms', i), `algorithm ${alg} ${needs}`);
    }
  });
  if (auth.secret !== undefined && Buffer.byteLength(auth.secret) < MIN_HMAC_SECRET_BYTES) {
    add(at('auth', 'secret'), `must be at least ${MIN_HMAC_SECRET_BYTES} bytes long for HMAC (RFC 7518)`);
  }
  if (auth.jwks_url !== undefined) {
    const problem = jwksUrlProblem(auth.jwks_url);
    if (problem) add(at('auth', 'jwks_url'), problem);
  }
  const seen = new Map<string, string>();
  for (const [claim, header] of Object.entries(auth.forward_claims)) {
    const lower = header.toLowerCase();
    if (RESERVED_CLAIM_HEADERS.has(lower)) {
      add(at('auth', 'forward_claims', claim), `header ${header} is reserved: choose another name`);
    } else if (seen.has(lower)) {
      add(
        at('auth', 'forward_claims', claim),
        `header ${header} is already used by claim ${seen.get(lower)}`,
      );
    }
    seen.set(lower, claim);
  }
}

function jwksUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `invalid URL ${JSON.stringify(value)}`;
  }
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) return undefined;
  return 'must be an https URL (http is accepted only for localhost, 127.0.0.1 and [::1])';
}
