// The WebSocket upstream reader (src/websocket/upstream-reader.ts) over a real TCP connection: it
// reuses one buffer while the relay lets go of each chunk, never reads into a chunk the relay still
// holds, grows to 64 KiB while reads fill the buffer and shrinks to 4 KiB after, and before the
// relay takes over hands Node's HTTP client copies through 'data' events.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { UpstreamReader } from '../../src/websocket/upstream-reader.js';
import { waitFor } from '../helpers/net.js';

describe('UpstreamReader', () => {
  let server: Server;
  let peer: Socket;
  let socket: Socket;
  let reader: UpstreamReader;
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
    reader = new UpstreamReader();
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
