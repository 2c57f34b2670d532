// Every kind of config error, with its exact one-line `file:line:col: key.path: message`.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfigText } from '../../src/config/load.js';

const LOCATION = 'locations:\n  - path: "^/a"\n    target_url: http://127.0.0.1:9\n';

function errorOf(text: string): ConfigError {
  try {
    parseConfigText(text, 'config.yaml');
  } catch (error) {
    assert.ok(error instanceof ConfigError, `not a ConfigError: ${String(error)}`);
    assert.equal(error.code, 'DITO_ERR_CONFIG');
    assert.ok(!error.message.includes('\n'), 'the message must be one line');
    return error;
  }
  assert.fail('the config was accepted');
}

const cases: Array<[name: string, text: string, message: string]> = [
  // YAML itself
  [
    'YAML syntax error',
    'port: [1, 2\n',
    'config.yaml:2:1: Flow sequence in block collection must be sufficiently indented and end with a ]',
  ],
  ['tab indentation', 'a:\n\t- b\n', 'config.yaml:2:1: Tabs are not allowed as indentation'],
  ['unknown tag', 'port: !foo 1\n', 'config.yaml:1:7: Unresolved tag: !foo'],
  [
    'undefined alias',
    'port: *x\n',
    'config.yaml:1:1: Unresolved alias (the anchor must be set before the alias): x',
  ],
  [
    'two documents',
    'port: 1\n---\nport: 2\n',
    'config.yaml:2:1: Source contains multiple documents; please use YAML.parseAllDocuments()',
  ],
  ['duplicate key', 'port: 1\nhot_reload: true\nport: 2\n', 'config.yaml:3:1: port: duplicate key "port"'],
  [
    'duplicate nested key',
    LOCATION + '    path: "^/b"\n',
    'config.yaml:4:5: locations[0].path: duplicate key "path"',
  ],
  [
    '__proto__ key',
    'logging:\n  __proto__: {level: debug}\n',
    'config.yaml:2:3: logging.__proto__: key "__proto__" is not allowed',
  ],
  [
    'alias inside itself',
    'trusted_proxies: &a [*a]\n',
    'config.yaml:1:22: trusted_proxies[0]: alias *a refers to itself',
  ],
  [
    'alias bomb',
    `a: &a [1, 2]\nb: &b [${'*a, '.repeat(9)}*a]\nc: [${'*b, '.repeat(119)}*b]\n`,
    'config.yaml:1:1: Excessive alias count indicates a resource exhaustion attack',
  ],
  ['complex key', '[a]: 1\n', 'config.yaml:1:1: keys must be plain strings'],
  ['empty file', '', 'config.yaml:1:1: the file is empty: expected a mapping'],
  ['comments only', '# nothing\n', 'config.yaml:1:1: the file is empty: expected a mapping'],
  ['a list', '- port: 1\n', 'config.yaml:1:1: expected a mapping (key: value pairs), got a list'],
  ['a scalar', 'hello\n', 'config.yaml:1:1: expected a mapping (key: value pairs), got a single value'],
  // types and ranges
  [
    'wrong type',
    'hot_reload: "maybe"\n',
    'config.yaml:1:13: hot_reload: expected true or false, got the string "maybe"',
  ],
  [
    'wrong type, number',
    'hot_reload: 1\n',
    'config.yaml:1:13: hot_reload: expected true or false, got the number 1',
  ],
  [
    'string expected',
    'redis:\n  password: 123456\n',
    'config.yaml:2:13: redis.password: expected a string, got the number 123456 (quote it: "123456")',
  ],
  ['port out of range', 'port: 70000\n', 'config.yaml:1:7: port: must be at most 65535, got 70000'],
  ['port string out of range', "port: '99999'\n", 'config.yaml:1:7: port: must be at most 65535, got 99999'],
  ['port not numeric', 'port: http\n', 'config.yaml:1:7: port: expected a port number 0-65535, got "http"'],
  [
    'enum',
    'logging:\n  level: verbose\n',
    'config.yaml:2:10: logging.level: expected "debug", "info", "warn" or "error", got the string "verbose"',
  ],
  ['list expected', 'locations:\n  a: 1\n', 'config.yaml:2:3: locations: expected a list, got a mapping'],
  [
    'mapping expected',
    'locations:\n  - "^/a"\n',
    'config.yaml:2:5: locations[0]: expected a mapping, got the string "^/a"',
  ],
  [
    'size',
    'response_limits:\n  max_response_body_size: 10XB\n',
    'config.yaml:2:27: response_limits.max_response_body_size: invalid size "10XB": expected bytes as an integer, or a number with a unit B, KB, KiB, MB, MiB, GB or GiB',
  ],
  [
    'zero global limit',
    'response_limits:\n  max_response_body_size: 0\n',
    'config.yaml:2:27: response_limits.max_response_body_size: must be more than 0 bytes',
  ],
  [
    'trusted proxy',
    'trusted_proxies: [10.0.0.0/8, 10.0.0.0/33]\n',
    'config.yaml:1:31: trusted_proxies[1]: "10.0.0.0/33" is not an IP address or CIDR range',
  ],
  [
    'cache ttl as duration',
    LOCATION + '    cache:\n      ttl: 30s\n',
    'config.yaml:5:12: locations[0].cache.ttl: cache.ttl is whole seconds: write a number such as 30, not "30s"',
  ],
  [
    'rate zero',
    LOCATION + '    rate_limiting:\n      requests_per_second: 0\n',
    'config.yaml:5:28: locations[0].rate_limiting.requests_per_second: must be more than 0, got 0',
  ],
  [
    'burst fractional',
    LOCATION + '    rate_limiting: {requests_per_second: 1, burst: 1.5}\n',
    'config.yaml:4:52: locations[0].rate_limiting.burst: expected an integer, got the number 1.5',
  ],
  // required keys
  [
    'missing target_url',
    'locations:\n  - path: "^/a"\n',
    'config.yaml:2:5: locations[0].target_url: required key is missing',
  ],
  [
    'missing path',
    'locations:\n  - target_url: http://127.0.0.1:9\n',
    'config.yaml:2:5: locations[0].path: required key is missing',
  ],
  [
    'empty target_url',
    'locations:\n  - path: "^/a"\n    target_url:\n',
    'config.yaml:3:16: locations[0].target_url: required key has no value',
  ],
  [
    'plugins incomplete',
    'plugins:\n  directory: plugins\n',
    'config.yaml:2:3: plugins.public_key_path: required key is missing',
  ],
  // unknown keys
  [
    'unknown key, near',
    LOCATION + '    targte_url: x\n',
    'config.yaml:4:5: locations[0].targte_url: unknown key "targte_url" (did you mean "target_url"?)',
  ],
  [
    'misspelt required key reported before its absence',
    'locations:\n  - path: "^/a"\n    targte_url: x\n',
    'config.yaml:3:5: locations[0].targte_url: unknown key "targte_url" (did you mean "target_url"?)',
  ],
  [
    'unknown key, camelCase',
    LOCATION + '    enableWebsocket: true\n',
    'config.yaml:4:5: locations[0].enableWebsocket: unknown key "enableWebsocket" (did you mean "enable_websocket"?)',
  ],
  ['unknown key, root', 'prot: 8080\n', 'config.yaml:1:1: prot: unknown key "prot" (did you mean "port"?)'],
  [
    'unknown key in transport',
    'transport:\n  http:\n    dial_timout: 1s\n',
    'config.yaml:3:5: transport.http.dial_timout: unknown key "dial_timout" (did you mean "dial_timeout"?)',
  ],
  [
    'unknown key in auth (per type)',
    LOCATION + '    auth:\n      type: jwt\n      secrett: x\n',
    'config.yaml:6:7: locations[0].auth.secrett: unknown key "secrett" (did you mean "secret"?)',
  ],
  [
    'unknown key, far',
    LOCATION + '    rate_limiting: {enabled: true, rps: 1}\n',
    'config.yaml:4:36: locations[0].rate_limiting.rps: unknown key "rps" (expected one of: enabled, requests_per_second, burst, failure_mode, key)',
  ],
  // regex, durations, URLs
  [
    'invalid regex',
    'locations:\n  - path: "^/a"\n    target_url: http://x\n  - path: "(unclosed"\n    target_url: http://x\n',
    'config.yaml:4:11: locations[1].path: invalid regular expression: Unterminated group',
  ],
  [
    'duration without unit',
    'request_timeout: 5\n',
    'config.yaml:1:18: request_timeout: a duration needs a unit: write "5s" or "5ms" (Go syntax), not the plain number 5',
  ],
  [
    'duration bad unit',
    'request_timeout: 5sec\n',
    'config.yaml:1:18: request_timeout: invalid duration "5sec": unknown unit "sec" (valid units: ns, us, µs, ms, s, m, h)',
  ],
  [
    'duration garbage',
    'transport:\n  http:\n    dial_timeout: soon\n',
    'config.yaml:3:19: transport.http.dial_timeout: invalid duration "soon": use Go syntax such as "300ms", "1.5s", "1m30s" or "2h45m"',
  ],
  [
    'negative duration',
    'shutdown_timeout: -1s\n',
    'config.yaml:1:19: shutdown_timeout: invalid duration "-1s": must not be negative',
  ],
  [
    'bad URL scheme',
    'locations:\n  - path: "^/a"\n    target_url: ftp://x\n',
    'config.yaml:3:17: locations[0].target_url: unsupported scheme "ftp": use http, https, ws or wss',
  ],
  [
    'URL without host',
    'locations:\n  - path: "^/a"\n    target_url: "http://"\n',
    'config.yaml:3:17: locations[0].target_url: invalid URL "http://": expected e.g. "http://127.0.0.1:8080/api"',
  ],
  // headers
  [
    'CR/LF in header value',
    LOCATION + '    additional_headers:\n      X-A: "a\\r\\nb"\n',
    'config.yaml:5:12: locations[0].additional_headers.X-A: header value must not contain CR, LF or NUL (they would split or corrupt the request)',
  ],
  [
    'NUL in header value',
    LOCATION + '    additional_headers:\n      X-A: "a\\0"\n',
    'config.yaml:5:12: locations[0].additional_headers.X-A: header value must not contain CR, LF or NUL (they would split or corrupt the request)',
  ],
  [
    'bad header name',
    LOCATION + '    additional_headers:\n      "X A": b\n',
    'config.yaml:5:7: locations[0].additional_headers.X A: invalid header name "X A": only letters, digits and !#$%&\'*+-.^_`|~ are allowed',
  ],
  [
    'header set twice',
    LOCATION + '    additional_headers: {X-A: 1, x-a: 2}\n',
    'config.yaml:4:34: locations[0].additional_headers.x-a: header "x-a" is already set as "X-A" (names are case-insensitive)',
  ],
  [
    'bad excluded header',
    LOCATION + '    excluded_headers: ["Cookie:"]\n',
    'config.yaml:4:24: locations[0].excluded_headers[0]: invalid header name "Cookie:": only letters, digits and !#$%&\'*+-.^_`|~ are allowed',
  ],
  // middlewares and auth
  [
    'auth without auth block',
    LOCATION + '    middlewares: [cache, auth]\n',
    'config.yaml:4:26: locations[0].middlewares[1]: the auth middleware needs an `auth:` block on this location',
  ],
  [
    'middleware twice',
    LOCATION + '    middlewares:\n      - cache\n      - cache\n',
    'config.yaml:6:9: locations[0].middlewares[1]: "cache" is listed twice',
  ],
  [
    'redis limiter without redis',
    LOCATION + '    middlewares: [rate-limiter-redis]\n',
    'config.yaml:4:19: locations[0].middlewares[0]: rate-limiter-redis needs redis.enabled: true',
  ],
  [
    'rate limiting enabled without rate',
    LOCATION + '    rate_limiting:\n      enabled: true\n',
    'config.yaml:5:7: locations[0].rate_limiting.requests_per_second: required key is missing (rate_limiting is enabled)',
  ],
  [
    'auth type unknown',
    LOCATION + '    auth:\n      type: oauth\n',
    'config.yaml:5:13: locations[0].auth.type: expected one of "basic", "api_key", "jwt", got the string "oauth"',
  ],
  [
    'auth type missing',
    LOCATION + '    auth:\n      realm: x\n',
    'config.yaml:5:7: locations[0].auth.type: required key is missing',
  ],
  [
    'basic plain password',
    LOCATION + '    auth:\n      type: basic\n      users: {alice: secret}\n',
    'config.yaml:6:22: locations[0].auth.users.alice: expected a bcrypt hash ("$2b$10$..."), never a plain password',
  ],
  [
    'basic without users',
    LOCATION + '    auth:\n      type: basic\n',
    'config.yaml:5:7: locations[0].auth: basic auth needs `users` or `htpasswd_file`',
  ],
  [
    'api_key not hashed',
    LOCATION + '    auth:\n      type: api_key\n      keys: [hunter2]\n',
    'config.yaml:6:14: locations[0].auth.keys[0]: expected a SHA-256 hex digest (64 hex characters), got "hunter2"',
  ],
  [
    'jwt alg none',
    LOCATION + '    auth:\n      type: jwt\n      secret: x\n      algorithms: [none]\n',
    'config.yaml:7:20: locations[0].auth.algorithms[0]: algorithm "none" is refused: it would accept unsigned tokens',
  ],
  [
    'jwt no algorithms',
    LOCATION + '    auth:\n      type: jwt\n      secret: x\n      algorithms: []\n',
    'config.yaml:7:19: locations[0].auth.algorithms: must have at least 1 entry',
  ],
  [
    'jwt no key source',
    LOCATION + '    auth:\n      type: jwt\n      algorithms: [HS256]\n',
    'config.yaml:5:7: locations[0].auth: jwt auth needs one of `secret`, `public_key_file` or `jwks_url`',
  ],
  [
    'jwt two key sources',
    LOCATION +
      '    auth:\n      type: jwt\n      secret: x\n      jwks_url: https://idp/jwks\n      algorithms: [RS256]\n',
    'config.yaml:7:17: locations[0].auth.jwks_url: use only one of `secret`, `public_key_file` or `jwks_url` (`secret` is set)',
  ],
  [
    'jwt algorithm confusion',
    LOCATION + '    auth:\n      type: jwt\n      public_key_file: k.pem\n      algorithms: [RS256, HS256]\n',
    'config.yaml:7:27: locations[0].auth.algorithms[1]: algorithm HS256 needs `secret`',
  ],
  [
    'jwt short secret',
    LOCATION + '    auth:\n      type: jwt\n      secret: short\n      algorithms: [HS256]\n',
    'config.yaml:6:15: locations[0].auth.secret: must be at least 32 bytes long for HMAC (RFC 7518)',
  ],
  [
    'jwks over http',
    LOCATION + '    auth:\n      type: jwt\n      jwks_url: http://idp/jwks\n      algorithms: [RS256]\n',
    'config.yaml:6:17: locations[0].auth.jwks_url: must be an https URL (http is accepted only for localhost, 127.0.0.1 and [::1])',
  ],
  // transport
  [
    'client cert without key',
    'transport:\n  http:\n    cert_file: c.pem\n',
    "config.yaml:3:16: transport.http.cert_file: cert_file needs key_file (the client certificate's private key)",
  ],
  [
    'location key without cert',
    LOCATION + '    transport:\n      http:\n        key_file: k.pem\n',
    'config.yaml:6:19: locations[0].transport.http.key_file: key_file needs cert_file (the client certificate)',
  ],
];

describe('config errors', () => {
  for (const [name, text, message] of cases) {
    it(name, () => assert.equal(errorOf(text).message, message));
  }

  it('reports the first problem in file order, whatever the schema order', () => {
    // The list of valid keys grows with extensions: check its shape, not every name.
    assert.match(
      errorOf('zzz: 1\nlogging:\n  level: nope\n').message,
      /^config\.yaml:1:1: zzz: unknown key "zzz" \(expected one of: port, hot_reload, .*locations\)$/,
    );
    assert.equal(
      errorOf('logging:\n  level: nope\nport: x\n').message,
      'config.yaml:2:10: logging.level: expected "debug", "info", "warn" or "error", got the string "nope"',
    );
  });

  it('matches the contract example shape (line 14, column 11)', () => {
    const text = `${'# padding\n'.repeat(9)}locations:\n  - path: "^/ok"\n    target_url: http://127.0.0.1:9\n  - target_url: http://127.0.0.1:9\n    path: "^/api/(v1"\n`;
    const error = errorOf(text);
    assert.equal(
      error.message,
      'config.yaml:14:11: locations[1].path: invalid regular expression: Unterminated group',
    );
    assert.equal(error.where, 'config.yaml:14:11');
    assert.equal(error.keyPath, 'locations[1].path');
  });

  it('names the file as the caller gave it', () => {
    assert.throws(() => parseConfigText('prot: 1\n', 'deploy/../bin/config.yaml'), {
      message: 'deploy/../bin/config.yaml:1:1: prot: unknown key "prot" (did you mean "port"?)',
    });
  });
});

// Found by the config fuzzer: a YAML complex key spanning lines (`? port\n  port`) produced a
// two-line error, breaking the one-line contract of stderr and logs.
it('regression: a key containing a line break still gives a one-line error', () => {
  assert.throws(
    () => parseConfigText('?\n  port\n  \n  port', 'config.yaml'),
    (err: unknown) =>
      err instanceof ConfigError && !err.message.includes('\n') && err.message.includes('port\\nport'),
  );
});
