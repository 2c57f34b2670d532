// Upstream reads that grow while they fill (src/transport/growing-reads.ts), over a real loopback
// TCP connection: a large body arrives whole and in pieces larger than Node's 64 KiB reads, and a
// small read is copied out of the buffer the next read goes into, so earlier pieces never change.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Dispatcher } from 'undici';
import { buildDialer } from '../../src/transport/connector.js';
import { GrowingReads, LARGE_READ_BYTES } from '../../src/transport/growing-reads.js';
import { UndiciClient } from '../../src/transport/undici.js';

const KiB = 1024;

describe('growing upstream reads', () => {
  let server: Server;
  let port = 0;
  /** What the next accepted connection does with its socket. */
  let onAccept: (socket: Socket) => void = () => {};

  before(async () => {
    server = createServer((socket) => onAccept(socket));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as { port: number }).port;
  });

  after(() => {
    server.close();
  });

  function dial(): Socket {
    const reads = new GrowingReads();
    const socket = connect({ host: '127.0.0.1', port, onread: reads.onread });
    reads.attach(socket);
    return socket;
  }

  test('a large body arrives whole, in pieces that grow past 64 KiB up to the large size', async () => {
    const body = Buffer.alloc(4 * 1024 * KiB);
    for (let i = 0; i < body.length; i += 4) body.writeUInt32LE(i, i);
    onAccept = (socket) => socket.end(body);
    const socket = dial();
    const pieces: Buffer[] = [];
    socket.on('data', (piece: Buffer) => pieces.push(piece));
    await once(socket, 'end');
    assert.ok(Buffer.concat(pieces).equals(body), 'the body arrived changed');
    const largest = Math.max(...pieces.map((p) => p.length));
    assert.ok(largest > 64 * KiB, `largest piece ${largest} bytes`);
    assert.ok(largest <= LARGE_READ_BYTES, `largest piece ${largest} bytes`);
    assert.ok(pieces.length < 64, `${pieces.length} pieces for 4 MiB`);
  });

  test('small reads are copied: a later read never changes an earlier piece', async () => {
    let server: Socket | undefined;
    onAccept = (socket) => {
      server = socket;
    };
    const socket = dial();
    const pieces: Buffer[] = [];
    const next = () => once(socket, 'data').then(([piece]) => pieces.push(piece as Buffer));
    await once(socket, 'connect');
    while (server === undefined) await new Promise((resolve) => setImmediate(resolve));
    for (const letter of ['a', 'b', 'c']) {
      const arrived = next();
      server.write(letter.repeat(100));
      await arrived;
    }
    assert.deepEqual(
      pieces.map((p) => p.toString()),
      ['a', 'b', 'c'].map((letter) => letter.repeat(100)),
    );
    socket.destroy();
    server.destroy();
  });

  test('a full stream stops reading until the data is read (backpressure)', async () => {
    let server: Socket | undefined;
    onAccept = (socket) => {
      server = socket;
    };
    const socket = dial();
    socket.pause();
    await once(socket, 'connect');
    while (server === undefined) await new Promise((resolve) => setImmediate(resolve));
    // 16 MiB: more than the kernel buffers on both sides of a loopback connection hold.
    const chunk = Buffer.alloc(256 * KiB, 'x');
    for (let i = 0; i < 64; i++) server.write(chunk);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The stream holds no more than its mark plus one read: the rest waits in the kernel.
    assert.ok(socket.readableLength <= 64 * KiB + LARGE_READ_BYTES, `${socket.readableLength} bytes held`);
    assert.ok(server.writableLength > 0, 'the sender was never held back');
    socket.destroy();
    server.destroy();
  });
});

// With undici on the socket, a read goes straight into undici's response parser while the parser
// runs and the stream holds nothing; only a paused parser's reads take the stream, in order.
describe('reads handed to undici', () => {
  const body4MiB = Buffer.alloc(4 * 1024 * KiB);
  for (let i = 0; i < body4MiB.length; i += 4) body4MiB.writeUInt32LE(i, i);
  let server: HttpServer;
  let origin = '';

  before(async () => {
    server = createHttpServer((req, res) => {
      const body = req.url === '/large' ? body4MiB : Buffer.alloc(KiB, 'k');
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  after(() => {
    server.close();
  });

  /** A Client on Dito's dialer, with a count of what its sockets pushed into their streams. */
  function client(): { client: InstanceType<typeof UndiciClient>; pushed: () => number } {
    const dial = buildDialer({
      secure: false,
      dialTimeoutMs: 0,
      tlsHandshakeTimeoutMs: 0,
      keepAliveMs: 60_000,
      allowH2: false,
      rejectUnauthorized: true,
    });
    let pushed = 0;
    const connect: typeof dial = (options, callback) =>
      dial(options, (err, socket) => {
        if (err !== null) {
          callback(err, null);
          return;
        }
        const push = socket!.push.bind(socket);
        socket!.push = (chunk: unknown, encoding?: BufferEncoding) => {
          if (chunk !== null) pushed++;
          return push(chunk, encoding);
        };
        callback(null, socket!);
      });
    return { client: new UndiciClient(origin, { connect }), pushed: () => pushed };
  }

  /** One GET; `onData` may pause the response (returns false) and resume it after `pauseMs`. */
  function get(c: InstanceType<typeof UndiciClient>, path: string, pauseMs?: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const pieces: Buffer[] = [];
      let resume: () => void = () => {};
      const handler = {
        onConnect() {},
        onHeaders(_status: number, _headers: Buffer[], resumeResponse: () => void) {
          resume = resumeResponse;
          return true;
        },
        onData(piece: Buffer) {
          pieces.push(Buffer.from(piece));
          if (pauseMs === undefined) return true;
          setTimeout(resume, pauseMs);
          return false;
        },
        onComplete() {
          resolve(Buffer.concat(pieces));
        },
        onError: reject,
      };
      c.dispatch({ path, method: 'GET' }, handler as unknown as Dispatcher.DispatchHandler);
    });
  }

  test('a running parser takes every read at once, without the socket stream', async () => {
    const { client: c, pushed } = client();
    try {
      for (let i = 0; i < 20; i++) assert.ok((await get(c, '/small')).equals(Buffer.alloc(KiB, 'k')));
      assert.ok((await get(c, '/large')).equals(body4MiB), 'the large body arrived changed');
      assert.equal(pushed(), 0, 'reads went through the stream');
    } finally {
      await c.destroy();
    }
  });

  test('a paused parser gets its reads through the stream, in order', async () => {
    const { client: c, pushed } = client();
    try {
      assert.ok((await get(c, '/large', 2)).equals(body4MiB), 'the body arrived changed');
      assert.ok(pushed() > 0, 'no read waited in the stream');
      assert.ok((await get(c, '/small')).equals(Buffer.alloc(KiB, 'k')));
    } finally {
      await c.destroy();
    }
  });
});
