// The upstream half of a WebSocket handshake: dial (TCP or TLS, each step under its own time
// limit), write the upgrade request with Node's HTTP client, and report the upstream's 101 (with
// the raw socket), any other answer, or the failure as one of Dito's error codes.
// Node's client is used rather than undici's `upgrade()`: undici turns a non-101 answer into an
// error, and the contract wants that answer relayed; Node's llhttp parses either kind of head.
import { type ClientRequest, type IncomingMessage, request as httpRequest } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { DitoError, type ErrorCode } from '../proxy/errors.js';
import { classifyUpstreamError } from '../proxy/http-proxy.js';
import type { WebSocketUpstream } from './upstream.js';
import { SocketReader } from './socket-reader.js';

export interface HandshakeCallbacks {
  /**
   * The upstream switched protocols: `socket` is now a raw byte stream; `head` is its first bytes.
   * `reader`: on plain TCP, the socket reads through it, and the relay takes its reads from it.
   */
  onUpgrade(response: IncomingMessage, socket: Socket, head: Buffer, reader: SocketReader | undefined): void;
  /** The upstream answered with anything but 101; its body streams from `response`. */
  onRefused(response: IncomingMessage): void;
  onError(code: ErrorCode, err: unknown): void;
}

/** Opens the connection, honouring the dial and TLS handshake limits separately (as Go does). */
function dial(upstream: WebSocketUpstream, reader: SocketReader | undefined): Socket {
  const socket =
    reader === undefined
      ? tlsConnect({ ...upstream.tls, port: upstream.port })
      : netConnect({ host: upstream.host, port: upstream.port, onread: reader.onread });
  reader?.attach(socket);
  // Small messages go out at once: Nagle plus delayed ACKs would add up to 40 ms per round trip.
  socket.setNoDelay(true);
  if (upstream.keepAliveMs > 0) socket.setKeepAlive(true, upstream.keepAliveMs);
  let timer: NodeJS.Timeout | undefined;
  const expire = (code: ErrorCode) => () => socket.destroy(new DitoError(code));
  if (upstream.dialTimeoutMs > 0) {
    timer = setTimeout(expire('DITO_ERR_UPSTREAM_CONNECT'), upstream.dialTimeoutMs);
  }
  const clear = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
  socket.once('connect', () => {
    clear();
    if (upstream.secure && upstream.tlsHandshakeTimeoutMs > 0) {
      timer = setTimeout(expire('DITO_ERR_UPSTREAM_TLS'), upstream.tlsHandshakeTimeoutMs);
    }
  });
  if (upstream.secure) socket.once('secureConnect', clear);
  socket.once('close', clear);
  return socket;
}

/**
 * Sends the upgrade request. Returns a function that aborts the handshake (client gone, shutdown);
 * after an abort no callback runs.
 */
export function startHandshake(
  upstream: WebSocketUpstream,
  method: string,
  path: string,
  headers: string[],
  callbacks: HandshakeCallbacks,
): () => void {
  let settled = false;
  let timer: NodeJS.Timeout | undefined;
  // `onread` is net's alone: TLS sockets read as usual.
  const reader = upstream.secure ? undefined : new SocketReader();
  const settle = (): boolean => {
    if (settled) return false;
    settled = true;
    if (timer !== undefined) clearTimeout(timer);
    return true;
  };
  const request: ClientRequest = httpRequest({
    method,
    path,
    // A flat [name, value, ...] list goes out as written: every header, in order, repeated ones too.
    headers: headers as unknown as Record<string, string>,
    // No agent: with `createConnection` (and `agent` left unset) Node uses our socket, one per
    // handshake; an upgraded connection never returns to a pool anyway.
    createConnection: () => dial(upstream, reader),
  });
  request.on('upgrade', (response: IncomingMessage, socket: Socket, head: Buffer) => {
    if (!settle()) {
      socket.destroy();
      return;
    }
    callbacks.onUpgrade(response, socket, head, reader);
  });
  request.on('response', (response: IncomingMessage) => {
    if (!settle()) {
      request.destroy();
      return;
    }
    callbacks.onRefused(response);
  });
  request.on('error', (err) => {
    if (settle()) callbacks.onError(classifyUpstreamError(err), err);
  });
  if (upstream.handshakeTimeoutMs > 0) {
    timer = setTimeout(() => {
      timer = undefined;
      request.destroy(new DitoError('DITO_ERR_UPSTREAM_TIMEOUT'));
    }, upstream.handshakeTimeoutMs);
  }
  request.end();
  return () => {
    if (settle()) request.destroy();
  };
}
