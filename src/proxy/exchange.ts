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

/** Told when the client's response closes, whether it finished or the client left. */
export interface ResponseCloseWatcher {
  responseClosed(): void;
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
  /** The proxy's upstream request in flight, told when the client's response closes. */
  closeWatcher?: ResponseCloseWatcher;
}

/**
 * The listener's exchanges. A class with every field set in the constructor, so all exchanges
 * share one shape: fields that stages add later (errorCode, upstream, observers, ...) would
 * otherwise change it per request and make every read of them megamorphic.
 */
export class RequestExchange implements Exchange {
  bytesIn = 0;
  bytesOut = 0;
  errorCode: ErrorCode | undefined = undefined;
  upstream: string | undefined = undefined;
  target: string | undefined = undefined;
  upstreamMs: number | undefined = undefined;
  retries = 0;
  responseHeaders: string[] | undefined = undefined;
  observers: ResponseObserver[] | undefined = undefined;
  upgrade: { proceed(): void } | undefined = undefined;
  locals: Record<string, unknown> | undefined = undefined;
  closeWatcher: ResponseCloseWatcher | undefined = undefined;

  // Positional, not an options object: one allocation per request instead of two.
  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly requestId: string,
    readonly clientIp: string,
    readonly proto: 'http' | 'https',
    readonly startedAt: number,
    readonly path: string,
    readonly query: string,
    public expectContinue: boolean,
    public headersEdited: boolean,
  ) {}
}
