// Loading configs through the front door: defaults, the original project's example, transport
// inheritance, path resolution, normalisation and `locate`.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfigFile, parseConfigText } from '../../src/config/load.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/config/', import.meta.url));
const ORIGINAL = path.join(FIXTURES, 'original.yaml');
const MiB = 1024 * 1024;
const LOCATION = 'locations:\n  - path: "^/a"\n    target_url: http://127.0.0.1:9\n';

describe('defaults', () => {
  const { config } = parseConfigText(LOCATION, '/etc/dito/config.yaml');

  it('match the contract table', () => {
    assert.equal(config.port, 8081);
    assert.equal(config.hotReload, false);
    assert.deepEqual(config.logging, { enabled: true, verbose: false, level: 'info' });
    assert.deepEqual(config.metrics, { enabled: false, path: '/metrics' });
    assert.deepEqual(config.redis, {
      enabled: false,
      host: 'localhost',
      port: 6379,
      password: '',
      username: undefined,
      db: 0,
      tls: false,
      caFile: undefined,
      keyPrefix: 'dito:',
      commandTimeoutMs: 200,
      connectTimeoutMs: 2000,
      cluster: undefined,
      sentinel: undefined,
    });
    assert.deepEqual(config.transport, {
      idleConnTimeoutMs: 90_000,
      maxIdleConns: 1000,
      maxIdleConnsPerHost: 200,
      maxConnsPerHost: 0,
      tlsHandshakeTimeoutMs: 10_000,
      responseHeaderTimeoutMs: 0,
      expectContinueTimeoutMs: 1000,
      disableCompression: false,
      dialTimeoutMs: 5000,
      keepAliveMs: 30_000,
      forceHttp2: false,
      certFile: undefined,
      keyFile: undefined,
      caFile: undefined,
      insecureSkipVerify: false,
    });
    assert.equal(config.plugins, undefined);
    assert.deepEqual(config.responseLimits, { maxResponseBodySize: 100 * MiB });
    assert.equal(config.requestTimeoutMs, 30_000);
    assert.equal(config.shutdownTimeoutMs, 15_000);
    assert.deepEqual(config.trustedProxies, []);
    assert.equal(config.tls, undefined);
  });

  it('of a location', () => {
    const location = config.locations[0]!;
    assert.equal(location.index, 0);
    assert.equal(location.replacePath, false);
    assert.equal(location.enableWebsocket, false);
    assert.deepEqual(location.additionalHeaders, []);
    assert.deepEqual(location.excludedHeaders, []);
    assert.deepEqual(location.middlewares, []);
    assert.deepEqual(location.rateLimiting, {
      enabled: false,
      requestsPerSecond: 0,
      burst: 1,
      failureMode: 'open',
      key: undefined,
    });
    assert.deepEqual(location.cache, { enabled: false, ttlSeconds: 60, maxBodySize: MiB });
    assert.equal(location.auth, undefined);
    assert.deepEqual(location.transport, config.transport);
    assert.equal(location.maxResponseBodySize, 100 * MiB);
    assert.equal(location.disableResponseBuffering, false);
  });

  it('reads YAML 1.1 booleans (yes/no/on/off) as the original did', () => {
    const { config } = parseConfigText(
      'hot_reload: yes\nmetrics:\n  enabled: On\nlogging:\n  enabled: off\n',
      'c.yaml',
    );
    assert.equal(config.hotReload, true);
    assert.equal(config.metrics.enabled, true);
    assert.equal(config.logging.enabled, false);
  });

  it('a known key with no value counts as not set', () => {
    const text = `${LOCATION}    middlewares:\n      # - cache\n    additional_headers:\n    cache:\nredis:\n  password:\n`;
    const { config } = parseConfigText(text, 'c.yaml');
    assert.deepEqual(config.locations[0]!.middlewares, []);
    assert.deepEqual(config.locations[0]!.additionalHeaders, []);
    assert.equal(config.locations[0]!.cache.ttlSeconds, 60);
    assert.equal(config.redis.password, '');
    assert.throws(
      () => parseConfigText(`${LOCATION}    middlewarez:\n`, 'c.yaml'),
      /unknown key "middlewarez"/,
    );
  });

  it('a minimal file is just a mapping', () => {
    assert.deepEqual(parseConfigText('port: 0\n', 'c.yaml').config.locations, []);
    assert.equal(parseConfigText('port: 0\n', 'c.yaml').config.port, 0);
  });
});

describe('the original project README example (hosts swapped for local ones)', async () => {
  const loaded = await loadConfigFile(ORIGINAL);
  const { config } = loaded;

  it('loads unchanged and means the same', () => {
    assert.equal(config.port, 8081);
    assert.equal(config.hotReload, true);
    assert.deepEqual(config.metrics, { enabled: true, path: '/metrics' });
    assert.equal(config.redis.enabled, true);
    assert.equal(config.redis.port, 6379);
    assert.equal(config.transport.tlsHandshakeTimeoutMs, 2000);
    assert.equal(config.transport.expectContinueTimeoutMs, 500);
    assert.equal(config.transport.forceHttp2, true);
    assert.equal(config.locations.length, 2);
    const [ws, dito] = config.locations;
    assert.equal(ws!.targetUrl?.href, 'ws://127.0.0.1:9/ws');
    assert.equal(ws!.enableWebsocket, true);
    assert.equal(ws!.replacePath, true);
    assert.ok(ws!.pathRegex.test('/test-ws'));
    assert.ok(!ws!.pathRegex.test('/test-ws/x'));
    assert.equal(dito!.targetUrl?.href, 'http://127.0.0.1:9/get');
    assert.deepEqual(dito!.additionalHeaders, [['il-molise', 'non esiste']]);
    assert.deepEqual(dito!.excludedHeaders, ['cookie']);
    assert.deepEqual(dito!.middlewares, ['rate-limiter-redis', 'cache']);
    assert.deepEqual(dito!.rateLimiting, {
      enabled: true,
      requestsPerSecond: 2,
      burst: 4,
      failureMode: 'open',
      key: undefined,
    });
    assert.equal(dito!.cache.enabled, true);
    assert.equal(dito!.cache.ttlSeconds, 30);
    // cert_file: "" in the original means no file.
    assert.equal(dito!.transport.certFile, undefined);
    assert.equal(dito!.transport.maxIdleConnsPerHost, 400);
    assert.equal(dito!.transport.disableCompression, true);
    assert.equal(dito!.transport.forceHttp2, false);
  });

  it('keeps the file as given, its SHA-256, and positions', () => {
    assert.equal(loaded.file, ORIGINAL);
    assert.equal(loaded.sha256, createHash('sha256').update(readFileSync(ORIGINAL)).digest('hex'));
    assert.equal(loaded.locate(['locations', 1, 'middlewares', 0]), `${ORIGINAL}:74:11`);
    assert.equal(loaded.locate(['port']), `${ORIGINAL}:3:7`);
  });
});

describe('per-location transport', () => {
  const text = `transport:
  http:
    dial_timeout: 2s
    max_idle_conns_per_host: 50
    ca_file: ca.pem
locations:
  - path: "^/inherit"
    target_url: http://127.0.0.1:9
  - path: "^/override"
    target_url: https://127.0.0.1:9
    transport:
      http:
        dial_timeout: 750ms
        force_http2: true
        response_header_timeout: 0
        ca_file: ""
`;
  const { config } = parseConfigText(text, '/srv/dito/config.yaml');

  it('inherits every key left out, key by key', () => {
    assert.deepEqual(config.locations[0]!.transport, config.transport);
    const own = config.locations[1]!.transport;
    assert.deepEqual(own, {
      ...config.transport,
      dialTimeoutMs: 750,
      forceHttp2: true,
      responseHeaderTimeoutMs: 0,
      caFile: undefined,
    });
    assert.equal(own.maxIdleConnsPerHost, 50);
    assert.equal(config.transport.caFile, '/srv/dito/ca.pem');
  });
});

describe('normalisation', () => {
  it('resolves relative paths against the config file folder', () => {
    const text = `plugins:
  directory: ./plugins
  public_key_path: keys/ed25519_public.key
  public_key_hash: ${'AB'.repeat(32)}
tls:
  cert_file: tls/server.crt
  key_file: /etc/ssl/server.key
transport:
  http:
    cert_file: client.crt
    key_file: client.key
locations:
  - path: "^/a"
    target_url: http://127.0.0.1:9
    auth:
      type: basic
      htpasswd_file: ../../secrets/htpasswd
`;
    const { config } = parseConfigText(text, '/opt/dito/conf/config.yaml');
    assert.deepEqual(config.plugins, {
      directory: '/opt/dito/conf/plugins',
      publicKeyPath: '/opt/dito/conf/keys/ed25519_public.key',
      publicKeyHash: 'ab'.repeat(32),
    });
    assert.deepEqual(config.tls, {
      certFile: '/opt/dito/conf/tls/server.crt',
      keyFile: '/etc/ssl/server.key',
      caFile: undefined,
      minVersion: 'TLSv1.2',
    });
    assert.equal(config.transport.certFile, '/opt/dito/conf/client.crt');
    assert.equal(config.locations[0]!.transport.keyFile, '/opt/dito/conf/client.key');
    const auth = config.locations[0]!.auth;
    assert.equal(auth?.type === 'basic' && auth.htpasswdFile, '/opt/secrets/htpasswd');
  });

  it('a relative config path resolves against the working directory', () => {
    const text = 'tls:\n  cert_file: a.crt\n  key_file: a.key\n';
    const { config } = parseConfigText(text, 'conf/config.yaml');
    assert.equal(config.tls?.certFile, path.resolve('conf/a.crt'));
  });

  it('maps locations: headers, limits, rate limits, Go regex', () => {
    const text = `response_limits:
  max_response_body_size: 10MiB
locations:
  - path: "(?i)^/API/(?P<version>v[0-9])/"
    target_url: http://127.0.0.1:9/base
    additional_headers:
      X-Version: 2
      X-Flag: true
      X-Name: dito
    excluded_headers: [Cookie, X-Internal]
    max_response_body_size: 1024
    disable_response_buffering: true
    rate_limiting:
      enabled: true
      requests_per_second: 0.5
      failure_mode: closed
      key: header:X-API-Key
    cache:
      enabled: true
      ttl: 5
      max_body_size: 64KiB
  - path: "^/b"
    target_url: wss://127.0.0.1:9
    max_response_body_size: 0
`;
    const { config } = parseConfigText(text, 'c.yaml');
    const [a, b] = config.locations;
    assert.equal(a!.path, '(?i)^/API/(?P<version>v[0-9])/');
    assert.equal(a!.pathRegex.exec('/api/V1/x')?.groups?.version, 'V1');
    assert.deepEqual(a!.additionalHeaders, [
      ['X-Version', '2'],
      ['X-Flag', 'true'],
      ['X-Name', 'dito'],
    ]);
    assert.deepEqual(a!.excludedHeaders, ['cookie', 'x-internal']);
    assert.equal(a!.maxResponseBodySize, 1024);
    assert.equal(b!.maxResponseBodySize, 10 * MiB);
    assert.equal(a!.disableResponseBuffering, true);
    assert.deepEqual(a!.rateLimiting, {
      enabled: true,
      requestsPerSecond: 0.5,
      burst: 1,
      failureMode: 'closed',
      key: 'header:X-API-Key',
    });
    assert.deepEqual(a!.cache, { enabled: true, ttlSeconds: 5, maxBodySize: 65_536 });
    assert.equal(b!.targetUrl?.protocol, 'wss:');
  });

  it('maps auth blocks with their defaults', () => {
    const hash = 'A'.repeat(64);
    const text = `locations:
  - path: "^/k"
    target_url: http://127.0.0.1:9
    middlewares: [auth]
    auth: {type: api_key, keys: ["${hash}"]}
  - path: "^/j"
    target_url: http://127.0.0.1:9
    auth:
      type: jwt
      jwks_url: https://idp.example/.well-known/jwks.json
      algorithms: [RS256, ES256]
      audience: [a, b]
      clock_tolerance: 30s
      forward_claims: {sub: X-User-Id}
`;
    const [k, j] = parseConfigText(text, 'c.yaml').config.locations;
    assert.deepEqual(k!.auth, {
      type: 'api_key',
      realm: 'dito',
      stripCredentials: false,
      header: 'X-API-Key',
      query: undefined,
      keys: ['a'.repeat(64)],
    });
    assert.deepEqual(j!.auth, {
      type: 'jwt',
      realm: 'dito',
      stripCredentials: false,
      secret: undefined,
      publicKeyFile: undefined,
      jwksUrl: 'https://idp.example/.well-known/jwks.json',
      algorithms: ['RS256', 'ES256'],
      issuer: undefined,
      audience: ['a', 'b'],
      clockToleranceMs: 30_000,
      requiredClaims: [],
      forwardClaims: { sub: 'X-User-Id' },
    });
  });

  it('accepts YAML anchors and merge keys, and locates merged keys', () => {
    const text = `x-upstream: &upstream
  target_url: http://127.0.0.1:9
  replace_path: true
locations:
  - <<: *upstream
    path: "^/a"
`;
    // Unknown top-level keys are refused, anchors included: keep shared blocks inside known keys.
    assert.throws(() => parseConfigText(text, 'c.yaml'), ConfigError);
    const ok = `locations:
  - &first
    path: "^/a"
    target_url: http://127.0.0.1:9
    replace_path: true
  - <<: *first
    path: "^/b"
`;
    const loaded = parseConfigText(ok, 'c.yaml');
    const b = loaded.config.locations[1]!;
    assert.equal(b.path, '^/b');
    assert.equal(b.replacePath, true);
    assert.equal(loaded.locate(['locations', 1, 'path']), 'c.yaml:7:11');
    assert.equal(loaded.locate(['locations', 1, 'target_url']), 'c.yaml:4:17');
  });
});

describe('locate', () => {
  const loaded = parseConfigText(`${LOCATION}    middlewares:\n      - nope\n`, 'dir/config.yaml');
  it('maps key paths to file:line:col', () => {
    assert.equal(loaded.locate(['locations', 0, 'middlewares', 0]), 'dir/config.yaml:5:9');
    assert.equal(loaded.locate(['locations', 0, 'path']), 'dir/config.yaml:2:11');
    assert.equal(loaded.locate(['locations', 0]), 'dir/config.yaml:2:5');
  });
  it('falls back to the nearest ancestor present in the file', () => {
    assert.equal(loaded.locate(['locations', 0, 'cache', 'ttl']), 'dir/config.yaml:2:5');
    assert.equal(loaded.locate(['metrics', 'path']), 'dir/config.yaml:1:1');
  });
});

describe('loadConfigFile', () => {
  it('a missing file is a ConfigError naming it', async () => {
    await assert.rejects(loadConfigFile(path.join(FIXTURES, 'absent.yaml')), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(
        error.message,
        `${path.join(FIXTURES, 'absent.yaml')}: cannot read the config file: no such file`,
      );
      return true;
    });
  });
  it('sha256 is of the file bytes', () => {
    const text = 'port: 1234\n';
    assert.equal(parseConfigText(text, 'c.yaml').sha256, createHash('sha256').update(text).digest('hex'));
  });
});
