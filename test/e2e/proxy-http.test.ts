// Contract section 4 through the front door: routing, path rules, headers both ways, errors.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { baseConfig, type DitoProcess, startDito } from '../helpers/dito.js';
import { freePort, rawExchange, request } from '../helpers/net.js';
import { type SeenRequest, startUpstream, type Upstream } from '../helpers/upstream.js';

describe('HTTP proxying', () => {
  let upstream: Upstream;
  let hopUpstream: Upstream;
  let dito: DitoProcess;
  let deadPort: number;

  before(async () => {
    upstream = await startUpstream();
    hopUpstream = await startUpstream((_req, res) => {
      res.writeHead(200, {
        connection: 'keep-alive, X-Secret-Hop',
        'keep-alive': 'timeout=5',
        'x-secret-hop': 'must not pass',
        'proxy-authenticate': 'Basic',
        'x-request-id': 'upstream-chose-this',
        'x-kept': 'yes',
        'content-type': 'text/plain',
      });
      res.end('hop');
    });
    deadPort = await freePort();
    dito = await startDito(
      baseConfig([
        { path: '^/exact$', target_url: `${upstream.url}/fixed/target?from=target`, replace_path: true },
        { path: '^/v1/', target_url: `${upstream.url}/base` },
        {
          path: '^/headers',
          target_url: upstream.url,
          additional_headers: { 'X-Added': 'dito', 'X-Forwarded-Host': 'configured.example' },
          excluded_headers: ['Cookie', 'x-drop-me'],
        },
        { path: '^/hop', target_url: hopUpstream.url },
        { path: '^/dead', target_url: `http://127.0.0.1:${deadPort}` },
        { path: '^/admin', target_url: `${upstream.url}/admin-area`, replace_path: true },
        { path: '^/', target_url: upstream.url },
      ]),
    );
  });

  after(async () => {
    await dito?.stop();
    await upstream?.close();
    await hopUpstream?.close();
  });

  const lastSeen = (u: Upstream = upstream): SeenRequest => u.requests.at(-1)!;

  test('replace_path sends the target path and keeps both queries', async () => {
    const reply = await request(`${dito.url}/exact?client=1`);
    assert.equal(reply.status, 200);
    assert.equal(lastSeen().url, '/fixed/target?from=target&client=1');
  });

  test('without replace_path the request path is appended to the target path', async () => {
    const reply = await request(`${dito.url}/v1/api/x?q=a%20b`);
    assert.equal(reply.status, 200);
    assert.equal(lastSeen().url, '/base/v1/api/x?q=a%20b');
  });

  test('first matching location in file order wins, matched on the path only', async () => {
    await request(`${dito.url}/other?path=/exact`);
    assert.equal(lastSeen().url, '/other?path=/exact');
  });

  test('no location → 404 JSON in the contract shape', async () => {
    const only = await startDito(baseConfig([{ path: '^/only$', target_url: upstream.url }]));
    try {
      const reply = await request(`${only.url}/nothing-here`, { headers: { 'x-request-id': 'req-404' } });
      assert.equal(reply.status, 404);
      assert.equal(reply.headers['content-type'], 'application/json; charset=utf-8');
      const body = reply.json<{
        error: { code: number; message: string };
        request_id: string;
        timestamp: number;
      }>();
      assert.equal(body.error.code, 404);
      assert.equal(body.error.message, 'Not Found');
      assert.equal(body.request_id, 'req-404');
      assert.equal(reply.headers['x-request-id'], 'req-404');
      assert.ok(Math.abs(body.timestamp - Date.now() / 1000) < 60);
    } finally {
      await only.stop();
    }
  });

  test('paths are normalised before matching and the upstream gets the normalised path', async () => {
    for (const spelling of ['/%61dmin', '//admin', '/x/../admin', '/%2e/admin', '/./admin']) {
      const reply = await request(`${dito.url}${spelling}`);
      assert.equal(reply.status, 200, spelling);
      assert.equal(lastSeen().url, '/admin-area', `${spelling} must route like /admin`);
    }
    await request(`${dito.url}/v1/a%2Fb/%7euser`);
    assert.equal(lastSeen().url, '/base/v1/a%2Fb/~user');
  });

  test('a path climbing above the root is refused with 400', async () => {
    const text = await rawExchange(dito.port, 'GET /../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(text, /^HTTP\/1.1 400/);
    assert.match(text, /"code":400/);
    const encoded = await rawExchange(dito.port, 'GET /a/%2e%2e/%2e%2e/x HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(encoded, /^HTTP\/1.1 400/);
  });

  test('upstream Host is the target host; X-Forwarded-* and X-Real-IP are set', async () => {
    await request(`${dito.url}/plain`, {
      headers: {
        host: 'public.example:8443',
        'x-forwarded-for': '203.0.113.7',
        'x-forwarded-proto': 'spoofed',
        'x-real-ip': '6.6.6.6',
      },
    });
    const seen = lastSeen();
    assert.equal(seen.headers.host, `127.0.0.1:${upstream.port}`);
    assert.equal(seen.headers['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers['x-forwarded-host'], 'public.example:8443');
    assert.equal(seen.headers['x-real-ip'], '127.0.0.1');
  });

  test('X-Request-ID: a safe client id is kept, an unsafe one replaced, and echoed to the client', async () => {
    const kept = await request(`${dito.url}/rid`, { headers: { 'x-request-id': 'abc-123_x.y:z' } });
    assert.equal(lastSeen().headers['x-request-id'], 'abc-123_x.y:z');
    assert.equal(kept.headers['x-request-id'], 'abc-123_x.y:z');
    const replaced = await request(`${dito.url}/rid`, { headers: { 'x-request-id': 'bad id/<script>' } });
    const generated = replaced.headers['x-request-id'] as string;
    assert.match(generated, /^[0-9a-f-]{36}$/);
    assert.equal(lastSeen().headers['x-request-id'], generated);
    const tooLong = await request(`${dito.url}/rid`, { headers: { 'x-request-id': 'a'.repeat(129) } });
    assert.match(tooLong.headers['x-request-id'] as string, /^[0-9a-f-]{36}$/);
  });

  test('hop-by-hop request headers and the names Connection lists are never forwarded', async () => {
    const text = await rawExchange(
      dito.port,
      [
        'GET /hbh-test HTTP/1.1',
        'Host: 127.0.0.1',
        'Connection: keep-alive, X-Custom-Hop, x-forwarded-for, X-Real-IP, x-request-id, X-Forwarded-Host',
        'Keep-Alive: timeout=5',
        'Proxy-Connection: keep-alive',
        'TE: trailers',
        'Trailer: X-Foo',
        'Upgrade: h2c',
        'Proxy-Authorization: Basic abc',
        'X-Custom-Hop: secret',
        'X-Forwarded-For: 198.51.100.1',
        'X-Survives: yes',
        '',
        '',
      ].join('\r\n'),
      1000,
    );
    assert.match(text, /^HTTP\/1.1 200/);
    const seen = lastSeen();
    for (const name of [
      'keep-alive',
      'proxy-connection',
      'te',
      'trailer',
      'upgrade',
      'proxy-authorization',
      'x-custom-hop',
    ]) {
      assert.equal(seen.headers[name], undefined, `${name} must not reach the upstream`);
    }
    assert.equal(seen.headers['x-survives'], 'yes');
    // Naming Dito's own headers in Connection cannot remove them.
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['x-real-ip'], '127.0.0.1');
    assert.match(seen.headers['x-request-id'] as string, /^[0-9a-f-]{36}$/);
    assert.equal(seen.headers['x-forwarded-host'], '127.0.0.1');
  });

  test("hop-by-hop response headers and Connection-named ones are stripped; X-Request-ID is Dito's", async () => {
    const reply = await request(`${dito.url}/hop`, { headers: { 'x-request-id': 'mine' } });
    assert.equal(reply.status, 200);
    assert.equal(reply.text, 'hop');
    assert.equal(reply.headers['x-secret-hop'], undefined);
    assert.equal(reply.headers['proxy-authenticate'], undefined);
    assert.equal(reply.headers['keep-alive'], undefined);
    assert.equal(reply.headers['x-kept'], 'yes');
    assert.equal(reply.headers['x-request-id'], 'mine');
  });

  test('additional_headers win over the client; excluded_headers are removed (any case)', async () => {
    await request(`${dito.url}/headers`, {
      headers: { 'X-Added': 'client', cookie: 'session=1', 'X-DROP-ME': 'x', 'x-other': 'kept' },
    });
    const seen = lastSeen();
    assert.equal(seen.headers['x-added'], 'dito');
    assert.equal(seen.headers.cookie, undefined);
    assert.equal(seen.headers['x-drop-me'], undefined);
    assert.equal(seen.headers['x-other'], 'kept');
    assert.equal(seen.headers['x-forwarded-host'], 'configured.example');
  });

  test('request bodies reach the upstream, chunked or with a length', async () => {
    const body = Buffer.alloc(300_000, 7);
    const reply = await request(`${dito.url}/post`, { method: 'POST', body });
    assert.equal(reply.status, 200);
    assert.equal(reply.json<SeenRequest>().bodyLength, body.length);
    const chunked = await rawExchange(
      dito.port,
      'POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
    );
    assert.match(chunked, /^HTTP\/1.1 200/);
    assert.match(chunked, /"bodyLength":11/);
  });

  test('Expect: 100-continue is answered by Dito and the body then forwarded', async () => {
    const text = await rawExchange(
      dito.port,
      'POST /expect HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\nConnection: close\r\n\r\nabcd',
    );
    assert.match(text, /^HTTP\/1.1 100 Continue\r\n\r\nHTTP\/1.1 200/);
    assert.match(text, /"bodyLength":4/);
    assert.equal(lastSeen().headers.expect, undefined);
  });

  test('buffered responses carry a Content-Length', async () => {
    const reply = await request(`${dito.url}/buffered`);
    assert.equal(reply.headers['content-length'], String(reply.body.length));
    assert.equal(reply.headers['transfer-encoding'], undefined);
  });

  test('an unreachable upstream gives 502 JSON, no stack trace', async () => {
    const reply = await request(`${dito.url}/dead`);
    assert.equal(reply.status, 502);
    const body = reply.json<{ error: { code: number; message: string } }>();
    assert.equal(body.error.code, 502);
    assert.equal(body.error.message, 'Bad Gateway');
    assert.doesNotMatch(reply.text, /at .*\.js|ECONNREFUSED|node:/);
  });

  test('TRACE and CONNECT are refused with 405', async () => {
    const trace = await rawExchange(dito.port, 'TRACE / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(trace, /^HTTP\/1.1 405/);
    const connect = await rawExchange(
      dito.port,
      'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n',
    );
    assert.match(connect, /^HTTP\/1.1 405/);
  });

  test('malformed requests get a JSON 400, oversized headers 431', async () => {
    const bad = await rawExchange(
      dito.port,
      'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n',
    );
    assert.match(bad, /^HTTP\/1.1 400/);
    assert.match(bad, /application\/json/);
    const big = await rawExchange(
      dito.port,
      `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    assert.match(big, /^HTTP\/1.1 431/);
    const many = Array.from({ length: 150 }, (_, i) => `X-H${i}: v\r\n`).join('');
    const tooMany = await rawExchange(dito.port, `GET / HTTP/1.1\r\nHost: x\r\n${many}\r\n`);
    assert.match(tooMany, /^HTTP\/1.1 431/);
  });

  test('an upgrade request on a location without enable_websocket is proxied as plain HTTP', async () => {
    const text = await rawExchange(
      dito.port,
      'GET /not-ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    assert.match(text, /^HTTP\/1.1 200/);
    const seen = lastSeen();
    assert.equal(seen.url, '/not-ws');
    assert.equal(seen.headers.upgrade, undefined);
  });
});
