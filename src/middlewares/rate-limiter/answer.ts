// What a limiter tells the client: the IETF `RateLimit-Limit/-Remaining/-Reset` headers on every
// answer (set on `res` before next(), so they merge with the upstream's headers at writeHead),
// and over the limit a 429 JSON with `Retry-After`.
import { sendError } from '../../proxy/errors.js';
import type { Exchange } from '../../proxy/exchange.js';
import type { Decision } from './token-bucket.js';

/** Whole seconds, at least 1 while anything is pending (a `0` would invite an immediate retry). */
function seconds(ms: number): number {
  return ms <= 0 ? 0 : Math.max(1, Math.ceil(ms / 1000 - 1e-9));
}

/**
 * Sets the headers and answers 429 when denied. Returns true when the request may go on.
 * `limitHeader` is the burst as a string, made once at load.
 */
export function applyDecision(exchange: Exchange, decision: Decision, limitHeader: string): boolean {
  const res = exchange.res;
  res.setHeader('RateLimit-Limit', limitHeader);
  res.setHeader('RateLimit-Remaining', String(decision.remaining));
  res.setHeader('RateLimit-Reset', String(seconds(decision.resetMs)));
  if (decision.allowed) return true;
  const retryAfter = String(seconds(decision.retryAfterMs));
  exchange.errorCode = 'DITO_ERR_RATE_LIMITED';
  exchange.bytesOut += sendError(
    res,
    'DITO_ERR_RATE_LIMITED',
    exchange.requestId,
    { path: exchange.path, retry_after_seconds: Number(retryAfter) },
    { 'Retry-After': retryAfter },
  );
  return false;
}
