// How a location reaches its WebSocket upstream, compiled at load: address, TLS options from the
// location's effective transport (CA, client certificate, verification) and the time limits.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { HttpTransportConfig } from '../config/types.js';

export interface WebSocketUpstream {
  /** Host name or IP for `connect` (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  /** `wss:` and `https:` targets. */
  readonly secure: boolean;
  /** Options for `tls.connect` (secure targets only). */
  readonly tls: ConnectionOptions | undefined;
  /** 0 = none. */
  readonly dialTimeoutMs: number;
  readonly tlsHandshakeTimeoutMs: number;
  /** Limit for the upstream's answer to the upgrade request, from dispatch; 0 = none. */
  readonly handshakeTimeoutMs: number;
  /** TCP keep-alive probe interval; 0 = off. */
  readonly keepAliveMs: number;
  /** No bytes either way for this long closes the connection; 0 = never. */
  readonly idleTimeoutMs: number;
}

/** The smaller of the limits that are set (0 = not set). */
function firstLimit(a: number, b: number): number {
  if (a === 0) return b;
  if (b === 0) return a;
  return Math.min(a, b);
}

export function compileWebSocketUpstream(
  target: URL,
  transport: HttpTransportConfig,
  limits: { requestTimeoutMs: number; idleTimeoutMs: number },
): WebSocketUpstream {
  const secure = target.protocol === 'wss:' || target.protocol === 'https:';
  const host = target.hostname.startsWith('[') ? target.hostname.slice(1, -1) : target.hostname;
  let tls: ConnectionOptions | undefined;
  if (secure) {
    tls = {
      host,
      // SNI carries names only (RFC 6066 section 3).
      servername: isIP(host) === 0 ? host : undefined,
      // A WebSocket handshake is HTTP/1.1 (RFC 8441's HTTP/2 variant is not used upstream).
      ALPNProtocols: ['http/1.1'],
      rejectUnauthorized: !transport.insecureSkipVerify,
    };
    if (transport.caFile) tls.ca = readFileSync(transport.caFile);
    if (transport.certFile) tls.cert = readFileSync(transport.certFile);
    if (transport.keyFile) tls.key = readFileSync(transport.keyFile);
  }
  return {
    host,
    port: target.port === '' ? (secure ? 443 : 80) : Number(target.port),
    secure,
    tls,
    dialTimeoutMs: transport.dialTimeoutMs,
    tlsHandshakeTimeoutMs: transport.tlsHandshakeTimeoutMs,
    // The same limits as an HTTP request's wait for response headers.
    handshakeTimeoutMs: firstLimit(limits.requestTimeoutMs, transport.responseHeaderTimeoutMs),
    keepAliveMs: transport.keepAliveMs,
    idleTimeoutMs: limits.idleTimeoutMs,
  };
}
