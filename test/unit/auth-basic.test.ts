// Basic auth: htpasswd parsing (bcrypt only, refusals naming the line), the verifier through the
// middleware factory, the short-lived verified-credential cache, and bcrypt kept off the event loop.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError } from '../../src/config/errors.js';
import { BcryptPool, MAX_PENDING } from '../../src/middlewares/auth/bcrypt-pool.js';
import { parseHtpasswd } from '../../src/middlewares/auth/htpasswd.js';
import { createAuthMiddleware } from '../../src/middlewares/auth/index.js';
import type { AuthIdentity } from '../../src/middlewares/auth/types.js';
import { VerifiedCache } from '../../src/middlewares/auth/verified-cache.js';
import type { Middleware } from '../../src/middlewares/types.js';
import { authContext, basicHeader, bcryptHash, fakeExchange } from '../helpers/auth.js';
import { tempDir } from '../helpers/dito.js';

const aliceHash = bcryptHash('wonderland');
const bobHash = bcryptHash('builder').replace(/^\$2b\$/, '$2y$');

async function attempt(middleware: Middleware, authorization?: string) {
  const { exchange, recorded } = fakeExchange(authorization === undefined ? {} : { authorization });
  let passed = false;
  await middleware.handle(exchange, () => {
    passed = true;
  });
  return { passed, recorded, exchange };
}

describe('htpasswd files', () => {
  test('bcrypt entries ($2y$, $2b$, $2a$), comments and blank lines', () => {
    const users = parseHtpasswd(`# team\nalice:${aliceHash}\r\n\nbob:${bobHash}\n`);
    assert.deepEqual([...users.keys()], ['alice', 'bob']);
    assert.equal(users.get('bob'), bobHash);
  });

  test('other hash kinds are refused with the line number', () => {
    const cases: Array<[string, RegExp]> = [
      ['carol:$apr1$abc$def', /line 2: .*"carol".*Apache MD5/],
      ['carol:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=', /line 2: .*SHA-1/],
      ['carol:plain', /line 2: .*DES crypt or plain text/],
      ['carol', /line 2: expected "user:hash"/],
      [`alice:${aliceHash}`, /line 2: user "alice" is listed twice/],
    ];
    for (const [line, expected] of cases) {
      assert.throws(() => parseHtpasswd(`alice:${aliceHash}\n${line}\n`), expected);
    }
  });
});

describe('basic auth', () => {
  test('the right password passes; wrong, unknown, missing and malformed are refused', async () => {
    const context = authContext({ type: 'basic', users: { alice: aliceHash } });
    const middleware = createAuthMiddleware(context);
    try {
      const good = await attempt(middleware, basicHeader('alice', 'wonderland'));
      assert.equal(good.passed, true);
      assert.deepEqual(good.exchange.locals?.auth, {
        type: 'basic',
        subject: 'alice',
      } satisfies AuthIdentity);
      assert.ok(good.exchange.req.headers.authorization, 'forwarded by default');

      for (const [authorization, reason] of [
        [basicHeader('alice', 'wrong'), 'invalid_credentials'],
        [basicHeader('mallory', 'wonderland'), 'invalid_credentials'],
        [undefined, 'missing'],
        ['Bearer abc', 'missing'],
        ['Basic !!!', 'malformed'],
        [`Basic ${Buffer.from('no-colon').toString('base64')}`, 'malformed'],
      ] as const) {
        const result = await attempt(middleware, authorization);
        assert.equal(result.passed, false, String(authorization));
        assert.equal(result.recorded.status, 401);
        assert.equal(result.recorded.headers['www-authenticate'], 'Basic realm="dito", charset="UTF-8"');
        assert.equal(JSON.parse(result.recorded.body).error.message, 'Unauthorized');
        assert.equal(context.logs.at(-1)?.reason, reason);
      }
      assert.ok(!context.logText().includes('wonderland'), 'no password in the logs');
      assert.ok(!context.logText().includes(Buffer.from('alice:wrong').toString('base64')));
    } finally {
      await middleware.close?.();
    }
  });

  test('htpasswd_file users; the realm is quoted; strip_credentials removes Authorization', async () => {
    const dir = tempDir('dito-basic-');
    writeFileSync(join(dir, 'users.htpasswd'), `bob:${bobHash}\n`);
    const middleware = createAuthMiddleware(
      authContext(
        { type: 'basic', htpasswd_file: 'users.htpasswd', realm: 'Ops "area"', strip_credentials: true },
        { dir },
      ),
    );
    try {
      const good = await attempt(middleware, basicHeader('bob', 'builder'));
      assert.equal(good.passed, true);
      assert.equal(good.exchange.req.headers.authorization, undefined);
      const bad = await attempt(middleware, basicHeader('bob', 'x'));
      assert.equal(bad.recorded.headers['www-authenticate'], 'Basic realm="Ops \\"area\\"", charset="UTF-8"');
    } finally {
      await middleware.close?.();
    }
  });

  test('an unusable htpasswd file is a ConfigError naming the file and line, at load', () => {
    const dir = tempDir('dito-basic-');
    writeFileSync(join(dir, 'weak.htpasswd'), `alice:${aliceHash}\nbob:$apr1$x$y\n`);
    const load = (file: string) => () =>
      createAuthMiddleware(authContext({ type: 'basic', htpasswd_file: file }, { dir }));
    assert.throws(load('weak.htpasswd'), (err: ConfigError) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.keyPath, 'locations[0].auth.htpasswd_file');
      assert.match(err.detail, /weak\.htpasswd:2: user "bob" has an unsupported hash/);
      return true;
    });
    assert.throws(
      load('absent.htpasswd'),
      /htpasswd_file: cannot read htpasswd file .*absent\.htpasswd: no such file/,
    );
  });

  test('a verified credential is remembered; concurrent checks share one bcrypt run', async () => {
    const slow = bcryptHash('patience', 8);
    const middleware = createAuthMiddleware(authContext({ type: 'basic', users: { carol: slow } }));
    try {
      const started = performance.now();
      const results = await Promise.all(
        Array.from({ length: 20 }, () => attempt(middleware, basicHeader('carol', 'patience'))),
      );
      const firstMs = performance.now() - started;
      assert.ok(results.every((r) => r.passed));
      const again = performance.now();
      for (let i = 0; i < 50; i++)
        assert.equal((await attempt(middleware, basicHeader('carol', 'patience'))).passed, true);
      const cachedMs = performance.now() - again;
      // 20 concurrent + 50 cached requests cost about one bcrypt run, not 70.
      assert.ok(cachedMs < firstMs, `cached ${cachedMs} ms vs first ${firstMs} ms`);
      // A wrong password is never served from the cache.
      assert.equal((await attempt(middleware, basicHeader('carol', 'patience!'))).passed, false);
    } finally {
      await middleware.close?.();
    }
  });

  test('bcrypt runs off the event loop', async () => {
    const costly = bcryptHash('slow', 11);
    const middleware = createAuthMiddleware(authContext({ type: 'basic', users: { dave: costly } }));
    try {
      let ticks = 0;
      const timer = setInterval(() => ticks++, 5);
      const result = await attempt(middleware, basicHeader('dave', 'slow'));
      clearInterval(timer);
      assert.equal(result.passed, true);
      // A cost-11 check takes ~100+ ms; on the main thread no timer could fire meanwhile.
      assert.ok(ticks >= 3, `timer fired ${ticks} times during the check`);
    } finally {
      await middleware.close?.();
    }
  });
});

describe('bcrypt pool', () => {
  test('past MAX_PENDING queued checks the pool says busy at once; the middleware answers 503', async () => {
    const pool = new BcryptPool();
    const queued = Array.from({ length: MAX_PENDING }, () => pool.compare('x', aliceHash));
    assert.ok(queued.every((p) => p !== undefined));
    assert.equal(pool.compare('x', aliceHash), undefined);
    assert.deepEqual(new Set(await Promise.all(queued)), new Set([false]));
    assert.notEqual(pool.compare('wonderland', aliceHash), undefined);
    await pool.close();

    const middleware = createAuthMiddleware(authContext({ type: 'basic', users: { alice: aliceHash } }));
    try {
      const flood = await Promise.all(
        Array.from({ length: MAX_PENDING + 5 }, (_, i) =>
          attempt(middleware, basicHeader('alice', `guess-${i}`)),
        ),
      );
      const statuses = flood.map((r) => r.recorded.status);
      assert.equal(statuses.filter((s) => s === 503).length, 5);
      assert.equal(statuses.filter((s) => s === 401).length, MAX_PENDING);
      assert.ok(flood.every((r) => !r.passed));
    } finally {
      await middleware.close?.();
    }
  });
});

describe('verified cache', () => {
  test('entries expire (at the TTL or their own deadline) and the oldest is evicted past the bound', () => {
    let now = 0;
    const cache = new VerifiedCache<string>(1000, 2, () => now);
    const a = cache.keyOf('a:1');
    assert.notEqual(a, 'a:1');
    assert.equal(a, cache.keyOf('a:1'));
    cache.add(a, 'A');
    cache.add(cache.keyOf('b:2'), 'B');
    cache.add(cache.keyOf('c:3'), 'C');
    assert.equal(cache.size, 2);
    assert.equal(cache.get(a), undefined);
    assert.equal(cache.get(cache.keyOf('c:3')), 'C');
    cache.add(cache.keyOf('d:4'), 'D', 500);
    now = 501;
    assert.equal(cache.get(cache.keyOf('d:4')), undefined);
    assert.equal(cache.get(cache.keyOf('c:3')), 'C');
    now = 1001;
    assert.equal(cache.get(cache.keyOf('c:3')), undefined);
    cache.add(cache.keyOf('e:5'), 'E', 1000);
    assert.equal(cache.size, 0, 'an entry already past its deadline is not stored');
  });
});
