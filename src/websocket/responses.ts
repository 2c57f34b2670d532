// What the client gets back from a WebSocket handshake: the upstream's 101 head (its headers
// with hop-by-hop ones dropped, plus Dito's X-Request-ID), or the upstream's refusal relayed as an
// ordinary HTTP answer under the location's response size limit.
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { sendError } from '../proxy/errors.js';
import type { Exchange } from '../proxy/exchange.js';
import { buildResponseHeaders, HOP_BY_HOP } from '../proxy/headers.js';

/** Headers a 101 never carries from middlewares: it has no body. */
const NO_BODY_HEADERS = new Set(['content-length', 'content-type', 'content-encoding']);

/**
 * The raw 101 head for the client. Upstream headers pass in order, repeated ones too
 * (`Sec-WebSocket-Accept`, `-Protocol`, `-Extensions`, cookies); `Connection` and every header it
 * names and the other hop-by-hop headers are dropped, except `Upgrade`; `Connection: Upgrade` and
 * Dito's `X-Request-ID` are added. Headers middlewares set on `res` are added when the upstream
 * did not send the same name, as on an HTTP response.
 */
export function upgradeResponseHead(
  raw: readonly string[],
  requestId: string,
  fromMiddlewares: OutgoingHttpHeaders,
): string {
  let named: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== 'connection') continue;
    named ??= new Set();
    for (const token of raw[i + 1]!.split(',')) named.add(token.trim().toLowerCase());
  }
  const sent = new Set<string>();
  let head = 'HTTP/1.1 101 Switching Protocols\r\n';
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (lower === 'connection' || lower === 'x-request-id') continue;
    if (lower !== 'upgrade' && (HOP_BY_HOP.has(lower) || named?.has(lower))) continue;
    sent.add(lower);
    head += `${name}: ${raw[i + 1]!}\r\n`;
  }
  for (const name in fromMiddlewares) {
    const lower = name.toLowerCase();
    if (sent.has(lower) || HOP_BY_HOP.has(lower) || NO_BODY_HEADERS.has(lower) || lower === 'x-request-id') {
      continue;
    }
    const value = fromMiddlewares[name];
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) head += `${name}: ${String(one)}\r\n`;
  }
  return `${head}Connection: Upgrade\r\nX-Request-ID: ${requestId}\r\n\r\n`;
}

/**
 * Relays an upstream's non-101 answer to the upgrade request through `exchange.res` (which owns
 * the client socket and closes it when done). Returns when the answer is under way.
 */
export function relayRefusal(exchange: Exchange, response: IncomingMessage, maxBodySize: number): void {
  const res = exchange.res;
  const raw = response.rawHeaders.map((part) => Buffer.from(part, 'latin1'));
  const { headers, contentLength } = buildResponseHeaders(raw, exchange.requestId, false);
  const overLimit = (): void => {
    exchange.errorCode = 'DITO_ERR_RESPONSE_TOO_LARGE';
    response.destroy();
    exchange.bytesOut += sendError(res, 'DITO_ERR_RESPONSE_TOO_LARGE', exchange.requestId, {
      limit_bytes: maxBodySize,
      path: exchange.path,
    });
  };
  if (contentLength > maxBodySize) {
    overLimit();
    return;
  }
  const status = response.statusCode ?? 502;
  res.writeHead(status, response.statusMessage, headers);
  let received = 0;
  response.on('data', (chunk: Buffer) => {
    received += chunk.length;
    exchange.bytesOut += chunk.length;
    // Headers are out: cutting the connection is the only honest signal left.
    if (received > maxBodySize) {
      exchange.errorCode = 'DITO_ERR_RESPONSE_TOO_LARGE';
      response.destroy();
      res.destroy();
    }
  });
  // The upstream cut its answer short: the client must see a truncated response, not a complete one.
  response.on('aborted', () => res.destroy());
  response.on('error', () => res.destroy());
  response.pipe(res);
}
