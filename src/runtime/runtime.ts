// Turns a validated config into a runtime: compiled locations (regex, header plans, upstream
// pools, middleware chains) and a router. A reload builds a new runtime beside the old one and
// swaps it in; every request keeps the runtime it started with; the old one closes when idle.
import { ConfigError } from '../config/errors.js';
import type { DitoConfig, LoadedConfig, LocationConfig } from '../config/types.js';
import { compileChain } from '../middlewares/chain.js';
// Side effect: fills `builtinMiddlewares` with the built-ins.
import '../middlewares/index.js';
import type { Middleware } from '../middlewares/types.js';
import type { Logger } from '../observability/logger.js';
import { type MetricsRecorder, noopMetrics } from '../observability/metrics-recorder.js';
import { TrustedProxies } from '../proxy/client-ip.js';
import { sendError } from '../proxy/errors.js';
import type { Exchange } from '../proxy/exchange.js';
import { forward, type UpstreamErrorReporter } from '../proxy/http-proxy.js';
import type { RedisHandle } from '../redis/handle.js';
import { Router } from '../routing/router.js';
import { UpstreamClients } from '../transport/upstream-clients.js';
import { type CompiledUpstreams, compileUpstreams } from '../upstream/compile.js';
import { TargetStates } from '../upstream/target-state.js';
import { continueUpgrade } from '../websocket/proxy.js';
import { compileWebSocketUpstream } from '../websocket/upstream.js';
import type { CompiledLocation } from './location.js';
import { builtinMiddlewares, type MiddlewareFactory } from './middleware-registry.js';

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
  /** The running runtime, when this one is built by a reload. */
  previous?: Runtime;
  /** The process's Redis connection (when `redis.enabled`); owned by the app, not the runtime. */
  redis?: RedisHandle;
}

function resolveMiddlewares(
  loaded: LoadedConfig,
  location: LocationConfig,
  deps: RuntimeDependencies,
  carry: Map<string, unknown>,
): Middleware[] {
  return location.middlewares.map((name, i) => {
    const factory = deps.plugins?.get(name) ?? builtinMiddlewares.get(name);
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

/** A target's connection pool; unreadable certificate files become config errors at their key. */
function upstreamFor(loaded: LoadedConfig, location: LocationConfig, clients: UpstreamClients, target: URL) {
  try {
    return clients.get(target, location.transport);
  } catch (err) {
    const t = location.transport;
    const key = ['cert_file', 'key_file', 'ca_file'].find((k) => {
      const file = k === 'cert_file' ? t.certFile : k === 'key_file' ? t.keyFile : t.caFile;
      return file !== undefined && String((err as Error).message).includes(file);
    });
    const path = ['locations', location.index, 'transport', 'http', key ?? 'cert_file'];
    throw new ConfigError(
      loaded.locate(path),
      `locations[${location.index}].transport.http.${key ?? 'cert_file'}`,
      `cannot read certificate file: ${(err as Error).message}`,
    );
  }
}

export function buildRuntime(loaded: LoadedConfig, deps: RuntimeDependencies): Runtime {
  const config = loaded.config;
  const logger = deps.logger;
  const clients = new UpstreamClients(deps.previous?.clients);
  const carry = deps.carry ?? new Map<string, unknown>();
  const middlewaresToClose: Middleware[] = [];
  const states = new TargetStates(carry);
  const upstreamsToRelease: CompiledUpstreams[] = [];
  const metrics = deps.metrics ?? noopMetrics;

  const reportUpstreamError: UpstreamErrorReporter = (exchange, code, err) => {
    logger.warn(
      { request_id: exchange.requestId, upstream: exchange.upstream, code, err: (err as Error)?.message },
      'upstream request failed',
    );
  };
  const onMiddlewareError = (exchange: Exchange, middleware: string, err: unknown): void => {
    logger.error({ request_id: exchange.requestId, middleware, err }, 'middleware failed');
    exchange.errorCode = 'DITO_ERR_INTERNAL';
    exchange.bytesOut += sendError(exchange.res, 'DITO_ERR_INTERNAL', exchange.requestId);
  };
  const onMiddlewareWarning = (exchange: Exchange, middleware: string, problem: string): void => {
    logger.warn({ request_id: exchange.requestId, middleware }, problem);
  };

  try {
    const locations = config.locations.map((location): CompiledLocation => {
      const transport = location.transport;
      const upstreams = compileUpstreams(location, {
        dispatcherFor: (url) => upstreamFor(loaded, location, clients, url),
        headerOptions: {
          additional: location.additionalHeaders,
          excluded: location.excludedHeaders,
          stripAcceptEncoding: transport.disableCompression,
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
        requestTimeoutMs: config.requestTimeoutMs,
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
