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

/** Loads a built-in middleware's module and returns its factory. */
export type MiddlewareLoader = () => Promise<MiddlewareFactory>;

/**
 * Built-in middlewares by name (src/middlewares/index.ts fills it). Each module is loaded the
 * first time a config uses it, so a proxy that uses no JWT auth never loads jose, and one with
 * no cache never loads http-cache-semantics.
 */
export const builtinMiddlewares = new Map<string, MiddlewareLoader>();

const loadedBuiltins = new Map<string, MiddlewareFactory>();

/** Loads the built-in middlewares `config`'s locations name (once per process). */
export async function loadBuiltinMiddlewares(config: DitoConfig): Promise<void> {
  const names = new Set(config.locations.flatMap((location) => location.middlewares));
  for (const name of names) {
    const load = builtinMiddlewares.get(name);
    if (load !== undefined && !loadedBuiltins.has(name)) loadedBuiltins.set(name, await load());
  }
}

/**
 * The factory of built-in `name`, once `loadBuiltinMiddlewares` loaded it; undefined for a name
 * that is not a built-in. A built-in that was not loaded first is a bug, not a config error.
 */
export function builtinMiddleware(name: string): MiddlewareFactory | undefined {
  const factory = loadedBuiltins.get(name);
  if (factory === undefined && builtinMiddlewares.has(name)) {
    throw new Error(`built-in middleware "${name}" used before loadBuiltinMiddlewares loaded it`);
  }
  return factory;
}
