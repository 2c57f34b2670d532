// Reads one side of a relayed WebSocket into a buffer of its own that is reused from read to read,
// instead of Node's default: a new 64 KiB allocation, a stream push and a 'data' event per read.
// Each piece is written to the other side straight from that buffer. The buffer is read into again
// only when that write completed at once; while the other socket has anything queued (a slow
// peer), the queued write keeps the buffer and the next read gets a new one.
// Sizes follow the traffic, as nginx's one-page proxy_buffer_size does for an idle connection: 4
// KiB while messages are small, 64 KiB (Node's read size) while reads fill the buffer, back to 4 KiB
// on the first read that does not, so an idle connection keeps at most 4 KiB per side.
// Node 20, WebSocket echo × 32 (64-byte messages), user-space instructions per echoed message
// under callgrind: upstream side 35.5k–41.1k → 29.0k–30.9k (docs/benchmark.md item 20), then the
// client side too 29.4k–32.9k → 19.1k–20.1k (item 21, `readAcceptedSocket`).
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

const SMALL_READ_BYTES = 4 * 1024;
const LARGE_READ_BYTES = 64 * 1024;

/**
 * Where a side's bytes go once the relay runs. Returns true when it still holds `chunk` (queued
 * behind a slow peer): the reader must not read into that memory again.
 */
export type ChunkSink = (chunk: Buffer) => boolean;

export class SocketReader {
  // Never from Node's shared pool: the memory is read into again, so it must be this reader's alone.
  private buffer = Buffer.allocUnsafeSlow(SMALL_READ_BYTES);
  private sink: ChunkSink | undefined;
  private socket: Socket | undefined;

  /** For `net.connect`: Node reads into `buffer()` and hands each read to `callback`. */
  readonly onread = {
    buffer: (): Buffer => this.buffer,
    // Always true (read on): the relay pauses the socket itself when the other side is slow.
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
      // The upstream's handshake: Node's HTTP client reads the 101 from 'data' events and hands
      // what follows it to the 'upgrade' listener, so it gets a copy of its own.
      this.socket?.emit('data', Buffer.from(chunk));
    } else held = this.sink(chunk);
    const size = nread === this.buffer.length ? LARGE_READ_BYTES : SMALL_READ_BYTES;
    if (held || size !== this.buffer.length) this.buffer = Buffer.allocUnsafeSlow(size);
  }
}

/** The private fields through which `net.connect`'s `onread` option works (see below). */
interface OnreadFields {
  buffer: symbol;
  callback: symbol;
  generator: symbol;
}

let onreadFields: OnreadFields | null | undefined;

/** Found by their descriptions on a socket; null when this Node names them differently. */
function findOnreadFields(socket: Socket): OnreadFields | null {
  const byName = new Map(Object.getOwnPropertySymbols(socket).map((symbol) => [symbol.description, symbol]));
  const buffer = byName.get('kBuffer');
  const callback = byName.get('kBufferCb');
  const generator = byName.get('kBufferGen');
  if (buffer === undefined || callback === undefined || generator === undefined) return null;
  return { buffer, callback, generator };
}

/**
 * Makes an accepted plain-TCP socket (the client of a WebSocket) read through a `SocketReader`
 * that hands every read to `sink`; first hands `sink` what the socket had already buffered. The
 * socket reads on afterwards unless it was paused (by `sink`, for backpressure, or before).
 * Returns undefined, leaving the socket as it was, for TLS and wherever this Node does not offer
 * the means: then the caller reads 'data' events as before.
 *
 * Node gives `onread` only to sockets it connects (`net.connect`); a server's sockets always read
 * into new buffers. Underneath, `onread` is three private fields of the socket (buffer, generator,
 * callback; Node 20–24 name them kBuffer, kBufferGen, kBufferCb) and the handle's `useUserBuffer`,
 * which Node's read path consults for every socket. Setting them on an accepted socket is what
 * `net.connect` does for its own; they are found by description and checked, and any mismatch
 * falls back to the default reads.
 * Node 20, WebSocket echo × 32, proxy on one core: user CPU per echoed message 7.3–8.9 → 5.1–6.4 µs,
 * system time unchanged (docs/benchmark.md item 21).
 */
export function readAcceptedSocket(socket: Socket, sink: ChunkSink): SocketReader | undefined {
  if ((socket as TLSSocket).encrypted === true || socket.destroyed) return undefined;
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: unknown } | null })._handle;
  if (handle === undefined || handle === null || typeof handle.useUserBuffer !== 'function') return undefined;
  if (onreadFields === undefined) onreadFields = findOnreadFields(socket);
  const fields = onreadFields;
  const slots = socket as unknown as Record<symbol, unknown>;
  if (fields === null || slots[fields.buffer] !== null) return undefined;
  // Bytes read before the switch (a client may send frames before it sees the 101) go first.
  for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) {
    sink(chunk);
  }
  const reader = new SocketReader();
  reader.attach(socket);
  reader.relayTo(sink);
  const first = reader.onread.buffer();
  slots[fields.generator] = reader.onread.buffer;
  slots[fields.callback] = reader.onread.callback;
  slots[fields.buffer] = first;
  (handle.useUserBuffer as (buffer: Uint8Array) => void).call(handle, first);
  // With the fields set, pause() and resume() stop and start the handle's reads themselves. A sink
  // that paused the socket while taking the buffered bytes (the other side's buffer was full) had
  // paused only the stream, so pause again now that it stops the reads; otherwise start them, in
  // case a full stream buffer had stopped them before the switch.
  if (socket.isPaused()) socket.pause();
  else socket.resume();
  return reader;
}
