// What clients may send (the `server:` block): body size, header names and counts, URL length,
// slow clients, connection count. Every refusal is the contract's JSON and the upstream is spared.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { baseConfig, type DitoProcess, startDito } from '../helpers/dito.js';
import { rawExchange, request, sleep, waitFor } from '../helpers/net.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

describe('client limits', () => {
  let upstream: Upstream;
  let dito: DitoProcess;

  before(async () => {
    upstream = await startUpstream();
    dito = await startDito(
      baseConfig(
        [
          { path: '^/big-ok', target_url: upstream.url, max_request_body_size: 1_000_000 },
          { path: '^/', target_url: upstream.url },
        ],
        {
          server: {
            max_request_body_size: 1000,
            max_headers: 20,
            max_url_length: 200,
            read_header_timeout: '1s',
            max_connections: 40,
          },
        },
      ),
    );
  });

  after(async () => {
    await dito.stop();
    await upstream.close();
  });

  test('Content-Length over max_request_body_size → 413 JSON, upstream never contacted', async () => {
    const before = upstream.requests.length;
    const reply = await request(`${dito.url}/upload`, { method: 'POST', body: Buffer.alloc(5000) });
    assert.equal(reply.status, 413);
    const body = reply.json<{ error: { message: string; details: { limit_bytes: number } } }>();
    assert.equal(body.error.message, 'Request body size exceeds limit');
    assert.equal(body.error.details.limit_bytes, 1000);
    assert.equal(upstream.requests.length, before);
  });

  test('a chunked body running past the limit → 413 mid-stream', async () => {
    const chunk = `${(400).toString(16)}\r\n${'x'.repeat(400)}\r\n`;
    const text = await rawExchange(
      dito.port,
      `POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${chunk.repeat(5)}0\r\n\r\n`,
      2000,
    );
    assert.match(text, /^HTTP\/1.1 413/);
    assert.match(text, /Request body size exceeds limit/);
  });

  test("a location's own max_request_body_size overrides the global one", async () => {
    const reply = await request(`${dito.url}/big-ok`, { method: 'POST', body: Buffer.alloc(50_000) });
    assert.equal(reply.status, 200);
    assert.equal(reply.json<{ bodyLength: number }>().bodyLength, 50_000);
  });

  test('header names with "_" or "." are dropped, never folded onto real headers', async () => {
    await rawExchange(
      dito.port,
      'GET /alias HTTP/1.1\r\nHost: x\r\nX_Forwarded_For: 6.6.6.6\r\nX.Real.IP: 6.6.6.6\r\nX-Fine: yes\r\nConnection: close\r\n\r\n',
    );
    const seen = upstream.requests.at(-1)!;
    assert.equal(seen.url, '/alias');
    assert.deepEqual(
      seen.rawHeaders.filter((_, i) => i % 2 === 0 && /[_.]/.test(seen.rawHeaders[i]!)),
      [],
    );
    assert.equal(seen.headers['x-fine'], 'yes');
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
  });

  test('more headers than max_headers → 431; a URL over max_url_length → 414', async () => {
    const many = Array.from({ length: 25 }, (_, i) => `X-H${i}: v\r\n`).join('');
    const tooMany = await rawExchange(dito.port, `GET / HTTP/1.1\r\nHost: x\r\n${many}\r\n`);
    assert.match(tooMany, /^HTTP\/1.1 431/);
    const longUrl = await rawExchange(dito.port, `GET /${'a'.repeat(300)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.match(longUrl, /^HTTP\/1.1 414/);
  });

  test('slowloris: trickling clients are cut at read_header_timeout while normal traffic flows', async () => {
    const sockets: Socket[] = [];
    const closed: boolean[] = [];
    for (let i = 0; i < 20; i++) {
      const socket = connect(dito.port, '127.0.0.1');
      await once(socket, 'connect');
      socket.on('error', () => {});
      socket.on('close', () => (closed[i] = true));
      socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
      sockets.push(socket);
    }
    const trickle = setInterval(() => {
      for (const s of sockets) if (!s.destroyed) s.write('X-Slow: 1\r\n');
    }, 300);
    try {
      for (let i = 0; i < 5; i++) assert.equal((await request(`${dito.url}/normal`)).status, 200);
      await waitFor(() => closed.filter(Boolean).length === sockets.length, 5000);
    } finally {
      clearInterval(trickle);
      for (const s of sockets) s.destroy();
    }
  });

  test('max_connections: connections over the limit are refused at accept', async () => {
    const limited = await startDito(
      baseConfig([{ path: '^/', target_url: upstream.url }], { server: { max_connections: 10 } }),
    );
    const held: Socket[] = [];
    try {
      for (let i = 0; i < 10; i++) {
        const socket = connect(limited.port, '127.0.0.1');
        socket.on('error', () => {});
        await once(socket, 'connect');
        held.push(socket);
      }
      await sleep(100);
      const extra = connect(limited.port, '127.0.0.1');
      extra.on('error', () => {});
      extra.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      // Not events.once: it rejects on the 'error' a reset connection emits.
      await Promise.race([new Promise((resolve) => extra.once('close', resolve)), sleep(2000)]);
      assert.ok(extra.destroyed || extra.readableEnded, 'the 11th connection must be closed');
      for (const s of held) s.destroy();
      await waitFor(
        async () => (await request(`${limited.url}/after`).catch(() => ({ status: 0 }))).status === 200,
        3000,
      );
    } finally {
      for (const s of held) s.destroy();
      await limited.stop();
    }
  });
});
