// WebSocket backpressure through `bin/dito`: when one side stops reading, Dito stops reading from
// the other (the sender's own buffer fills instead of Dito's memory), and once the reader resumes
// every message arrives, in order. Checked in both directions with 256 messages of 1 MiB, and with
// small messages sent one at a time, which Dito queues (up to the socket's high-water mark) while it
// still reads: the relay reads into reused memory, which must never be memory a queued write holds.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WebSocket } from 'ws';
import { baseConfig, type DitoProcess, startDito } from '../helpers/dito.js';
import { waitFor } from '../helpers/net.js';
import { closed, openClient, startWsUpstream, type WsUpstream } from '../helpers/ws-upstream.js';

const MiB = 1024 * 1024;
const MESSAGES = 256;
/**
 * What may leave the sender while the reader is paused: the kernel buffers of both hops and one
 * chunk in Dito. Loopback receive buffers can grow to tens of MiB (tcp_rmem), so the bound is
 * generous; without backpressure Dito would take all 256 MiB and the sender would keep none.
 */
const MAY_LEAVE_SENDER = 128 * MiB;
/**
 * How much Dito's resident memory may grow while it holds the stalled connection: ~4 MiB measured;
 * what already passed through waits for a collection too. Without backpressure: 150–270 MiB.
 */
const MAY_GROW_DITO = 96 * MiB;

function message(seq: number): Buffer {
  const data = Buffer.alloc(MiB, seq & 0xff);
  data.writeUInt32BE(seq, 0);
  return data;
}

/** Resolves once `buffered()` has stopped changing for a few samples (the pipeline is full). */
async function settled(buffered: () => number): Promise<number> {
  let last = -1;
  let steady = 0;
  await waitFor(
    () => {
      const now = buffered();
      steady = now === last && now > 0 ? steady + 1 : 0;
      last = now;
      return steady >= 6;
    },
    20_000,
    50,
  );
  return last;
}

/** Collects messages on `socket` until `MESSAGES` arrived; checks each one against what was sent. */
function receiveAll(socket: WebSocket): Promise<number> {
  return new Promise((resolve, reject) => {
    let next = 0;
    socket.on('message', (data: Buffer) => {
      // Every byte: a relay that read into memory still queued for writing would garble the middle.
      if (data.length !== MiB || !data.equals(message(next))) {
        reject(new Error(`message ${next}: got ${data.length} bytes, sequence ${data.readUInt32BE(0)}`));
        return;
      }
      next++;
      if (next === MESSAGES) resolve(next);
    });
  });
}

describe('WebSocket backpressure', () => {
  let upstream: WsUpstream;
  let dito: DitoProcess;
  /** The upstream side of the connection the current test opened. */
  let upstreamSide: Promise<WebSocket>;
  let gotUpstreamSide: (socket: WebSocket) => void;

  before(async () => {
    upstream = await startWsUpstream({
      maxPayload: 2 * MiB,
      onConnection: (socket) => gotUpstreamSide(socket),
    });
    dito = await startDito(baseConfig([{ path: '^/ws', target_url: upstream.url, enable_websocket: true }]));
  });

  after(async () => {
    await dito?.stop();
    await upstream?.close();
  });

  const connect = async (): Promise<{ client: WebSocket; server: WebSocket }> => {
    upstreamSide = new Promise((resolve) => (gotUpstreamSide = resolve));
    const client = await openClient(`ws://127.0.0.1:${dito.port}/ws`, undefined, { maxPayload: 2 * MiB });
    return { client, server: await upstreamSide };
  };

  /**
   * `reader` stops reading and `sender` sends `MESSAGES`: the sender must keep most of them (Dito
   * stopped reading too) and Dito must not queue them in its memory; once `reader` resumes, every
   * message arrives in order and the sender's close reaches it.
   */
  const stallThenDrain = async (sender: WebSocket, reader: WebSocket, names: string): Promise<void> => {
    reader.pause();
    const before = dito.memory().current;
    for (let seq = 0; seq < MESSAGES; seq++) sender.send(message(seq));
    const held = await settled(() => sender.bufferedAmount);
    const grown = dito.memory().current - before;
    assert.ok(
      grown < MAY_GROW_DITO,
      `Dito grew by ${(grown / MiB).toFixed(1)} MiB holding a stalled ${names}`,
    );
    assert.ok(
      held >= MESSAGES * MiB - MAY_LEAVE_SENDER,
      `the sender kept only ${(held / MiB).toFixed(1)} MiB: Dito read on while the ${names} reader did not`,
    );
    const received = receiveAll(reader);
    reader.resume();
    assert.equal(await received, MESSAGES);
    const readerClosed = closed(reader);
    sender.close(1000, 'done');
    assert.equal((await readerClosed).code, 1000);
  };

  /**
   * `reader` stops reading and `sender` sends 1 KiB messages one event-loop turn apart (so Dito
   * gets them one read at a time) until Dito stops reading too; then every message must arrive
   * intact once `reader` resumes.
   */
  const trickleThenDrain = async (sender: WebSocket, reader: WebSocket): Promise<void> => {
    reader.pause();
    const small = (seq: number) => {
      const data = Buffer.alloc(1024, (seq * 7) & 0xff);
      data.writeUInt32BE(seq, 0);
      return data;
    };
    let sent = 0;
    const deadline = Date.now() + 20_000;
    // Dito has stopped reading once the sender's own buffer holds more than Dito's reads would take.
    while (sender.bufferedAmount < 256 * 1024 && Date.now() < deadline) {
      sender.send(small(sent++));
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.ok(sender.bufferedAmount >= 256 * 1024, `the sender still sent freely after ${sent} messages`);
    const all = new Promise<void>((resolve, reject) => {
      let next = 0;
      reader.on('message', (data: Buffer) => {
        if (!data.equals(small(next))) {
          reject(new Error(`message ${next} of ${sent} arrived changed (sequence ${data.readUInt32BE(0)})`));
          return;
        }
        if (++next === sent) resolve();
      });
    });
    reader.resume();
    await all;
    const readerClosed = closed(reader);
    sender.close(1000, 'done');
    assert.equal((await readerClosed).code, 1000);
  };

  test('small messages queued behind a stalled client arrive intact', async () => {
    const { client, server } = await connect();
    await trickleThenDrain(server, client);
  });

  test('small messages queued behind a stalled upstream arrive intact', async () => {
    const { client, server } = await connect();
    await trickleThenDrain(client, server);
  });

  test('a client that stops reading holds the upstream back; nothing is lost', async () => {
    const { client, server } = await connect();
    await stallThenDrain(server, client, 'client');
  });

  test('an upstream that stops reading holds the client back; nothing is lost', async () => {
    const { client, server } = await connect();
    await stallThenDrain(client, server, 'upstream');
  });
});
