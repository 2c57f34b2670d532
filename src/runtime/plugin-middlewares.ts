// Adapts loaded plugins to the middleware interface the chain runs: a plugin's Connect-style
// `(req, res, next)` becomes a Middleware; the chain's guards (next twice, throws, rejections)
// apply to plugins exactly as to built-ins.
import type { Middleware } from '../middlewares/types.js';
import type { LoadedPlugin } from '../plugins/loader.js';
import type { MiddlewareFactory } from './middleware-registry.js';

export function pluginMiddlewareFactories(plugins: readonly LoadedPlugin[]): Map<string, MiddlewareFactory> {
  const factories = new Map<string, MiddlewareFactory>();
  for (const loaded of plugins) {
    const middleware = loaded.middleware;
    factories.set(loaded.name, () => {
      if (middleware === undefined) {
        throw new Error(`plugin "${loaded.name}" has no middleware to run on a location`);
      }
      const adapted: Middleware = {
        name: loaded.name,
        handle: (exchange, next) => middleware(exchange.req, exchange.res, next),
      };
      return adapted;
    });
  }
  return factories;
}

/**
 * Factories for `--check`: the plugins are verified but not imported, so names are checked with
 * inert middlewares that are never run.
 */
export function verifiedPluginFactories(names: readonly string[]): Map<string, MiddlewareFactory> {
  return new Map(names.map((name) => [name, () => ({ name, handle: (_exchange, next) => next() })]));
}
