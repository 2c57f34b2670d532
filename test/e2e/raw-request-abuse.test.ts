// Regressions found by the raw-request fuzzer (test/fuzz/raw-requests.test.ts), each named after
// the bug: pipelining tricks, Host rules and Expect values, driven over a raw socket.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { baseConfig, type DitoProcess, startDito } from '../helpers/dito.js';
import { rawExchange, request, sleep, waitFor } from '../helpers/net.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

describe('raw request abuse (fuzzer regressions)', () => {
  let upstream: Upstream;
  let dito: DitoProcess;
  /** What the upstream did, in order: `received /path` and `answered /path`. */
  const events: string[] = [];

  before(async () => {
    upstream = await startUpstream((req, res) => {
      // /slow keeps its answer owed long enough for a pipelined request to arrive behind it.
      const delay = req.url?.startsWith('/slow') ? 300 : 0;
      events.push(`received ${req.url}`);
      setTimeout(() => {
        events.push(`answered ${req.url}`);
        res.end(`answer for ${req.url}`);
      }, delay);
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

  for (const [name, pipelined, status] of [
    ['a CONNECT', 'CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n', 405],
    [
      'an upgrade claiming HTTP/2.0',
      'GET /after HTTP/2.0\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
      505,
    ],
  ] as const) {
    test(`regression: ${name} pipelined behind a pending response was refused at once, its error read as the answer to the earlier request (response desync)`, async () => {
      const text = await rawExchange(dito.port, `GET /slow HTTP/1.1\r\nHost: x\r\n\r\n${pipelined}`, 3000);
      const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
      assert.deepEqual(statuses, [200, status], 'the owed answer first, then the refusal');
      assert.match(text, /answer for \/slow/);
      assert.ok(text.indexOf('answer for /slow') < text.indexOf(`HTTP/1.1 ${status}`), text);
    });
  }

  test('regression: requests pipelined behind a slow answer were sent upstream at once and, when the client left, their answers were held forever (memory)', async () => {
    const socket = connect(dito.port, '127.0.0.1');
    socket.on('error', () => {});
    await once(socket, 'connect');
    socket.write(
      'GET /slow/left HTTP/1.1\r\nHost: x\r\n\r\n' +
        'GET /queued/1 HTTP/1.1\r\nHost: x\r\n\r\n' +
        'GET /queued/2 HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    await waitFor(() => upstream.requests.some((r) => r.url === '/slow/left'), 3000);
    socket.destroy();
    // Past /slow's 300 ms: the queued ones would have been answered by now had they been sent.
    await sleep(600);
    const urls = upstream.requests.map((r) => r.url);
    assert.ok(!urls.includes('/queued/1') && !urls.includes('/queued/2'), `never sent upstream: ${urls}`);
  });

  test('pipelined requests are served one at a time, in order, each sent upstream once the one before is answered', async () => {
    const before = events.length;
    const text = await rawExchange(
      dito.port,
      'GET /slow/1 HTTP/1.1\r\nHost: x\r\n\r\n' +
        'GET /next/2 HTTP/1.1\r\nHost: x\r\n\r\n' +
        'GET /slow/3 HTTP/1.1\r\nHost: x\r\n\r\n' +
        'GET /next/4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      5000,
    );
    const answers = [...text.matchAll(/answer for (\/[a-z]+\/\d)/g)].map((m) => m[1]);
    assert.deepEqual(answers, ['/slow/1', '/next/2', '/slow/3', '/next/4']);
    // Served at once, /next/2 would reach the upstream before /slow/1 is answered.
    assert.deepEqual(
      events.slice(before),
      ['/slow/1', '/next/2', '/slow/3', '/next/4'].flatMap((path) => [
        `received ${path}`,
        `answered ${path}`,
      ]),
    );
  });

  test('regression: valid requests pipelined before malformed bytes lost their answers (only the first was sent)', async () => {
    const text = await rawExchange(
      dito.port,
      'GET /slow/a HTTP/1.1\r\nHost: x\r\n\r\n' +
        'GET /next/b HTTP/1.1\r\nHost: x\r\n\r\n' +
        'GET /next/c HTTP/1.1\r\nHost: x\r\n\r\n' +
        'GARBAGE\0 x\r\n\r\n',
      5000,
    );
    const answers = [...text.matchAll(/answer for (\/[a-z]+\/[a-z])/g)].map((m) => m[1]);
    assert.deepEqual(answers, ['/slow/a', '/next/b', '/next/c']);
    assert.match(text, /Connection: close\r\n\r\nanswer for \/next\/c$/, 'the last says close, and closes');
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
