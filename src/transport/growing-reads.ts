// How a plain-TCP upstream socket is read: into buffers that grow from 16 to 120 KiB while reads
// fill them, instead of Node's new 64 KiB allocation per read (docs/benchmark.md items 22 and 23),
// and handed straight to undici's response parser when nothing waits before them (item 26).
import type { Socket } from 'node:net';
import { undiciSymbols } from './undici.js';

/** undici's HTTP/1 response parser (`client-h1.js`), as it hangs on the socket it reads. */
interface UndiciParser {
  paused: boolean;
  /** The parser's wasm state; null once destroyed. */
  ptr: number | null;
  /** Parses one piece; errors destroy the socket (undici's own catch), never throw. */
  execute(chunk: Buffer): void;
}

/**
 * undici's key for the parser on a socket; undefined if undici's internals change, and every read
 * then takes the stream (`unit/growing-reads` fails to say so).
 */
const kParser = typeof undiciSymbols.kParser === 'symbol' ? undiciSymbols.kParser : undefined;

type ParserSlot = Record<symbol, UndiciParser | null | undefined>;

/** A burst's first read, and what a connection keeps between bursts. */
export const FIRST_READ_BYTES = 16 * 1024;

/**
 * Reads after one that filled the buffer (a large body). Kept under glibc's 128 KiB mmap threshold,
 * which is fixed because bin/dito sets MALLOC_TRIM_THRESHOLD_: at 256 KiB every buffer cost an
 * mmap, its page faults and a munmap, and GET 1 MiB gained less (Node 20, GET 1 MiB × 8, proxy on
 * one core, CPU per request: Node's reads ~800 µs, 256 KiB ~750, 120 KiB ~550).
 */
export const LARGE_READ_BYTES = 120 * 1024;

/**
 * `net.connect`'s `onread` for an upstream socket. A read that fills its buffer is handed on as it
 * is and the next read gets a fresh LARGE_READ_BYTES buffer, so a 1 MiB body arrives in ~10 reads
 * instead of ~18 and undici hands it on in pieces the client side writes in as few system calls.
 * A read of at least half its buffer is handed on too (a queued piece never keeps more than twice
 * its size) and the next read starts small again. A smaller read is copied into memory of its
 * exact size (Node's buffer pool under 4 KiB) and the buffer read into again, so a GET 1 KiB answer
 * costs no allocation beyond its bytes, and a large buffer is let go. Node 20, proxy on one core,
 * CPU per request: GET 1 MiB × 8 ~800 → ~550 µs; GET 100 KiB × 16 and GET 1 KiB × 64 unchanged
 * within noise.
 *
 * undici reads a socket through its stream: each read is pushed into the stream's buffer, a
 * 'readable' event is scheduled for the next tick, and undici's listener reads it back out
 * (`socket.read()`) to parse it; a full buffer also stops the socket's reads and restarts them
 * (an epoll_ctl pair). While undici's parser runs and the stream holds nothing, the read goes to
 * the parser at once instead: the same bytes, in the same order, one tick earlier. Node 20, proxy
 * on one core, CPU per request in pairs loaded at the same time: GET 1 KiB × 64 2–5.5 % less
 * (six pairs, median 3.4 %), GET 100 KiB × 16 3–6.5 %, GET 1 MiB × 8 within noise (and no
 * epoll_ctl calls left); one after the other, GET 1 KiB 3–13 % less (docs/benchmark.md item 26).
 * A paused parser (the client is slow) makes later reads take the stream, behind the bytes it put
 * back, until undici reads them out.
 * End of stream, errors, undici's `read()` and `pause()` stay Node's stream.
 */
export class GrowingReads {
  private buffer = Buffer.allocUnsafeSlow(FIRST_READ_BYTES);
  private socket: Socket | undefined;

  readonly onread = {
    buffer: (): Buffer => this.buffer,
    callback: (nread: number): boolean => this.deliver(nread),
  };

  /** The socket `onread` was given to: reads go to undici's parser on it, or into its stream. */
  attach(socket: Socket): void {
    this.socket = socket;
  }

  private deliver(nread: number): boolean {
    const buffer = this.buffer;
    let chunk: Buffer;
    if (nread === buffer.length || (nread >= FIRST_READ_BYTES && nread * 2 >= buffer.length)) {
      chunk = buffer.subarray(0, nread);
      this.buffer = Buffer.allocUnsafeSlow(nread === buffer.length ? LARGE_READ_BYTES : FIRST_READ_BYTES);
    } else {
      chunk = Buffer.allocUnsafe(nread); // Node's pool under 4 KiB, memory of its own above
      buffer.copy(chunk, 0, 0, nread);
      if (buffer.length !== FIRST_READ_BYTES) this.buffer = Buffer.allocUnsafeSlow(FIRST_READ_BYTES);
    }
    const socket = this.socket!;
    const parser = kParser && (socket as unknown as ParserSlot)[kParser];
    // What undici's 'readable' listener would do next tick (its `readMore()`), done now.
    if (parser != null && !parser.paused && parser.ptr !== null && socket.readableLength === 0) {
      parser.execute(chunk);
      return true;
    }
    // As Node's own read path: false (the stream's buffer is full) stops reading until undici reads.
    return socket.push(chunk);
  }
}
