// The plugin API, exported by the package as `dito/plugin`: what a plugin module's default export
// returns and what Dito hands it. Types only; a plugin bundle never imports Dito at runtime.
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * A pino-compatible logger: `logger.info({ key: 1 }, 'message')` or `logger.info('message')`.
 * Dito passes a child of its own logger bound to `{ plugin: <name> }`.
 */
export interface PluginLogger {
  debug(objOrMsg: object | string, msg?: string): void;
  info(objOrMsg: object | string, msg?: string): void;
  warn(objOrMsg: object | string, msg?: string): void;
  error(objOrMsg: object | string, msg?: string): void;
  child?(bindings: Record<string, unknown>): PluginLogger;
}

/** What Dito gives a plugin at `init`. */
export interface PluginApp {
  logger: PluginLogger;
}

/**
 * Connect-style middleware. `next()` passes the request on; ending `res` answers without reaching
 * the upstream; `next(err)`, a throw or a rejected promise gives a 500 JSON error. Headers set on
 * `req.headers` (lower-case names) reach the upstream.
 */
export type PluginMiddleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next: (err?: unknown) => void,
) => void | Promise<void>;

/** The parsed `config.yaml` beside the plugin (`{}` when there is none). */
export type PluginConfig = Record<string, unknown>;

export interface DitoPlugin<Config extends object = PluginConfig> {
  /** Must equal the plugin's folder name; it is the name used in `locations[].middlewares`. */
  name: string;
  /** Called once after loading, before any request; bounded in time (10 s by default). */
  init?(config: Config, app: PluginApp): void | Promise<void>;
  /** Called once per load; the returned function serves every request of every location using it. */
  middleware?(): PluginMiddleware;
  /** On shutdown, and when a reload replaces this plugin; bounded in time. */
  close?(): void | Promise<void>;
}

/** The default export of a plugin module. */
export type PluginFactory<Config extends object = PluginConfig> = () =>
  DitoPlugin<Config> | Promise<DitoPlugin<Config>>;
