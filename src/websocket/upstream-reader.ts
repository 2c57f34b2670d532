// Reads a plain-TCP WebSocket upstream into a buffer of its own that is reused from read to read
// (net's `onread` option), instead of Node's default: a new 64 KiB allocation, a stream push and a
// 'data' event per read. Each piece is written to the client straight from that buffer. The buffer
// is read into again only when that write completed at once; while the client socket has anything
// queued (a slow client), the queued write keeps the buffer and the next read gets a new one.
// Sizes follow the traffic, as nginx's one-page proxy_buffer_size does for an idle connection: 4
// KiB while messages are small, 64 KiB (Node's read size) while reads fill the buffer, back to 4 KiB
// on the first read that does not, so an idle connection keeps at most 4 KiB.
// Node 20, WebSocket echo × 32 (64-byte messages), user-space instructions per echoed message
// under callgrind: 35.5k–41.1k → 29.0k–30.9k (docs/benchmark.md item 20).
import type { Socket } from 'node:net';

const SMALL_READ_BYTES = 4 * 1024;
const LARGE_READ_BYTES = 64 * 1024;

/**
 * Where the upstream's bytes go once the relay runs. Returns true when it still holds `chunk`
 * (queued behind a slow client): the reader must not read into that memory again.
 */
export type ChunkSink = (chunk: Buffer) => boolean;

export class UpstreamReader {
  // Never from Node's shared pool: the memory is read into again, so it must be this reader's alone.
  private buffer = Buffer.allocUnsafeSlow(SMALL_READ_BYTES);
  private sink: ChunkSink | undefined;
  private socket: Socket | undefined;

  /** For `net.connect`: Node reads into `buffer()` and hands each read to `callback`. */
  readonly onread = {
    buffer: (): Buffer => this.buffer,
    // Always true (read on): the relay pauses the socket itself when the client is slow.
    callback: (nread: number, buffer: Uint8Array): boolean => {
      this.deliver(nread, buffer);
      return true;
    },
  };

  /** The socket `onread` was given to (known only once `connect` returned it). */
  attach(socket: Socket): void {
    this.socket = socket;
  }

  /** From now on every read goes to `sink` (the relay), uncopied. */
  relayTo(sink: ChunkSink): void {
    this.sink = sink;
  }

  private deliver(nread: number, buffer: Uint8Array): void {
    const chunk = Buffer.from(buffer.buffer, buffer.byteOffset, nread);
    let held = false;
    if (this.sink === undefined) {
      // The handshake: Node's HTTP client reads the 101 from 'data' events and hands what follows
      // it to the 'upgrade' listener, so it gets a copy of its own.
      this.socket?.emit('data', Buffer.from(chunk));
    } else held = this.sink(chunk);
    const size = nread === this.buffer.length ? LARGE_READ_BYTES : SMALL_READ_BYTES;
    if (held || size !== this.buffer.length) this.buffer = Buffer.allocUnsafeSlow(size);
  }
}
