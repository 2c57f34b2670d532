// How a streamed upstream body is written to the client, seen from inside the process: every
// `ServerResponse.write` Dito makes is recorded while real clients read large bodies. Upstream
// reads grow past Node's 64 KiB while they fill (src/transport/growing-reads.ts). A client
// connection takes one whole 64 KiB socket read without reporting backpressure
// (src/runtime/server.ts CLIENT_HIGH_WATER_MARK); a slow client still pauses the relay and gets
// every byte; and the empty body pieces undici reports when it resumes a paused response with
// nothing read yet are never written (each was a `write(fd, NULL, 0)` system call). Those pieces
// come from a timing the wire cannot force, so that test adds one after every piece undici
// delivers, at the dispatcher, with everything else real.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type IncomingMessage, request as httpRequest, ServerResponse } from 'node:http';
import { after, afterEach, before, describe, test } from 'node:test';
import { DitoApp } from '../../src/runtime/app.js';
import { LARGE_READ_BYTES } from '../../src/transport/growing-reads.js';
import { UndiciPool } from '../../src/transport/undici.js';
import { writeConfig } from '../helpers/dito.js';
import { sleep } from '../helpers/net.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const BURST = 16 * MiB;

interface RecordedWrite {
  bytes: number;
  accepted: boolean;
  highWaterMark: number;
  /** Bytes waiting in user space for this client once the write was made. */
  pending: number;
}

describe('body relay writes', () => {
  let upstream: Upstream;
  let app: DitoApp;
  let base: string;
  const originalWrite = ServerResponse.prototype.write;
  let writes: RecordedWrite[] = [];
  let ditoPort = 0;

  before(async () => {
    upstream = await startUpstream((req, res) => {
      if (req.url === '/whole') {
        res.writeHead(200, { 'content-length': String(4 * MiB) });
        res.end(Buffer.alloc(4 * MiB, 'w'));
        return;
      }
      // /burst: 16 MiB at once, more than the sockets between Dito and a client that waits
      // before reading can hold, so the relay has to pause.
      res.writeHead(200, { 'content-length': String(BURST) });
      res.end(Buffer.alloc(BURST, 'b'));
    });
    const configPath = writeConfig({
      port: 0,
      logging: { enabled: false },
      locations: [{ path: '^/', target_url: upstream.url, disable_response_buffering: true }],
    });
    app = await DitoApp.create({ configPath });
    ditoPort = await app.start();
    base = `http://127.0.0.1:${ditoPort}`;
    // The upstream answers through ServerResponse too: only the proxy's writes to its clients are
    // recorded.
    ServerResponse.prototype.write = function (this: ServerResponse, ...args: unknown[]) {
      const chunk = args[0] as Buffer | string;
      const accepted = (originalWrite as (...a: unknown[]) => boolean).apply(this, args);
      if (this.socket?.localPort === ditoPort)
        writes.push({
          bytes: chunk.length,
          accepted,
          highWaterMark: this.writableHighWaterMark,
          pending: this.writableLength,
        });
      return accepted;
    } as typeof originalWrite;
  });

  afterEach(() => {
    writes = [];
  });

  after(async () => {
    ServerResponse.prototype.write = originalWrite;
    await app.stop('test');
    await upstream.close();
  });

  /** GETs `path`, first waiting `waitMs`, then `delayMs` after each piece received; resolves with the bytes read. */
  async function read(path: string, waitMs: number, delayMs: number): Promise<number> {
    const req = httpRequest(`${base}${path}`, { agent: false });
    const [res] = (await once(req.end(), 'response')) as [IncomingMessage];
    assert.equal(res.statusCode, 200);
    res.pause();
    await sleep(waitMs);
    let received = 0;
    for await (const piece of res) {
      received += (piece as Buffer).length;
      if (delayMs > 0) await sleep(delayMs);
    }
    return received;
  }

  test('a client connection takes a whole 64 KiB socket read before reporting backpressure', async () => {
    assert.equal(await read('/whole', 0, 0), 4 * MiB);
    assert.ok(writes.length > 0);
    for (const write of writes) assert.equal(write.highWaterMark, 128 * KiB);
    // With Node's default (16 KiB on Node 20, 64 KiB on Node 24) every 64 KiB piece reported
    // backpressure, and the relay paused and resumed the upstream for each one.
    const refused = writes.filter((w) => !w.accepted && w.bytes <= 64 * KiB && w.bytes > 0);
    assert.ok(
      refused.length < writes.length / 2,
      `${refused.length} of ${writes.length} writes reported backpressure`,
    );
  });

  test('a slow client pauses the relay and gets every byte', async () => {
    assert.equal(await read('/burst', 300, 1), BURST);
    assert.ok(
      writes.some((w) => !w.accepted),
      'the client never reported backpressure',
    );
    // The relay waited for 'drain' after each refused write: what waits in user space never goes
    // past the mark plus one upstream read (without the pause, most of the 16 MiB would).
    const mostPending = Math.max(...writes.map((w) => w.pending));
    assert.ok(mostPending <= 128 * KiB + LARGE_READ_BYTES, `${mostPending} bytes waited for the client`);
  });

  test('a large body is read from the upstream in pieces over 64 KiB, and written so', async () => {
    assert.equal(await read('/whole', 0, 0), 4 * MiB);
    // With Node's own reads no piece was over 64 KiB, and 4 MiB took at least 64 writes.
    const largest = Math.max(...writes.map((w) => w.bytes));
    assert.ok(largest > 64 * KiB, `largest piece written: ${largest} bytes`);
    assert.ok(largest <= LARGE_READ_BYTES, `largest piece written: ${largest} bytes`);
    assert.ok(writes.length < 64, `${writes.length} writes for 4 MiB`);
  });

  test('empty body pieces from undici are not written', async () => {
    type Handler = { onData(chunk: Buffer): boolean };
    const originalDispatch = UndiciPool.prototype.dispatch;
    let injected = 0;
    UndiciPool.prototype.dispatch = function (this: InstanceType<typeof UndiciPool>, options, handler) {
      const withEmptyPieces = new Proxy(handler as unknown as Handler, {
        get(target, key, receiver) {
          if (key !== 'onData') return Reflect.get(target, key, receiver) as unknown;
          return (chunk: Buffer) => {
            const more = target.onData.call(receiver, chunk);
            injected++;
            target.onData.call(receiver, Buffer.alloc(0));
            return more;
          };
        },
      });
      return originalDispatch.call(this, options, withEmptyPieces as unknown as typeof handler);
    };
    try {
      assert.equal(await read('/whole', 0, 0), 4 * MiB);
    } finally {
      UndiciPool.prototype.dispatch = originalDispatch;
    }
    assert.ok(injected > 0);
    const empty = writes.filter((w) => w.bytes === 0).length;
    assert.equal(empty, 0, `${empty} empty writes of ${writes.length}`);
  });
});
