// Resolves middleware names to factories: the built-ins and the loaded plugins share one
// namespace and one interface; an unknown name is a config error at its position.
import type { DitoConfig, LocationConfig } from '../config/types.js';
import type { Middleware } from '../middlewares/types.js';
import type { Logger } from '../observability/logger.js';
import type { RedisHandle } from '../redis/handle.js';
import type { MetricsRecorder } from '../observability/metrics-recorder.js';

export interface MiddlewareContext {
  readonly config: DitoConfig;
  readonly location: LocationConfig;
  readonly logger: Logger;
  /** State carried across reloads, keyed by the factory (e.g. limiter buckets). */
  readonly carry: Map<string, unknown>;
  /**
   * The process's Redis connection when `redis.enabled` (absent otherwise, and under `--check`).
   * Owned by the app: middlewares use it, never close it.
   */
  readonly redis?: RedisHandle;
  /**
   * Metrics (a no-op recorder while they are disabled). Bind the location's handle here, at
   * load: `context.metrics?.location(context.location.path)`.
   */
  readonly metrics?: MetricsRecorder;
  /**
   * `file:line:col` of a key path (e.g. ['locations', 1, 'auth', 'htpasswd_file']), for the
   * ConfigError a factory throws when a resource it loads (a key file) is unusable.
   */
  locate(path: ReadonlyArray<string | number>): string;
}

export type MiddlewareFactory = (context: MiddlewareContext) => Middleware;

/** Built-in middlewares by name. Each feature module registers itself here. */
export const builtinMiddlewares = new Map<string, MiddlewareFactory>();
