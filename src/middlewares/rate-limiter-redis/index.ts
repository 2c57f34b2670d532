// `rate-limiter-redis`: the `rate-limiter` token bucket shared by every Dito on the same Redis,
// one atomic script per decision. Redis unreachable or too slow: fail open (serve, count, log once
// per outage) unless `rate_limiting.failure_mode: closed`, which answers 503.
import { noopMetrics } from '../../observability/metrics-recorder.js';
import { sendError } from '../../proxy/errors.js';
import type { Exchange } from '../../proxy/exchange.js';
import { RedisUnavailableError } from '../../redis/handle.js';
import type { MiddlewareFactory } from '../../runtime/middleware-registry.js';
import { applyDecision } from '../rate-limiter/answer.js';
import { compileClientKey } from '../rate-limiter/client-key.js';
import { disabledLimiter } from '../rate-limiter/index.js';
import type { Decision } from '../rate-limiter/token-bucket.js';
import type { Next } from '../types.js';
import { bucketKeyPrefix, TOKEN_BUCKET_SCRIPT } from './script.js';

export const RATE_LIMITER_REDIS = 'rate-limiter-redis';

/** What a fail-closed answer tells the client to wait before trying again. */
const FAIL_CLOSED_RETRY_AFTER_SECONDS = '1';

function toDecision(reply: unknown): Decision {
  if (!Array.isArray(reply) || reply.length < 4) {
    throw new RedisUnavailableError(`unexpected reply from the rate-limit script: ${String(reply)}`);
  }
  const [allowed, remaining, resetMs, retryAfterMs] = reply.map(Number) as [number, number, number, number];
  return { allowed: allowed === 1, remaining, resetMs, retryAfterMs };
}

export const createRedisRateLimiter: MiddlewareFactory = (context) => {
  const settings = context.location.rateLimiting;
  if (!settings.enabled) return disabledLimiter(RATE_LIMITER_REDIS, context);

  const redis = context.redis;
  const keyOf = compileClientKey(settings.key);
  const keyPrefix = bucketKeyPrefix(context.config.redis.keyPrefix, context.location.path);
  // Microseconds of Redis time per token; the script's arithmetic is in Redis's own clock.
  const scriptArgs = [String(1_000_000 / settings.requestsPerSecond), String(settings.burst)];
  const limitHeader = String(settings.burst);
  const failClosed = settings.failureMode === 'closed';

  const metrics = (context.metrics ?? noopMetrics).location(context.location.path);

  const fallback = (exchange: Exchange, next: Next, err: unknown): void => {
    redis?.recordFallback(RATE_LIMITER_REDIS, failClosed ? 'closed' : 'open', err);
    metrics.rateLimit(RATE_LIMITER_REDIS, failClosed ? 'failed_closed' : 'failed_open');
    if (!failClosed) {
      next();
      return;
    }
    exchange.errorCode = 'DITO_ERR_UNAVAILABLE';
    exchange.bytesOut += sendError(
      exchange.res,
      'DITO_ERR_UNAVAILABLE',
      exchange.requestId,
      { path: exchange.path, reason: 'rate limiter unavailable' },
      { 'Retry-After': FAIL_CLOSED_RETRY_AFTER_SECONDS },
    );
  };

  return {
    name: RATE_LIMITER_REDIS,
    handle(exchange, next) {
      if (redis === undefined) {
        fallback(exchange, next, new RedisUnavailableError('redis is not enabled'));
        return;
      }
      const key = `${keyPrefix}${keyOf(exchange)}}`;
      return redis.runScript(TOKEN_BUCKET_SCRIPT, [key], scriptArgs).then(
        (reply) => {
          // The client went away while Redis was deciding: nothing left to answer.
          if (exchange.res.destroyed) return;
          let decision: Decision;
          try {
            decision = toDecision(reply);
          } catch (err) {
            fallback(exchange, next, err);
            return;
          }
          const allowed = applyDecision(exchange, decision, limitHeader);
          metrics.rateLimit(RATE_LIMITER_REDIS, allowed ? 'allowed' : 'limited');
          if (allowed) next();
        },
        (err: unknown) => {
          if (exchange.res.destroyed) return;
          fallback(exchange, next, err);
        },
      );
    },
  };
};
