// Turns a validated config into a runtime: compiled locations (regex, header plans, upstream
// pools, middleware chains) and a router. A reload builds a new runtime beside the old one and
// swaps it in; every request keeps the runtime it started with; the old one closes when idle.
import { ConfigError } from '../config/errors.js';
import type { DitoConfig, LoadedConfig, LocationConfig } from '../config/types.js';
import { compileChain } from '../middlewares/chain.js';
// Side effect: fills `builtinMiddlewares` with the built-ins' loaders.
import '../middlewares/index.js';
import type { Middleware } from '../middlewares/types.js';
import type { Logger } from '../observability/logger.js';
import { type MetricsRecorder, noopMetrics } from '../observability/metrics-recorder.js';
import { TrustedProxies } from '../proxy/client-ip.js';
import { DeadlineQueue } from '../proxy/deadline-queue.js';
import { type DitoError, sendError } from '../proxy/errors.js';
import type { Exchange } from '../proxy/exchange.js';
import { forward, type UpstreamErrorReporter } from '../proxy/http-proxy.js';
import type { RedisHandle } from '../redis/handle.js';
import { Router } from '../routing/router.js';
import { transportWarnings } from '../transport/transport-warnings.js';
import { UpstreamClients, type UpstreamPools } from '../transport/upstream-clients.js';
import { type CompiledUpstreams, compileUpstreams } from '../upstream/compile.js';
import { TargetStates } from '../upstream/target-state.js';
import { continueUpgrade } from '../websocket/proxy.js';
import { compileWebSocketUpstream } from '../websocket/upstream.js';
import type { CompiledLocation } from './location.js';
import {
  builtinMiddleware,
  builtinMiddlewares,
  loadBuiltinMiddlewares,
  type MiddlewareFactory,
} from './middleware-registry.js';

export interface Runtime {
  readonly loaded: LoadedConfig;
  readonly config: DitoConfig;
  readonly router: Router<CompiledLocation>;
  readonly trustedProxies: TrustedProxies;
  readonly logger: Logger;
  /** Where this runtime's modules record metrics (the no-op recorder when disabled). */
  readonly metrics: MetricsRecorder;
  /** Upstream pools (shared with the next runtime where unchanged). */
  readonly clients: UpstreamClients;
  /** Middleware state that outlives a reload (see `MiddlewareContext.carry`). */
  readonly carry: Map<string, unknown>;
  /** Requests currently using this runtime. */
  inFlight: number;
  close(): Promise<void>;
}

export interface RuntimeDependencies {
  logger: Logger;
  /** Plugin middlewares by name (already verified and initialised). */
  plugins?: ReadonlyMap<string, MiddlewareFactory>;
  /** State handed from the previous runtime to middlewares whose settings did not change. */
  carry?: Map<string, unknown>;
  /** Metrics recorder; defaults to the no-op one. */
  metrics?: MetricsRecorder;
  /** The process's Redis connection (when `redis.enabled`); owned by the app, not the runtime. */
  redis?: RedisHandle;
  /** The process's upstream pools: a reload reuses those whose (origin, transport) is unchanged. */
  upstreamPools?: UpstreamPools;
}

function resolveMiddlewares(
  loaded: LoadedConfig,
  location: LocationConfig,
  deps: RuntimeDependencies,
  carry: Map<string, unknown>,
): Middleware[] {
  return location.middlewares.map((name, i) => {
    const factory = deps.plugins?.get(name) ?? builtinMiddleware(name);
    if (factory === undefined) {
      const known = [...builtinMiddlewares.keys(), ...(deps.plugins?.keys() ?? [])].sort();
      throw new ConfigError(
        loaded.locate(['locations', location.index, 'middlewares', i]),
        `locations[${location.index}].middlewares[${i}]`,
        `unknown middleware "${name}" (known: ${known.join(', ') || 'none'})`,
      );
    }
    try {
      return factory({
        config: loaded.config,
        location,
        logger: deps.logger,
        carry,
        redis: deps.redis,
        metrics: deps.metrics ?? noopMetrics,
        locate: loaded.locate,
      });
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(
        loaded.locate(['locations', location.index, 'middlewares', i]),
        `locations[${location.index}].middlewares[${i}]`,
        `${name}: ${(err as Error).message}`,
      );
    }
  });
}

/** A target's upstream; unreadable or invalid certificate files become config errors at their key. */
function upstreamFor(loaded: LoadedConfig, location: LocationConfig, clients: UpstreamClients, target: URL) {
  try {
    return clients.get(target, location.transport);
  } catch (err) {
    const message = String((err as Error).message);
    const own = location.transport;
    const global = loaded.config.transport;
    const files = { cert_file: own.certFile, key_file: own.keyFile, ca_file: own.caFile } as const;
    const globalFiles = { cert_file: global.certFile, key_file: global.keyFile, ca_file: global.caFile };
    const key = (Object.keys(files) as Array<keyof typeof files>).find((k) => {
      const file = files[k];
      return file !== undefined && message.includes(file);
    });
    const name = key ?? 'cert_file';
    // A file inherited from the global block is reported where it is written.
    const inherited = files[name] !== undefined && files[name] === globalFiles[name];
    const path = inherited
      ? ['transport', 'http', name]
      : ['locations', location.index, 'transport', 'http', name];
    throw new ConfigError(
      loaded.locate(path),
      inherited ? `transport.http.${name}` : `locations[${location.index}].transport.http.${name}`,
      `cannot use certificate file: ${message}`,
    );
  }
}

/** Loads the built-in middlewares the config uses, then compiles it into a runtime. */
export async function buildRuntime(loaded: LoadedConfig, deps: RuntimeDependencies): Promise<Runtime> {
  await loadBuiltinMiddlewares(loaded.config);
  return compileRuntime(loaded, deps);
}

function compileRuntime(loaded: LoadedConfig, deps: RuntimeDependencies): Runtime {
  const config = loaded.config;
  const logger = deps.logger;
  const clients = new UpstreamClients(deps.upstreamPools);
  const carry = deps.carry ?? new Map<string, unknown>();
  const middlewaresToClose: Middleware[] = [];
  const states = new TargetStates(carry);
  const upstreamsToRelease: CompiledUpstreams[] = [];
  const metrics = deps.metrics ?? noopMetrics;

  const reportUpstreamError: UpstreamErrorReporter = (exchange, code, err) => {
    if (code === 'DITO_ERR_RESPONSE_TOO_LARGE') {
      // Every limit hit: one warn line (the metrics layer counts it from exchange.errorCode).
      logger.warn(
        {
          request_id: exchange.requestId,
          path: exchange.path,
          upstream: exchange.upstream,
          code,
          ...(err as DitoError).details,
        },
        'response body over the size limit',
      );
      return;
    }
    logger.warn(
      { request_id: exchange.requestId, upstream: exchange.upstream, code, err: (err as Error)?.message },
      'upstream request failed',
    );
  };
  for (const warning of transportWarnings(loaded)) {
    logger.warn(
      { at: warning.at, key: warning.key, location: warning.location },
      `transport setting not honoured exactly: ${warning.key} ${warning.message}`,
    );
  }
  const onMiddlewareError = (exchange: Exchange, middleware: string, err: unknown): void => {
    logger.error({ request_id: exchange.requestId, middleware, err }, 'middleware failed');
    exchange.errorCode = 'DITO_ERR_INTERNAL';
    exchange.bytesOut += sendError(exchange.res, 'DITO_ERR_INTERNAL', exchange.requestId);
  };
  const onMiddlewareWarning = (exchange: Exchange, middleware: string, problem: string): void => {
    logger.warn({ request_id: exchange.requestId, middleware }, problem);
  };

  const requestDeadlines =
    config.requestTimeoutMs > 0 ? new DeadlineQueue(config.requestTimeoutMs) : undefined;
  try {
    const locations = config.locations.map((location): CompiledLocation => {
      const transport = location.transport;
      const upstreams = compileUpstreams(location, {
        upstreamFor: (url) => upstreamFor(loaded, location, clients, url),
        headerOptions: {
          additional: location.additionalHeaders,
          excluded: location.excludedHeaders,
          allowUnderscores: config.server.allowUnderscoresInHeaders,
        },
        websocketFor: location.enableWebsocket
          ? (url) =>
              compileWebSocketUpstream(url, transport, {
                requestTimeoutMs: config.requestTimeoutMs,
                idleTimeoutMs: location.websocket.idleTimeoutMs,
              })
          : undefined,
        states,
        metrics,
        logger,
        requestTimeoutMs: config.requestTimeoutMs,
      });
      upstreamsToRelease.push(upstreams);
      const primary = upstreams.primary;
      for (const name of primary.headerPlan.ignored) {
        logger.warn(
          `locations[${location.index}].additional_headers.${name}: a hop-by-hop or framing header is never sent upstream`,
        );
      }
      const middlewares = resolveMiddlewares(loaded, location, deps, carry);
      middlewaresToClose.push(...middlewares);
      const compiled: CompiledLocation = {
        config: location,
        index: location.index,
        pattern: location.path,
        regex: location.pathRegex,
        target: primary.url,
        origin: primary.origin,
        targetPath: primary.targetPath,
        replacePath: location.replacePath,
        headerPlan: primary.headerPlan,
        upgradeHeaderPlan: primary.upgradeHeaderPlan,
        upstream: primary.upstream,
        dispatcher: primary.dispatcher,
        pool: upstreams.pool,
        middlewares,
        // Filled just below, once the object exists for the terminal handler to close over.
        handle: () => {},
        upgrade: location.enableWebsocket
          ? compileChain(middlewares, continueUpgrade, onMiddlewareError, onMiddlewareWarning)
          : undefined,
        websocket: primary.websocket,
        maxResponseBodySize: location.maxResponseBodySize,
        maxRequestBodySize: location.maxRequestBodySize,
        bufferResponse: !location.disableResponseBuffering,
        requestDeadlines,
        responseHeaderTimeoutMs: transport.responseHeaderTimeoutMs,
      };
      const terminal = (exchange: Exchange) => forward(exchange, compiled, reportUpstreamError);
      (compiled as { handle: CompiledLocation['handle'] }).handle = compileChain(
        middlewares,
        terminal,
        onMiddlewareError,
        onMiddlewareWarning,
      );
      return compiled;
    });

    return {
      loaded,
      config,
      router: new Router(locations),
      clients,
      carry,
      trustedProxies: new TrustedProxies(config.trustedProxies),
      logger,
      metrics,
      inFlight: 0,
      async close() {
        // Target states first: health checks of targets the next runtime dropped stop here.
        for (const upstreams of upstreamsToRelease) upstreams.release();
        await clients.close();
        await Promise.allSettled(middlewaresToClose.map((m) => m.close?.()));
      },
    };
  } catch (err) {
    // A half-built runtime must not leak pools, health checks or middleware resources.
    for (const upstreams of upstreamsToRelease) upstreams.release();
    void clients.close();
    for (const m of middlewaresToClose) void m.close?.();
    throw err;
  }
}
