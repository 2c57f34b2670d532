// A location compiled for serving: everything the request path needs, computed at load.
import type { Dispatcher } from 'undici';
import type { LocationConfig } from '../config/types.js';
import type { Handler } from '../middlewares/chain.js';
import type { Middleware } from '../middlewares/types.js';
import type { DeadlineQueue } from '../proxy/deadline-queue.js';
import type { RequestHeaderPlan } from '../proxy/headers.js';
import type { TargetPath } from '../routing/router.js';
import type { UpstreamPool } from '../upstream/pool.js';
import type { WebSocketUpstream } from '../websocket/upstream.js';
import type { Upstream } from '../transport/upstream-clients.js';

export interface CompiledLocation {
  readonly config: LocationConfig;
  readonly index: number;
  /** The `path` pattern as written: the metrics label and access-log field. */
  readonly pattern: string;
  readonly regex: RegExp;
  /** The target (the first one of a pool). */
  readonly target: URL;
  /** `http://host:port` or `https://...` of the upstream (ws targets mapped to http). */
  readonly origin: string;
  readonly targetPath: TargetPath;
  readonly replacePath: boolean;
  readonly headerPlan: RequestHeaderPlan;
  /** Header plan for WebSocket handshakes (keeps Upgrade/Connection). */
  readonly upgradeHeaderPlan: RequestHeaderPlan;
  /** The upstream pool and a way to a fresh connection (for the stale keep-alive retry). */
  readonly upstream: Upstream;
  /** `upstream.pool`, as a plain dispatcher. */
  readonly dispatcher: Dispatcher;
  /**
   * Locations with `targets` (or any pool key): the pool a request picks its target from. The
   * fields above then describe the first target. Undefined: the single-target fast path.
   */
  readonly pool?: UpstreamPool;
  readonly middlewares: readonly Middleware[];
  /** The middleware chain ending in the proxy: what a matched request runs. */
  readonly handle: Handler;
  /** `enable_websocket` locations: the same middlewares, ending in the WebSocket handshake. */
  readonly upgrade?: Handler;
  /** `enable_websocket` locations: how the handshake reaches the upstream. */
  readonly websocket?: WebSocketUpstream;
  readonly maxResponseBodySize: number;
  /** 0 = unlimited. */
  readonly maxRequestBodySize: number;
  readonly bufferResponse: boolean;
  /** `request_timeout` > 0: the runtime's queue of request deadlines (one for every location). */
  readonly requestDeadlines: DeadlineQueue | undefined;
  /** 0 = none. */
  readonly responseHeaderTimeoutMs: number;
}
