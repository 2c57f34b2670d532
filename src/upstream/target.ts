// One upstream target as a location serves it: its URL, connection pool and header plans,
// compiled at load, plus the shared state and metrics handle a pool balances with.
import type { Dispatcher } from 'undici';
import type { TargetMetrics } from '../observability/metrics-recorder.js';
import type { RequestHeaderPlan } from '../proxy/headers.js';
import type { TargetPath } from '../routing/router.js';
import type { Upstream } from '../transport/upstream-clients.js';
import type { WebSocketUpstream } from '../websocket/upstream.js';
import type { TargetState } from './target-state.js';

/** What the proxy (HTTP or WebSocket) needs to send a request to one target. */
export interface UpstreamTarget {
  readonly url: URL;
  /** `origin` + path, never credentials: the `target` label of metrics and logs. */
  readonly label: string;
  /** `http://host:port` or `https://...` (ws targets mapped to http). */
  readonly origin: string;
  readonly targetPath: TargetPath;
  readonly headerPlan: RequestHeaderPlan;
  /** Header plan for WebSocket handshakes (keeps Upgrade/Connection). */
  readonly upgradeHeaderPlan: RequestHeaderPlan;
  /** The target's connection pool and a way to a fresh connection (stale keep-alive retry). */
  readonly upstream: Upstream;
  /** `upstream.pool`, as a plain dispatcher. */
  readonly dispatcher: Dispatcher;
  /** `enable_websocket` locations: how an upgrade reaches this target. */
  readonly websocket?: WebSocketUpstream;
}

/** A target inside a pool. */
export interface PoolTarget extends UpstreamTarget {
  /** Position in the location's `targets`. */
  readonly index: number;
  readonly weight: number;
  readonly state: TargetState;
  readonly metrics: TargetMetrics;
  /** Hash of the URL: the target's identity for consistent hashing (stable across reloads). */
  readonly seed: number;
  /** Smooth weighted round robin's running score (this pool's own). */
  current: number;
}

/** The label of a target: no user info, no query (they may hold secrets). */
export function targetLabel(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}
