// The keep-alive race (the usual source of "random 502s"): an upstream closes idle pooled
// connections after 1 s without announcing it, while requests arrive in waves about a second
// apart — so Dito reuses connections right when the upstream closes them. Idempotent requests
// without a body must then be retried once on a fresh connection, never answered with 502.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Agent, createServer, request as httpRequest, type Server } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { baseConfig, type DitoProcess, startDito } from '../helpers/dito.js';
import { sleep } from '../helpers/net.js';

const IDLE_CLOSE_MS = 1000;

interface IdleClosingUpstream {
  server: Server;
  url: string;
  connections: () => number;
  /** Requests whose connection the upstream closed instead of answering. */
  dropped: () => number;
  close(): Promise<void>;
}

/**
 * Closes a connection once it has been idle for 1 s, sending no `Keep-Alive: timeout` hint.
 * With `closeOnLateArrival`, a request that arrives on a connection idle for 1 s or more is
 * met by the close instead of an answer: the race, lost by Dito every time, deterministically.
 */
async function startIdleClosingUpstream(closeOnLateArrival: boolean): Promise<IdleClosingUpstream> {
  let connections = 0;
  let dropped = 0;
  const timers = new Map<Socket, NodeJS.Timeout>();
  const idleSince = new Map<Socket, number>();
  const arm = (socket: Socket) => {
    clearTimeout(timers.get(socket));
    idleSince.set(socket, Date.now());
    // The deterministic variant closes only when the next request arrives (below).
    if (!closeOnLateArrival)
      timers.set(
        socket,
        setTimeout(() => socket.destroy(), IDLE_CLOSE_MS),
      );
  };
  const server = createServer((req, res) => {
    const socket = req.socket;
    if (closeOnLateArrival && Date.now() - (idleSince.get(socket) ?? Date.now()) >= IDLE_CLOSE_MS) {
      dropped++;
      socket.destroy();
      return;
    }
    idleSince.delete(socket);
    req.resume();
    req.on('end', () => res.end('ok'));
    res.once('finish', () => arm(socket));
  });
  // 0 turns off Node's own idle timer and its `Keep-Alive: timeout=N` header: the client gets no
  // warning, as with most servers behind a proxy.
  server.keepAliveTimeout = 0;
  server.on('connection', (socket: Socket) => {
    connections++;
    socket.on('data', () => clearTimeout(timers.get(socket)));
    socket.once('close', () => {
      clearTimeout(timers.get(socket));
      timers.delete(socket);
      idleSince.delete(socket);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    dropped: () => dropped,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** 1000 GETs in four waves about a second apart (~3 s in all); returns the count per status. */
async function waves(dito: DitoProcess): Promise<Record<string, number>> {
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  const statuses: Record<string, number> = {};
  const get = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const req = httpRequest(`${dito.url}/r${i}`, { agent }, (res) => {
        res.resume();
        res.on('end', () => {
          statuses[res.statusCode!] = (statuses[res.statusCode!] ?? 0) + 1;
          resolve();
        });
      });
      req.on('error', reject);
      req.end();
    });
  let sent = 0;
  // A wave starts a little under 1 s after the previous one ended: the connections it freed
  // earliest are reused at ~1 s idle, exactly when the upstream closes them.
  for (const delay of [0, 960, 985, 995]) {
    await sleep(delay);
    await Promise.all(Array.from({ length: 250 }, () => get(sent++)));
  }
  agent.destroy();
  return statuses;
}

function retriedRequests(dito: DitoProcess): number {
  return dito.logs.filter((l) => l.msg === 'request' && typeof l.retries === 'number').length;
}

describe('keep-alive race with the upstream', () => {
  test('1000 keep-alive GETs over ~3 s, upstream closing idle sockets at 1 s → no 502', async (t) => {
    const upstream = await startIdleClosingUpstream(false);
    const dito = await startDito(baseConfig([{ path: '^/', target_url: upstream.url }]));
    try {
      assert.deepEqual(await waves(dito), { 200: 1000 });
      // Connections were reused (far fewer than requests), so reuse met the upstream's closes.
      assert.ok(upstream.connections() < 500, `${upstream.connections()} upstream connections`);
      t.diagnostic(`upstream connections: ${upstream.connections()}, retried: ${retriedRequests(dito)}`);
    } finally {
      await dito.stop();
      await upstream.close();
    }
  });

  test('the close wins the race every time → each reused GET is retried once on a fresh connection', async (t) => {
    const upstream = await startIdleClosingUpstream(true);
    const dito = await startDito(baseConfig([{ path: '^/', target_url: upstream.url }]));
    try {
      assert.deepEqual(await waves(dito), { 200: 1000 });
      assert.ok(upstream.dropped() > 0, 'the upstream closed connections under requests');
      assert.equal(retriedRequests(dito), upstream.dropped());
      t.diagnostic(`dropped by the upstream and retried: ${upstream.dropped()}`);
    } finally {
      await dito.stop();
      await upstream.close();
    }
  });

  test('a POST on a connection the upstream closes is not retried (502), a GET is', async () => {
    const upstream = await startIdleClosingUpstream(true);
    const dito = await startDito(baseConfig([{ path: '^/', target_url: upstream.url }]));
    try {
      const { request } = await import('../helpers/net.js');
      assert.equal((await request(`${dito.url}/warm`)).status, 200);
      await sleep(IDLE_CLOSE_MS + 50);
      const post = await request(`${dito.url}/post`, { method: 'POST', body: 'x' });
      assert.equal(post.status, 502);
      assert.equal((await request(`${dito.url}/warm-again`)).status, 200);
      await sleep(IDLE_CLOSE_MS + 50);
      assert.equal((await request(`${dito.url}/get`)).status, 200);
    } finally {
      await dito.stop();
      await upstream.close();
    }
  });
});

// An upstream that writes a second, unasked-for response on an idle keep-alive connection (a
// desync, or a hostile upstream): those bytes must never become the answer to the client's next
// request (undici's GHSA-35p6-xmwp-9g52). Dito parses upstream reads as they arrive (item 26 of
// docs/benchmark.md), so this also checks that unsolicited bytes are met by the parser there.
describe("an upstream's unsolicited bytes on an idle connection", () => {
  test('never answer a later request: the connection is dropped and the next request gets a fresh one', async () => {
    let connections = 0;
    const upstream = createNetServer((socket) => {
      connections++;
      let head = '';
      socket.on('data', (bytes: Buffer) => {
        head += bytes.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        head = '';
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        setTimeout(() => {
          if (!socket.destroyed) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL');
        }, 50);
      });
      socket.on('error', () => {});
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const port = (upstream.address() as { port: number }).port;
    const dito = await startDito(baseConfig([{ path: '^/', target_url: `http://127.0.0.1:${port}` }]));
    try {
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${dito.url}/r${i}`);
        assert.equal(res.status, 200);
        assert.equal(await res.text(), 'ok');
        await sleep(200); // the unsolicited answer arrives on the idle connection meanwhile
      }
      assert.equal(connections, 3, 'each request after the unsolicited bytes took a new connection');
    } finally {
      await dito.stop();
      upstream.close();
    }
  });
});
