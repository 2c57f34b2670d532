// The per-request state shared by routing, middlewares and the proxy: one object per request,
// created once, so no stage has to recompute what an earlier one knew.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorCode } from './errors.js';

/** Sees the upstream's answer on its way to the client (cache stores, transforms). */
export interface ResponseObserver {
  /** Status and the flat header list about to be sent; may edit the list in place. */
  onHeaders?(status: number, headers: string[]): void;
  onData?(chunk: Buffer): void;
  /** The response completed normally. */
  onEnd?(): void;
  /** The response failed or was cut short; nothing more will come. */
  onAbort?(reason: unknown): void;
}

export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestId: string;
  /** Client address after trusted-proxy processing. */
  readonly clientIp: string;
  readonly proto: 'http' | 'https';
  /** `performance.now()` when the request arrived. */
  readonly startedAt: number;
  /** Normalised request path (what routing matched, what the upstream gets). */
  readonly path: string;
  /** The query string with its leading `?`, or ''. */
  readonly query: string;
  /** The client sent `Expect: 100-continue` and has not been told to go on yet. */
  expectContinue: boolean;
  /** Request body bytes received from the client and sent upstream. */
  bytesIn: number;
  /** Response body bytes sent to the client. */
  bytesOut: number;
  /** Set when Dito answered with one of its own errors. */
  errorCode?: ErrorCode;
  /** `origin` of the upstream contacted, for the access log. */
  upstream?: string;
  /** Pool locations: the label (origin + path) of the target of the last attempt, for the access log. */
  target?: string;
  /** Milliseconds from dispatch to upstream response headers. */
  upstreamMs?: number;
  /** Retries done by the proxy (stale keep-alive connections, pool retries on another target). */
  retries: number;
  /** The upstream response's headers as relayed (flat list), for verbose logs. */
  responseHeaders?: string[];
  /** Middlewares that need to see the response register here. */
  observers?: ResponseObserver[];
  /** Middlewares edited `req.headers`: build the upstream headers from it, not `rawHeaders`. */
  headersEdited: boolean;
  /**
   * WebSocket upgrades only: continues the handshake once the location's middlewares let the
   * request pass (the terminal of `CompiledLocation.upgrade` calls it).
   */
  upgrade?: { proceed(): void };
  /** Free-form per-request state for middlewares, keyed by middleware name. */
  locals?: Record<string, unknown>;
}
