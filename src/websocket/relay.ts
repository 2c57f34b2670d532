// One proxied WebSocket after the upstream's 101: bytes relayed both ways (one 'data' listener per
// direction writes each chunk as it came, never copied per frame, and pauses the source while the
// other side's buffer is full), frame headers watched for counts, close codes and safe points to
// inject a close frame, and the teardown rules: either side ending ends the other, idle and
// shutdown close both with 1001.
import type { Socket } from 'node:net';
import type { MetricsRecorder } from '../observability/metrics-recorder.js';
import { countRelayedBytes } from '../proxy/young-collection-pacer.js';
import { closeFrame, FrameObserver } from './frames.js';
import type { ClosedWebSocket, WebSocketEnd, WebSocketStats } from './stats.js';
import { readAcceptedSocket, type SocketReader } from './socket-reader.js';

/** RFC 6455 7.4.1: the endpoint is going away (server shutdown, idle). */
export const CLOSE_GOING_AWAY = 1001;
/** IANA registry: a gateway received an invalid response (here: the upstream vanished). */
export const CLOSE_BAD_GATEWAY = 1014;

/** After Dito ends both sides, how long the peers get to finish the closing handshake. */
const CLOSE_LINGER_MS = 2000;

export interface RelayOptions {
  readonly location: string;
  /** Set when the upstream socket reads through a SocketReader (plain TCP): reads come from it. */
  readonly upstreamReader?: SocketReader;
  readonly idleTimeoutMs: number;
  readonly stats: WebSocketStats;
  /** Prometheus (or the no-op recorder): the one of the runtime the connection opened under. */
  readonly metrics: MetricsRecorder;
  /** Called once, when both sockets are closed. */
  readonly onClosed: (relay: WebSocketRelay, summary: ClosedWebSocket) => void;
}

type Side = 'client' | 'upstream';

export class WebSocketRelay {
  /** Client → upstream frames. */
  private readonly inbound: FrameObserver;
  /** Upstream → client frames. */
  private readonly outbound: FrameObserver;
  private readonly openedAt = performance.now();
  private bytesIn = 0;
  private bytesOut = 0;
  private clientOpen = true;
  private upstreamOpen = true;
  private clientGone = false;
  private upstreamGone = false;
  /** Client bytes still go to the upstream: false once Dito ends the upstream or it closed. */
  private forwardInbound = true;
  /** Upstream bytes still go to the client. */
  private forwardOutbound = true;
  private end: WebSocketEnd | undefined;
  private linger: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: Socket,
    private readonly upstream: Socket,
    private readonly options: RelayOptions,
  ) {
    this.inbound = new FrameObserver(options.stats.inbound);
    this.outbound = new FrameObserver(options.stats.outbound);
  }

  /**
   * Sends the 101 head to the client, forwards the bytes each side sent early, then relays.
   * `clientHead`: bytes the client sent after its request; `upstreamHead`: after the 101.
   */
  start(responseHead: string, clientHead: Buffer, upstreamHead: Buffer): void {
    const { client, upstream } = this;
    client.setNoDelay(true);
    client.write(responseHead, 'latin1');
    // Counted, watched and written like any later chunk.
    if (upstreamHead.length > 0) this.onUpstreamData(upstreamHead);
    if (clientHead.length > 0) this.onClientData(clientHead);

    // Not `pipe`: a second 'data' listener per chunk costs an emit with a copied listener list
    // and pipe's own bookkeeping; ending a side is ours anyway (it may first need a close frame).
    // Plain-TCP sockets read into a reused buffer (socket-reader.ts); TLS ones emit 'data'.
    if (readAcceptedSocket(client, this.relayFromClientReader) === undefined)
      client.on('data', this.onClientData);
    if (this.options.upstreamReader !== undefined)
      this.options.upstreamReader.relayTo(this.relayFromUpstreamReader);
    else upstream.on('data', this.onUpstreamData);
    upstream.on('drain', () => client.resume());
    client.on('drain', () => upstream.resume());
    client.on('end', () => this.sideGone('client'));
    upstream.on('end', () => this.sideGone('upstream'));
    // An error is followed by 'close'; the listener only keeps it from crashing the process.
    client.on('error', noop);
    upstream.on('error', noop);
    client.on('close', () => this.sideClosed('client'));
    upstream.on('close', () => this.sideClosed('upstream'));
    // Socket timeouts restart on every read and write, so the client socket alone sees traffic
    // in both directions; Node keeps these timers in one list per duration (no per-chunk cost).
    if (this.options.idleTimeoutMs > 0) {
      client.setTimeout(this.options.idleTimeoutMs, () => this.goAway('idle_timeout', 'idle timeout'));
    }
    if (client.destroyed) this.sideClosed('client');
    if (upstream.destroyed) this.sideClosed('upstream');
  }

  // Per chunk: a few field increments and the header reader; the recorder's calls are field
  // increments too (series bound once), skipped entirely when metrics are off.
  private readonly onClientData = (chunk: Buffer): void => {
    const length = chunk.length;
    countRelayedBytes(length);
    this.bytesIn += length;
    this.options.stats.inbound.bytes += length;
    const before = this.inbound.messages;
    this.inbound.observe(chunk);
    const metrics = this.options.metrics;
    if (metrics.enabled) {
      metrics.websocketBytes('inbound', length);
      metrics.bytesTransferred('inbound', length);
      if (this.inbound.messages !== before)
        metrics.websocketMessage('inbound', this.inbound.messages - before);
    }
    // Backpressure: read no more from the client until the upstream's buffer drains.
    if (this.forwardInbound && !this.upstream.write(chunk)) this.client.pause();
  };

  private readonly onUpstreamData = (chunk: Buffer): void => {
    const length = chunk.length;
    countRelayedBytes(length);
    this.bytesOut += length;
    this.options.stats.outbound.bytes += length;
    const before = this.outbound.messages;
    this.outbound.observe(chunk);
    const metrics = this.options.metrics;
    if (metrics.enabled) {
      metrics.websocketBytes('outbound', length);
      metrics.bytesTransferred('outbound', length);
      if (this.outbound.messages !== before) {
        metrics.websocketMessage('outbound', this.outbound.messages - before);
      }
    }
    if (this.forwardOutbound && !this.client.write(chunk)) this.upstream.pause();
  };

  // A reader's chunk lives in its reused buffer: relayed like any other, and reported as still
  // held while the socket it went to has anything queued (an unfinished write may point into it).
  private readonly relayFromUpstreamReader = (chunk: Buffer): boolean => {
    this.onUpstreamData(chunk);
    return this.client.writableLength > 0;
  };

  private readonly relayFromClientReader = (chunk: Buffer): boolean => {
    this.onClientData(chunk);
    return this.upstream.writableLength > 0;
  };

  /**
   * Closes both sides with `CLOSE_GOING_AWAY` (idle timeout, shutdown): a close frame to each side
   * that has not had one and sits between frames, then FIN; the peers get `CLOSE_LINGER_MS` to
   * answer before their sockets are destroyed.
   */
  goAway(end: WebSocketEnd, reason: string): void {
    if (this.end !== undefined) return;
    this.end = end;
    this.forwardInbound = false;
    this.forwardOutbound = false;
    // Keep reading (and dropping) what the peers still send, so their FIN arrives and closes.
    this.client.resume();
    this.upstream.resume();
    this.endWith(this.client, this.outbound, CLOSE_GOING_AWAY, reason, false);
    this.endWith(this.upstream, this.inbound, CLOSE_GOING_AWAY, reason, true);
    this.startLinger();
  }

  /** A side's TCP stream ended or failed: the other side is closed after what it already got. */
  private sideGone(side: Side): void {
    if (side === 'client') {
      if (this.clientGone) return;
      this.clientGone = true;
      this.forwardInbound = false;
      if (this.end === undefined) this.end = this.inbound.closeSeen ? 'closed' : 'client_gone';
      // No close frame from the client: tell the upstream the client went away.
      this.endWith(this.upstream, this.inbound, CLOSE_GOING_AWAY, 'client gone', true);
    } else {
      if (this.upstreamGone) return;
      this.upstreamGone = true;
      this.forwardOutbound = false;
      if (this.end === undefined) this.end = this.outbound.closeSeen ? 'closed' : 'upstream_gone';
      this.endWith(this.client, this.outbound, CLOSE_BAD_GATEWAY, 'upstream gone', false);
    }
    this.startLinger();
  }

  /**
   * Ends `socket`, first writing a close frame into the stream `observer` watches when no close
   * frame went that way yet and a frame boundary makes it safe.
   */
  private endWith(
    socket: Socket,
    observer: FrameObserver,
    code: number,
    reason: string,
    masked: boolean,
  ): void {
    if (!socket.writable) return;
    if (!observer.closeSeen && observer.betweenFrames) socket.write(closeFrame(code, reason, masked));
    socket.end();
  }

  private sideClosed(side: Side): void {
    // Nothing more can be written to a closed side: drop what the other side still sends, and
    // read it (a source paused for backpressure would otherwise never see its peer's FIN).
    if (side === 'client') {
      if (!this.clientOpen) return;
      this.clientOpen = false;
      this.forwardOutbound = false;
      this.upstream.resume();
    } else {
      if (!this.upstreamOpen) return;
      this.upstreamOpen = false;
      this.forwardInbound = false;
      this.client.resume();
    }
    this.sideGone(side);
    if (!this.clientOpen && !this.upstreamOpen) this.finish();
  }

  private startLinger(): void {
    if (this.linger !== undefined) return;
    this.linger = setTimeout(() => {
      this.client.destroy();
      this.upstream.destroy();
    }, CLOSE_LINGER_MS);
    this.linger.unref();
  }

  private finish(): void {
    if (this.linger !== undefined) clearTimeout(this.linger);
    const summary: ClosedWebSocket = {
      location: this.options.location,
      durationMs: performance.now() - this.openedAt,
      end: this.end ?? 'closed',
      inbound: { frames: this.inbound.frames, messages: this.inbound.messages, bytes: this.bytesIn },
      outbound: { frames: this.outbound.frames, messages: this.outbound.messages, bytes: this.bytesOut },
      clientCloseCode: this.inbound.closeCode,
      upstreamCloseCode: this.outbound.closeCode,
    };
    this.options.stats.connectionClosed(summary);
    this.options.metrics.websocketClosed(summary.durationMs / 1000);
    this.options.onClosed(this, summary);
  }
}

function noop(): void {}
