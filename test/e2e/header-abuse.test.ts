// Header and path abuse through the front door (anchors H8, H10, H13, H14, H16): a client cannot
// remove or spoof what Dito adds, cannot pick its rate-limit identity unless its peer is trusted,
// cannot make Dito invite a body it will refuse, cannot climb out of a target path, and its
// credentials reach only the upstream of the location it asked for.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, request as httpRequest, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { basicHeader, bcryptHash } from '../helpers/auth.js';
import { baseConfig, type DitoProcess, startDito } from '../helpers/dito.js';
import { rawExchange, request } from '../helpers/net.js';
import { type SeenRequest, startUpstream, type Upstream } from '../helpers/upstream.js';

/** One GET from a chosen loopback source address (127.0.0.0/8 is all local on Linux). */
function requestFrom(
  localAddress: string,
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { localAddress, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('header and path abuse', () => {
  let upstream: Upstream;
  let other: Upstream;
  let jwks: Server;
  const jwksSeen: IncomingHttpHeaders[] = [];
  let dito: DitoProcess;

  before(async () => {
    upstream = await startUpstream();
    other = await startUpstream();
    jwks = createServer((req, res) => {
      jwksSeen.push(req.headers);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
    });
    jwks.listen(0, '127.0.0.1');
    await once(jwks, 'listening');
    const jwksUrl = `http://127.0.0.1:${(jwks.address() as { port: number }).port}/jwks`;
    const limited = (path: string) => ({
      path,
      target_url: upstream.url,
      middlewares: ['rate-limiter'],
      rate_limiting: { enabled: true, requests_per_second: 0.001, burst: 1 },
    });
    dito = await startDito(
      baseConfig(
        [
          limited('^/untrusted'),
          limited('^/trusted'),
          {
            path: '^/guarded',
            target_url: upstream.url,
            middlewares: ['auth'],
            auth: { type: 'basic', users: { alice: bcryptHash('wonderland') } },
          },
          { path: '^/small', target_url: upstream.url, max_request_body_size: 10 },
          { path: '^/api', target_url: `${upstream.url}/v1` },
          { path: '^/fixed', target_url: `${upstream.url}/only/here`, replace_path: true },
          {
            path: '^/jwt',
            target_url: upstream.url,
            middlewares: ['auth'],
            auth: { type: 'jwt', jwks_url: jwksUrl, algorithms: ['ES256'] },
          },
          { path: '^/other', target_url: other.url },
          {
            path: '^/framing',
            target_url: upstream.url,
            additional_headers: { 'Transfer-Encoding': 'chunked', Connection: 'x-kept', 'X-Kept': 'yes' },
          },
          { path: '^/', target_url: upstream.url },
        ],
        { trusted_proxies: ['127.0.0.2'] },
      ),
    );
  });

  after(async () => {
    await dito?.stop();
    await upstream?.close();
    await other?.close();
    jwks?.close();
  });

  const lastSeen = (): SeenRequest => upstream.requests.at(-1)!;

  test('H8: Connection naming Dito-owned headers in any case cannot remove or spoof them', async () => {
    const text = await rawExchange(
      dito.port,
      [
        'GET /h8 HTTP/1.1',
        'Host: public.example',
        'cOnNeCtIoN: close, x-FORWARDED-for, X-forwarded-HOST, x-real-IP, X-REQUEST-ID, HOST, X-Forwarded-Proto',
        'X-Forwarded-For: 6.6.6.6',
        'x-forwarded-host: evil.example',
        'X-REAL-IP: 6.6.6.6',
        'X-Forwarded-Proto: https',
        'X-Request-ID: client-chosen-1',
        '',
        '',
      ].join('\r\n'),
    );
    assert.match(text, /^HTTP\/1.1 200/);
    const seen = lastSeen();
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['x-real-ip'], '127.0.0.1');
    assert.equal(seen.headers['x-forwarded-host'], 'public.example');
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers['x-request-id'], 'client-chosen-1');
    assert.match(seen.headers.host!, /^127\.0\.0\.1:\d+$/);
    for (const name of [
      'x-forwarded-for',
      'x-real-ip',
      'x-forwarded-host',
      'x-forwarded-proto',
      'x-request-id',
    ]) {
      assert.equal(seen.rawHeaders.filter((h) => h.toLowerCase() === name).length, 1, `one ${name}`);
    }
  });

  test('H10: a spoofed X-Forwarded-For from an untrusted peer does not change the rate-limit key', async () => {
    const url = `${dito.url}/untrusted`;
    assert.equal((await requestFrom('127.0.0.3', url, { 'x-forwarded-for': '198.51.100.1' })).status, 200);
    const seen = lastSeen();
    assert.equal(seen.headers['x-real-ip'], '127.0.0.3', 'the client is the peer');
    assert.equal(seen.headers['x-forwarded-for'], '198.51.100.1, 127.0.0.3', 'appended to, never trusted');
    // Another claimed address from the same peer: the same bucket, so refused.
    assert.equal((await requestFrom('127.0.0.3', url, { 'x-forwarded-for': '198.51.100.2' })).status, 429);
    assert.equal((await requestFrom('127.0.0.3', url)).status, 429);
    // A different peer has its own bucket.
    assert.equal((await requestFrom('127.0.0.4', url, { 'x-forwarded-for': '198.51.100.2' })).status, 200);
  });

  test('H10: from a trusted proxy, the rightmost untrusted hop is the client (leftmost spoofs ignored)', async () => {
    const url = `${dito.url}/trusted`;
    const via = (xff: string) => requestFrom('127.0.0.2', url, { 'x-forwarded-for': xff });
    assert.equal((await via('6.6.6.6, 198.51.100.7')).status, 200);
    assert.equal(lastSeen().headers['x-real-ip'], '198.51.100.7');
    assert.equal((await via('7.7.7.7, 198.51.100.7')).status, 429, 'a new leftmost hop is the same client');
    assert.equal((await via('198.51.100.8')).status, 200, 'another client behind the proxy');
    assert.equal((await via('198.51.100.9, 127.0.0.2')).status, 200, 'trusted hops are skipped');
    assert.equal(lastSeen().headers['x-real-ip'], '198.51.100.9');
  });

  test('H13: an Expect: 100-continue request refused (401, 413) never gets 100 and its body is never invited', async () => {
    const seen = upstream.requests.length;
    for (const [path, status] of [
      ['/guarded', 401],
      ['/small', 413],
    ] as const) {
      // Headers only: an honest client waits for 100 before sending the body.
      const text = await rawExchange(
        dito.port,
        `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n`,
        1500,
      );
      assert.match(text, new RegExp(`^HTTP/1.1 ${status} `), text.slice(0, 40));
      assert.doesNotMatch(text, /100 Continue/);
    }
    assert.equal(upstream.requests.length, seen, 'the upstream was never contacted');
    // With valid credentials the same request is invited and forwarded.
    const text = await rawExchange(
      dito.port,
      `POST /guarded HTTP/1.1\r\nHost: x\r\nAuthorization: ${basicHeader('alice', 'wonderland')}\r\n` +
        'Content-Length: 4\r\nExpect: 100-continue\r\nConnection: close\r\n\r\nabcd',
    );
    assert.match(text, /^HTTP\/1.1 100 Continue\r\n\r\nHTTP\/1.1 200/);
  });

  test('H13: no location matches an Expect request → 404 without 100', async () => {
    const solo = await startDito(baseConfig([{ path: '^/only$', target_url: upstream.url }]));
    try {
      const text = await rawExchange(
        solo.port,
        'POST /missing HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n',
        1500,
      );
      assert.match(text, /^HTTP\/1.1 404 /);
      assert.doesNotMatch(text, /100 Continue/);
    } finally {
      await solo.stop();
    }
  });

  test('H14: no path climbs above a target path, with or without replace_path', async () => {
    const before = upstream.requests.length;
    for (const path of [
      '/api/../../etc/passwd',
      '/api/%2e%2e/%2e%2e/etc',
      '/api/%2E%2E/..',
      '/fixed/../../x',
    ]) {
      const reply = await rawExchange(
        dito.port,
        `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      assert.match(reply, /^HTTP\/1.1 400 /, path);
    }
    assert.equal(upstream.requests.length, before, 'nothing forwarded');
    const kept: string[] = [];
    for (const path of [
      '/api/a/../b',
      '/api/./c',
      '/api//d',
      '/api/..%2f..%2fe',
      '/fixed/x/../..%2fy',
      '/fixed/z',
    ]) {
      const reply = await rawExchange(
        dito.port,
        `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      assert.match(reply, /^HTTP\/1.1 200 /, path);
      kept.push(lastSeen().url);
    }
    assert.deepEqual(kept, [
      '/v1/api/b',
      '/v1/api/c',
      '/v1/api/d',
      // An encoded slash stays encoded (RFC 3986): one opaque segment under the target, never a climb.
      '/v1/api/..%2F..%2Fe',
      '/only/here',
      '/only/here',
    ]);
  });

  test("H16: Authorization and Cookie reach only the matched location's upstream", async () => {
    const secrets = {
      authorization: 'Bearer eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.e30.c2ln',
      cookie: 'session=top-secret',
    };
    await request(`${dito.url}/plain`, { headers: secrets });
    assert.equal(lastSeen().headers.authorization, secrets.authorization, 'its own upstream gets them');
    assert.equal(lastSeen().headers.cookie, secrets.cookie);
    // A JWT location fetches its JWKS: the client's credentials never go along.
    const reply = await request(`${dito.url}/jwt`, { headers: secrets });
    assert.equal(reply.status, 401);
    assert.ok(jwksSeen.length > 0, 'the JWKS was fetched');
    for (const headers of jwksSeen) {
      assert.equal(headers.authorization, undefined);
      assert.equal(headers.cookie, undefined);
    }
    assert.equal(other.requests.length, 0, 'no other upstream saw anything');
    // Nor do they reach the logs.
    const logText = JSON.stringify(dito.logs);
    assert.ok(!logText.includes('top-secret') && !logText.includes('c2ln'), 'credentials never logged');
  });

  test('regression: hop-by-hop or framing names in additional_headers failed every request with 502', async () => {
    const reply = await request(`${dito.url}/framing`, { method: 'POST', body: 'hello' });
    assert.equal(reply.status, 200);
    const seen = lastSeen();
    assert.equal(seen.headers['x-kept'], 'yes');
    assert.equal(seen.bodyLength, 5);
    assert.notEqual(seen.headers['transfer-encoding'], 'chunked, chunked');
    assert.ok(
      dito.logs.some(
        (l) => l.level === 'warn' && String(l.msg).includes('additional_headers.Transfer-Encoding'),
      ),
      'warned at load',
    );
  });
});
