// The cache's pure parts: storage decisions (RFC 9111 + the contract's ttl), request directives,
// keys and variants, the Redis record encoding (binary-safe, foreign data refused), the
// byte-bounded LRU, the coalescer, and the Redis store degrading to misses.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Coalescer } from '../../src/middlewares/cache/coalescer.js';
import { type CachedResponse, decodeRecord, encodeRecord } from '../../src/middlewares/cache/entry.js';
import { primaryKey, variantKey, variantOf } from '../../src/middlewares/cache/key.js';
import { MemoryStore } from '../../src/middlewares/cache/memory-store.js';
import {
  decideStorage,
  headerObject,
  requestBypass,
  requestDirectives,
  satisfiesRequest,
} from '../../src/middlewares/cache/policy.js';
import { type CacheRedis, RedisStore, redisKey } from '../../src/middlewares/cache/redis-store.js';

const request = { url: '/a', headers: { host: 'h' } };

function response(overrides: Partial<CachedResponse> = {}): CachedResponse {
  return {
    kind: 'response',
    key: 'GET h /a',
    status: 200,
    headers: ['Content-Type', 'text/plain', 'X-Multi', '1', 'X-Multi', '2'],
    body: Buffer.from('hello'),
    storedAt: 1000,
    expiresAt: 61_000,
    initialAgeSeconds: 3,
    varyNames: [],
    variant: '',
    ...overrides,
  };
}

describe('cache storage decisions', () => {
  test('no lifetime from the upstream: ttl', () => {
    assert.equal(decideStorage(request, 200, {}, 30)?.lifetimeMs, 30_000);
    // Last-Modified alone would give a heuristic lifetime: the operator's ttl wins over it.
    const lastModified = new Date(Date.now() - 86_400_000).toUTCString();
    assert.equal(decideStorage(request, 200, { 'last-modified': lastModified }, 30)?.lifetimeMs, 30_000);
  });

  test("the upstream's explicit lifetime wins over ttl, less the age it arrived with", (t) => {
    // Frozen clock: the policy measures time since the response arrived.
    t.mock.timers.enable({ apis: ['Date'], now: Date.parse('2026-01-01T00:00:00Z') });
    assert.equal(decideStorage(request, 200, { 'cache-control': 'max-age=600' }, 30)?.lifetimeMs, 600_000);
    assert.equal(
      decideStorage(request, 200, { 'cache-control': 'max-age=600, s-maxage=5' }, 30)?.lifetimeMs,
      5000,
    );
    const aged = decideStorage(request, 200, { 'cache-control': 'max-age=600', age: '100' }, 30);
    assert.equal(aged?.initialAgeSeconds, 100);
    assert.equal(aged?.lifetimeMs, 500_000);
    const expires = new Date(Date.now() + 120_000).toUTCString();
    const byExpires = decideStorage(request, 200, { expires, date: new Date().toUTCString() }, 30);
    assert.equal(byExpires?.lifetimeMs, 120_000);
  });

  test('never stored', () => {
    const never: Array<[number, Record<string, string>]> = [
      [200, { 'cache-control': 'no-store' }],
      [200, { 'cache-control': 'private' }],
      [200, { 'cache-control': 'private="x", max-age=60' }],
      [200, { 'cache-control': 'no-cache' }],
      [200, { pragma: 'no-cache' }],
      [200, { 'cache-control': 'max-age=0' }],
      [200, { expires: 'Thu, 01 Jan 1970 00:00:00 GMT' }],
      [200, { expires: 'not a date' }],
      [200, { vary: '*' }],
      [200, { vary: 'Accept, *' }],
      [200, { 'set-cookie': 'a=1' }],
      [404, {}],
      [206, {}],
      [301, { 'cache-control': 'max-age=60' }],
    ];
    for (const [status, headers] of never) {
      assert.equal(decideStorage(request, status, headers, 30), undefined, JSON.stringify([status, headers]));
    }
    const noStoreRequest = { url: '/a', headers: { host: 'h', 'cache-control': 'no-store' } };
    assert.equal(decideStorage(noStoreRequest, 200, {}, 30), undefined);
  });

  test('Vary names: lower-cased, unique, sorted', () => {
    assert.deepEqual(
      decideStorage(request, 200, { vary: 'User-Agent, accept-language,ACCEPT-LANGUAGE' }, 30)?.varyNames,
      ['accept-language', 'user-agent'],
    );
  });

  test('header lists become lower-cased objects, repeats joined', () => {
    assert.deepEqual(headerObject(['Vary', 'a', 'X', '1', 'vary', 'b']), { vary: 'a, b', x: '1' });
  });
});

describe('cache request rules', () => {
  test('what bypasses the cache', () => {
    assert.equal(requestBypass('POST', {}), 'method');
    assert.equal(requestBypass('PUT', {}), 'method');
    assert.equal(requestBypass('GET', { authorization: 'Basic x' }), 'bypass');
    assert.equal(requestBypass('GET', { 'content-length': '3' }), 'bypass');
    assert.equal(requestBypass('GET', { 'transfer-encoding': 'chunked' }), 'bypass');
    assert.equal(requestBypass('GET', { upgrade: 'websocket', connection: 'Upgrade' }), 'bypass');
    assert.equal(requestBypass('GET', { 'content-length': '0' }), undefined);
    assert.equal(requestBypass('HEAD', {}), undefined);
  });

  test('request directives', () => {
    assert.equal(requestDirectives({}).noCache, false);
    assert.equal(requestDirectives({ pragma: 'no-cache' }).noCache, true);
    assert.equal(requestDirectives({ 'cache-control': 'No-Cache' }).noCache, true);
    const limits = requestDirectives({ 'cache-control': 'max-age=10, min-fresh="5", no-store' });
    assert.deepEqual(limits, { noCache: false, noStore: true, maxAgeSeconds: 10, minFreshSeconds: 5 });
    assert.equal(satisfiesRequest(limits, 10, 5), true);
    assert.equal(satisfiesRequest(limits, 11, 50), false);
    assert.equal(satisfiesRequest(limits, 0, 4), false);
    assert.equal(requestDirectives({ 'cache-control': 'max-age=-1' }).maxAgeSeconds, -1);
  });

  test('keys: method, host (any case) and URI; variants by the named header values', () => {
    assert.equal(primaryKey('Example.COM', '/a', '?b=1'), 'GET example.com /a?b=1');
    const names = ['accept-encoding', 'accept-language'];
    const one = variantOf(names, { 'accept-language': 'en', 'accept-encoding': 'gzip , br' });
    assert.equal(one, variantOf(names, { 'accept-encoding': 'gzip,br', 'accept-language': 'en' }));
    assert.notEqual(one, variantOf(names, { 'accept-encoding': 'gzip,br' }));
    assert.equal(variantKey('K', one), `K\n${one}`);
  });

  test('Redis keys: prefixed, bounded, one Cluster slot per resource', () => {
    const primary = primaryKey('h', `/${'x'.repeat(5000)}`, '');
    const key = redisKey('dito:', primary);
    assert.match(key, /^dito:cache:\{[\w-]{32}\}$/);
    const variant = redisKey('dito:', variantKey(primary, 'accept-language:en\n'));
    assert.ok(variant.startsWith(`${key}:`));
    assert.notEqual(redisKey('dito:', variantKey(primary, 'accept-language:fr\n')), variant);
  });
});

describe('cache records', () => {
  test('encode → decode keeps every byte and header', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 4096 }),
        fc.array(fc.string(), { maxLength: 6 }),
        (bytes, values) => {
          const headers = values.flatMap((v, i) => [`X-H${i}`, v]);
          const original = response({
            body: Buffer.from(bytes),
            headers,
            varyNames: ['a'],
            variant: 'a:1\n',
          });
          assert.deepEqual(decodeRecord(encodeRecord(original)), original);
        },
      ),
      { numRuns: 200 },
    );
    const marker = { kind: 'vary', key: 'K', varyNames: ['accept'], expiresAt: 5 } as const;
    assert.deepEqual(decodeRecord(encodeRecord(marker)), marker);
  });

  test('foreign or damaged data is no record', () => {
    const good = encodeRecord(response());
    assert.equal(decodeRecord(Buffer.from('hello')), undefined);
    assert.equal(decodeRecord(good.subarray(0, 10)), undefined);
    const wrongVersion = Buffer.from(good);
    wrongVersion[1] = 9;
    assert.equal(decodeRecord(wrongVersion), undefined);
    const badJson = Buffer.from(good);
    badJson[6] = 0x7d;
    assert.equal(decodeRecord(badJson), undefined);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        decodeRecord(Buffer.concat([Buffer.from([0xd1, 1]), Buffer.from(bytes)]));
      }),
    );
  });
});

describe('memory store', () => {
  test('bounded by bytes: least recently used entries leave first', () => {
    const store = new MemoryStore(80_000);
    const body = Buffer.alloc(9000);
    for (const key of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'])
      store.set(key, response({ key, body }), 60_000);
    assert.ok(store.bytes <= 80_000);
    assert.equal(store.get('a')?.kind, 'response'); // used: now the most recent
    for (const key of ['i', 'j']) store.set(key, response({ key, body }), 60_000);
    assert.ok(store.bytes <= 80_000);
    assert.equal(store.get('b'), undefined);
    assert.ok(store.get('a'));
    assert.ok(store.get('j'));
    // One entry may take at most an eighth of the store.
    store.set('huge', response({ key: 'huge', body: Buffer.alloc(20_000) }), 60_000);
    assert.equal(store.get('huge'), undefined);
    store.resize(20_000);
    assert.ok(store.bytes <= 20_000);
    store.delete('j');
    assert.equal(store.get('j'), undefined);
  });

  test('entries expire lazily', (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
    const store = new MemoryStore(1_000_000);
    store.set('k', response(), 1000);
    t.mock.timers.tick(999);
    assert.ok(store.get('k'));
    t.mock.timers.tick(1);
    assert.equal(store.get('k'), undefined);
    assert.equal(store.size, 0);
    assert.equal(store.bytes, 0);
  });
});

describe('coalescer', () => {
  test('the first miss leads, the others wait for its outcome', () => {
    const coalescer = new Coalescer();
    const lead = coalescer.join('k');
    assert.equal(lead.leader, true);
    const seen: Array<CachedResponse | undefined> = [];
    for (let i = 0; i < 3; i++) {
      const follower = coalescer.join('k');
      assert.equal(follower.leader, false);
      follower.flight.wait((r) => seen.push(r), 10_000);
    }
    const stored = response();
    lead.flight.land(stored);
    lead.flight.land(undefined); // idempotent
    assert.deepEqual(seen, [stored, stored, stored]);
    assert.equal(coalescer.size, 0);
    assert.equal(coalescer.join('k').leader, true);
  });

  test('a wait is bounded', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const coalescer = new Coalescer();
    const lead = coalescer.join('k');
    const seen: Array<CachedResponse | undefined> = [];
    coalescer.join('k').flight.wait((r) => seen.push(r), 100);
    t.mock.timers.tick(100);
    assert.deepEqual(seen, [undefined]);
    lead.flight.land(response());
    assert.deepEqual(seen, [undefined]);
  });
});

describe('Redis store', () => {
  function fakeRedis(behaviour: (args: readonly unknown[]) => Promise<unknown>) {
    const fallbacks: string[] = [];
    const calls: unknown[][] = [];
    const redis: CacheRedis = {
      keyPrefix: 'p:',
      command: <T>(args: readonly unknown[]) => {
        calls.push([...args]);
        return behaviour(args) as Promise<T>;
      },
      recordFallback: (component) => fallbacks.push(component),
    };
    return { redis, fallbacks, calls };
  }

  test('a failing Redis is a miss, counted as a fallback, never a throw', async () => {
    const { redis, fallbacks } = fakeRedis(() => Promise.reject(new Error('down')));
    const store = new RedisStore(redis);
    assert.equal(await store.get('GET h /a'), undefined);
    store.set('GET h /a', response(), 1000);
    store.delete('GET h /a');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(fallbacks, ['cache', 'cache', 'cache']);
  });

  test('values travel as buffers with a PX expiry; a record under another key is refused', async () => {
    let stored: Buffer | undefined;
    const { redis, calls } = fakeRedis(async (args) => {
      if (args[0] === 'SET') stored = args[2] as Buffer;
      return args[0] === 'GET' ? stored : 'OK';
    });
    const store = new RedisStore(redis);
    const record = response();
    store.set(record.key, record, 1500.2);
    assert.deepEqual(calls[0]!.slice(3), ['PX', '1501']);
    assert.deepEqual(await store.get(record.key), record);
    stored = encodeRecord(response({ key: 'GET h /other' }));
    assert.equal(await store.get(record.key), undefined);
  });
});
