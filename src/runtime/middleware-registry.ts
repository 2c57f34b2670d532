// Resolves middleware names to factories: the built-ins and the loaded plugins share one
// namespace and one interface; an unknown name is a config error at its position.
import type { DitoConfig, LocationConfig } from '../config/types.js';
import type { Middleware } from '../middlewares/types.js';
import type { Logger } from '../observability/logger.js';
import type { RedisHandle } from '../redis/handle.js';

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
}

export type MiddlewareFactory = (context: MiddlewareContext) => Middleware;

/** Built-in middlewares by name. Each feature module registers itself here. */
export const builtinMiddlewares = new Map<string, MiddlewareFactory>();
