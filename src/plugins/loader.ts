// Loads signed plugins: verify everything first (verify.ts), then import the verified bytes,
// check the plugin's shape and name, run its bounded init, and reuse unchanged plugins on reload.
// Closing replaced plugins is the caller's job (`pluginsToClose` + `closePlugins`).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parse as parseYaml } from 'yaml';
import type { PluginsConfig } from '../config/types.js';
import { PluginError } from './errors.js';
import type { DitoPlugin, PluginConfig, PluginLogger, PluginMiddleware } from './types.js';
import { type VerifiedPlugin, verifyPlugins } from './verify.js';

export { PluginError } from './errors.js';
export { verifyPluginsOnly } from './verify.js';

export interface LoadedPlugin {
  name: string;
  dir: string;
  /** SHA-256 hex of the module bytes that were verified and imported. */
  sha256: string;
  /** The parsed config.yaml handed to init ({} when absent). */
  config: PluginConfig;
  plugin: DitoPlugin;
  /** The plugin's middleware, created once at load; undefined when it has none. */
  middleware?: PluginMiddleware;
  /** Calls the plugin's close() once, bounded in time; later calls return the same promise. */
  close(): Promise<void>;
}

export interface LoadPluginsOptions {
  logger: PluginLogger;
  /** Bound for import + factory + init, each. Default 10 s. */
  initTimeoutMs?: number;
  /** Bound for each close(). Default 5 s. */
  closeTimeoutMs?: number;
  /** The plugins of the running config: unchanged ones (same name, folder, bytes and config) are reused. */
  previous?: readonly LoadedPlugin[];
}

const DEFAULT_INIT_TIMEOUT_MS = 10_000;
const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;

export async function loadPlugins(cfg: PluginsConfig, options: LoadPluginsOptions): Promise<LoadedPlugin[]> {
  // Every signature and every config.yaml is checked before the first plugin's code runs.
  const verified = await verifyPlugins(cfg);
  const configs = await Promise.all(verified.map((plugin) => readPluginConfig(plugin)));
  const previous = options.previous ?? [];
  const loaded: LoadedPlugin[] = [];
  try {
    for (const [index, candidate] of verified.entries()) {
      const config = configs[index] ?? {};
      const reusable = previous.find(
        (old) =>
          old.name === candidate.name &&
          old.dir === candidate.dir &&
          old.sha256 === candidate.sha256 &&
          isDeepStrictEqual(old.config, config),
      );
      if (reusable) {
        options.logger.debug(
          { plugin: candidate.name, sha256: candidate.sha256 },
          'plugin unchanged, reused',
        );
        loaded.push(reusable);
        continue;
      }
      loaded.push(await instantiate(candidate, config, options));
    }
  } catch (error) {
    // Plugins created by this call would otherwise leak; reused ones still belong to the running config.
    await closePlugins(
      loaded.filter((plugin) => !previous.includes(plugin)),
      options.logger,
    );
    throw error;
  }
  return loaded;
}

/** The plugins of `previous` that `next` no longer uses: the ones to close after a swap. */
export function pluginsToClose(
  previous: readonly LoadedPlugin[],
  next: readonly LoadedPlugin[],
): LoadedPlugin[] {
  return previous.filter((plugin) => !next.includes(plugin));
}

/** Closes each plugin (concurrently, each bounded); failures are logged, never thrown. */
export async function closePlugins(list: readonly LoadedPlugin[], logger: PluginLogger): Promise<void> {
  const results = await Promise.allSettled(list.map((plugin) => plugin.close()));
  results.forEach((result, index) => {
    if (result.status === 'rejected') {
      logger.error({ plugin: list[index]?.name, err: result.reason }, 'plugin close failed');
    }
  });
}

/**
 * The module is imported from a `data:` URL built from the verified bytes, so a file swapped on disk
 * between verification and import can never run. A `//# sourceURL` line is appended so stack traces
 * name the plugin instead of repeating the whole base64 body in every frame; a line comment after
 * the signed text cannot change what the module does (the name is restricted to [A-Za-z0-9._-]).
 * Consequences, documented in docs/plugins.md: the bundle must be self-contained (only `node:`
 * built-ins and absolute URLs resolve from a data: URL), `import.meta.url` is the data: URL, and
 * identical bytes share one module instance for the life of the process.
 */
export function pluginModuleUrl(plugin: Pick<VerifiedPlugin, 'name' | 'bytes'>): string {
  const sourceUrl = Buffer.from(`\n//# sourceURL=dito-plugin:///${plugin.name}/${plugin.name}.mjs\n`);
  return `data:text/javascript;base64,${Buffer.concat([plugin.bytes, sourceUrl]).toString('base64')}`;
}

async function readPluginConfig(plugin: VerifiedPlugin): Promise<PluginConfig> {
  const path = join(plugin.dir, 'config.yaml');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new PluginError(`plugin config not readable: ${plugin.name}`, {
      plugin: plugin.name,
      reason: `${path}: ${(error as Error).message}`,
      cause: error,
    });
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    throw new PluginError(`invalid plugin config: ${plugin.name}`, {
      plugin: plugin.name,
      reason: `${path}: ${(error as Error).message}`,
      cause: error,
    });
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new PluginError(`invalid plugin config: ${plugin.name}`, {
      plugin: plugin.name,
      reason: `${path}: the top level must be a mapping`,
    });
  }
  return parsed as PluginConfig;
}

async function instantiate(
  verified: VerifiedPlugin,
  config: PluginConfig,
  options: LoadPluginsOptions,
): Promise<LoadedPlugin> {
  const { name } = verified;
  const timeoutMs = options.initTimeoutMs ?? DEFAULT_INIT_TIMEOUT_MS;
  const namespace = await bounded(import(pluginModuleUrl(verified)), timeoutMs).catch((error: unknown) => {
    throw stepError('load', name, error, timeoutMs);
  });
  const factory = (namespace as { default?: unknown }).default;
  if (typeof factory !== 'function') {
    throw new PluginError(`plugin default export is not a factory function: ${name}`, { plugin: name });
  }
  const plugin: unknown = await bounded(
    Promise.resolve().then(() => factory()),
    timeoutMs,
  ).catch((error: unknown) => {
    throw stepError('factory', name, error, timeoutMs);
  });
  assertPluginShape(plugin, name);
  if (plugin.name !== name) {
    throw new PluginError(`plugin name mismatch: folder ${name}, plugin ${String(plugin.name)}`, {
      plugin: name,
    });
  }

  const closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= bounded(
      Promise.resolve().then(() => plugin.close?.()),
      closeTimeoutMs,
    ).catch((error: unknown) => {
      throw stepError('close', name, error, closeTimeoutMs);
    });
    return closing;
  };

  const logger = options.logger.child?.({ plugin: name }) ?? options.logger;
  try {
    await bounded(
      // A copy: a plugin that mutates its config must not defeat the unchanged-config check of reloads.
      Promise.resolve().then(() => plugin.init?.(structuredClone(config), { logger })),
      timeoutMs,
    ).catch((error: unknown) => {
      throw stepError('init', name, error, timeoutMs);
    });
    const middleware = createMiddleware(plugin, name);
    options.logger.info({ plugin: name, sha256: verified.sha256 }, 'plugin loaded');
    return { name, dir: verified.dir, sha256: verified.sha256, config, plugin, middleware, close };
  } catch (error) {
    // Give a half-initialised plugin the chance to release what it already opened.
    await close().catch((closeError: unknown) => {
      options.logger.error({ plugin: name, err: closeError }, 'plugin close after failed init failed');
    });
    throw error;
  }
}

function assertPluginShape(plugin: unknown, name: string): asserts plugin is DitoPlugin {
  if (typeof plugin !== 'object' || plugin === null) {
    throw new PluginError(`plugin factory did not return an object: ${name}`, { plugin: name });
  }
  const candidate = plugin as Record<string, unknown>;
  for (const method of ['init', 'middleware', 'close']) {
    if (candidate[method] !== undefined && typeof candidate[method] !== 'function') {
      throw new PluginError(`plugin ${method} is not a function: ${name}`, { plugin: name });
    }
  }
}

function createMiddleware(plugin: DitoPlugin, name: string): PluginMiddleware | undefined {
  if (!plugin.middleware) return undefined;
  let middleware: unknown;
  try {
    middleware = plugin.middleware();
  } catch (error) {
    throw stepError('middleware()', name, error, 0);
  }
  if (typeof middleware !== 'function') {
    throw new PluginError(`plugin middleware() did not return a function: ${name}`, { plugin: name });
  }
  return middleware as PluginMiddleware;
}

class TimeoutError extends Error {}

/**
 * Races `promise` against a timer. The timer stays referenced on purpose: at startup nothing else
 * may hold the event loop open, and a hung init must end in an error, not in a silent exit.
 */
function bounded<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError()), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** `plugin init failed: hello` (the cause in `reason`) or `plugin init timed out after 10000 ms: hello`. */
function stepError(step: string, name: string, error: unknown, timeoutMs: number): PluginError {
  if (error instanceof PluginError) return error;
  if (error instanceof TimeoutError) {
    return new PluginError(`plugin ${step} timed out after ${timeoutMs} ms: ${name}`, { plugin: name });
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new PluginError(`plugin ${step} failed: ${name}`, { plugin: name, reason, cause: error });
}
