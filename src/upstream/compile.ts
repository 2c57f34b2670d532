// Load-time construction of a location's upstreams: one compiled target per URL (its own path
// rewrite, Host header plan and connection pool) and, for pool locations, the `UpstreamPool` with
// target states taken over from the previous runtime and health checkers started for new ones.
import type { LocationConfig } from '../config/types.js';
import type { Logger } from '../observability/logger.js';
import type { MetricsRecorder } from '../observability/metrics-recorder.js';
import { compileRequestHeaderPlan } from '../proxy/headers.js';
import { compileTargetPath } from '../routing/router.js';
import { httpOrigin, type Upstream } from '../transport/upstream-clients.js';
import type { WebSocketUpstream } from '../websocket/upstream.js';
import { HealthChecker } from './health-check.js';
import { hashString } from './policies.js';
import { UpstreamPool } from './pool.js';
import { type PoolTarget, targetLabel, type UpstreamTarget } from './target.js';
import { TargetState, type TargetStates } from './target-state.js';

export interface UpstreamBuildContext {
  /** The connection pool for a target of this location (config errors thrown at the right key). */
  upstreamFor(url: URL): Upstream;
  /** Header plan options shared by every target of the location (all but `host`). */
  headerOptions: Omit<Parameters<typeof compileRequestHeaderPlan>[0], 'host' | 'forUpgrade'>;
  /** `enable_websocket` locations: how an upgrade reaches a target. */
  websocketFor?: (url: URL) => WebSocketUpstream;
  states: TargetStates;
  metrics: MetricsRecorder;
  logger: Logger;
  requestTimeoutMs: number;
}

export interface CompiledUpstreams {
  /** The first target: what a single-target location serves with. */
  readonly primary: UpstreamTarget;
  /** Set for locations with `targets` or any pool key. */
  readonly pool?: UpstreamPool;
  /** Gives back the target states and metrics handles (runtime close, or a failed build). */
  release(): void;
}

/** Health checkers by target state: a reload that keeps a state keeps its checker. */
const checkers = new WeakMap<TargetState, HealthChecker>();

export function compileTarget(url: URL, context: UpstreamBuildContext): UpstreamTarget {
  // URL drops default ports already, which is what Host must carry.
  const options = { ...context.headerOptions, host: url.host };
  const upstream = context.upstreamFor(url);
  return {
    url,
    label: targetLabel(url),
    origin: httpOrigin(url),
    targetPath: compileTargetPath(url),
    headerPlan: compileRequestHeaderPlan(options),
    upgradeHeaderPlan: compileRequestHeaderPlan({ ...options, forUpgrade: true }),
    upstream,
    dispatcher: upstream.pool,
    websocket: context.websocketFor?.(url),
  };
}

export function compileUpstreams(location: LocationConfig, context: UpstreamBuildContext): CompiledUpstreams {
  const balancing = location.balancing;
  if (balancing === undefined) {
    // The fast path: one target, no pool, nothing to release.
    return { primary: compileTarget(location.targets[0]!.url, context), release() {} };
  }
  const acquired: TargetState[] = [];
  const targets: PoolTarget[] = [];
  const release = () => {
    for (const state of acquired) context.states.release(state);
    acquired.length = 0;
    for (const target of targets) target.metrics.release();
  };
  try {
    location.targets.forEach(({ url, weight }, index) => {
      const compiled = compileTarget(url, context);
      // Same URL and same health and ejection settings (and transport): the same target, whose
      // state and health-check timer carry over a reload. Anything else starts afresh.
      const key = JSON.stringify([
        url.href,
        balancing.healthCheck,
        balancing.outlierDetection,
        location.transport,
      ]);
      const { state, created } = context.states.acquire(
        key,
        () => new TargetState(key, balancing.outlierDetection),
      );
      acquired.push(state);
      const check = balancing.healthCheck;
      if (created && check !== undefined) {
        const checker = new HealthChecker(state, check, compiled.dispatcher);
        checkers.set(state, checker);
        state.onDispose = () => checker.stop();
        checker.start();
      } else {
        // The newest runtime's pool (the same one when the transport is unchanged).
        checkers.get(state)?.useDispatcher(compiled.dispatcher);
      }
      targets.push({
        ...compiled,
        index,
        weight,
        state,
        metrics: context.metrics.target(location.path, compiled.label),
        seed: hashString(url.href),
        current: 0,
      });
    });
  } catch (err) {
    release();
    throw err;
  }
  const pool = new UpstreamPool({
    targets,
    config: balancing,
    requestTimeoutMs: context.requestTimeoutMs,
    pattern: location.path,
    logger: context.logger,
    replacePath: location.replacePath,
  });
  return {
    primary: targets[0]!,
    pool,
    release() {
      pool.close();
      release();
    },
  };
}
