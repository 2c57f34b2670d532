// The WebSocket relay's socket reader (src/websocket/socket-reader.ts) over real TCP connections.
// On a connected socket (the upstream): it reuses one buffer while the relay lets go of each chunk,
// never reads into a chunk the relay still holds, grows to 64 KiB while reads fill the buffer and
// shrinks to 4 KiB after, and before the relay takes over hands Node's HTTP client copies through
// 'data' events. On an accepted socket (the client, switched by `readAcceptedSocket`): what was
// buffered before the switch comes first, later reads reuse one buffer, pause() and resume() still
// stop and restart reading (also when the sink paused the socket during the hand-over), the peer's
// FIN still ends the socket, and TLS sockets are left alone.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { readAcceptedSocket, SocketReader } from '../../src/websocket/socket-reader.js';
import { testCerts } from '../helpers/certs.js';
import { waitFor } from '../helpers/net.js';

describe('SocketReader on a connected socket', () => {
  let server: Server;
  let peer: Socket;
  let socket: Socket;
  let reader: SocketReader;
  const received: Buffer[] = [];
  let holdNext = false;
  const held: Array<{ chunk: Buffer; copy: Buffer }> = [];

  /** Sends `data` from the server side and waits until the reader has delivered all of it. */
  const send = async (data: Buffer): Promise<void> => {
    const before = received.reduce((n, c) => n + c.length, 0);
    peer.write(data);
    await waitFor(() => received.reduce((n, c) => n + c.length, 0) === before + data.length, 5000, 5);
  };

  before(async () => {
    server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const accepted = once(server, 'connection');
    reader = new SocketReader();
    socket = connect({
      port: (server.address() as AddressInfo).port,
      host: '127.0.0.1',
      onread: reader.onread,
    });
    reader.attach(socket);
    [peer] = (await accepted) as [Socket];
    socket.on('data', (copy: Buffer) => received.push(copy));
  });

  after(() => {
    socket.destroy();
    peer.destroy();
    server.close();
  });

  it('before the relay: each read arrives as a copy in a data event', async () => {
    await send(Buffer.from('HTTP/1.1 101 Switching Protocols\r\n\r\n'));
    const first = received[0]!;
    await send(Buffer.from('X'.repeat(first.length)));
    assert.equal(first.toString(), 'HTTP/1.1 101 Switching Protocols\r\n\r\n', 'a later read changed it');
  });

  it('then: chunks go to the sink, read into one reused 4 KiB buffer', async () => {
    received.length = 0;
    reader.relayTo((chunk) => {
      received.push(chunk);
      if (!holdNext) return false;
      holdNext = false;
      held.push({ chunk, copy: Buffer.from(chunk) });
      return true;
    });
    const buffer = reader.onread.buffer();
    for (let i = 0; i < 20; i++) await send(Buffer.from(`message ${i}`));
    assert.equal(received.length, 20);
    assert.equal(reader.onread.buffer(), buffer, 'the same buffer for every small read');
    assert.equal(buffer.length, 4096);
    assert.equal(received[19]!.buffer, buffer.buffer, 'the chunk is the buffer itself, not a copy');
  });

  it('a chunk the sink holds is never read into again', async () => {
    holdNext = true;
    const buffer = reader.onread.buffer();
    await send(Buffer.from('held: queued behind a slow client'));
    assert.notEqual(reader.onread.buffer(), buffer, 'the next read gets a new buffer');
    for (let i = 0; i < 10; i++) await send(Buffer.from(`overwrite ${i} `.repeat(8)));
    assert.deepEqual(held[0]!.chunk, held[0]!.copy);
  });

  it('grows to 64 KiB while reads fill the buffer, back to 4 KiB after', async () => {
    received.length = 0;
    const burst = Buffer.alloc(4 * 1024 * 1024, 7);
    await send(burst);
    assert.ok(
      received.some((chunk) => chunk.length > 4096),
      `reads of at most ${Math.max(...received.map((c) => c.length))} bytes`,
    );
    await send(Buffer.from('small again'));
    assert.equal(reader.onread.buffer().length, 4096, 'an idle connection keeps at most 4 KiB');
  });
});

describe('readAcceptedSocket', () => {
  let server: Server;
  let peer: Socket;
  let accepted: Socket;
  let reader: SocketReader;
  const received: Buffer[] = [];
  /** What each chunk held when it arrived (a chunk's memory is read into again later). */
  const texts: string[] = [];
  let holdNext = false;
  const held: Array<{ chunk: Buffer; copy: Buffer }> = [];
  const total = () => received.reduce((n, c) => n + c.length, 0);

  /** Sends `data` from the connecting side and waits until the sink has all of it. */
  const send = async (data: Buffer): Promise<void> => {
    const before = total();
    peer.write(data);
    await waitFor(() => total() === before + data.length, 5000, 5);
  };

  before(async () => {
    server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const connection = once(server, 'connection');
    peer = connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1' });
    [accepted] = (await connection) as [Socket];
    // As after an HTTP upgrade: no listener, not flowing, holding what arrived meanwhile.
    peer.write('early frame');
    await waitFor(() => accepted.readableLength === 'early frame'.length, 5000, 5);
    const switched = readAcceptedSocket(accepted, (chunk) => {
      received.push(chunk);
      texts.push(chunk.toString());
      if (!holdNext) return false;
      holdNext = false;
      held.push({ chunk, copy: Buffer.from(chunk) });
      return true;
    });
    assert.ok(switched, 'this Node offers the means (Node 20 and 24 do)');
    reader = switched;
  });

  after(() => {
    accepted.destroy();
    peer.destroy();
    server.close();
  });

  it('hands over what was buffered before the switch first', () => {
    assert.equal(texts.join(''), 'early frame');
  });

  it('then reads into one reused 4 KiB buffer, no data events', async () => {
    received.length = 0;
    texts.length = 0;
    let dataEvents = 0;
    accepted.on('data', () => dataEvents++);
    const buffer = reader.onread.buffer();
    for (let i = 0; i < 20; i++) await send(Buffer.from(`message ${i}`));
    assert.equal(received.length, 20);
    assert.equal(texts.join(','), [...Array(20).keys()].map((i) => `message ${i}`).join(','));
    assert.equal(reader.onread.buffer(), buffer, 'the same buffer for every small read');
    assert.equal(received[19]!.buffer, buffer.buffer, 'the chunk is the buffer itself, not a copy');
    assert.equal(dataEvents, 0);
    accepted.removeAllListeners('data');
  });

  it('a chunk the sink holds is never read into again', async () => {
    holdNext = true;
    await send(Buffer.from('held: queued behind a slow upstream'));
    for (let i = 0; i < 10; i++) await send(Buffer.from(`overwrite ${i} `.repeat(8)));
    assert.deepEqual(held[0]!.chunk, held[0]!.copy);
  });

  it('pause() stops reading and resume() starts it again (backpressure)', async () => {
    received.length = 0;
    texts.length = 0;
    accepted.pause();
    peer.write('while paused');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(total(), 0, 'nothing is read while paused');
    accepted.resume();
    await waitFor(() => total() === 'while paused'.length, 5000, 5);
    assert.equal(texts.join(''), 'while paused');
  });

  it("the peer's FIN still ends the socket", async () => {
    const ended = once(accepted, 'end');
    peer.end();
    await ended;
  });

  it('a sink that pauses the socket while taking the buffered bytes keeps it paused', async (t) => {
    const pair = once(server, 'connection');
    const sender = connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1' });
    const [socket] = (await pair) as [Socket];
    t.after(() => {
      sender.destroy();
      socket.destroy();
    });
    sender.write('before the switch');
    await waitFor(() => socket.readableLength === 'before the switch'.length, 5000, 5);
    const got: string[] = [];
    const switched = readAcceptedSocket(socket, (chunk) => {
      got.push(chunk.toString());
      // As the relay does when the upstream's write returns false.
      if (got.length === 1) socket.pause();
      return false;
    });
    assert.ok(switched);
    sender.write('after the switch');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(got, ['before the switch'], 'read on although the sink had paused the socket');
    socket.resume();
    await waitFor(() => got.join('').endsWith('after the switch'), 5000, 5);
  });

  it('a TLS socket is left as it was', async () => {
    const certs = testCerts();
    const tlsServer = createTlsServer({ cert: certs.pem.serverCert, key: certs.pem.serverKey });
    tlsServer.listen(0, '127.0.0.1');
    await once(tlsServer, 'listening');
    const secured = once(tlsServer, 'secureConnection');
    const client = tlsConnect({
      port: (tlsServer.address() as AddressInfo).port,
      host: '127.0.0.1',
      ca: certs.pem.ca,
    });
    const [socket] = (await secured) as [TLSSocket];
    assert.equal(
      readAcceptedSocket(socket, () => false),
      undefined,
    );
    const data = once(socket, 'data');
    client.write('still data events');
    assert.equal(String((await data)[0]), 'still data events');
    client.destroy();
    socket.destroy();
    tlsServer.close();
  });
});
