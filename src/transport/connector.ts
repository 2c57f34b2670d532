// Opens upstream connections for undici with Go's two separate limits: `dial_timeout` for DNS +
// TCP, then `tls_handshake_timeout` for the TLS handshake alone (undici's own `connectTimeout`
// spans both). TCP keep-alive probes are set on the raw socket, and TLS goes through undici's
// connector on top of it, which keeps its TLS session cache (resumed handshakes on reconnect).
import { type NetConnectOpts, connect as netConnect, type Socket } from 'node:net';
import type { SecureContext, TLSSocket } from 'node:tls';
import type { buildConnector } from 'undici';
import { undiciBuildConnector, undiciErrors } from './undici.js';

export interface ConnectorSettings {
  secure: boolean;
  /** 0 = no limit (the OS decides). */
  dialTimeoutMs: number;
  /** 0 = no limit. */
  tlsHandshakeTimeoutMs: number;
  /** Idle time before the first TCP keep-alive probe. */
  keepAliveMs: number;
  /** Offer `h2` by ALPN (HTTP/1.1 stays on offer for upstreams that do not speak h2). */
  allowH2: boolean;
  /** Built once at load: CA, client certificate and key (mTLS). */
  secureContext?: SecureContext;
  rejectUnauthorized: boolean;
}

/** A TLS handshake that did not finish in time; `ERR_TLS_*` classifies it as a TLS failure (502). */
export class TlsHandshakeTimeoutError extends Error {
  readonly code = 'ERR_TLS_HANDSHAKE_TIMEOUT';

  constructor(host: string, port: number, timeoutMs: number) {
    super(`TLS handshake with ${host}:${port} timed out after ${timeoutMs} ms`);
    this.name = 'TlsHandshakeTimeoutError';
  }
}

type ConnectOptions = buildConnector.Options & { hostname: string; host?: string; port: string };

/** A plain-TCP upstream's first read after a pause, and what an idle connection keeps. */
const FIRST_READ_BYTES = 16 * 1024;
/** Reads while they fill the buffer (a large body): four times libuv's 64 KiB. */
const LARGE_READ_BYTES = 256 * 1024;

/**
 * Reads a plain-TCP upstream socket (`net.connect`'s `onread`) into buffers that grow while reads
 * fill them, instead of Node's new 64 KiB per read: a large body arrives in a quarter of the reads,
 * and undici hands it on in pieces up to four times the size, so the client side writes it in
 * fewer system calls too. GET 1 MiB × 8, Node 20, proxy on one core: 18.3 reads and 18.3 writes
 * per request → 6.1 and 6.0 (strace -c); CPU per request ~630 → ~505 µs (three alternating
 * rounds, medians of six runs; docs/benchmark.md item 22). Small reads are copied into pooled
 * memory and the buffer read into again (a GET 1 KiB answer costs no 64 KiB allocation). A large
 * read is handed on as it is, so a queued piece never keeps more than twice its size, and the
 * next read gets a new buffer. Everything else (EOF, errors, undici's `read()`, `pause()`) is
 * Node's stream. TLS sockets keep Node's reads: `onread` does not apply to them.
 */
class GrowingReads {
  private buffer = Buffer.allocUnsafeSlow(FIRST_READ_BYTES);
  socket: Socket | undefined;

  readonly onread = {
    buffer: (): Buffer => this.buffer,
    callback: (nread: number): boolean => this.deliver(nread),
  };

  private deliver(nread: number): boolean {
    const buffer = this.buffer;
    let chunk: Buffer;
    if (nread === buffer.length || (nread >= FIRST_READ_BYTES && nread * 2 >= buffer.length)) {
      chunk = buffer.subarray(0, nread);
      this.buffer = Buffer.allocUnsafeSlow(nread === buffer.length ? LARGE_READ_BYTES : FIRST_READ_BYTES);
    } else {
      // Small, or under half of a large buffer: a copy of its own; the large buffer is let go.
      chunk = nread < FIRST_READ_BYTES ? Buffer.allocUnsafe(nread) : Buffer.allocUnsafeSlow(nread);
      buffer.copy(chunk, 0, 0, nread);
      if (buffer.length !== FIRST_READ_BYTES) this.buffer = Buffer.allocUnsafeSlow(FIRST_READ_BYTES);
    }
    // As Node's own read path: false (the stream's buffer is full) stops reading until undici reads.
    return this.socket!.push(chunk);
  }
}

export function buildDialer(settings: ConnectorSettings): buildConnector.connector {
  const upgradeToTls = settings.secure
    ? undiciBuildConnector({
        // Our own timer below covers the handshake; undici's would name it a connect timeout.
        timeout: 0,
        allowH2: settings.allowH2,
        // Keep-alive is set on the TCP socket underneath; the TLS wrapper has no handle of its own.
        keepAlive: false,
        secureContext: settings.secureContext,
        rejectUnauthorized: settings.rejectUnauthorized,
      })
    : undefined;
  const defaultPort = settings.secure ? 443 : 80;

  return function dial(options, callback): Socket {
    const { hostname, port: portText, localAddress } = options as ConnectOptions;
    const port = Number(portText) || defaultPort;
    let pending: typeof callback | null = callback;
    const settle = (err: Error | null, socket?: Socket) => {
      const cb = pending;
      pending = null;
      if (cb === null) return;
      if (err) cb(err, null);
      else cb(null, socket!);
    };

    const reads = upgradeToTls === undefined ? new GrowingReads() : undefined;
    const connectOptions: NetConnectOpts & { highWaterMark: number } = {
      ...(reads && { onread: reads.onread }),
      host: hostname,
      port,
      localAddress: localAddress ?? undefined,
      // As undici's own connector: 64 KiB reads, the size of Node's fs streams.
      highWaterMark: 64 * 1024,
      noDelay: true,
      keepAlive: true,
      keepAliveInitialDelay: settings.keepAliveMs,
    };
    const socket = netConnect(connectOptions);
    if (reads) reads.socket = socket;
    let dialTimer: NodeJS.Timeout | undefined;
    if (settings.dialTimeoutMs > 0) {
      dialTimer = setTimeout(() => {
        socket.destroy(
          new undiciErrors.ConnectTimeoutError(
            `dial ${hostname}:${port} timed out after ${settings.dialTimeoutMs} ms`,
          ),
        );
      }, settings.dialTimeoutMs);
    }
    const onDialError = (err: Error) => {
      clearTimeout(dialTimer);
      settle(err);
    };
    // Stays attached (a no-op once settled), as in undici's connector: an error between the
    // callback and undici attaching its own listener must not go unhandled.
    socket.on('error', onDialError);
    socket.once('connect', () => {
      clearTimeout(dialTimer);
      if (upgradeToTls === undefined) {
        settle(null, socket);
        return;
      }
      let handshakeTimer: NodeJS.Timeout | undefined;
      // undici's connector returns the TLS socket (its typings say void).
      const tlsSocket = upgradeToTls(
        { ...options, httpSocket: socket } as buildConnector.Options,
        (err, ready) => {
          clearTimeout(handshakeTimer);
          if (err) {
            socket.destroy();
            settle(err);
          } else {
            settle(null, ready!);
          }
        },
      ) as unknown as TLSSocket;
      if (settings.tlsHandshakeTimeoutMs > 0) {
        handshakeTimer = setTimeout(() => {
          tlsSocket.destroy(new TlsHandshakeTimeoutError(hostname, port, settings.tlsHandshakeTimeoutMs));
        }, settings.tlsHandshakeTimeoutMs);
      }
    });
    return socket;
  };
}
