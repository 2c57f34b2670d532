// Counters of proxied WebSockets, owned by the app (they outlive config reloads) and read by the
// metrics module. Plain numbers bumped on the relay's hot path; the metrics module turns them into
// Prometheus series at scrape time, so a frame costs two increments and no label lookups.
import type { FrameTotals } from './frames.js';

/** `inbound` = client → upstream, `outbound` = upstream → client (as `data_transferred_bytes_total`). */
export type WebSocketDirection = 'inbound' | 'outbound';

export interface DirectionTotals extends FrameTotals {
  /** Bytes relayed, frame headers included. */
  bytes: number;
}

/** Why a relayed connection ended. */
export type WebSocketEnd =
  /** A close frame went by and the connection ended after it. */
  | 'closed'
  /** A side's TCP connection ended or failed without a close frame. */
  | 'client_gone'
  | 'upstream_gone'
  | 'idle_timeout'
  | 'shutdown';

/** What the metrics module and the access log learn about each finished connection. */
export interface ClosedWebSocket {
  /** The location's `path` pattern (bounded cardinality, like `http_requests_total`). */
  location: string;
  durationMs: number;
  end: WebSocketEnd;
  inbound: DirectionTotals;
  outbound: DirectionTotals;
  /** Status code of the close frame each side sent, if any. */
  clientCloseCode: number | undefined;
  upstreamCloseCode: number | undefined;
}

export type ClosedWebSocketListener = (closed: ClosedWebSocket) => void;

export class WebSocketStats {
  /** Connections relayed right now (after the upstream's 101, until both sockets closed). */
  active = 0;
  /** Connections that reached 101, since start. */
  opened = 0;
  /** Upgrade requests that got no 101: Dito's error, a middleware's answer or the upstream's. */
  refused = 0;
  readonly inbound: DirectionTotals = { frames: 0, messages: 0, bytes: 0 };
  readonly outbound: DirectionTotals = { frames: 0, messages: 0, bytes: 0 };
  private readonly closeListeners: ClosedWebSocketListener[] = [];

  /** Told once per finished connection (connection duration histograms). */
  onClose(listener: ClosedWebSocketListener): void {
    this.closeListeners.push(listener);
  }

  /** Called by the relay. */
  connectionClosed(closed: ClosedWebSocket): void {
    this.active--;
    for (const listener of this.closeListeners) listener(closed);
  }
}
