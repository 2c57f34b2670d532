// A location's pool of targets: picks one per request by the configured policy among the usable
// ones (healthy, not ejected, under the circuit breaker's limits), and follows each request's
// attempts (`PoolSession`) to feed passive ejection, metrics and retries on another target.
import type { Pool } from 'undici';
import type { BalancingConfig } from '../config/types.js';
import type { Logger } from '../observability/logger.js';
import type { UpstreamFailureKind } from '../observability/metrics-recorder.js';
import type { ErrorCode } from '../proxy/errors.js';
import type { Exchange } from '../proxy/exchange.js';
import { compileKeyExtractor, type KeyExtractor } from './hash-key.js';
import { createPicker, type Picker, type Usable } from './policies.js';
import {
  IDEMPOTENT_METHODS,
  parseRetryAfter,
  type RequestFacts,
  RetryPolicy,
  retryAfterOf,
} from './retry-policy.js';
import type { PoolTarget } from './target.js';

export type PickRefusal = 'DITO_ERR_NO_HEALTHY_UPSTREAM' | 'DITO_ERR_CIRCUIT_OPEN';

export interface PoolOptions {
  targets: readonly PoolTarget[];
  config: BalancingConfig;
  requestTimeoutMs: number;
  /** The location's `path` pattern, for log lines. */
  pattern: string;
  logger: Logger;
  replacePath: boolean;
}

/** Undici pools count requests waiting for a connection; other dispatchers have no such queue. */
function pendingOf(target: PoolTarget): number {
  return (target.dispatcher as Partial<Pool>).stats?.pending ?? 0;
}

export class UpstreamPool {
  readonly targets: readonly PoolTarget[];
  readonly retry: RetryPolicy;
  readonly replacePath: boolean;
  private readonly picker: Picker;
  private readonly keyOf: KeyExtractor | undefined;
  private readonly maxRequests: number;
  private readonly maxPending: number;
  private readonly unsubscribe: Array<() => void> = [];
  /** Healthy, not ejected and under the circuit breaker's limits. */
  readonly usable: Usable;

  constructor(private readonly options: PoolOptions) {
    const { targets, config } = options;
    this.targets = targets;
    this.replacePath = options.replacePath;
    this.picker = createPicker(config.policy, targets);
    this.keyOf =
      config.policy === 'hash' && config.hashOn !== undefined
        ? compileKeyExtractor(config.hashOn)
        : undefined;
    this.retry = new RetryPolicy(config.retries, options.requestTimeoutMs);
    this.maxRequests = config.circuitBreaker?.maxRequests ?? 0;
    this.maxPending = config.circuitBreaker?.maxPending ?? 0;
    const { maxRequests, maxPending } = this;
    // Specialised once: the common case (no circuit breaker) reads one boolean per target.
    this.usable =
      maxRequests === 0 && maxPending === 0
        ? (target) => target.state.available
        : (target) =>
            target.state.available &&
            (maxRequests === 0 || target.state.outstanding < maxRequests) &&
            (maxPending === 0 || pendingOf(target) < maxPending);
    for (const target of targets) {
      target.metrics.available(target.state.available);
      this.unsubscribe.push(
        target.state.subscribe((state) => {
          target.metrics.available(state.available);
          const entry = { location: options.pattern, target: target.label };
          if (state.available) options.logger.info(entry, 'upstream target back in service');
          else
            options.logger.warn(
              { ...entry, reason: state.healthy ? 'ejected' : 'health check' },
              'upstream target out of service',
            );
        }),
      );
    }
  }

  /** Why nothing could be picked: every usable target is busy (circuit open), or none is up. */
  refusal(): PickRefusal {
    return this.targets.some((t) => t.state.available)
      ? 'DITO_ERR_CIRCUIT_OPEN'
      : 'DITO_ERR_NO_HEALTHY_UPSTREAM';
  }

  /** Targets up (healthy and not ejected), other than `except`. */
  availableBesides(except: PoolTarget): boolean {
    return this.targets.some((t) => t !== except && t.state.available);
  }

  /**
   * A target for one request (also what WebSocket upgrades call), or why there is none. A new
   * sticky-session cookie, when the policy minted one, is added to the exchange's response.
   */
  pickTarget(exchange: Exchange): PoolTarget | PickRefusal {
    let keyHash = 0;
    if (this.keyOf !== undefined) {
      const key = this.keyOf(exchange);
      keyHash = key.hash;
      if (key.setCookie !== undefined) addSetCookie(exchange, key.setCookie);
    }
    return this.picker.pick(this.targets, this.usable, keyHash) ?? this.refusal();
  }

  /** Starts following one HTTP request, or says why no target can take it. */
  session(exchange: Exchange, raw: readonly string[], hasBody: boolean): PoolSession | PickRefusal {
    const picked = this.pickTarget(exchange);
    if (typeof picked === 'string') return picked;
    return new PoolSession(this, exchange, picked, raw, hasBody);
  }

  /** For retries: the best usable target not tried yet, else the best usable one. */
  pickAgain(exchange: Exchange, tried: readonly PoolTarget[]): PoolTarget | undefined {
    const usable = this.usable;
    const keyHash = this.keyOf === undefined ? 0 : this.keyOf(exchange).hash;
    return (
      this.picker.pick(this.targets, (t) => usable(t) && !tried.includes(t), keyHash) ??
      this.picker.pick(this.targets, usable, keyHash)
    );
  }

  /** A failure passively observed on `target`; ejects it (logged) when the detector says so. */
  recordFailure(target: PoolTarget): void {
    // Ejecting the last target up would only turn 502s into 503s and leave nothing to probe.
    if (target.state.recordFailure(this.availableBesides(target))) target.metrics.ejected();
  }

  close(): void {
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    this.unsubscribe.length = 0;
  }
}

const FAILURE_KINDS: Partial<Record<ErrorCode, UpstreamFailureKind>> = {
  DITO_ERR_UPSTREAM_CONNECT: 'connect',
  DITO_ERR_UPSTREAM_TIMEOUT: 'timeout',
  DITO_ERR_UPSTREAM_RESET: 'reset',
  DITO_ERR_UPSTREAM_TLS: 'tls',
  DITO_ERR_UPSTREAM_PROTOCOL: 'protocol',
};

function addSetCookie(exchange: Exchange, cookie: string): void {
  (exchange.observers ??= []).push({
    onHeaders: (_status, headers) => void headers.push('set-cookie', cookie),
  });
}

/** How the proxy should go on after a failed attempt. */
export interface RetryPlan {
  target: PoolTarget;
  /** Wait this long first (a `Retry-After` from the only target there is). */
  delayMs: number;
}

/**
 * One request's attempts on a pool: opens and closes each attempt on its target (requests in
 * flight, latency, passive detection) and decides retries. Created only for pool locations.
 */
export class PoolSession {
  private tried: PoolTarget[] | undefined;
  private attemptOpen = false;
  private attemptStartedAt = 0;
  private retries = 0;

  constructor(
    readonly pool: UpstreamPool,
    private readonly exchange: Exchange,
    /** The target of the current attempt. */
    public target: PoolTarget,
    /** The client's headers as forwarded (retries rebuild them for another target's Host). */
    readonly raw: readonly string[],
    /** The request carries a body (whether or not any of it was sent yet). */
    private readonly hasBody: boolean,
  ) {}

  /** The attempt on `target` is being dispatched. */
  begin(): void {
    const target = this.target;
    target.state.outstanding++;
    this.attemptOpen = true;
    this.attemptStartedAt = performance.now();
    target.metrics.attempt(this.retries > 0);
    this.exchange.upstream = target.origin;
    this.exchange.target = target.label;
  }

  private close(): boolean {
    if (!this.attemptOpen) return false;
    this.attemptOpen = false;
    this.target.state.outstanding--;
    return true;
  }

  /** The attempt got response headers. */
  answered(status: number): void {
    if (!this.close()) return;
    const target = this.target;
    target.metrics.responded(status, performance.now() - this.attemptStartedAt);
    if (status >= 500) this.pool.recordFailure(target);
    else target.state.recordSuccess();
  }

  /** The attempt failed before an answer (classified error code). */
  failed(code: ErrorCode): void {
    if (!this.close()) return;
    this.target.metrics.failed(FAILURE_KINDS[code] ?? 'other');
    this.pool.recordFailure(this.target);
  }

  /** The attempt ended for reasons of Dito's or the client's (no verdict on the target). */
  cancelled(): void {
    this.close();
  }

  private facts(bodySent: boolean): RequestFacts {
    const req = this.exchange.req;
    return { idempotent: IDEMPOTENT_METHODS.has(req.method!), hasBody: this.hasBody, bodySent };
  }

  private budgetAllows(): number {
    if (this.retries >= this.pool.retry.attempts) return -1;
    return this.pool.retry.timeLeft(performance.now() - this.exchange.startedAt);
  }

  /** After an error: where to try again, or undefined. */
  retryAfterError(code: ErrorCode, bodySent: boolean): RetryPlan | undefined {
    if (!this.pool.retry.allowsError(code, this.facts(bodySent))) return undefined;
    if (this.budgetAllows() <= 0) return undefined;
    return this.next(0);
  }

  /** After an answer with `status` (already passed to `answered`): where to try again, or undefined. */
  retryAfterStatus(status: number, rawHeaders: readonly Buffer[], bodySent: boolean): RetryPlan | undefined {
    // Most answers are not retryable: decided before any per-request object is built.
    if (!this.pool.retry.retriesStatus(status)) return undefined;
    if (!this.pool.retry.allowsStatus(status, this.facts(bodySent))) return undefined;
    const timeLeft = this.budgetAllows();
    if (timeLeft <= 0) return undefined;
    const previous = this.target;
    const plan = this.next(0);
    if (plan === undefined || plan.target !== previous || status !== 503) return plan;
    // Only the target that said 503 is left: respect its Retry-After, or give the client its answer.
    const wait = parseRetryAfter(retryAfterOf(rawHeaders)) ?? 0;
    if (wait > RetryPolicy.waitLimit(timeLeft)) return undefined;
    plan.delayMs = wait;
    return plan;
  }

  private next(delayMs: number): RetryPlan | undefined {
    const tried = (this.tried ??= [this.target]);
    const target = this.pool.pickAgain(this.exchange, tried);
    if (target === undefined) return undefined;
    if (!tried.includes(target)) tried.push(target);
    return { target, delayMs };
  }

  /** Commits to a planned retry: the next `begin()` goes to its target. */
  retryOn(plan: RetryPlan): void {
    this.retries++;
    this.exchange.retries++;
    this.target = plan.target;
  }
}
