// The admin API's config view: snake_case keys, effective values, secrets masked wherever they
// sit, user-chosen names (users, headers, claims) kept as written.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MASKED, maskedConfig } from '../../src/admin/mask.js';
import { parseConfigText } from '../../src/config/load.js';
import { bcryptHash, sha256Hex } from '../helpers/auth.js';

const HASH = bcryptHash('pw');

const TEXT = `
port: 8081
redis:
  password: redis-pw
  sentinel: { master_name: m, nodes: ["127.0.0.1:26379"], password: sentinel-pw }
admin:
  enabled: true
  auth: { type: bearer, tokens: [${sha256Hex('t')}] }
locations:
  - path: ^/a/
    target_url: http://bob:target-pw@127.0.0.1:9/x
    additional_headers: { Cookie: "s=1", X-Service-Key: k1, X-Tenant: acme }
    middlewares: [auth]
    auth:
      type: jwt
      secret: "${'j'.repeat(40)}"
      algorithms: [HS256]
      forward_claims: { sub: X-User-Id }
  - path: ^/b/
    target_url: http://127.0.0.1:9
    middlewares: [auth]
    auth: { type: basic, users: { Alice: "${HASH}" } }
  - path: ^/c/
    target_url: http://127.0.0.1:9
    middlewares: [auth]
    auth: { type: api_key, keys: [${sha256Hex('k')}] }
`;

test('every secret is masked; names, paths and plain values stay', () => {
  const view = maskedConfig(parseConfigText(TEXT, 'c.yaml').config);
  const text = JSON.stringify(view);
  for (const secret of [
    'redis-pw',
    'sentinel-pw',
    'target-pw',
    'j'.repeat(40),
    HASH,
    sha256Hex('t'),
    sha256Hex('k'),
    'k1',
    's=1',
  ]) {
    assert.ok(!text.includes(secret), `${secret} leaked`);
  }
  const redis = view.redis as { password: string; sentinel: { password: string; master_name: string } };
  assert.equal(redis.password, MASKED);
  assert.equal(redis.sentinel.password, MASKED);
  assert.equal(redis.sentinel.master_name, 'm');
  assert.deepEqual((view.admin as { auth: unknown }).auth, { type: 'bearer', tokens: [MASKED] });
  const [a, b, c] = view.locations as Array<Record<string, unknown>>;
  assert.equal(a!.target_url, `http://${MASKED}@127.0.0.1:9/x`);
  assert.deepEqual(a!.additional_headers, { Cookie: MASKED, 'X-Service-Key': MASKED, 'X-Tenant': 'acme' });
  assert.deepEqual((a!.auth as { forward_claims: object }).forward_claims, { sub: 'X-User-Id' });
  assert.equal(a!.path, '^/a/');
  assert.equal(a!.path_regex, undefined, 'the compiled regex is left out');
  assert.deepEqual((b!.auth as { users: object }).users, { Alice: MASKED });
  assert.deepEqual((c!.auth as { keys: string[] }).keys, [MASKED]);
  assert.equal(view.request_timeout_ms, 30_000);
});

test('empty secrets stay empty (nothing to hide, and the operator sees none is set)', () => {
  const view = maskedConfig(parseConfigText('port: 8081\n', 'c.yaml').config);
  assert.equal((view.redis as { password: string }).password, '');
});
