// `rate-limiter`: a token bucket per location and client key in this process (`burst` tokens,
// refilled at `requests_per_second`). Buckets survive a reload that leaves the location's
// settings unchanged (through MiddlewareContext.carry).
import type { RateLimitingConfig } from '../../config/types.js';
import { noopMetrics } from '../../observability/metrics-recorder.js';
import type { MiddlewareContext, MiddlewareFactory } from '../../runtime/middleware-registry.js';
import type { Middleware } from '../types.js';
import { applyDecision } from './answer.js';
import { compileClientKey } from './client-key.js';
import { BucketStore, bucketPolicy, emptyDecision } from './token-bucket.js';

export const RATE_LIMITER = 'rate-limiter';

/** A listed limiter with `rate_limiting.enabled: false` passes every request (warned at load). */
export function disabledLimiter(name: string, context: MiddlewareContext): Middleware {
  context.logger.warn(
    { middleware: name, location: context.location.path },
    `${name} is listed but rate_limiting.enabled is false: it lets every request through`,
  );
  return { name, handle: (_exchange, next) => next() };
}

/** Same location pattern and settings → the same buckets after a reload. */
function carryKey(pattern: string, settings: RateLimitingConfig): string {
  return `${RATE_LIMITER}\u0000${pattern}\u0000${settings.requestsPerSecond}\u0000${settings.burst}\u0000${settings.key ?? 'ip'}`;
}

export const createRateLimiter: MiddlewareFactory = (context) => {
  const settings = context.location.rateLimiting;
  if (!settings.enabled) return disabledLimiter(RATE_LIMITER, context);

  const id = carryKey(context.location.path, settings);
  let store = context.carry.get(id) as BucketStore | undefined;
  if (store === undefined) {
    store = new BucketStore(bucketPolicy(settings.requestsPerSecond, settings.burst));
    context.carry.set(id, store);
  }
  store.acquire();
  const buckets = store;
  const keyOf = compileClientKey(settings.key);
  const limitHeader = String(settings.burst);
  // One decision object per limiter: the decision is used before handle() returns, so requests
  // never share it across an await.
  const decision = emptyDecision();
  const metrics = (context.metrics ?? noopMetrics).location(context.location.path);

  return {
    name: RATE_LIMITER,
    handle(exchange, next) {
      buckets.take(keyOf(exchange), decision);
      const allowed = applyDecision(exchange, decision, limitHeader);
      metrics.rateLimit(RATE_LIMITER, allowed ? 'allowed' : 'limited');
      if (allowed) next();
    },
    async close() {
      if (buckets.release() && context.carry.get(id) === buckets) context.carry.delete(id);
    },
  };
};
