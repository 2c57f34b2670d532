// API keys: header and query parameter, SHA-256 digests in the config, refusals with the ApiKey
// challenge, and strip_credentials keeping the key back from the upstream.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { queryParameter, withoutQueryParameter } from '../../src/middlewares/auth/api-key.js';
import { createAuthMiddleware } from '../../src/middlewares/auth/index.js';
import type { Middleware } from '../../src/middlewares/types.js';
import { authContext, fakeExchange, sha256Hex } from '../helpers/auth.js';

const KEY = 'k3y-for-the-tests';
const OTHER = 'second-key';

async function attempt(middleware: Middleware, headers: Record<string, string> = {}, query = '') {
  const { exchange, recorded } = fakeExchange(headers, query);
  let passed = false;
  await middleware.handle(exchange, () => {
    passed = true;
  });
  return { passed, recorded, exchange };
}

describe('api_key auth', () => {
  test('header (default X-API-Key): right key passes, wrong or missing refused', async () => {
    const context = authContext({ type: 'api_key', keys: [sha256Hex(OTHER), sha256Hex(KEY).toUpperCase()] });
    const middleware = createAuthMiddleware(context);
    const good = await attempt(middleware, { 'x-api-key': KEY });
    assert.equal(good.passed, true);
    assert.deepEqual(good.exchange.locals?.auth, {
      type: 'api_key',
      subject: `key-${sha256Hex(KEY).slice(0, 12)}`,
    });
    assert.equal(good.exchange.req.headers['x-api-key'], KEY, 'forwarded by default');
    assert.equal((await attempt(middleware, { 'x-api-key': OTHER })).passed, true);

    const missing = await attempt(middleware);
    assert.equal(missing.recorded.status, 401);
    assert.equal(missing.recorded.headers['www-authenticate'], 'ApiKey realm="dito", header="X-API-Key"');
    const wrong = await attempt(middleware, { 'x-api-key': 'nope' });
    assert.equal(wrong.recorded.status, 401);
    assert.equal(
      wrong.recorded.headers['www-authenticate'],
      'ApiKey realm="dito", header="X-API-Key", error="invalid_key"',
    );
    assert.equal((await attempt(middleware, { 'x-api-key': '' })).recorded.status, 401);
    assert.equal((await attempt(middleware, { 'x-other': KEY })).recorded.status, 401);
    assert.deepEqual(
      context.logs.map((entry) => entry.reason),
      ['missing', 'invalid_credentials', 'missing', 'missing'],
    );
    assert.ok(!context.logText().includes('nope'));
  });

  test('query parameter, and strip_credentials removes it from the upstream query', async () => {
    const middleware = createAuthMiddleware(
      authContext({ type: 'api_key', query: 'api_key', keys: [sha256Hex(KEY)], strip_credentials: true }),
    );
    const good = await attempt(middleware, {}, `?a=1&api_key=${encodeURIComponent(KEY)}&b=%20x`);
    assert.equal(good.passed, true);
    assert.equal(good.exchange.query, '?a=1&b=%20x');
    const header = await attempt(middleware, { 'x-api-key': KEY });
    assert.equal(header.recorded.status, 401);
    assert.equal(header.recorded.headers['www-authenticate'], 'ApiKey realm="dito", query="api_key"');
  });

  test('custom header name, stripped when asked', async () => {
    const middleware = createAuthMiddleware(
      authContext({ type: 'api_key', header: 'X-Token', keys: [sha256Hex(KEY)], strip_credentials: true }),
    );
    const good = await attempt(middleware, { 'x-token': KEY });
    assert.equal(good.passed, true);
    assert.equal(good.exchange.req.headers['x-token'], undefined);
  });
});

describe('query helpers', () => {
  test('find and remove a parameter, form-decoded, other bytes untouched', () => {
    assert.equal(queryParameter('?x=1&api%5Fkey=a%2Bb+c', 'api_key'), 'a+b c');
    assert.equal(queryParameter('?api_key', 'api_key'), '');
    assert.equal(queryParameter('', 'api_key'), undefined);
    assert.equal(queryParameter('?k=%zz', 'k'), undefined);
    assert.equal(withoutQueryParameter('?api_key=1', 'api_key'), '');
    assert.equal(withoutQueryParameter('?a=%2F&api_key=1&api_key=2&c', 'api_key'), '?a=%2F&c');
  });
});
