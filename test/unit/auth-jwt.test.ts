// The jwt verifier through the middleware factory: each algorithm family accepted with the right
// key, and every kind of bad token refused with 401 + an RFC 6750 challenge; JWKS caching
// observed as request counts on a local key server.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createPrivateKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { exportJWK } from 'jose';
import { ConfigError } from '../../src/config/errors.js';
import { createAuthMiddleware } from '../../src/middlewares/auth/index.js';
import type { AuthIdentity } from '../../src/middlewares/auth/types.js';
import {
  authContext,
  fakeExchange,
  HS_SECRET,
  secretKey,
  signToken,
  type TestKeys,
  testKeys,
  unsignedToken,
} from '../helpers/auth.js';
import { tempDir } from '../helpers/dito.js';
import { waitFor } from '../helpers/net.js';

/** Runs the middleware on `Authorization: Bearer <token>`; says whether it passed and what it answered. */
async function run(auth: Record<string, unknown>, authorization?: string, dir?: string) {
  const context = authContext(auth, { dir });
  const middleware = createAuthMiddleware(context);
  const { exchange, recorded } = fakeExchange(authorization === undefined ? {} : { authorization });
  let passed = false;
  await middleware.handle(exchange, () => {
    passed = true;
  });
  await middleware.close?.();
  if (authorization !== undefined) {
    const token = authorization.replace(/^\S+ */, '');
    if (token.length > 8) assert.ok(!context.logText().includes(token), 'the token never reaches the logs');
  }
  return { passed, recorded, exchange, reason: context.logs.find((entry) => entry.reason)?.reason };
}

const bearer = (token: string) => `Bearer ${token}`;
const hs = { type: 'jwt', secret: HS_SECRET, algorithms: ['HS256'] };

function assertRefused(
  result: Awaited<ReturnType<typeof run>>,
  reason: string,
  error: string | null = 'invalid_token',
) {
  assert.equal(result.passed, false);
  assert.equal(result.reason, reason);
  assert.equal(result.recorded.status, 401);
  const challenge = String(result.recorded.headers['www-authenticate']);
  assert.match(challenge, /^Bearer realm="dito"/);
  if (error === null) assert.doesNotMatch(challenge, /error=/);
  else assert.match(challenge, new RegExp(`error="${error}"`));
  const body = JSON.parse(result.recorded.body) as { error: { code: number; message: string } };
  assert.equal(body.error.code, 401);
  assert.equal(body.error.message, 'Unauthorized');
}

describe('jwt auth', () => {
  let keys: TestKeys;
  let dir: string;

  before(() => {
    keys = testKeys();
    dir = tempDir('dito-jwt-');
    writeFileSync(join(dir, 'rsa.pem'), keys.rsa.publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(join(dir, 'ec.pem'), keys.ec.publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(join(dir, 'ed.pem'), keys.ed.publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(join(dir, 'private.pem'), keys.ec.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  });

  test('HS256 with the right secret passes and records the identity', async () => {
    const result = await run(hs, bearer(await signToken('HS256', secretKey(), { role: 'admin' })));
    assert.equal(result.passed, true);
    const identity = result.exchange.locals?.auth as AuthIdentity;
    assert.equal(identity.type, 'jwt');
    assert.equal(identity.subject, 'alice');
    assert.equal(identity.claims?.role, 'admin');
  });

  test('RS256, ES256 and EdDSA pass with their public key files', async () => {
    const cases = [
      { alg: 'RS256', file: 'rsa.pem', key: keys.rsa.privateKey },
      { alg: 'PS256', file: 'rsa.pem', key: keys.rsa.privateKey },
      { alg: 'ES256', file: 'ec.pem', key: keys.ec.privateKey },
      { alg: 'EdDSA', file: 'ed.pem', key: keys.ed.privateKey },
    ];
    for (const { alg, file, key } of cases) {
      const auth = { type: 'jwt', public_key_file: file, algorithms: [alg] };
      const result = await run(auth, bearer(await signToken(alg, key)), dir);
      assert.equal(result.passed, true, alg);
    }
  });

  test('an X.509 certificate works as public_key_file', async () => {
    const fixtures = fileURLToPath(new URL('../../../test/fixtures/auth/', import.meta.url));
    const privateKey = createPrivateKey(readFileSync(join(fixtures, 'ec-test-key.pem')));
    const auth = { type: 'jwt', public_key_file: 'ec-test-cert.pem', algorithms: ['ES256'] };
    assert.equal((await run(auth, bearer(await signToken('ES256', privateKey)), fixtures)).passed, true);
    assertRefused(
      await run(auth, bearer(await signToken('ES256', keys.ec.privateKey)), fixtures),
      'signature',
    );
  });

  test('a missing token gets a challenge without an error code (RFC 6750 3.1)', async () => {
    assertRefused(await run(hs), 'missing', null);
    assertRefused(await run(hs, 'Basic YWxpY2U6eA=='), 'missing', null);
  });

  test('malformed, expired and not-yet-valid tokens are refused', async () => {
    assertRefused(await run(hs, 'Bearer'), 'malformed');
    assertRefused(await run(hs, bearer('not.a.jwt')), 'malformed');
    assertRefused(await run(hs, bearer('a b')), 'malformed');
    const now = Math.floor(Date.now() / 1000);
    const expired = await run(hs, bearer(await signToken('HS256', secretKey(), { exp: now - 60 })));
    assertRefused(expired, 'expired');
    assert.match(String(expired.recorded.headers['www-authenticate']), /expired/);
    assertRefused(
      await run(hs, bearer(await signToken('HS256', secretKey(), { nbf: now + 600 }))),
      'not_yet_valid',
    );
  });

  test('clock_tolerance accepts a token expired by less than the tolerance', async () => {
    const token = await signToken('HS256', secretKey(), { exp: Math.floor(Date.now() / 1000) - 10 });
    assertRefused(await run(hs, bearer(token)), 'expired');
    assert.equal((await run({ ...hs, clock_tolerance: '30s' }, bearer(token))).passed, true);
  });

  test('issuer, audience and required claims must match', async () => {
    const strict = {
      ...hs,
      issuer: 'https://id.example',
      audience: ['api', 'web'],
      required_claims: ['email'],
    };
    const good = { iss: 'https://id.example', aud: 'web', email: 'a@example.com' };
    assert.equal((await run(strict, bearer(await signToken('HS256', secretKey(), good)))).passed, true);
    for (const bad of [
      { ...good, iss: 'https://evil.example' },
      { ...good, aud: 'other' },
      { iss: good.iss, aud: good.aud },
    ]) {
      assertRefused(await run(strict, bearer(await signToken('HS256', secretKey(), bad))), 'claims');
    }
  });

  test('alg none, an algorithm outside the list, and a wrong key are refused', async () => {
    assertRefused(await run(hs, bearer(unsignedToken())), 'algorithm');
    assertRefused(await run(hs, bearer(await signToken('HS384', secretKey()))), 'algorithm');
    const otherSecret = secretKey('another-secret-of-enough-length-000000');
    assertRefused(await run(hs, bearer(await signToken('HS256', otherSecret))), 'signature');
    const rsa = { type: 'jwt', public_key_file: 'rsa.pem', algorithms: ['RS256'] };
    const otherRsa = testKeys().rsa.privateKey;
    assertRefused(await run(rsa, bearer(await signToken('RS256', otherRsa)), dir), 'signature');
    assertRefused(await run(rsa, bearer(unsignedToken()), dir), 'algorithm');
    // Algorithm confusion: an HMAC token "signed" with the public key's PEM bytes.
    const pem = keys.rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    assertRefused(
      await run(rsa, bearer(await signToken('HS256', new TextEncoder().encode(pem))), dir),
      'algorithm',
    );
  });

  test('an unusable key file is a ConfigError at its key, at load', () => {
    const load = (auth: Record<string, unknown>) => () => createAuthMiddleware(authContext(auth, { dir }));
    const missing = { type: 'jwt', public_key_file: 'absent.pem', algorithms: ['RS256'] };
    assert.throws(load(missing), (err: ConfigError) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.keyPath, 'locations[0].auth.public_key_file');
      assert.match(err.where, /config\.yaml:\d+:\d+$/);
      assert.match(err.detail, /absent\.pem: no such file/);
      return true;
    });
    assert.throws(
      load({ type: 'jwt', public_key_file: 'private.pem', algorithms: ['ES256'] }),
      /private key/,
    );
    assert.throws(
      load({ type: 'jwt', public_key_file: 'ec.pem', algorithms: ['ES384'] }),
      /locations\[0\]\.auth\.algorithms: algorithm ES384 cannot be verified with the ec \(prime256v1\) key/,
    );
    assert.throws(load({ type: 'jwt', public_key_file: 'rsa.pem', algorithms: ['EdDSA'] }), /EdDSA/);
  });

  test('forward_claims set headers and client copies (any spelling) never survive', async () => {
    const auth = { ...hs, forward_claims: { sub: 'X-User-Id', roles: 'X-User-Roles', name: 'X-User-Name' } };
    const middleware = createAuthMiddleware(authContext(auth));
    const token = await signToken('HS256', secretKey(), { roles: ['a', 'b'], name: 'José' });
    const { exchange } = fakeExchange({
      authorization: bearer(token),
      'x-user-id': 'mallory',
      x_user_roles: 'admin',
      'x.user.name': 'root',
      connection: 'keep-alive, X-User-Id',
    });
    let passed = false;
    await middleware.handle(exchange, () => {
      passed = true;
    });
    assert.equal(passed, true);
    const headers = exchange.req.headers;
    assert.equal(headers['x-user-id'], 'alice');
    assert.equal(headers['x-user-roles'], 'a,b');
    assert.equal(headers['x-user-name'], 'Jos%C3%A9');
    assert.equal(headers.x_user_roles, undefined);
    assert.equal(headers['x.user.name'], undefined);
    assert.equal(headers.connection, 'keep-alive');
    assert.ok(headers.authorization, 'forwarded by default');

    // A token without the claim: the client's copy is still gone.
    const bare = fakeExchange({
      authorization: bearer(await signToken('HS256', secretKey())),
      'x-user-roles': 'admin',
    });
    await middleware.handle(bare.exchange, () => {});
    assert.equal(bare.exchange.req.headers['x-user-roles'], undefined);
    // A refused request: nothing forwarded either way.
    const refused = fakeExchange({ 'x-user-id': 'mallory' });
    await middleware.handle(refused.exchange, () => {});
    assert.equal(refused.exchange.req.headers['x-user-id'], undefined);
  });

  test('an accepted token is remembered, but never past its exp', async () => {
    const middleware = createAuthMiddleware(authContext(hs));
    const token = await signToken('HS256', secretKey(), { exp: Math.floor(Date.now() / 1000) + 1 });
    const passes = async () => {
      let passed = false;
      await middleware.handle(fakeExchange({ authorization: bearer(token) }).exchange, () => {
        passed = true;
      });
      return passed;
    };
    assert.equal(await passes(), true);
    assert.equal(await passes(), true);
    // Polls (bounded) until the second of `exp` has passed: the cached entry must lapse with it.
    await waitFor(async () => !(await passes()), 3000, 50);
    await middleware.close?.();
  });

  test('strip_credentials removes the Authorization header', async () => {
    const result = await run(
      { ...hs, strip_credentials: true },
      bearer(await signToken('HS256', secretKey())),
    );
    assert.equal(result.passed, true);
    assert.equal(result.exchange.req.headers.authorization, undefined);
  });
});

describe('jwt auth with a JWKS URL', () => {
  let keys: TestKeys;
  let server: Server;
  let url: string;
  let fetches = 0;
  let failing = false;

  before(async () => {
    keys = testKeys();
    const jwk = { ...(await exportJWK(keys.ec.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    server = createServer((_req, res) => {
      fetches++;
      if (failing) {
        res.writeHead(500).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/jwks.json`;
  });

  after(() => server.close());

  test('keys are fetched once and cached across requests', async () => {
    fetches = 0;
    const context = authContext({ type: 'jwt', jwks_url: url, algorithms: ['ES256'] });
    const middleware = createAuthMiddleware(context);
    for (let i = 0; i < 5; i++) {
      const { exchange } = fakeExchange({
        authorization: bearer(await signToken('ES256', keys.ec.privateKey, {}, { kid: 'k1' })),
      });
      let passed = false;
      await middleware.handle(exchange, () => {
        passed = true;
      });
      assert.equal(passed, true);
    }
    assert.equal(fetches, 1);
    // An unknown kid within the cooldown does not refetch, and is refused.
    const other = testKeys().ec.privateKey;
    const { exchange, recorded } = fakeExchange({
      authorization: bearer(await signToken('ES256', other, {}, { kid: 'k2' })),
    });
    await middleware.handle(exchange, () => {});
    assert.equal(recorded.status, 401);
    assert.equal(fetches, 1);
    assert.equal(context.logs.at(-1)?.reason, 'unknown_key');
  });

  test('a reload reuses the carried key set (no refetch)', async () => {
    fetches = 0;
    const carry = new Map<string, unknown>();
    const auth = { type: 'jwt', jwks_url: url, algorithms: ['ES256'] };
    for (let round = 0; round < 2; round++) {
      const middleware = createAuthMiddleware(authContext(auth, { carry }));
      const { exchange } = fakeExchange({
        authorization: bearer(await signToken('ES256', keys.ec.privateKey, {}, { kid: 'k1' })),
      });
      let passed = false;
      await middleware.handle(exchange, () => {
        passed = true;
      });
      assert.equal(passed, true);
    }
    assert.equal(fetches, 1);
  });

  test('an unreachable key set refuses with 401, never passes', async () => {
    failing = true;
    try {
      const context = authContext({ type: 'jwt', jwks_url: url, algorithms: ['ES256'] });
      const middleware = createAuthMiddleware(context);
      const { exchange, recorded } = fakeExchange({
        authorization: bearer(await signToken('ES256', keys.ec.privateKey, {}, { kid: 'k1' })),
      });
      let passed = false;
      await middleware.handle(exchange, () => {
        passed = true;
      });
      assert.equal(passed, false);
      assert.equal(recorded.status, 401);
      assert.equal(context.logs.at(-1)?.reason, 'key_unavailable');
      assert.equal(context.logs.at(-1)?.level, 40);
    } finally {
      failing = false;
    }
  });
});
