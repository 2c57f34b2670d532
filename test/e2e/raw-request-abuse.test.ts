// Regressions found by the raw-request fuzzer (test/fuzz/raw-requests.test.ts), each named after
// the bug: pipelining tricks, Host rules and Expect values, driven over a raw socket.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { baseConfig, type DitoProcess, startDito } from '../helpers/dito.js';
import { rawExchange, request, waitFor } from '../helpers/net.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

describe('raw request abuse (fuzzer regressions)', () => {
  let upstream: Upstream;
  let dito: DitoProcess;

  before(async () => {
    upstream = await startUpstream((req, res) => {
      // /slow keeps its answer owed long enough for a pipelined request to arrive behind it.
      const delay = req.url?.startsWith('/slow') ? 300 : 0;
      setTimeout(() => res.end(`answer for ${req.url}`), delay);
    });
    dito = await startDito(
      baseConfig([{ path: '^/', target_url: upstream.url }], { metrics: { enabled: true } }),
    );
  });

  after(async () => {
    await dito?.stop();
    await upstream?.close();
  });

  const activeConnections = async () => {
    const metrics = await request(`${dito.url}/metrics`);
    return Number(/\nactive_connections (\d+)/.exec(metrics.text)?.[1]);
  };

  test('regression: a pipelined upgrade request behind a pending response crashed Dito (ERR_HTTP_SOCKET_ASSIGNED)', async () => {
    const text = await rawExchange(
      dito.port,
      'GET /slow HTTP/1.1\r\nHost: x\r\n\r\n' +
        'GET /after HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
      3000,
    );
    const answers = [...text.matchAll(/answer for (\/[a-z]+)/g)].map((m) => m[1]);
    assert.deepEqual(answers, ['/slow', '/after'], 'both answered, in order');
    assert.equal(dito.proc.exitCode, null);
    assert.equal((await request(`${dito.url}/alive`)).status, 200);
  });

  test('regression: bytes after a Connection: close request got a raw 400 read as its answer (response desync)', async () => {
    const text = await rawExchange(
      dito.port,
      'GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' +
        'GET /b HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
      3000,
    );
    assert.match(text, /^HTTP\/1.1 200 /);
    assert.equal(text.match(/HTTP\/1.1 /g)?.length, 1, 'one answer, for the one request');
    assert.match(text, /answer for \/slow/);
  });

  test('regression: an upgrade on a plain location with trailing bytes held its socket open after the answer', async () => {
    for (let i = 0; i < 5; i++) {
      const text = await rawExchange(
        dito.port,
        'HEAD /u HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nGET /trailing HTTP/1.1\r\n\r\n',
        3000,
      );
      assert.match(text, /^HTTP\/1.1 200 /);
    }
    // Only the metrics request itself is left open.
    await waitFor(async () => (await activeConnections()) === 1, 5000);
  });

  test('regression: a missing Host got a bare non-JSON 400; two Host headers were accepted', async () => {
    const seen = upstream.requests.length;
    for (const head of [
      'GET /no-host HTTP/1.1\r\n\r\n',
      'GET /two-hosts HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n',
      'GET /two-hosts HTTP/1.1\r\nHost: a.example\r\nhost: a.example\r\n\r\n',
    ]) {
      const text = await rawExchange(dito.port, head, 3000);
      assert.match(text, /^HTTP\/1.1 400 /, head);
      assert.match(text, /content-type: application\/json; charset=utf-8/i);
      assert.match(text, /"code":400/);
    }
    assert.equal(upstream.requests.length, seen, 'nothing forwarded');
    // HTTP/1.0 has no Host requirement.
    const old = await rawExchange(dito.port, 'GET /http10 HTTP/1.0\r\n\r\n', 3000);
    assert.match(old, /^HTTP\/1.1 200 /);
  });

  test('regression: CONNECT with an HTTP/2.0 request line over HTTP/1.1 crashed Dito (its socket taken for a response)', async () => {
    const text = await rawExchange(dito.port, 'CONNECT /x HTTP/2.0\r\nHost: x\r\n\r\n', 3000);
    assert.match(text, /^HTTP\/1.1 405 /);
    assert.equal(dito.proc.exitCode, null);
    // Any other request claiming HTTP/2.0 on an HTTP/1.1 connection: 505, nothing forwarded.
    const seen = upstream.requests.length;
    for (const head of [
      'POST /v2 HTTP/2.0\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello',
      'GET /v2 HTTP/2.0\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
    ]) {
      const reply = await rawExchange(dito.port, head, 3000);
      assert.match(reply, /^HTTP\/1.1 505 /, head);
      assert.match(reply, /"code":505/);
    }
    assert.equal(upstream.requests.length, seen);
    assert.equal((await request(`${dito.url}/alive`)).status, 200);
  });

  test('regression: an Expect other than 100-continue got a bare non-JSON 417', async () => {
    const seen = upstream.requests.length;
    const text = await rawExchange(
      dito.port,
      'POST /expect HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\nContent-Length: 3\r\n\r\nabc',
      3000,
    );
    assert.match(text, /^HTTP\/1.1 417 /);
    assert.match(text, /content-type: application\/json; charset=utf-8/i);
    assert.match(text, /"code":417,"message":"Expectation Failed"/);
    assert.equal(upstream.requests.length, seen);
  });
});
