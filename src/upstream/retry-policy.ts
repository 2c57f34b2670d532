// When a failed upstream request may be tried again, as the careful proxies decide it: a connect
// failure for any method (nothing was sent); after the request went out, only idempotent methods
// without a body; never past the attempt count or the retry time budget.
import type { RetryConfig } from '../config/types.js';
import type { ErrorCode } from '../proxy/errors.js';

/** Methods whose repetition has the same effect as one request (RFC 9110 9.2.2). */
export const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** Longest `Retry-After` honoured when neither `retries.timeout` nor `request_timeout` bounds it. */
const UNBOUNDED_RETRY_AFTER_MS = 10_000;

/** What a retry decision needs to know about the request. */
export interface RequestFacts {
  idempotent: boolean;
  /** The request has a body (whether or not any of it was sent yet). */
  hasBody: boolean;
  /** Some of the body was written upstream: it cannot be replayed. */
  bodySent: boolean;
}

export class RetryPolicy {
  private readonly onConnect: boolean;
  private readonly onReset: boolean;
  private readonly onTimeout: boolean;
  private readonly statuses: ReadonlySet<number>;
  readonly attempts: number;

  constructor(
    private readonly config: RetryConfig,
    private readonly requestTimeoutMs: number,
  ) {
    this.attempts = config.attempts;
    this.onConnect = config.on.includes('connect_failure');
    this.onReset = config.on.includes('reset');
    this.onTimeout = config.on.includes('timeout');
    this.statuses = new Set(config.on.filter((c): c is 502 | 503 | 504 => typeof c === 'number'));
  }

  /** Whether an upstream error (already classified) may be retried. */
  allowsError(code: ErrorCode, facts: RequestFacts): boolean {
    if (facts.bodySent) return false;
    // Nothing reached the upstream: safe for every method, body or not.
    if (code === 'DITO_ERR_UPSTREAM_CONNECT' || code === 'DITO_ERR_UPSTREAM_TLS') return this.onConnect;
    if (!facts.idempotent || facts.hasBody) return false;
    if (code === 'DITO_ERR_UPSTREAM_RESET') return this.onReset;
    if (code === 'DITO_ERR_UPSTREAM_TIMEOUT') return this.onTimeout;
    return false;
  }

  /** Whether `status` is one of the listed ones (checked first: most answers are not). */
  retriesStatus(status: number): boolean {
    return this.statuses.has(status);
  }

  /** Whether an answer with this status may be dropped and the request tried again. */
  allowsStatus(status: number, facts: RequestFacts): boolean {
    return this.statuses.has(status) && facts.idempotent && !facts.hasBody && !facts.bodySent;
  }

  /** Milliseconds left for retries of a request that arrived `elapsedMs` ago (Infinity: no bound). */
  timeLeft(elapsedMs: number): number {
    const budget = this.config.timeoutMs > 0 ? this.config.timeoutMs : this.requestTimeoutMs;
    return budget > 0 ? budget - elapsedMs : Infinity;
  }

  /** How long a `Retry-After` may make a retry wait, given the time left. */
  static waitLimit(timeLeftMs: number): number {
    return Number.isFinite(timeLeftMs) ? timeLeftMs : UNBOUNDED_RETRY_AFTER_MS;
  }
}

/** `Retry-After` (delay-seconds or an HTTP date) in milliseconds from now; undefined if absent or bad. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^[0-9]{1,9}$/.test(text)) return Number(text) * 1000;
  // An HTTP date names its day and month; bare numbers ("-1") are not dates here.
  if (!/^[A-Za-z]{3}/.test(text)) return undefined;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** The `Retry-After` value among undici's raw response headers (latin1 Buffers). */
export function retryAfterOf(rawHeaders: readonly Buffer[]): string | undefined {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 11 && name.toString('latin1').toLowerCase() === 'retry-after') {
      return rawHeaders[i + 1]!.toString('latin1');
    }
  }
  return undefined;
}
