// Forwards one HTTP request to its location's upstream and relays the answer.
// Built on undici's `dispatch` with one handler object per request: no stream objects, no
// promise chains, backpressure by pausing the upstream socket while the client is slow.
// undici 7's Client speaks the callback interface below natively (onConnect/onHeaders/...);
// using it skips the per-request wrapper the newer controller interface goes through.
import type { Dispatcher } from 'undici';
import { rewritePath } from '../routing/router.js';
import type { CompiledLocation } from '../runtime/location.js';
import { undiciErrors } from '../transport/undici.js';
import type { PoolSession, RetryPlan } from '../upstream/pool.js';
import type { DeadlineEntry } from './deadline-queue.js';
import { DitoError, type ErrorCode, sendError } from './errors.js';
import type { Exchange, ResponseCloseWatcher } from './exchange.js';
import { buildUpstreamHeaders, flattenHeaderObject, relayResponseHeaders } from './headers.js';
import { SilenceEntry, type SilenceWatched, upstreamSilence } from './silence-watch.js';
import { countRelayedBytes } from './young-collection-pacer.js';

/** Methods whose repetition has the same effect as one request (RFC 9110 9.2.2). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/**
 * Error codes of a reused keep-alive connection that the upstream closed just as Dito wrote to it
 * (undici's "other side closed", a reset, a write to a closed pipe): safe to retry once.
 */
const STALE_CONNECTION_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

const TLS_CODE = /^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|HOSTNAME_MISMATCH|ERR_OSSL)/;

/** Why Dito aborted an upstream request itself. */
class ClientGone extends Error {}

/** Maps an upstream failure to the error code the client gets. */
export function classifyUpstreamError(err: unknown): ErrorCode {
  if (err instanceof DitoError) return err.code;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return 'DITO_ERR_UPSTREAM_RESET';
  switch (code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
      return 'DITO_ERR_UPSTREAM_TIMEOUT';
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return 'DITO_ERR_UPSTREAM_CONNECT';
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
    case 'UND_ERR_INFO':
      return 'DITO_ERR_UPSTREAM_PROTOCOL';
    case 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH':
      return 'DITO_ERR_BAD_REQUEST';
  }
  if (code.startsWith('HPE_')) return 'DITO_ERR_UPSTREAM_PROTOCOL';
  if (TLS_CODE.test(code)) return 'DITO_ERR_UPSTREAM_TLS';
  return 'DITO_ERR_UPSTREAM_RESET';
}

/**
 * Called when an exchange's upstream error needs logging (the proxy does not log itself). Limit
 * hits come here too, as code `DITO_ERR_RESPONSE_TOO_LARGE` with a DitoError carrying details.
 */
export type UpstreamErrorReporter = (exchange: Exchange, code: ErrorCode, err: unknown) => void;

/** Where a response went over its size limit. */
type LimitStage = 'content_length' | 'buffered' | 'streaming';

/**
 * One request's journey upstream and back. Holds per-request state as fields so that the
 * hot path allocates this object and little else.
 */
class ProxyHandler implements ResponseCloseWatcher, DeadlineEntry, SilenceWatched {
  private abortUpstream: ((reason: Error) => void) | undefined;
  private responseStarted = false;
  private done = false;
  private bodySent = false;
  private received = 0;
  private chunks: Buffer[] | undefined;
  private status = 0;
  private headers: string[] | undefined;
  /** Resumes the upstream socket paused by client backpressure (from undici, per response). */
  private resume: (() => void) | undefined;
  private dispatchedAt = performance.now();
  // `request_timeout`: this handler is its own entry in the runtime's deadline queue.
  deadlineAt = 0;
  listPrev: DeadlineEntry | undefined = undefined;
  listNext: DeadlineEntry | undefined = undefined;
  listed = false;
  /** Its place in the upstream silence watch; progress zeroes its count (see silence-watch.ts). */
  private readonly silence = new SilenceEntry(this);
  /** The current attempt's connection pool (a pool location's retry may move to another target). */
  private dispatcher: Dispatcher;
  /** Pool locations: a retry decided on an answer whose body is being discarded, or waiting. */
  private retryPlan: RetryPlan | undefined;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly exchange: Exchange,
    private readonly location: CompiledLocation,
    private readonly options: Dispatcher.DispatchOptions,
    private readonly report: UpstreamErrorReporter,
    /** Pool locations only: follows the attempts (target choice, health feedback, retries). */
    private readonly session?: PoolSession,
  ) {
    this.dispatcher = session === undefined ? location.dispatcher : session.target.dispatcher;
  }

  start(): void {
    // A client that leaves stops the upstream request too: no orphaned upstream work.
    this.exchange.closeWatcher = this;
    this.location.requestDeadlines?.add(this, this.dispatchedAt);
    this.sendAttempt(this.dispatcher);
  }

  /** Sends the request again (after a retry decision) on `this.dispatcher`. */
  private redispatch(): void {
    this.dispatchedAt = performance.now();
    this.sendAttempt(this.dispatcher);
  }

  /** One attempt upstream: the first, a pool's retry or the stale keep-alive retry. */
  private sendAttempt(dispatcher: Dispatcher): void {
    this.abortUpstream = undefined;
    // Watched from zero; an attempt ended by the silence limit itself has been taken out of the watch.
    upstreamSilence.add(this.silence);
    this.session?.begin();
    dispatcher.dispatch(this.options, this as unknown as Dispatcher.DispatchHandler);
  }

  /** Carries out `retryPlan`: the request rebuilt for the planned target, sent now or after its delay. */
  private retry(): void {
    const plan = this.retryPlan!;
    const session = this.session!;
    const exchange = this.exchange;
    this.retryPlan = undefined;
    this.abortUpstream = undefined;
    this.received = 0;
    session.retryOn(plan);
    const target = plan.target;
    this.dispatcher = target.dispatcher;
    // Each target has its own path and Host.
    this.options.path = rewritePath(
      target.targetPath,
      this.location.replacePath,
      exchange.path,
      exchange.query,
    );
    this.options.headers = buildUpstreamHeaders(session.raw, target.headerPlan, exchange);
    if (plan.delayMs <= 0) {
      this.redispatch();
      return;
    }
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.done) this.redispatch();
    }, plan.delayMs);
  }

  /** Pool locations: an attempt failed; true when a retry took over. */
  private retryOnPool(err: Error, code: ErrorCode): boolean {
    const session = this.session!;
    if (this.retryPlan === undefined) {
      session.failed(code);
      // Dito's own aborts (request timeout, limits) and answers already relayed are final.
      if (err instanceof DitoError || this.responseStarted) return false;
      this.retryPlan = session.retryAfterError(code, this.bodySent);
      if (this.retryPlan === undefined) return false;
    }
    this.retry();
    return true;
  }

  /** The client's response closed: finished (nothing to do) or cut short by the client. */
  responseClosed(): void {
    if (!this.done) this.finish(new ClientGone('client closed the connection'));
  }

  /** `request_timeout` ran out before the upstream answered. */
  deadlineExpired(): void {
    if (!this.responseStarted && !this.done) {
      this.abortUpstream?.(new DitoError('DITO_ERR_UPSTREAM_TIMEOUT'));
      // Not connected yet (queued or dialling): answer now; undici drops the request later.
      if (this.abortUpstream === undefined) this.fail(new DitoError('DITO_ERR_UPSTREAM_TIMEOUT'));
    }
  }

  /** No upstream progress for UPSTREAM_SILENCE_LIMIT_MS; true = it was the client's turn, keep watching. */
  silenceExpired(): boolean {
    if (this.done) return false;
    const { req, res } = this.exchange;
    // The client is the slow side: bytes of the answer it has yet to take (the relay pauses the
    // upstream for those), or its request body still coming. HTTP/2 responses have no writableNeedDrain.
    if (res.writableLength > 0 || (this.options.body != null && !req.complete)) return true;
    if (this.abortUpstream === undefined) {
      this.fail(new DitoError('DITO_ERR_UPSTREAM_TIMEOUT'));
      return false;
    }
    // undici's own errors, so that the outcome is what its timers would have given.
    this.abortUpstream(
      this.responseStarted ? new undiciErrors.BodyTimeoutError() : new undiciErrors.HeadersTimeoutError(),
    );
    return false;
  }

  onConnect(abort: (reason?: Error) => void): void {
    if (this.done) {
      abort(new ClientGone('client closed the connection'));
      return;
    }
    this.abortUpstream = abort;
  }

  // undici 7 passes the chunk itself here (its typings describe the newer size-only form).
  onBodySent(chunk: Buffer | string | number): void {
    this.bodySent = true;
    this.silence.silentSweeps = 0;
    const bytes = typeof chunk === 'number' ? chunk : chunk.length;
    countRelayedBytes(bytes);
    this.exchange.bytesIn += bytes;
    const limit = this.location.maxRequestBodySize;
    if (limit > 0 && this.exchange.bytesIn > limit && !this.done) this.requestOverLimit();
  }

  onHeaders(status: number, rawHeaders: Buffer[], resume: () => void): boolean {
    this.silence.silentSweeps = 0;
    if (status < 200 || this.done) return true; // informational answers are not relayed
    const session = this.session;
    if (session !== undefined) {
      session.answered(status);
      this.retryPlan = session.retryAfterStatus(status, rawHeaders, this.bodySent);
      // Retried: this answer's body is read and dropped (the connection stays reusable).
      if (this.retryPlan !== undefined) return true;
    }
    this.responseStarted = true;
    this.location.requestDeadlines?.remove(this);
    const exchange = this.exchange;
    exchange.upstreamMs = performance.now() - this.dispatchedAt;
    const location = this.location;
    const isHead = exchange.req.method === 'HEAD';
    const hasBody = !isHead && status !== 204 && status !== 304;
    const buffer = location.bufferResponse && hasBody;
    const headers: string[] = [];
    const contentLength = relayResponseHeaders(rawHeaders, exchange.requestId, buffer, headers);
    if (hasBody && contentLength > location.maxResponseBodySize) {
      this.overLimit('content_length');
      return false;
    }
    const observers = exchange.observers;
    if (observers !== undefined) for (const o of observers) o.onHeaders?.(status, headers);
    exchange.responseHeaders = headers;
    if (buffer) {
      this.status = status;
      this.headers = headers;
      this.chunks = [];
      return true;
    }
    exchange.res.writeHead(status, headers);
    this.resume = resume;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.silence.silentSweeps = 0;
    // undici resumes a paused response by parsing whatever the socket holds, often nothing, and
    // llhttp then reports an empty body span. Written, it costs a write(fd, NULL, 0) system call and
    // a pass through the stream machinery: before the client high-water mark of src/runtime/server.ts
    // that was after every 64 KiB piece of a large body, half the writes of GET 1 MiB.
    if (chunk.length === 0) return true;
    countRelayedBytes(chunk.length);
    if (this.done || this.retryPlan !== undefined) return true;
    this.received += chunk.length;
    if (this.received > this.location.maxResponseBodySize) {
      if (this.chunks !== undefined) this.overLimit('buffered');
      // Streaming: what fits under the limit still goes out before the cut.
      else
        this.overLimit(
          'streaming',
          chunk.subarray(0, chunk.length - (this.received - this.location.maxResponseBodySize)),
        );
      return false;
    }
    const observers = this.exchange.observers;
    if (observers !== undefined) for (const o of observers) o.onData?.(chunk);
    if (this.chunks !== undefined) {
      this.chunks.push(chunk);
      return true;
    }
    this.exchange.bytesOut += chunk.length;
    const res = this.exchange.res;
    if (res.write(chunk)) return true;
    // The client is slower than the upstream: false pauses the upstream socket until it drains.
    // (A 'drain' listener only then, not on every response: most never need one.)
    res.once('drain', this.resume!);
    return false;
  }

  onComplete(): void {
    if (this.done) return;
    if (this.retryPlan !== undefined) {
      this.retry();
      return;
    }
    this.done = true;
    upstreamSilence.remove(this.silence);
    const { res, observers } = this.exchange;
    if (this.chunks !== undefined) {
      const body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.received);
      this.headers!.push('content-length', String(body.length));
      res.writeHead(this.status, this.headers);
      this.exchange.bytesOut += body.length;
      res.end(body);
    } else {
      res.end();
    }
    if (observers !== undefined) for (const o of observers) o.onEnd?.();
  }

  onError(err: Error): void {
    if (this.done) return;
    if (err instanceof ClientGone) return;
    const exchange = this.exchange;
    const code = classifyUpstreamError(err);
    // Pools retry by their own policy first (on another target); the stale keep-alive retry below
    // covers what that policy leaves out.
    if (this.session !== undefined && this.retryOnPool(err, code)) return;
    if (this.retryPlan === undefined && this.canRetry(err)) {
      exchange.retries++;
      // On a connection certainly new: the pool's other idle connections may be just as stale
      // (an upstream closing idle sockets on a timer closes them together).
      const client = (this.session?.target ?? this.location).upstream.freshClient();
      this.sendAttempt(client);
      // Graceful: the client closes once this one request is done.
      void client.close();
      return;
    }
    this.report(exchange, code, err);
    this.fail(err);
  }

  /**
   * A reused keep-alive connection the upstream had just closed: retry once, if safe — an
   * idempotent method, nothing of the answer received, and no request body (a body stream
   * undici has started reading cannot be replayed, so requests with one are never retried).
   */
  private canRetry(err: Error): boolean {
    if (this.responseStarted || this.bodySent || this.exchange.retries > 0) return false;
    if (!IDEMPOTENT.has(this.exchange.req.method!)) return false;
    if (this.options.body != null) return false;
    const code = (err as { code?: string }).code;
    return code !== undefined && STALE_CONNECTION_CODES.has(code);
  }

  /** A body without Content-Length ran past the request limit: stop it upstream and answer 413. */
  private requestOverLimit(): void {
    const exchange = this.exchange;
    this.abortUpstream?.(new ClientGone('request body over the size limit'));
    exchange.errorCode = 'DITO_ERR_REQUEST_BODY_TOO_LARGE';
    this.finish(new DitoError('DITO_ERR_REQUEST_BODY_TOO_LARGE'));
    // The rest of the body is unread: this connection cannot carry another request.
    exchange.res.shouldKeepAlive = false;
    exchange.bytesOut += sendError(exchange.res, 'DITO_ERR_REQUEST_BODY_TOO_LARGE', exchange.requestId, {
      limit_bytes: this.location.maxRequestBodySize,
      path: exchange.path,
    });
  }

  private overLimit(stage: LimitStage, tail?: Buffer): void {
    const exchange = this.exchange;
    this.abortUpstream?.(new ClientGone('response over the size limit'));
    exchange.errorCode = 'DITO_ERR_RESPONSE_TOO_LARGE';
    this.report(
      exchange,
      'DITO_ERR_RESPONSE_TOO_LARGE',
      new DitoError('DITO_ERR_RESPONSE_TOO_LARGE', {
        limit_bytes: this.location.maxResponseBodySize,
        location: this.location.pattern,
        stage,
      }),
    );
    if (this.chunks === undefined && exchange.res.headersSent) {
      // Streaming and already under way: send the bytes up to the limit, then cut the connection
      // so the truncation is visible (a chunked or length-framed body that never completes).
      this.finish(new DitoError('DITO_ERR_RESPONSE_TOO_LARGE'));
      if (tail !== undefined && tail.length > 0) {
        exchange.bytesOut += tail.length;
        exchange.res.write(tail);
      }
      cutAfterFlush(exchange);
      return;
    }
    this.chunks = undefined;
    this.finish(new DitoError('DITO_ERR_RESPONSE_TOO_LARGE'));
    exchange.bytesOut += sendError(exchange.res, 'DITO_ERR_RESPONSE_TOO_LARGE', exchange.requestId, {
      limit_bytes: this.location.maxResponseBodySize,
      path: exchange.path,
    });
  }

  private fail(err: unknown): void {
    if (this.done) return;
    const exchange = this.exchange;
    const code = classifyUpstreamError(err);
    exchange.errorCode = code;
    this.finish(err);
    exchange.bytesOut += sendError(exchange.res, code, exchange.requestId);
  }

  private finish(reason: unknown): void {
    this.done = true;
    this.location.requestDeadlines?.remove(this);
    upstreamSilence.remove(this.silence);
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.session?.cancelled();
    if (reason instanceof Error && !(reason instanceof DitoError)) this.abortUpstream?.(reason);
    const observers = this.exchange.observers;
    if (observers !== undefined) for (const o of observers) o.onAbort?.(reason);
  }
}

/**
 * Closes the client's connection once what was already written has left, so the client sees a
 * body that stops short (chunked without its last chunk, or fewer bytes than Content-Length).
 * A plain destroy would drop the bytes still queued; HTTP/2 resets just this one stream.
 */
function cutAfterFlush(exchange: Exchange): void {
  const { req, res } = exchange;
  const socket = res.socket;
  if (req.httpVersionMajor === 2 || socket === null) {
    res.destroy();
    return;
  }
  socket.once('finish', () => socket.destroy());
  socket.end();
}

/** Whether the client's request carries a body (framing already validated by Node's parser). */
function requestHasBody(exchange: Exchange): boolean {
  const req = exchange.req;
  // HTTP/2 frames bodies itself: a request has one unless its HEADERS frame ended the stream.
  if (req.httpVersionMajor === 2) {
    return (req as unknown as { stream?: { endAfterHeaders?: boolean } }).stream?.endAfterHeaders === false;
  }
  const headers = req.headers;
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = headers['content-length'];
  return length !== undefined && length !== '0';
}

/** Forwards the exchange to the location's upstream. */
export function forward(exchange: Exchange, location: CompiledLocation, report: UpstreamErrorReporter): void {
  const { req, res } = exchange;
  const raw = exchange.headersEdited ? flattenHeaderObject(req.headers) : req.rawHeaders;
  const hasBody = requestHasBody(exchange);
  const bodyLimit = location.maxRequestBodySize;
  if (hasBody && bodyLimit > 0 && Number(req.headers['content-length'] ?? 0) > bodyLimit) {
    // Refused before the upstream is contacted (and before 100-continue invites the body).
    exchange.errorCode = 'DITO_ERR_REQUEST_BODY_TOO_LARGE';
    res.shouldKeepAlive = false;
    exchange.bytesOut += sendError(res, 'DITO_ERR_REQUEST_BODY_TOO_LARGE', exchange.requestId, {
      limit_bytes: bodyLimit,
      path: exchange.path,
    });
    return;
  }
  let target: Pick<CompiledLocation, 'headerPlan' | 'targetPath' | 'origin'> = location;
  let session: PoolSession | undefined;
  if (location.pool !== undefined) {
    const picked = location.pool.session(exchange, raw, hasBody);
    if (typeof picked === 'string') {
      // No target can take it (all down, or all at their circuit breaker limit): 503 at once.
      exchange.errorCode = picked;
      exchange.bytesOut += sendError(res, picked, exchange.requestId);
      return;
    }
    session = picked;
    target = session.target;
  }
  const headers = buildUpstreamHeaders(raw, target.headerPlan, exchange);
  if (exchange.expectContinue) {
    // Only now, with routing and middlewares passed, is the client invited to send its body.
    exchange.expectContinue = false;
    if (hasBody) res.writeContinue();
  }
  exchange.upstream = target.origin;
  const options: Dispatcher.DispatchOptions = {
    path: rewritePath(target.targetPath, location.replacePath, exchange.path, exchange.query),
    method: req.method as Dispatcher.HttpMethod,
    headers,
    body: hasBody ? req : null,
    // 0 (no undici timer) unless set: upstreamSilence bounds the wait otherwise.
    headersTimeout: location.responseHeaderTimeoutMs,
    // undici's own retry logic is for idempotent requests only; ours decides explicitly.
    idempotent: false,
    blocking: false,
  };
  new ProxyHandler(exchange, location, options, report, session).start();
}
