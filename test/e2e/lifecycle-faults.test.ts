// Faults around connection lifetimes (anchors F3, F7, L2): an upstream closing idle keep-alive
// connections just as requests arrive, clients leaving mid-response, and SIGTERM with keep-alive
// clients connected. Nothing may surface as an error that the proxy could have avoided, and no
// socket may be left behind on either side.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Agent, request as httpRequest } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { baseConfig, type DitoProcess, startDito } from '../helpers/dito.js';
import { rawExchange, request, sleep, waitFor } from '../helpers/net.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

/**
 * An HTTP/1.1 upstream that closes each connection after `idleMs` without a request and, unlike
 * Node, announces no Keep-Alive timeout: the proxy cannot know when the close comes.
 */
async function startClosingUpstream(idleMs: number) {
  const state = { requests: 0, connections: 0, bodies: new Map<string, number>() };
  const sockets = new Set<Socket>();
  const server = createTcpServer((socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffered = '';
    let idle = setTimeout(() => socket.end(), idleMs);
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffered.slice(0, end);
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        buffered = buffered.slice(end + 4 + length);
        clearTimeout(idle);
        state.requests++;
        const id = /\r\nx-id: *([^\r]+)/i.exec(head)?.[1] ?? '';
        state.bodies.set(id, (state.bodies.get(id) ?? 0) + 1);
        const isHead = head.startsWith('HEAD ');
        socket.write(
          `HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n${isHead ? '' : 'ok'}`,
        );
        idle = setTimeout(() => socket.end(), idleMs);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('lifecycle faults', () => {
  let streaming: Upstream;
  const upstreamResponses = { started: 0, aborted: 0, finished: 0 };
  let dito: DitoProcess;
  let closing: Awaited<ReturnType<typeof startClosingUpstream>>;
  let nodeClosing: Upstream;

  before(async () => {
    // Answers with a body that never ends on its own: only a client leaving stops it.
    streaming = await startUpstream((_req, res) => {
      upstreamResponses.started++;
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const timer = setInterval(() => res.write(Buffer.alloc(16 * 1024, 1)), 20);
      res.on('close', () => {
        clearInterval(timer);
        if (res.writableFinished) upstreamResponses.finished++;
        else upstreamResponses.aborted++;
      });
    });
    closing = await startClosingUpstream(250);
    nodeClosing = await startUpstream();
    nodeClosing.server.keepAliveTimeout = 250;
    dito = await startDito(
      baseConfig(
        [
          { path: '^/stream', target_url: streaming.url, disable_response_buffering: true },
          { path: '^/buffered', target_url: streaming.url },
          { path: '^/closing', target_url: closing.url },
          { path: '^/node-closing', target_url: nodeClosing.url },
        ],
        { metrics: { enabled: true }, server: { read_timeout: '2s' } },
      ),
    );
  });

  after(async () => {
    await dito?.stop();
    await streaming?.close();
    await closing?.close();
    await nodeClosing?.close();
  });

  test('F3: an upstream closing idle keep-alive connections as requests arrive → zero GET/HEAD errors, POST never sent twice', async () => {
    const statuses: Record<string, number[]> = { GET: [], HEAD: [], POST: [] };
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < 18; i++) {
        // Around the upstream's idle timeout, so some requests meet a connection being closed.
        await sleep(235 + ((i * 7) % 30));
        const method = ['GET', 'HEAD', 'POST'][i % 3]!;
        const status = await new Promise<number>((resolve, reject) => {
          const req = httpRequest(
            `${dito.url}/closing`,
            { method, agent, headers: { 'x-id': `r${i}`, 'content-length': method === 'POST' ? '3' : '0' } },
            (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            },
          );
          req.on('error', reject);
          req.end(method === 'POST' ? 'abc' : undefined);
        });
        statuses[method]!.push(status);
      }
    } finally {
      agent.destroy();
    }
    assert.ok(
      statuses.GET!.every((s) => s === 200),
      `GET: ${statuses.GET}`,
    );
    assert.ok(
      statuses.HEAD!.every((s) => s === 200),
      `HEAD: ${statuses.HEAD}`,
    );
    assert.ok(
      statuses.POST!.every((s) => s === 200 || s === 502),
      `POST: ${statuses.POST}`,
    );
    // A POST is never replayed: each reached the upstream at most once.
    for (let i = 2; i < 18; i += 3)
      assert.ok((closing.state.bodies.get(`r${i}`) ?? 0) <= 1, `r${i} sent twice`);
    assert.ok(closing.state.connections > 1, 'the upstream did close idle connections');
  });

  test('F3: a Node upstream with keepAliveTimeout at the request interval → zero errors', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const statuses: number[] = [];
    try {
      for (let i = 0; i < 10; i++) {
        await sleep(240 + ((i * 7) % 20));
        const reply = await new Promise<number>((resolve, reject) => {
          const req = httpRequest(`${dito.url}/node-closing`, { agent }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          });
          req.on('error', reject);
          req.end();
        });
        statuses.push(reply);
      }
    } finally {
      agent.destroy();
    }
    assert.deepEqual(statuses, Array(10).fill(200));
  });

  test('F8: a request body trickled past read_timeout → 408 JSON and the connection closed, others unaffected', async () => {
    const { connect } = await import('node:net');
    const socket = connect(Number(new URL(dito.url).port), '127.0.0.1');
    socket.on('error', () => {});
    await once(socket, 'connect');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    const closed = once(socket, 'close');
    const started = Date.now();
    socket.write('POST /node-closing/slow-body HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n');
    const trickle = setInterval(() => socket.writable && socket.write('x'), 300);
    try {
      // Normal traffic keeps flowing meanwhile.
      for (let i = 0; i < 5; i++)
        assert.equal((await request(`${dito.url}/node-closing/normal`)).status, 200);
      await Promise.race([closed, sleep(8000)]);
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
    const text = Buffer.concat(chunks).toString('latin1');
    assert.match(text, /^HTTP\/1.1 408 /);
    assert.match(text, /"code":408/);
    const took = Date.now() - started;
    assert.ok(took >= 1900 && took < 5000, `cut after ${took} ms`);
  });

  test('F7: clients leaving mid-response abort the upstream request; no socket left on either side', async () => {
    const before = { ...upstreamResponses };
    const abortOne = (path: string, afterMs: number) =>
      new Promise<void>((resolve) => {
        const req = httpRequest(`${dito.url}${path}`, { agent: false });
        req.on('error', () => resolve());
        req.on('response', (res) => {
          res.once('data', () => setTimeout(() => req.destroy(), afterMs));
        });
        req.on('close', () => resolve());
        // Buffered responses never send headers while the body runs: leave after a while.
        if (path === '/buffered') setTimeout(() => req.destroy(), afterMs + 100);
        req.end();
      });
    const rounds = 20;
    for (let i = 0; i < rounds; i += 5) {
      await Promise.all([
        abortOne('/stream', 30),
        abortOne('/stream', 0),
        abortOne('/buffered', 50),
        abortOne('/stream', 80),
        abortOne('/buffered', 10),
      ]);
    }
    await waitFor(() => upstreamResponses.aborted - before.aborted === rounds, 5000).catch(() => {});
    assert.equal(upstreamResponses.started - before.started, rounds, 'every request reached the upstream');
    assert.equal(upstreamResponses.aborted - before.aborted, rounds, 'every upstream response was aborted');
    assert.equal(upstreamResponses.finished, before.finished);
    // No upstream connection kept open for a response nobody reads.
    await waitFor(() => streaming.connections.open === 0, 5000);
    // And Dito holds no client connection but the metrics request asking.
    await waitFor(async () => {
      const metrics = await request(`${dito.url}/metrics`);
      return /\nactive_connections 1\n/.test(metrics.text);
    }, 5000);
  });
});

describe('SIGTERM with keep-alive clients (L2)', () => {
  test('regression: an in-flight keep-alive answer during SIGTERM said keep-alive and held the drain; now Connection: close, idle connections closed, exit 0', async () => {
    const slow = await startUpstream((_req, res) => setTimeout(() => res.end('finished'), 700));
    const dito = await startDito(
      baseConfig([{ path: '^/', target_url: slow.url }], { shutdown_timeout: '10s' }),
    );
    try {
      const { connect } = await import('node:net');
      // An idle keep-alive connection: one request answered, then nothing.
      const idle = connect(dito.port, '127.0.0.1');
      idle.on('error', () => {});
      const idleClosed = once(idle, 'close');
      idle.write('GET /warm HTTP/1.1\r\nHost: x\r\n\r\n');
      await once(idle, 'data');
      // A keep-alive request in flight when SIGTERM comes.
      const inFlight = rawExchange(dito.port, 'GET /in-flight HTTP/1.1\r\nHost: x\r\n\r\n', 5000);
      await waitFor(() => slow.requests.some((r) => r.url === '/in-flight'));
      const signalledAt = Date.now();
      dito.proc.kill('SIGTERM');
      await idleClosed;
      assert.ok(Date.now() - signalledAt < 1000, 'the idle connection is closed at once');
      const text = await inFlight;
      assert.match(text, /^HTTP\/1.1 200 /);
      assert.match(text, /\r\nConnection: close\r\n/i, 'told not to reuse the connection');
      assert.match(text, /finished$/);
      assert.equal(await dito.exited, 0);
    } finally {
      await dito.stop();
      await slow.close();
    }
  });
});
