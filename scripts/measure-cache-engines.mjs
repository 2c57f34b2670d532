// Per-hit cost of the two candidate cache engines (docs/caching.md), in-process, with the same
// dispatch-handler shape as Dito's ProxyHandler. Run after `npm ci`: node scripts/measure-cache-engines.mjs
import { createServer } from 'node:http';
import { Pool, interceptors, cacheStores } from 'undici';
import CachePolicy from 'http-cache-semantics';

const body = Buffer.alloc(1024, 97);
const server = createServer((req, res) => {
  res.writeHead(200, {
    'content-type': 'text/plain',
    'cache-control': 'max-age=600',
    'content-length': body.length,
  });
  res.end(body);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const origin = `http://127.0.0.1:${server.address().port}`;
const headers = ['host', 'x', 'accept', '*/*', 'user-agent', 'bench'];

function viaDispatcher(d) {
  return new Promise((resolve, reject) => {
    let n = 0;
    d.dispatch(
      { origin, path: '/a', method: 'GET', headers },
      {
        onConnect() {},
        onHeaders() {
          return true;
        },
        onData(c) {
          n += c.length;
          return true;
        },
        onComplete() {
          resolve(n);
        },
        onError: reject,
      },
    );
  });
}
async function run(name, fn, count) {
  for (let i = 0; i < 2000; i++) await fn();
  const t = performance.now();
  for (let i = 0; i < count; i++) await fn();
  const us = ((performance.now() - t) * 1000) / count;
  console.log(`${name}: ${us.toFixed(2)} µs/request`);
  return us;
}
const N = 30000;
const pool = new Pool(origin);
const plain = await run('plain proxy to upstream (miss cost)', () => viaDispatcher(pool), N);
const cached = new Pool(origin).compose(
  interceptors.cache({ store: new cacheStores.MemoryCacheStore(), methods: ['GET'] }),
);
const undiciHit = await run('undici interceptors.cache hit', () => viaDispatcher(cached), N);

// http-cache-semantics: the policy kept beside the entry, checked and rendered per hit.
const map = new Map();
{
  const req = { method: 'GET', url: '/a', headers: { host: 'x', accept: '*/*' } };
  const policy = new CachePolicy(
    req,
    {
      status: 200,
      headers: { 'content-type': 'text/plain', 'cache-control': 'max-age=600', 'content-length': '1024' },
    },
    { shared: true },
  );
  map.set('GET x/a', { policy, status: 200, body });
}
const hcsHit = await run(
  'http-cache-semantics hit (Map + satisfiesWithoutRevalidation + responseHeaders)',
  () =>
    new Promise((resolve) => {
      const entry = map.get('GET x/a');
      const reqHeaders = { host: 'x', accept: '*/*', 'user-agent': 'bench' };
      if (!entry.policy.satisfiesWithoutRevalidation({ method: 'GET', url: '/a', headers: reqHeaders }))
        throw new Error('stale');
      const h = entry.policy.responseHeaders();
      const flat = [];
      for (const k in h) flat.push(k, String(h[k]));
      resolve(entry.body.length + flat.length);
    }),
  N,
);
console.log(
  `ratio undici hit / plain = ${(undiciHit / plain).toFixed(2)}; hcs hit / plain = ${(hcsHit / plain).toFixed(3)}`,
);
await pool.close();
await cached.close();
server.close();
