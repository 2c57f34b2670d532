// The client-facing listener: takes requests off the wire, normalises and routes them, runs the
// location's chain, and owns the connection lifecycle (drain on shutdown, runtime swaps).
import { createServer, type IncomingMessage, type Server, ServerResponse } from 'node:http';
import { Http2ServerRequest } from 'node:http2';
import type { ListenOptions } from 'node:net';
import type { Duplex } from 'node:stream';
import { headersForLog, type Logger } from '../observability/logger.js';
import { peerAddress } from '../proxy/client-ip.js';
import { type ErrorCode, ErrorCodes, rawErrorResponse, sendError } from '../proxy/errors.js';
import { type Exchange, RequestExchange } from '../proxy/exchange.js';
import { type Linked, LinkedList } from '../proxy/linked-list.js';
import { requestIdFrom } from '../proxy/request-id.js';
import { InvalidPathError, normalizePath, splitTarget } from '../routing/normalize-path.js';
import type { CompiledLocation } from './location.js';
import type { Runtime } from './runtime.js';

/** How often Node checks client header/request timeouts (its default of 30 s is too coarse). */
const TIMEOUT_CHECK_INTERVAL_MS = 1000;

/**
 * Bytes a client connection buffers, each way, before its stream reports backpressure. Node's
 * default (16 KiB on Node 20, 64 KiB on Node 24) is not above one 64 KiB socket read, so every
 * piece of a large upstream body paused the upstream, waited for 'drain' and resumed it. One read
 * in flight without a pause: Node 20, GET 1 MiB x 8, five interleaved pairs of 6 s runs, proxy CPU
 * 889 -> 827 us per request (median), peak RSS 119 -> 99 MiB. The cost: a slow client can hold up
 * to this much more in user space (docs/operations.md#memory).
 */
const CLIENT_HIGH_WATER_MARK = 128 * 1024;

/** A response's entry in the listener's list of open responses. */
const kOpen = Symbol('dito.openResponse');

/** A response of this listener, with its entry in the list of open responses. */
type TrackedResponse = ServerResponse & { [kOpen]?: OpenResponse };

/**
 * On an HTTP/1 connection: the newest response that had to wait for its turn (pipelined). Only
 * those are marked, so the request path writes nothing for the rest: a request that did not wait
 * arrived after every earlier answer was written, and is the connection's current response.
 */
const kNewest = Symbol('dito.newestResponse');

/** An HTTP/1 connection's socket, with the fields Node's server and Dito keep on it. */
type HttpSocket = Duplex & { _httpMessage?: ServerResponse | null; [kNewest]?: ServerResponse };

/**
 * A response not yet closed, linked into the listener's list of them, with the exchange it
 * answers once routing made one. Why a list through these entries and not a Set of responses:
 * a Set's hash table lives as long as the listener, and every rehash leaves an old-generation
 * table behind that still points at the young responses it held; the scavenger keeps what such
 * garbage points at, so each request's objects were promoted and the old generation churned.
 * Measured on GET 1 KiB: after the first full GC (~10 s of load) Dito went from 41 to 54 µs of
 * CPU per request and stayed there, GET 100 KiB from 114 to 241 µs; with the list, 40–42 µs flat.
 */
class OpenResponse implements Linked<OpenResponse> {
  listPrev: OpenResponse | undefined = undefined;
  listNext: OpenResponse | undefined = undefined;
  listed = false;
  exchange: ServedExchange | undefined = undefined;

  constructor(readonly res: ServerResponse) {}
}

/** An exchange and what its end needs: the location that served it and the runtime it ran in. */
class ServedExchange extends RequestExchange {
  location: CompiledLocation | undefined = undefined;
  runtime: Runtime | undefined = undefined;
}

/** Handles a path on the main port that is never proxied (metrics, health). */
export type LocalHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Told about every finished request (metrics). */
export interface RequestListener {
  requestFinished(exchange: Exchange, location: CompiledLocation | undefined, durationMs: number): void;
  /**
   * A request refused before routing (400/405/414/431, or one the HTTP parser rejected, when
   * `req` is undefined). `bytesOut`: error body bytes sent.
   */
  requestRefused?(
    req: IncomingMessage | undefined,
    status: number,
    durationMs: number,
    bytesOut: number,
  ): void;
}

/** Handles WebSocket upgrades on locations with `enable_websocket`. */
export type UpgradeHandler = (
  exchange: Exchange,
  location: CompiledLocation,
  socket: Duplex,
  head: Buffer,
  runtime: Runtime,
) => void;

export interface ServerOptions {
  logger: Logger;
  /** Builds the listener (HTTPS/HTTP2 listeners plug in here); plain HTTP/1.1 by default. */
  createListener?: () => Server;
}

function parserErrorCode(err: NodeJS.ErrnoException): ErrorCode {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return 'DITO_ERR_HEADERS_TOO_LARGE';
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return 'DITO_ERR_REQUEST_BODY_TOO_LARGE';
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 'DITO_ERR_REQUEST_TIMEOUT';
    default:
      return 'DITO_ERR_BAD_REQUEST';
  }
}

export class DitoServer {
  readonly server: Server;
  private current: Runtime;
  private readonly logger: Logger;
  private draining = false;
  /** Responses not yet closed: told to close their connection when a drain starts. */
  private readonly openResponses = new LinkedList<OpenResponse>();
  private readonly localHandlers = new Map<string, LocalHandler>();
  private readonly listeners: RequestListener[] = [];
  private upgradeHandler: UpgradeHandler | undefined;
  private openConnections = 0;
  private idleWaiters: Array<() => void> = [];
  private maxHeaders = 100;
  private maxUrlLength = 8192;
  private allowTrace = false;

  constructor(runtime: Runtime, options: ServerOptions) {
    this.current = runtime;
    this.logger = options.logger;
    const limits = runtime.config.server;
    const server =
      options.createListener?.() ??
      createServer({
        // Fixed for the listener's life: a changed max_header_bytes needs a restart.
        maxHeaderSize: limits.maxHeaderBytes,
        connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
        // Node's own refusal of a missing Host is a bare 400, not the contract's JSON: checked below.
        requireHostHeader: false,
        highWaterMark: CLIENT_HIGH_WATER_MARK,
      });
    server.on('request', (req, res) => this.handleRequest(req, res));
    server.on('upgrade', (req, socket, head) => this.handleUpgrade(req, socket, head));
    server.on('checkContinue', (req, res) => this.handleRequest(req, res, true));
    // An Expect other than 100-continue: Node's default is a bare 417; answer in the contract's JSON.
    server.on('checkExpectation', (req, res) =>
      this.refuse(
        req,
        res,
        'DITO_ERR_EXPECTATION_FAILED',
        requestIdFrom(req.headers['x-request-id'] as string | undefined),
        performance.now(),
      ),
    );
    server.on('connect', (req: IncomingMessage, socket: Duplex) => {
      // HTTP/2 (HTTPS listener) hands over a response object, not a socket: answer with JSON.
      // Asked of the request's type, not its version: an HTTP/1.1 request line claiming
      // `HTTP/2.0` also has httpVersionMajor 2, and treating its socket as a response crashed
      // the process (found by the raw-request fuzzer).
      if (req instanceof Http2ServerRequest) this.handleRequest(req, socket as unknown as ServerResponse);
      else afterOwedResponse(socket, () => this.refuseRaw(socket, 'DITO_ERR_METHOD_NOT_ALLOWED', req));
    });
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) =>
      this.handleClientError(err, socket),
    );
    server.on('connection', (socket: Duplex) => {
      this.openConnections++;
      socket.once('close', () => {
        this.openConnections--;
        if (this.openConnections === 0) this.notifyIdle();
      });
    });
    this.server = server;
    this.applyLimits(runtime);
  }

  /** Client limits that can change on a running listener (all but max_header_bytes). */
  private applyLimits(runtime: Runtime): void {
    const limits = runtime.config.server;
    const server = this.server;
    // Node keeps at most maxHeadersCount headers and silently drops the rest while still using
    // them for framing (CVE-2026-58044, unfixed on Node 20): keep one more than allowed, so a
    // request over the limit is seen whole enough to refuse it with 431.
    server.maxHeadersCount = limits.maxHeaders + 1;
    server.keepAliveTimeout = limits.idleTimeoutMs;
    server.requestTimeout = limits.readTimeoutMs;
    server.headersTimeout =
      limits.readTimeoutMs > 0
        ? Math.min(limits.readHeaderTimeoutMs, limits.readTimeoutMs)
        : limits.readHeaderTimeoutMs;
    server.maxConnections = limits.maxConnections > 0 ? limits.maxConnections : Infinity;
    this.maxHeaders = limits.maxHeaders;
    this.maxUrlLength = limits.maxUrlLength;
    this.allowTrace = limits.allowTrace;
  }

  get runtime(): Runtime {
    return this.current;
  }

  get connections(): number {
    return this.openConnections;
  }

  /** True once `shutdown()` began: the listener is closed and connections are draining. */
  get isDraining(): boolean {
    return this.draining;
  }

  /** Serves `path` on the main port before routing (exact match on the normalised path). */
  addLocalHandler(path: string, handler: LocalHandler): void {
    this.localHandlers.set(path, handler);
  }

  removeLocalHandler(path: string): void {
    this.localHandlers.delete(path);
  }

  addRequestListener(listener: RequestListener): void {
    this.listeners.push(listener);
  }

  removeRequestListener(listener: RequestListener): void {
    const index = this.listeners.indexOf(listener);
    if (index >= 0) this.listeners.splice(index, 1);
  }

  setUpgradeHandler(handler: UpgradeHandler): void {
    this.upgradeHandler = handler;
  }

  /** Swaps in a new runtime; returns the old one (to be closed once its requests finish). */
  swapRuntime(next: Runtime): Runtime {
    const previous = this.current;
    this.current = next;
    this.applyLimits(next);
    return previous;
  }

  /**
   * `reusePort`: bind with SO_REUSEPORT, beside the other workers of a cluster that bind the same
   * port (src/cluster/reuse-port.ts); only where Node supports it.
   */
  listen(port: number, options: { host?: string; reusePort?: boolean } = {}): Promise<number> {
    // `reusePort` is newer than the @types/node of Node 20 (whose listen() ignores the key).
    const listenOptions: ListenOptions & { reusePort: boolean } = {
      port,
      host: options.host,
      reusePort: options.reusePort === true,
    };
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(listenOptions, () => {
        this.server.off('error', reject);
        const address = this.server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : port);
      });
    });
  }

  /**
   * Stops accepting, lets in-flight requests finish (keep-alive connections are told to close),
   * and after `timeoutMs` closes whatever is left. Resolves when every connection is gone.
   */
  async shutdown(timeoutMs: number): Promise<void> {
    this.draining = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    // Requests already in flight finish, but their keep-alive connections must not outlive them:
    // an answer still to be sent says `Connection: close`, one under way closes once it is done.
    for (let open = this.openResponses.head; open !== undefined; open = open.listNext) {
      const res = open.res;
      if (!res.headersSent) res.shouldKeepAlive = false;
      else {
        const socket = res.socket;
        res.once('finish', () => socket?.end());
      }
    }
    const idle =
      this.openConnections === 0 ? Promise.resolve() : new Promise<void>((r) => this.idleWaiters.push(r));
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([idle, expired]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.logger.warn({ open_connections: this.openConnections }, 'drain time ran out: closing connections');
      this.server.closeAllConnections();
    }
    await closed;
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private handleRequest(req: IncomingMessage, res: ServerResponse, expectContinue = false): void {
    if (res.socket === null) {
      // Pipelined behind an answer still owed (Node parses every request in a read at once): wait
      // for its turn, as nginx does, before doing anything. Served at once, each would be sent
      // upstream and its whole answer held here until its turn, and Node never says `close` for
      // a queued response whose client left: 64 KiB of pipelined GETs could pin gigabytes (found
      // with pipelined GET /slow, GET /1MiB and a disconnect: Dito grew ~1.3 MiB per connection).
      (req.socket as HttpSocket)[kNewest] = res;
      res.once('socket', () => this.handleRequest(req, res, expectContinue));
      return;
    }
    const runtime = this.current;
    const startedAt = performance.now();
    const requestId = requestIdFrom(req.headers['x-request-id'] as string | undefined);
    const open = this.trackResponse(res);
    // One listener for everything a response's end concerns, with no closure per request:
    // tracking, the access log and metrics, the proxy's upstream call (see responseClosed).
    res.on('close', this.onResponseClose);
    if (this.draining) {
      // Finish this one, but tell the client not to send another on this connection.
      res.shouldKeepAlive = false;
    }
    if (req.rawHeaders.length > this.maxHeaders * 2) {
      this.refuse(req, res, 'DITO_ERR_HEADERS_TOO_LARGE', requestId, startedAt);
      return;
    }
    if (!speaksItsVersion(req)) {
      this.refuse(req, res, 'DITO_ERR_HTTP_VERSION', requestId, startedAt);
      return;
    }
    if (!hasValidHost(req)) {
      this.refuse(req, res, 'DITO_ERR_BAD_REQUEST', requestId, startedAt);
      return;
    }
    // CONNECT reaches here only over HTTP/2 (see the 'connect' listener): no tunnels.
    if ((req.method === 'TRACE' && !this.allowTrace) || req.method === 'CONNECT') {
      this.refuse(req, res, 'DITO_ERR_METHOD_NOT_ALLOWED', requestId, startedAt);
      return;
    }
    const url = req.url ?? '/';
    if (url.length > this.maxUrlLength) {
      this.refuse(req, res, 'DITO_ERR_URI_TOO_LONG', requestId, startedAt);
      return;
    }
    let path: string;
    let query: string;
    try {
      const target = splitTarget(url);
      path = normalizePath(target.path);
      query = target.query;
    } catch (err) {
      const code =
        err instanceof InvalidPathError && err.reason === 'traversal'
          ? 'DITO_ERR_PATH_TRAVERSAL'
          : 'DITO_ERR_BAD_REQUEST';
      this.refuse(req, res, code, requestId, startedAt);
      return;
    }

    const local = this.localHandlers.get(path);
    if (local !== undefined) {
      local(req, res);
      return;
    }

    const location = runtime.router.match(path);
    const exchange = new ServedExchange(
      req,
      res,
      requestId,
      runtime.trustedProxies.clientIp(
        peerAddress(req.socket.remoteAddress),
        req.headers['x-forwarded-for'] as string | undefined,
      ),
      (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
      startedAt,
      path,
      query,
      expectContinue,
      location !== undefined && location.middlewares.length > 0,
    );
    exchange.location = location;
    exchange.runtime = runtime;
    open.exchange = exchange;
    runtime.inFlight++;
    if (location === undefined) {
      exchange.errorCode = 'DITO_ERR_NOT_FOUND';
      exchange.bytesOut += sendError(res, 'DITO_ERR_NOT_FOUND', requestId, { path });
      return;
    }
    location.handle(exchange);
  }

  /** Answers with one of Dito's errors before any routing happened. */
  private refuse(
    req: IncomingMessage,
    res: ServerResponse,
    code: ErrorCode,
    requestId: string,
    startedAt: number,
  ): void {
    // The body (if any) is not wanted: close the connection instead of reading it.
    res.shouldKeepAlive = false;
    const bytesOut = sendError(res, code, requestId);
    this.notifyRefused(req, res.statusCode, performance.now() - startedAt, bytesOut);
    this.logger.info(
      {
        method: req.method,
        status: res.statusCode,
        request_id: requestId,
        error: code,
        duration_ms: Math.round((performance.now() - startedAt) * 1000) / 1000,
      },
      'request refused',
    );
  }

  private notifyRefused(
    req: IncomingMessage | undefined,
    status: number,
    durationMs: number,
    bytesOut: number,
  ): void {
    for (const listener of this.listeners) listener.requestRefused?.(req, status, durationMs, bytesOut);
  }

  /** 'close' of every response (`this` is the response): bound once per listener. */
  private readonly onResponseClose = ((server: DitoServer) =>
    function onResponseClose(this: TrackedResponse): void {
      server.responseClosed(this);
    })(this);

  private trackResponse(res: ServerResponse): OpenResponse {
    const open = new OpenResponse(res);
    this.openResponses.append(open);
    (res as TrackedResponse)[kOpen] = open;
    return open;
  }

  private responseClosed(res: TrackedResponse): void {
    const open = res[kOpen];
    if (open === undefined) return;
    res[kOpen] = undefined;
    this.openResponses.remove(open);
    const exchange = open.exchange;
    if (exchange === undefined) return;
    this.requestDone(exchange, exchange.location, exchange.runtime!);
    exchange.closeWatcher?.responseClosed();
  }

  private requestDone(exchange: Exchange, location: CompiledLocation | undefined, runtime: Runtime): void {
    runtime.inFlight--;
    const durationMs = performance.now() - exchange.startedAt;
    for (const listener of this.listeners) listener.requestFinished(exchange, location, durationMs);
    const logger = runtime.logger;
    if (!logger.isLevelEnabled('info')) return;
    const { req, res } = exchange;
    const entry: Record<string, unknown> = {
      method: req.method,
      path: exchange.path,
      location: location?.pattern ?? null,
      status: res.statusCode,
      bytes_in: exchange.bytesIn,
      bytes_out: exchange.bytesOut,
      duration_ms: Math.round(durationMs * 1000) / 1000,
      upstream: exchange.upstream ?? null,
      upstream_ms: exchange.upstreamMs === undefined ? null : Math.round(exchange.upstreamMs * 1000) / 1000,
      request_id: exchange.requestId,
      client_ip: exchange.clientIp,
    };
    if (exchange.target !== undefined) entry.target = exchange.target;
    if (exchange.retries > 0) entry.retries = exchange.retries;
    if (exchange.errorCode !== undefined) entry.error = exchange.errorCode;
    if (!res.writableFinished) entry.aborted = true;
    if (runtime.config.logging.verbose && logger.isLevelEnabled('debug')) {
      const auth = location?.config.auth;
      const keyHeader = auth?.type === 'api_key' ? auth.header?.toLowerCase() : undefined;
      entry.request_headers = headersForLog(req.rawHeaders, keyHeader);
      // Relayed upstream headers were written as a list (not kept by `res`); Dito's own answers
      // (errors, middleware replies) were set on `res` and are read back from it.
      entry.response_headers = headersForLog(exchange.responseHeaders ?? flattenOutgoing(res));
      logger.debug(entry, 'request');
      return;
    }
    logger.info(entry, 'request');
  }

  private handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    afterOwedResponse(socket, () => this.answerUpgrade(req, socket, head));
  }

  /** An upgrade request whose connection owes no earlier answer. */
  private answerUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (!speaksItsVersion(req)) {
      this.refuseRaw(socket, 'DITO_ERR_HTTP_VERSION', req);
      return;
    }
    const runtime = this.current;
    let path: string;
    let location: CompiledLocation | undefined;
    try {
      path = normalizePath(splitTarget(req.url ?? '/').path);
      location = runtime.router.match(path);
    } catch {
      this.refuseRaw(socket, 'DITO_ERR_BAD_REQUEST', req);
      return;
    }
    if (
      location?.config.enableWebsocket &&
      this.upgradeHandler !== undefined &&
      !this.draining &&
      isWebSocketUpgrade(req)
    ) {
      const target = splitTarget(req.url ?? '/');
      const exchange = new RequestExchange(
        req,
        new ServerResponse(req),
        requestIdFrom(req.headers['x-request-id'] as string | undefined),
        runtime.trustedProxies.clientIp(
          peerAddress(req.socket.remoteAddress),
          req.headers['x-forwarded-for'] as string | undefined,
        ),
        (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
        performance.now(),
        path,
        target.query,
        false,
        location.middlewares.length > 0,
      );
      this.upgradeHandler(exchange, location, socket, head, runtime);
      return;
    }
    // Not a WebSocket location (or another protocol, such as `curl --http2`'s h2c upgrade, which
    // the client accepts being ignored): serve it as a plain HTTP request; the upgrade headers are
    // hop-by-hop and dropped like any other. The parser has let go of this socket, so the
    // connection closes after this one answer. Whatever else the client sends is read and
    // dropped: bytes left unread kept the socket open after both sides had finished (a leak).
    socket.on('data', discard);
    socket.resume();
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as never);
    res.once('finish', () => endThenDestroy(socket));
    this.handleRequest(req, res);
  }

  /** Writes a raw error answer and closes the socket once it is flushed (no half-open leftovers). */
  private refuseRaw(socket: Duplex, code: ErrorCode, req?: IncomingMessage): void {
    this.notifyRefused(req, ErrorCodes[code].status, 0, 0);
    if (socket.writable) socket.end(rawErrorResponse(code, requestIdFrom(undefined)), () => socket.destroy());
    else socket.destroy();
  }

  private handleClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const pending = (socket as HttpSocket)._httpMessage;
    let owed = owedResponse(socket);
    // The newest request's body is what failed: only the answers before it are owed. Which one
    // precedes it is not kept, so the one being written stands for them (a rare case: three or
    // more pipelined requests, the last malformed in its body; the ones between are dropped
    // unsent, never sent upstream).
    if (owed !== undefined && !owed.req.complete) owed = pending ?? undefined;
    if (owed !== undefined && owed.req.complete) {
      // The bytes that failed follow whole requests whose answers are still owed: an error answer
      // now would be read as the answer to one of them (response desync). Send them, then close.
      const last = owed;
      if (!last.headersSent) last.shouldKeepAlive = false;
      last.once('close', () => (last.writableFinished ? endThenDestroy(socket) : socket.destroy()));
      return;
    }
    if (pending?.headersSent) {
      socket.destroy();
      return;
    }
    const code = parserErrorCode(err);
    this.logger.info({ code: err.code, error: code }, 'malformed request refused');
    this.refuseRaw(socket, code);
  }
}

function discard(): void {}

/**
 * Runs `answer` once the connection owes no earlier response. An upgrade or CONNECT pipelined
 * behind a response still being written must wait for it: answering at once would be read as the
 * answer to the earlier request (response desync, found by the raw-request fuzzer), and assigning
 * the socket to a new response would throw ERR_HTTP_SOCKET_ASSIGNED out of the parser and end the
 * process. The parser has let go of the socket, so nothing else is answered on it afterwards.
 */
function afterOwedResponse(socket: Duplex, answer: () => void): void {
  const owed = owedResponse(socket);
  if (owed === undefined) {
    answer();
    return;
  }
  let resumed = false;
  const resume = () => {
    if (resumed) return;
    resumed = true;
    const stillOwed = (socket as HttpSocket)._httpMessage != null;
    if (socket.destroyed || !socket.writable || stillOwed) socket.destroy();
    else answer();
  };
  owed.once('finish', resume);
  owed.once('close', resume);
}

/**
 * The last answer this HTTP/1 connection still owes, if any: the newest waiting one while it is
 * unfinished (answers go out in order, so it finishes after every other), else the current one.
 */
function owedResponse(socket: Duplex): ServerResponse | undefined {
  const { [kNewest]: newest, _httpMessage: current } = socket as HttpSocket;
  if (newest !== undefined && !newest.writableFinished && !newest.destroyed) return newest;
  return current ?? undefined;
}

/** Flushes what is written, then closes for good (a client that never closes cannot hold it). */
function endThenDestroy(socket: Duplex): void {
  socket.end(() => socket.destroy());
}

/**
 * An HTTP/1.x connection carrying a request line that claims another major version (`HTTP/2.0`
 * parses): code reading `httpVersionMajor` would take it for an HTTP/2 stream. Answered 505, as
 * nginx does.
 */
function speaksItsVersion(req: IncomingMessage): boolean {
  return req.httpVersionMajor === 1 || req instanceof Http2ServerRequest;
}

/**
 * RFC 9112 3.2: an HTTP/1.1 request needs exactly one Host, HTTP/1.0 at most one. Node keeps the
 * first of several, so a second Host (one a cache or backend may read instead) is refused here.
 */
function hasValidHost(req: IncomingMessage): boolean {
  const raw = req.rawHeaders;
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host') hosts++;
  }
  return hosts === 1 || (hosts === 0 && req.httpVersion !== '1.1');
}

/** A WebSocket opening handshake (RFC 6455 4.1): GET with `websocket` among the Upgrade tokens. */
function isWebSocketUpgrade(req: IncomingMessage): boolean {
  if (req.method !== 'GET') return false;
  const upgrade = req.headers.upgrade;
  return upgrade !== undefined && /(^|,)\s*websocket\s*(,|$)/i.test(upgrade);
}

function flattenOutgoing(res: ServerResponse): string[] {
  const out: string[] = [];
  const headers = res.getHeaders();
  for (const name in headers) out.push(name, String(headers[name]));
  return out;
}
