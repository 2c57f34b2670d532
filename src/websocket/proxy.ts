// WebSocket proxying from the upgrade request to the last byte: runs the location's middlewares on
// the upgrade request, performs the upstream handshake, answers failures with the contract's JSON,
// and keeps the set of open relays so shutdown can close them with 1001. Owned by the app, not by
// a runtime: open WebSockets hold no reference to the runtime they started under, so a config
// reload swaps runtimes without cutting them.
import type { Socket } from 'node:net';
import type { Logger } from '../observability/logger.js';
import type { MetricsRecorder } from '../observability/metrics-recorder.js';
import { rawErrorResponse, sendError } from '../proxy/errors.js';
import type { Exchange } from '../proxy/exchange.js';
import { buildUpstreamHeaders, flattenHeaderObject } from '../proxy/headers.js';
import { rewritePath } from '../routing/router.js';
import type { CompiledLocation } from '../runtime/location.js';
import type { UpgradeHandler } from '../runtime/server.js';
import { startHandshake } from './handshake.js';
import { WebSocketRelay } from './relay.js';
import { relayRefusal, upgradeResponseHead } from './responses.js';
import type { ClosedWebSocket } from './stats.js';
import { WebSocketStats } from './stats.js';
import type { WebSocketUpstream } from './upstream.js';

/** The terminal of a location's upgrade chain: continues the handshake the proxy started. */
export function continueUpgrade(exchange: Exchange): void {
  exchange.upgrade?.proceed();
}

/** What a log line about one connection needs; kept instead of the exchange (no req/res retained). */
interface ConnectionFacts {
  requestId: string;
  path: string;
  location: string;
  upstream: string;
  clientIp: string;
}

/** A handshake under way, cancellable at shutdown. */
interface PendingHandshake {
  /** Aborts the upstream request; no handshake callback runs afterwards. */
  cancel(): void;
  exchange: Exchange;
}

export class WebSocketProxy {
  readonly stats = new WebSocketStats();
  private readonly relays = new Set<WebSocketRelay>();
  private readonly pending = new Set<PendingHandshake>();
  private closing = false;
  private allClosed: Array<() => void> = [];

  /** Open relayed connections. */
  get active(): number {
    return this.relays.size;
  }

  /** Registered with `DitoServer.setUpgradeHandler`. */
  readonly handleUpgrade: UpgradeHandler = (exchange, location, socket, head, runtime) => {
    const client = socket as Socket;
    // Until the relay takes over, an error on the client socket only needs to not crash us.
    client.on('error', noop);
    const upstream = location.websocket;
    const chain = location.upgrade;
    if (upstream === undefined || chain === undefined || this.closing) {
      if (client.writable) client.end(rawErrorResponse('DITO_ERR_UNAVAILABLE', exchange.requestId));
      else client.destroy();
      this.stats.refused++;
      return;
    }
    const res = exchange.res;
    // Middlewares and errors answer through `res`; it writes to the client socket and closes it.
    res.shouldKeepAlive = false;
    res.assignSocket(client);
    const logger = runtime.logger;
    const metrics = runtime.metrics;
    res.once('finish', () => {
      this.stats.refused++;
      client.end();
      logger.info(
        {
          method: exchange.req.method,
          path: exchange.path,
          location: location.pattern,
          status: res.statusCode,
          bytes_out: exchange.bytesOut,
          duration_ms: round(performance.now() - exchange.startedAt),
          upstream: exchange.upstream ?? null,
          request_id: exchange.requestId,
          client_ip: exchange.clientIp,
          error: exchange.errorCode ?? null,
        },
        'websocket upgrade refused',
      );
    });
    // The handshake uses this runtime's middlewares: a reload retires it only after the 101.
    runtime.inFlight++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      runtime.inFlight--;
    };
    client.once('close', release);
    exchange.upgrade = {
      proceed: () => this.forward(exchange, location, upstream, client, head, { logger, metrics }, release),
    };
    chain(exchange);
  };

  private forward(
    exchange: Exchange,
    location: CompiledLocation,
    upstream: WebSocketUpstream,
    client: Socket,
    clientHead: Buffer,
    { logger, metrics }: { logger: Logger; metrics: MetricsRecorder },
    release: () => void,
  ): void {
    if (client.destroyed) return;
    // Pool locations: the target is picked as for HTTP requests (policy, health, ejection).
    const target = pickUpgradeTarget(exchange, location, upstream);
    if (target === undefined) {
      release();
      return;
    }
    upstream = target.websocket;
    const req = exchange.req;
    const raw = exchange.headersEdited ? flattenHeaderObject(req.headers) : req.rawHeaders;
    const headers = buildUpstreamHeaders(raw, target.upgradeHeaderPlan, exchange);
    const path = rewritePath(target.targetPath, location.replacePath, exchange.path, exchange.query);
    exchange.upstream = target.origin;
    const facts: ConnectionFacts = {
      requestId: exchange.requestId,
      path: exchange.path,
      location: location.pattern,
      upstream: target.origin,
      clientIp: exchange.clientIp,
    };
    const dispatchedAt = performance.now();
    let abort = noop;
    const settled = () => {
      this.pending.delete(pending);
      client.off('close', cancel);
      release();
    };
    const cancel = () => {
      abort();
      settled();
    };
    const pending: PendingHandshake = { cancel, exchange };
    abort = startHandshake(upstream, req.method ?? 'GET', path, headers, {
      onUpgrade: (response, upstreamSocket, upstreamHead, upstreamReader) => {
        settled();
        if (client.destroyed || !client.writable) {
          upstreamSocket.destroy();
          return;
        }
        const res = exchange.res;
        res.detachSocket(client);
        const head = upgradeResponseHead(response.rawHeaders, exchange.requestId, res.getHeaders());
        const relay = new WebSocketRelay(client, upstreamSocket, {
          location: location.pattern,
          upstreamReader,
          idleTimeoutMs: upstream.idleTimeoutMs,
          stats: this.stats,
          metrics,
          onClosed: (closed, summary) => this.relayClosed(closed, summary, facts, logger),
        });
        this.relays.add(relay);
        this.stats.active++;
        this.stats.opened++;
        metrics.websocketOpened();
        relay.start(head, clientHead, upstreamHead);
        logger.info(
          {
            path: facts.path,
            location: facts.location,
            status: 101,
            upstream: facts.upstream,
            upstream_ms: round(performance.now() - dispatchedAt),
            request_id: facts.requestId,
            client_ip: facts.clientIp,
          },
          'websocket opened',
        );
        if (this.closing) relay.goAway('shutdown', 'server shutting down');
      },
      onRefused: (response) => {
        settled();
        relayRefusal(exchange, response, location.maxResponseBodySize);
      },
      onError: (code, err) => {
        settled();
        logger.warn(
          { request_id: exchange.requestId, upstream: exchange.upstream, code, err: (err as Error)?.message },
          'websocket upstream handshake failed',
        );
        exchange.errorCode = code;
        exchange.bytesOut += sendError(exchange.res, code, exchange.requestId);
      },
    });
    this.pending.add(pending);
    client.once('close', cancel);
  }

  private relayClosed(
    relay: WebSocketRelay,
    summary: ClosedWebSocket,
    facts: ConnectionFacts,
    logger: Logger,
  ): void {
    this.relays.delete(relay);
    logger.info(
      {
        path: facts.path,
        location: facts.location,
        upstream: facts.upstream,
        request_id: facts.requestId,
        client_ip: facts.clientIp,
        duration_ms: round(summary.durationMs),
        end: summary.end,
        bytes_in: summary.inbound.bytes,
        bytes_out: summary.outbound.bytes,
        messages_in: summary.inbound.messages,
        messages_out: summary.outbound.messages,
        client_close_code: summary.clientCloseCode ?? null,
        upstream_close_code: summary.upstreamCloseCode ?? null,
      },
      'websocket closed',
    );
    if (this.relays.size === 0) {
      const waiters = this.allClosed;
      this.allClosed = [];
      for (const resolve of waiters) resolve();
    }
  }

  /**
   * Shutdown: handshakes under way are answered 503, every open WebSocket gets close code 1001
   * on both sides. Resolves once every relayed connection is closed (bounded by the relay's
   * close linger). Upgrades arriving afterwards are refused with 503.
   */
  closeAll(reason = 'server shutting down'): Promise<void> {
    this.closing = true;
    for (const pending of [...this.pending]) {
      pending.cancel();
      sendError(pending.exchange.res, 'DITO_ERR_UNAVAILABLE', pending.exchange.requestId);
    }
    if (this.relays.size === 0) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.allClosed.push(resolve));
    for (const relay of [...this.relays]) relay.goAway('shutdown', reason);
    return done;
  }
}

interface UpgradeTarget {
  readonly upgradeHeaderPlan: CompiledLocation['upgradeHeaderPlan'];
  readonly targetPath: CompiledLocation['targetPath'];
  readonly origin: string;
  readonly websocket: WebSocketUpstream;
}

/** The location's target, or its pool's pick; undefined once a 503 (none usable) is answered. */
function pickUpgradeTarget(
  exchange: Exchange,
  location: CompiledLocation,
  upstream: WebSocketUpstream,
): UpgradeTarget | undefined {
  const pool = location.pool;
  if (pool === undefined) {
    const { upgradeHeaderPlan, targetPath, origin } = location;
    return { upgradeHeaderPlan, targetPath, origin, websocket: upstream };
  }
  const picked = pool.pickTarget(exchange);
  if (typeof picked === 'string') {
    exchange.errorCode = picked;
    exchange.bytesOut += sendError(exchange.res, picked, exchange.requestId);
    return undefined;
  }
  exchange.target = picked.label;
  const { upgradeHeaderPlan, targetPath, origin } = picked;
  return { upgradeHeaderPlan, targetPath, origin, websocket: picked.websocket ?? upstream };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

function noop(): void {}
