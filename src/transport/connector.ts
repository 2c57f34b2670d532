// Opens upstream connections for undici with Go's two separate limits: `dial_timeout` for DNS +
// TCP, then `tls_handshake_timeout` for the TLS handshake alone (undici's own `connectTimeout`
// spans both). TCP keep-alive probes are set on the raw socket, and TLS goes through undici's
// connector on top of it, which keeps its TLS session cache (resumed handshakes on reconnect).
import { type NetConnectOpts, connect as netConnect, type Socket } from 'node:net';
import type { SecureContext, TLSSocket } from 'node:tls';
import type { buildConnector } from 'undici';
import { GrowingReads } from './growing-reads.js';
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

    // TLS sockets read through their own stream; only plain TCP gets reads that grow.
    const reads = upgradeToTls === undefined ? new GrowingReads() : undefined;
    const connectOptions: NetConnectOpts & { highWaterMark: number } = {
      ...(reads && { onread: reads.onread }),
      host: hostname,
      port,
      localAddress: localAddress ?? undefined,
      // As undici's own connector: its stream holds up to 64 KiB before reading stops.
      highWaterMark: 64 * 1024,
      noDelay: true,
      keepAlive: true,
      keepAliveInitialDelay: settings.keepAliveMs,
    };
    const socket = netConnect(connectOptions);
    reads?.attach(socket);
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
